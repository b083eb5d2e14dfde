//! The SDK never says something false: a list answer without its list is not
//! the end of the book; a write that may have been applied is never reported
//! failed (it is read back, or reported as of unknown outcome); a walk of a
//! growing book ends; metadata writes of one client do not lose each other.
//!
//! These tests measure other things than pacing and set up more than the
//! published rate limits allow quickly: their sandboxes run without them
//! (the limits themselves are tested in plugipay-sandbox's `rate_limits` tests).

use std::collections::HashSet;
use std::time::Duration;

use crate::common::scripted::{Reply, Scripted};
use crate::common::*;
use futures_util::{StreamExt, TryStreamExt};
use plugipay::{Client, CustomerUpdate, Error, ErrorCode, ListParams, NewCustomer, RetryPolicy};
use plugipay_sandbox::{
    FaultKind, FaultProxy, Faults, MetadataMode, ProxyFaults, Sandbox, TEST_ACCOUNT_ID,
    TEST_KEY_ID, TEST_SECRET,
};
use serde_json::{Value, json};

/// One page holding a customer like `customer_json(id)`, created at `at`.
fn page_created_at(id: &str, at: chrono::DateTime<chrono::Utc>) -> Reply {
    let mut customer = customer_json(id);
    customer["createdAt"] = json!(at.to_rfc3339());
    let meta = json!({"requestId": "r", "cursor": null, "hasMore": false});
    Reply::json(
        200,
        json!({"data": [customer], "error": null, "meta": meta}),
    )
}

fn page(ids: &[&str], cursor: Option<&str>) -> Reply {
    let data: Vec<Value> = ids.iter().map(|id| customer_json(id)).collect();
    let meta = json!({"requestId": "r", "cursor": cursor, "hasMore": cursor.is_some()});
    Reply::json(200, json!({"data": data, "error": null, "meta": meta}))
}

/// A client of `base` with `retries` quick retries.
fn retrying(base: &str, retries: u32) -> Client {
    Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(base)
        .retry_policy(
            RetryPolicy::default()
                .max_retries(retries)
                .base_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(2)),
        )
        .build()
        .unwrap()
}

/// 2xx answers that carry no list.
fn listless() -> Vec<Reply> {
    vec![
        Reply::raw(200, ""),
        Reply::raw(204, ""),
        Reply::json(200, json!({})),
        Reply::json(
            200,
            json!({"data": null, "error": null, "meta": {"hasMore": false}}),
        ),
    ]
}

#[tokio::test]
async fn a_list_answer_without_its_list_is_retried_never_the_end_of_the_book() {
    for empty in listless() {
        // Page 2 comes back without its list once: the walk asks again.
        let script = vec![page(&["a"], Some("c2")), empty.clone(), page(&["b"], None)];
        let server = Scripted::start(script).await;
        let ids: Vec<String> = retrying(&server.base_url, 2)
            .customers()
            .list(ListParams::new())
            .stream()
            .map_ok(|c| c.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(server.received().len(), 3);

        // Without retries the walk fails: it never ends quietly short.
        let server = Scripted::start(vec![page(&["a"], Some("c2")), empty.clone()]).await;
        let walked: Vec<_> = client_for(&server.base_url)
            .customers()
            .list(ListParams::new())
            .json_items()
            .stream()
            .collect()
            .await;
        assert_eq!(walked.len(), 2, "one customer, then the error");
        let err = walked[1].as_ref().unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{err:?}");
        assert!(err.is_retryable());

        // The same on the first page of a raw paginated walk.
        let server = Scripted::start(vec![empty.clone()]).await;
        let raw: Vec<_> = client_for(&server.base_url)
            .request(plugipay::Method::GET, paths::customers())
            .paginated()
            .stream()
            .collect()
            .await;
        assert!(matches!(raw.as_slice(), [Err(Error::Decode(_))]), "{raw:?}");
    }
}

#[tokio::test]
async fn a_get_without_its_customer_is_retried() {
    let server = Scripted::start(vec![
        Reply::raw(200, ""),
        Reply::json(200, envelope(customer_json(CUSTOMER_ID))),
    ])
    .await;
    let customer = retrying(&server.base_url, 1)
        .customers()
        .get(CUSTOMER_ID)
        .await
        .unwrap();
    assert_eq!(customer.id, CUSTOMER_ID);
}

fn busy() -> Reply {
    Reply::json(503, error_envelope("service_unavailable", "busy"))
}

#[tokio::test]
async fn a_write_that_may_have_been_applied_is_never_reported_failed() {
    // No externalId: nothing to read it back by.
    let server = Scripted::start(vec![busy(), busy(), busy()]).await;
    let err = retrying(&server.base_url, 2)
        .customers()
        .create(NewCustomer::new().name("Budi"))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(err.is_retryable());
    let Error::OutcomeUnknown(last) = &err else {
        unreachable!()
    };
    assert_eq!(last.status().map(|s| s.as_u16()), Some(503));
    assert!(
        err.report().to_string().contains("outcome is unknown"),
        "{}",
        err.report()
    );

    // An HTML 500, then a cut 201: as ambiguous.
    let server = Scripted::start(vec![
        Reply::raw(500, "<html>"),
        Reply::raw(201, r#"{"data":{"id":"#),
    ])
    .await;
    let err = retrying(&server.base_url, 1)
        .customers()
        .create(NewCustomer::new().name("Budi"))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
}

/// The create `customer_json` answers for.
fn alice() -> NewCustomer {
    NewCustomer::new()
        .external_id("user_19823")
        .email("alice@example.com")
        .name("Alice Tan")
        .metadata("plan", "pro")
}

/// `create(alice())` against a server that answers `replies` in turn.
async fn create_alice(replies: Vec<Reply>) -> Result<plugipay::Customer, plugipay::Error> {
    let server = Scripted::start(replies).await;
    client_for(&server.base_url)
        .customers()
        .create(alice())
        .await
}

#[tokio::test]
async fn a_create_of_unknown_outcome_is_read_back_by_its_external_id() {
    let now = chrono::Utc::now();
    // The server says it was created once the call had begun.
    let after_start = now + chrono::TimeDelta::seconds(1);
    let server = Scripted::start(vec![busy(), page_created_at(CUSTOMER_ID, after_start)]).await;
    let customer = client_for(&server.base_url)
        .customers()
        .create(alice())
        .await
        .unwrap();
    assert_eq!(customer.id, CUSTOMER_ID);
    let received = server.received();
    assert_eq!(received[1].method, "GET");
    assert!(
        received[1].target.contains("externalId=user_19823"),
        "{}",
        received[1].target
    );

    // Found as this create would have made it, but created before it
    // began (a day, or only a minute: an earlier run's, maybe): not
    // claimed as this create's, so still unknown.
    for before in [chrono::TimeDelta::days(1), chrono::TimeDelta::minutes(1)] {
        let err = create_alice(vec![busy(), page_created_at(CUSTOMER_ID, now - before)])
            .await
            .unwrap_err();
        assert!(err.is_outcome_unknown(), "{before}: {err:?}");
    }
    // `ensure` then knows a day-old one existed: not created by this call.
    let day_old = page_created_at(CUSTOMER_ID, now - chrono::TimeDelta::days(1));
    let server = Scripted::start(vec![busy(), day_old.clone(), day_old]).await;
    let ensured = client_for(&server.base_url)
        .customers()
        .ensure("user_19823", alice())
        .await
        .unwrap();
    assert!(!ensured.created);
    assert_eq!(ensured.customer.id, CUSTOMER_ID);
    // A minute old may be this call's own (clocks differ): unknown.
    let minute_old = page_created_at(CUSTOMER_ID, now - chrono::TimeDelta::minutes(1));
    let server = Scripted::start(vec![busy(), minute_old.clone(), minute_old]).await;
    let err = client_for(&server.base_url)
        .customers()
        .ensure("user_19823", alice())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");

    // Found, but not as this create would have made it: still unknown.
    let server = Scripted::start(vec![busy(), page_created_at(CUSTOMER_ID, after_start)]).await;
    let err = client_for(&server.base_url)
        .customers()
        .create(alice().name("Someone Else"))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");

    // Not found: unknown (a late copy may still arrive), never failed.
    let err = create_alice(vec![busy(), page(&[], None)])
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
}

#[tokio::test]
async fn answers_that_settle_a_write_are_reported_as_they_are() {
    // A 503, then a 400 for the same keyed request: refused, not unknown.
    let invalid = Reply::json(400, error_envelope("validation_error", "bad email"));
    let server = Scripted::start(vec![busy(), invalid]).await;
    let err = retrying(&server.base_url, 1)
        .customers()
        .create(alice())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError), "{err:?}");

    // 429s only: the server refused every attempt unprocessed.
    let limited = Reply::json(429, error_envelope("rate_limited", "slow down"));
    let server = Scripted::start(vec![limited.clone(), limited]).await;
    let err = retrying(&server.base_url, 1)
        .customers()
        .create(alice())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::RateLimited), "{err:?}");

    // A read is never of unknown outcome.
    let server = Scripted::start(vec![busy()]).await;
    let err = client_for(&server.base_url)
        .customers()
        .get(CUSTOMER_ID)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err:?}");
    assert!(!err.is_outcome_unknown());
}

#[tokio::test]
async fn a_refusal_that_may_answer_an_applied_repeat_stays_unknown() {
    // A 503 (maybe applied), then a 401 or a 409 `conflict` for the repeat:
    // the first attempt may have created the customer, so neither answer
    // says it failed.
    for refusal in [
        Reply::json(401, error_envelope("unauthorized", "clock skew")),
        Reply::json(409, error_envelope("conflict", "externalId taken")),
    ] {
        let server = Scripted::start(vec![busy(), refusal]).await;
        let err = retrying(&server.base_url, 1)
            .customers()
            .create(NewCustomer::new().name("Budi"))
            .await
            .unwrap_err();
        assert!(err.is_outcome_unknown(), "{err:?}");
    }

    // A 2xx whose customer does not decode: applied, its answer unknown.
    let server = Scripted::start(vec![Reply::json(
        201,
        json!({"data": {"id": 5}, "error": null, "meta": {"requestId": "r"}}),
    )])
    .await;
    let err = retrying(&server.base_url, 0)
        .customers()
        .create(NewCustomer::new().name("Budi"))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
}

#[tokio::test]
async fn an_applied_write_whose_result_cannot_be_read_is_unknown_not_failed() {
    // A create answered 201 with nothing, then the lookup of what it made
    // fails: applied, so unknown.
    let server = Scripted::start(vec![Reply::raw(201, ""), busy()]).await;
    let err = retrying(&server.base_url, 0)
        .customers()
        .create(alice())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");

    // The same for an update answered 200 with nothing.
    let server = Scripted::start(vec![Reply::raw(200, ""), busy()]).await;
    let err = retrying(&server.base_url, 0)
        .customers()
        .update(CUSTOMER_ID, CustomerUpdate::new().name("Budi"))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
}

#[tokio::test]
async fn a_conflict_after_a_lost_answer_is_never_read_back_as_a_creation() {
    // The externalId may have been taken before this create: the customer
    // found by it would not be the one this call made.
    let conflict = Reply::json(409, error_envelope("conflict", "externalId taken"));
    let server = Scripted::start(vec![busy(), conflict]).await;
    let err = retrying(&server.base_url, 1)
        .customers()
        .create(alice())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    let targets: Vec<_> = server
        .received()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert_eq!(targets.len(), 2, "no read-back: {targets:?}");
}

/// `ensure` after a lost answer: a 409 for the repeat may be the first
/// attempt's own doing, so only a customer older than the call is "found";
/// one made just now, or none at all, leaves the outcome unknown (an
/// import then copies the row out instead of counting it done).
#[tokio::test]
async fn ensure_after_a_lost_answer_says_created_false_only_for_an_older_customer() {
    let ensure = |replies: Vec<Reply>| async move {
        let server = Scripted::start(replies).await;
        retrying(&server.base_url, 1)
            .customers()
            .ensure("user_19823", alice())
            .await
    };
    let conflict = || Reply::json(409, error_envelope("conflict", "externalId taken"));
    // Older than the call: it existed.
    let day_old = page_created_at(CUSTOMER_ID, chrono::Utc::now() - chrono::TimeDelta::days(1));
    let ensured = ensure(vec![busy(), conflict(), day_old]).await.unwrap();
    assert!(!ensured.created);
    // Made just now: maybe by this call's first attempt.
    let now = chrono::Utc::now();
    let err = ensure(vec![busy(), conflict(), page_created_at(CUSTOMER_ID, now)])
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    // A 409 of another kind and nothing found: unknown, never "it exists".
    let other = Reply::json(409, error_envelope("request_in_progress", "key in use"));
    let err = ensure(vec![busy(), other, page(&[], None), page(&[], None)])
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(
        !matches!(err, plugipay::Error::Unresolved { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_operation_that_answers_nothing_ignores_data_it_gets() {
    use plugipay::api::endpoints::DeleteCustomer;
    let server = Scripted::start(vec![Reply::json(
        200,
        json!({"data": {"id": CUSTOMER_ID, "deleted": true}, "error": null, "meta": {}}),
    )])
    .await;
    retrying(&server.base_url, 0)
        .call(DeleteCustomer {
            id: CUSTOMER_ID.into(),
        })
        .await
        .expect("a 2xx delete succeeded");
}

#[tokio::test]
async fn an_id_that_names_no_customer_is_refused_before_the_network() {
    // No replies scripted: a request reaching the server fails differently.
    let server = Scripted::start(vec![]).await;
    let client = retrying(&server.base_url, 0);
    for id in ["", ".", ".."] {
        let err = client.customers().delete(id).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { field, .. } if field == "id"),
            "{id:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn updates_and_deletes_of_unknown_outcome_are_read_back() {
    let customer = Reply::json(200, envelope(customer_json(CUSTOMER_ID)));
    // The customer holds the change: the update is done.
    let server = Scripted::start(vec![Reply::raw(502, "<html>"), customer.clone()]).await;
    let updated = client_for(&server.base_url)
        .customers()
        .update(
            CUSTOMER_ID,
            CustomerUpdate::new().name("Alice Tan").clear_phone(),
        )
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Alice Tan"));
    // It does not: unknown.
    let server = Scripted::start(vec![Reply::raw(502, "<html>"), customer]).await;
    let err = client_for(&server.base_url)
        .customers()
        .update(CUSTOMER_ID, CustomerUpdate::new().name("Alice T. Wijaya"))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");

    // A delete whose customer is gone is done.
    let gone = Reply::json(404, error_envelope("not_found", "no such customer"));
    let server = Scripted::start(vec![busy(), gone]).await;
    client_for(&server.base_url)
        .customers()
        .delete(CUSTOMER_ID)
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(
        (received[0].method.as_str(), received[1].method.as_str()),
        ("DELETE", "GET")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_walk_of_a_growing_book_ends() {
    let sandbox = Sandbox::start(crate::common::unpaced().seed_customers(400))
        .await
        .unwrap();
    let client = sandbox_client(sandbox.base_url());
    let before: HashSet<String> = sandbox
        .customers(TEST_ACCOUNT_ID)
        .into_iter()
        .map(|c| c.id)
        .collect();
    let mut walk = client
        .customers()
        .list(ListParams::new().limit(10))
        .partitioned(2);
    let mut seen = HashSet::new();
    let first = walk.try_next().await.unwrap().unwrap();
    seen.insert(first.id);
    // Customers created once the walk has begun (dated later than any
    // before): a walk that chased them would yield them, or never end.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let times = (0..200).map(|n| later + chrono::Duration::milliseconds(n));
    assert_eq!(sandbox.seed_at(TEST_ACCOUNT_ID, times), 200);
    while let Some(customer) = walk.try_next().await.unwrap() {
        assert!(seen.insert(customer.id), "each customer once");
    }
    assert_eq!(
        seen, before,
        "exactly the customers of the book as it began"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_writes_of_one_client_do_not_lose_each_other() {
    // A server that replaces the map, slow enough for writers to overlap.
    let faults = Faults {
        latency: Duration::from_millis(5),
        ..Faults::default()
    };
    let sandbox = Sandbox::start(
        crate::common::unpaced()
            .metadata_mode(MetadataMode::Replace)
            .faults(faults),
    )
    .await
    .unwrap();
    let client = sandbox_client(sandbox.base_url());
    let id = client
        .customers()
        .create(NewCustomer::new().metadata("plan", "pro"))
        .await
        .unwrap()
        .id;
    let mut writers = tokio::task::JoinSet::new();
    for n in 0..8 {
        let (client, id) = (client.clone(), id.clone());
        writers.spawn(async move {
            for round in 0..3 {
                let key = format!("writer_{n}_{round}");
                client
                    .customers()
                    .set_metadata(&id, key, "x")
                    .await
                    .unwrap();
            }
        });
        // archive runs through the same lock.
    }
    let archiver = {
        let (client, id) = (client.clone(), id.clone());
        tokio::spawn(async move { client.customers().archive(&id).await.unwrap() })
    };
    writers.join_all().await;
    archiver.await.unwrap();
    let customer = client.customers().get(&id).await.unwrap();
    assert_eq!(
        customer.metadata.len(),
        1 + 8 * 3 + 1,
        "{:?}",
        customer.metadata
    );
    assert!(customer.is_archived());
}

/// Through 30 % faults of every kind, with too few retries to get every
/// answer: each ensure that succeeds is right on the server, each reported
/// failed is absent, and none is reported failed that the server applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_faults_done_is_done_and_failed_is_absent() {
    let sandbox = Sandbox::start(crate::common::unpaced()).await.unwrap();
    let proxy = FaultProxy::start(
        sandbox.base_url(),
        ProxyFaults {
            rate: 0.3,
            kinds: FaultKind::ALL.to_vec(),
            delay: Duration::from_millis(450),
            retry_after_secs: 0,
            seed: 17,
        },
    )
    .await
    .unwrap();
    let client = Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(proxy.base_url())
        .timeout(Duration::from_millis(300))
        .retry_policy(
            RetryPolicy::default()
                .max_retries(1)
                .base_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let rows = 300;
    let results: Vec<(usize, Result<plugipay::Ensured, Error>)> =
        futures_util::stream::iter(0..rows)
            .map(|n| {
                let client = client.clone();
                async move {
                    let row = NewCustomer::new().name(format!("Row {n}"));
                    (n, client.customers().ensure(format!("row_{n}"), row).await)
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
    // Every copy the proxy holds back has reached the server.
    proxy.settled().await;
    let book: std::collections::HashMap<String, plugipay::Customer> = sandbox
        .customers(TEST_ACCOUNT_ID)
        .into_iter()
        .filter_map(|c| Some((c.external_id.clone()?, c)))
        .collect();
    let (mut done, mut failed, mut unknown) = (0, 0, 0);
    for (n, result) in results {
        let external_id = format!("row_{n}");
        match result {
            Ok(ensured) => {
                done += 1;
                let stored = &book[&external_id];
                assert_eq!(stored.id, ensured.customer.id);
                assert_eq!(stored.name.as_deref(), Some(format!("Row {n}").as_str()));
            }
            Err(e) if e.is_outcome_unknown() => unknown += 1,
            Err(e) => {
                failed += 1;
                assert!(
                    !book.contains_key(&external_id),
                    "{external_id} reported failed ({e}) but is on the server"
                );
            }
        }
    }
    eprintln!("{done} done, {failed} failed, {unknown} of unknown outcome");
    assert!(
        done > 0 && failed + unknown > 0,
        "{done} {failed} {unknown}"
    );
    assert!(book.len() <= rows, "no duplicates");
}

/// A `Retry-After` as long as time itself, allowed by an uncapped policy,
/// under a deadline: the call gives up with the server's answer, it does
/// not overflow or wait.
#[tokio::test]
async fn an_endless_retry_after_under_a_deadline_gives_up_at_once() {
    let limited = Reply::json(429, error_envelope("rate_limited", "slow down"))
        .header("retry-after", "18446744073709551615");
    let server = Scripted::start(vec![limited]).await;
    let client = Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(&server.base_url)
        .retry_policy(RetryPolicy::default().max_retry_after(Duration::MAX))
        .build()
        .unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        client
            .customers()
            .get(CUSTOMER_ID)
            .deadline(Duration::from_secs(60)),
    )
    .await
    .expect("no wait for the Retry-After")
    .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::RateLimited), "{err:?}");

    // A deadline past the clock's range is no deadline, not a panic.
    let server =
        Scripted::start(vec![Reply::json(200, envelope(customer_json(CUSTOMER_ID)))]).await;
    let customer = client_for(&server.base_url)
        .customers()
        .get(CUSTOMER_ID)
        .deadline(Duration::MAX)
        .await
        .unwrap();
    assert_eq!(customer.id, CUSTOMER_ID);
}

/// A server that answers a partitioned walk's ranges newest first: the walk
/// fails saying so, rather than end its ranges early and call the book
/// walked.
#[tokio::test]
async fn a_partitioned_walk_refuses_a_list_out_of_order() {
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let newest = at("2026-11-25T01:02:03Z");
    let edge = page_created_at(CUSTOMER_ID, newest);
    let mut older = customer_json("cus_older");
    older["createdAt"] = json!("2026-11-20T00:00:00Z");
    let mut first = customer_json(CUSTOMER_ID);
    first["createdAt"] = json!(newest.to_rfc3339());
    let meta = json!({"requestId": "r", "cursor": null, "hasMore": false});
    let descending = Reply::json(
        200,
        json!({"data": [first, older], "error": null, "meta": meta}),
    );
    let server = Scripted::start(vec![edge.clone(), edge, descending]).await;
    let walked: Vec<_> = client_for(&server.base_url)
        .customers()
        .list(ListParams::new())
        .partitioned(1)
        .collect()
        .await;
    let last = walked.last().expect("an item or an error");
    assert!(
        matches!(
            last,
            Err(Error::Paging(plugipay::PagingError::OutOfOrder { .. }))
        ),
        "{walked:?}"
    );
}

//! Retries: what is retried, with which key and signature, how long it waits,
//! and that faults never turn into duplicate customers.
//!
//! These tests measure other things than pacing and set up more than the
//! published rate limits allow quickly: their sandboxes run without them
//! (the limits themselves are tested in plugipay-sandbox's `rate_limits` tests).

use std::collections::HashSet;
use std::time::Duration;

use crate::common::scripted::{Reply, Scripted, assert_signed};
use crate::common::*;
use plugipay::{Client, ErrorCode, NewCustomer, RetryPolicy};
use plugipay_sandbox::{FaultKind, FaultProxy, Faults, ProxyFaults, Sandbox, TEST_ACCOUNT_ID};

/// Retries quickly: these tests are about what is sent, not how long it waits.
fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
}

fn client_for(base: &str, policy: RetryPolicy) -> Client {
    Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(base)
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn created() -> Reply {
    Reply::json(201, envelope(customer_json(CUSTOMER_ID)))
}

fn unavailable() -> Reply {
    Reply::json(503, error_envelope("internal_error", "try later"))
}

#[tokio::test]
async fn two_503s_then_success_is_one_call_with_one_key() {
    let server = Scripted::start(vec![unavailable(), unavailable(), created()]).await;
    let customer = client_for(&server.base_url, fast())
        .customers()
        .create(NewCustomer::new().external_id("crm_1"))
        .await
        .unwrap();
    assert_eq!(customer.id, CUSTOMER_ID);
    let attempts = server.received();
    assert_eq!(attempts.len(), 3);
    let keys: HashSet<_> = attempts
        .iter()
        .map(|r| r.header("idempotency-key").unwrap())
        .collect();
    assert_eq!(keys.len(), 1, "every attempt carries the same key");
    assert!(keys.iter().next().unwrap().starts_with("idem_"));
    attempts.iter().for_each(assert_signed);
    assert!(attempts.iter().all(|r| r.body == attempts[0].body));
}

#[tokio::test]
async fn the_budget_is_respected_and_the_last_error_returned() {
    let server =
        Scripted::start(vec![unavailable(), unavailable(), unavailable(), created()]).await;
    let err = client_for(&server.base_url, fast())
        .customers()
        .get(CUSTOMER_ID)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.received().len(), 3, "2 retries by default");

    // Per call.
    let server = Scripted::start(vec![unavailable(), created()]).await;
    let client = client_for(&server.base_url, fast());
    assert!(
        client
            .customers()
            .get(CUSTOMER_ID)
            .max_retries(0)
            .await
            .is_err()
    );
    assert_eq!(server.received().len(), 1);
    let server =
        Scripted::start(vec![unavailable(), unavailable(), unavailable(), created()]).await;
    let ok = client_for(&server.base_url, fast())
        .customers()
        .get(CUSTOMER_ID)
        .retry_policy(fast().max_retries(3))
        .await;
    assert!(ok.is_ok());
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for (status, code) in [
        (400, "validation_error"),
        (404, "not_found"),
        (409, "conflict"),
        (409, "idempotency_mismatch"),
        (403, "insufficient_scope"),
    ] {
        let server = Scripted::start(vec![
            Reply::json(status, error_envelope(code, "no")),
            created(),
        ])
        .await;
        let err = client_for(&server.base_url, fast())
            .customers()
            .create(NewCustomer::new())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::from(code)));
        assert_eq!(server.received().len(), 1, "{status} is not retried");
    }
}

/// The start of `reply`'s body, as a server cut off with valid framing sends it.
fn truncated(status: u16, body: serde_json::Value) -> Reply {
    let text = body.to_string();
    Reply::raw(status, &text[..text.len() / 2])
}

#[tokio::test]
async fn answers_cut_short_or_unreadable_are_retried_when_safe() {
    /// What a call should come to: `Ok`, or an error code (`Other` for a decode error).
    type Expected = Result<(), ErrorCode>;
    // (what, script, call makes a write, expected requests, expected result)
    let ok = || Reply::json(200, envelope(customer_json(CUSTOMER_ID)));
    let conflict = || Reply::json(409, error_envelope("conflict", "taken"));
    let cases: Vec<(&str, Vec<Reply>, bool, usize, Expected)> = vec![
        (
            "truncated JSON on a GET",
            vec![truncated(200, envelope(customer_json(CUSTOMER_ID))), ok()],
            false,
            2,
            Ok(()),
        ),
        (
            "an HTML 200 on a keyed create",
            vec![Reply::raw(201, "<html>welcome</html>"), created()],
            true,
            2,
            Ok(()),
        ),
        (
            "a truncated 409 on a keyed create",
            vec![
                truncated(409, error_envelope("conflict", "taken")),
                conflict(),
            ],
            true,
            2,
            Err(ErrorCode::Conflict),
        ),
        (
            "an HTML 400 is final",
            vec![Reply::raw(400, "<html>bad request</html>"), created()],
            true,
            1,
            Err(ErrorCode::Other("none".into())),
        ),
    ];
    for (what, script, write, requests, expected) in cases {
        let server = Scripted::start(script).await;
        let client = client_for(&server.base_url, fast());
        let result = if write {
            client.customers().create(NewCustomer::new()).await
        } else {
            client.customers().get(CUSTOMER_ID).await
        };
        assert_eq!(server.received().len(), requests, "{what}");
        match (expected, result) {
            (Ok(()), Ok(customer)) => assert_eq!(customer.id, CUSTOMER_ID, "{what}"),
            (Err(ErrorCode::Other(_)), Err(err)) => {
                assert!(matches!(err, plugipay::Error::Decode(_)), "{what}: {err:?}")
            }
            (Err(code), Err(err)) => assert_eq!(err.code(), Some(&code), "{what}"),
            (expected, got) => panic!("{what}: expected {expected:?}, got {got:?}"),
        }
        if write {
            let keys: HashSet<_> = server
                .received()
                .iter()
                .map(|r| r.header("idempotency-key").unwrap())
                .collect();
            assert_eq!(keys.len(), 1, "{what}: one key for every attempt");
        }
    }
}

#[tokio::test]
async fn a_deadline_bounds_the_attempts_and_the_waits() {
    // The server never answers: the deadline ends the call.
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    let server = Scripted::start(vec![created().gated(gate.clone())]).await;
    let err = client_for(&server.base_url, fast())
        .customers()
        .get(CUSTOMER_ID)
        .deadline(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, plugipay::Error::Timeout), "{err:?}");
    gate.notify_waiters();

    // A wait that would cross the deadline is not started: the last answer
    // is returned at once.
    let server = Scripted::start(vec![
        Reply::json(503, error_envelope("internal_error", "busy")).header("retry-after", "60"),
        created(),
    ])
    .await;
    let policy = fast().max_retry_after(Duration::from_secs(60));
    let client = Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(&server.base_url)
        .retry_policy(policy)
        .deadline(Duration::from_secs(30))
        .build()
        .unwrap();
    assert_eq!(client.deadline(), Some(Duration::from_secs(30)));
    let err = client.customers().get(CUSTOMER_ID).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.received().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let server = Scripted::start(vec![
        Reply::json(429, error_envelope("rate_limited", "slow down")).header("retry-after", "3"),
        created(),
    ])
    .await;
    // No timers in the HTTP client, so the paused clock moves only for our waits.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    let client = Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(&server.base_url)
        .http_client(http)
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    client.customers().create(NewCustomer::new()).await.unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_millis(3_100),
        "waited {waited:?}"
    );
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_dropped_response_is_replayed_not_duplicated() {
    let sandbox = Sandbox::start(crate::common::unpaced()).await.unwrap();
    sandbox.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let client = sandbox_client(sandbox.base_url());
    let customer = client
        .customers()
        .create(NewCustomer::new().external_id("crm_dropped"))
        .await
        .unwrap();
    assert_eq!(customer.external_id.as_deref(), Some("crm_dropped"));
    assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 1);
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_succeeds_on_retry() {
    let sandbox = Sandbox::start(crate::common::unpaced()).await.unwrap();
    let client = sandbox_client(sandbox.base_url());
    let customer = client.customers().create(NewCustomer::new()).await.unwrap();
    // Every write is applied, then its connection closed without an answer.
    sandbox.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    client.customers().delete(&customer.id).await.unwrap();
    sandbox.set_faults(Faults::default());
    assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 0);
}

/// `remove` with a caller's key: the delete goes under the key, the archive
/// under `key:archive`, and repeating the whole call writes nothing new.
#[tokio::test]
async fn remove_with_a_key_can_be_repeated() {
    let sandbox = Sandbox::start(crate::common::unpaced()).await.unwrap();
    let client = sandbox_client(sandbox.base_url());
    let customers = client.customers();
    let held = customers
        .create(NewCustomer::new().metadata("plan", "pro"))
        .await
        .unwrap();
    sandbox.set_money_history(TEST_ACCOUNT_ID, &held.id, true);
    let first = customers
        .remove(&held.id)
        .idempotency_key("idem_remove_1")
        .await
        .unwrap();
    let plugipay::Removed::Archived(archived) = first else {
        panic!("a customer with money history is archived, got {first:?}")
    };
    assert!(archived.is_archived());
    assert_eq!(archived.metadata["plan"], "pro");
    let again = customers
        .remove(&held.id)
        .idempotency_key("idem_remove_1")
        .await
        .unwrap();
    let plugipay::Removed::Archived(same) = again else {
        panic!("the repeat answers the same, got {again:?}")
    };
    assert_eq!(
        same.updated_at, archived.updated_at,
        "nothing written twice"
    );
}

/// The fault soak: 1,000 creates and 1,000 ensures through every kind of
/// fault at once (about 20 % of attempts) make exactly 2,000 customers: none
/// lost, none twice. The sandbox drops writes after commit and adds
/// latency; a fault proxy in front of it answers 500s, 503s and 429s with
/// `Retry-After`.
#[tokio::test]
async fn two_thousand_writes_through_twenty_percent_faults_make_two_thousand_customers() {
    let sandbox = Sandbox::start(
        crate::common::unpaced()
            .faults(Faults {
                drop_after_commit_rate: 0.06,
                latency: Duration::from_millis(1),
            })
            .fault_seed(2026),
    )
    .await
    .unwrap();
    // 8 % 500 or 503 (half each) and 6 % 429: weights 2:2:3 of 14 %.
    let proxy = FaultProxy::start(
        sandbox.base_url(),
        ProxyFaults {
            rate: 0.14,
            kinds: vec![
                FaultKind::HtmlError,
                FaultKind::HtmlError,
                FaultKind::ServiceUnavailable,
                FaultKind::ServiceUnavailable,
                FaultKind::RateLimited,
                FaultKind::RateLimited,
                FaultKind::RateLimited,
            ],
            retry_after_secs: 1,
            seed: 2026,
            ..ProxyFaults::default()
        },
    )
    .await
    .unwrap();
    let client = Client::builder()
        .key_id(plugipay_sandbox::TEST_KEY_ID)
        .secret(plugipay_sandbox::TEST_SECRET)
        .base_url(proxy.base_url())
        // With 20 % of attempts failing, 10 retries leave a ~1e-7 chance per
        // write; Retry-After is honoured but capped to keep the test quick.
        .retry_policy(
            fast()
                .max_retries(10)
                .max_retry_after(Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..32 {
        let client = client.clone();
        tasks.spawn(async move {
            for n in (worker..1_000).step_by(32) {
                client
                    .customers()
                    .create(NewCustomer::new().external_id(format!("bulk_{n:04}")))
                    .await
                    .unwrap_or_else(|e| panic!("create {n}: {e}"));
                let ensured = client
                    .customers()
                    .ensure(format!("ens_{n:04}"), NewCustomer::new().name("Ensured"))
                    .await
                    .unwrap_or_else(|e| panic!("ensure {n}: {e}"));
                assert_eq!(ensured.customer.name.as_deref(), Some("Ensured"));
            }
        });
    }
    tasks.join_all().await;
    let book = sandbox.customers(TEST_ACCOUNT_ID);
    let distinct: HashSet<_> = book
        .iter()
        .map(|c| c.external_id.clone().unwrap())
        .collect();
    assert_eq!(book.len(), 2_000, "no duplicates");
    assert_eq!(distinct.len(), 2_000, "none lost");
    assert_eq!(
        distinct.iter().filter(|e| e.starts_with("bulk_")).count(),
        1_000
    );
    let met = proxy.counts();
    for kind in [
        FaultKind::HtmlError,
        FaultKind::ServiceUnavailable,
        FaultKind::RateLimited,
    ] {
        assert!(met[&kind] > 0, "{kind:?} was never met: {met:?}");
    }
}

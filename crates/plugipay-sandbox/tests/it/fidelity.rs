//! The sandbox against Plugipay's published reference: the field limits at
//! their edges (on create and on PATCH), an Idempotency-Key reused with
//! another request (409 `idempotency_mismatch` naming the field), test and
//! live worlds kept apart by the key's prefix, and scopes (403
//! `insufficient_scope`). Every response is checked against the spec by the
//! raw client.
//!
//! These tests send more than the published rate limits allow quickly, with
//! a client that does not pace itself: their sandboxes run without them
//! (the limits themselves are tested in rate_limits.rs).

use crate::common::*;
use plugipay_sandbox::{ApiKey, Dialect, Mode, Sandbox, Scope, TEST_ACCOUNT_ID};
use serde_json::{Value, json};

const LIVE_KEY_ID: &str = "ak_live_fidelity";
const LIVE_SECRET: &str = "sk_live_fidelity";
const LIVE_API_KEY: &str = "pk_live_fidelity";

/// The field a failure names in `error.field`.
fn field_of(a: &Answer) -> Option<&str> {
    a.body["error"]["field"].as_str()
}

fn id_of(a: &Answer) -> String {
    a.body["data"]["id"]
        .as_str()
        .expect("a customer")
        .to_owned()
}

fn ids_of(a: &Answer) -> Vec<String> {
    a.body["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// An email of exactly `chars` characters.
fn email(chars: usize) -> String {
    let domain = "@example.com";
    format!("{}{domain}", "a".repeat(chars - domain.len()))
}

fn metadata(pairs: usize) -> Value {
    let map: serde_json::Map<_, _> = (0..pairs).map(|i| (format!("k{i}"), json!("v"))).collect();
    Value::Object(map)
}

/// Each published limit: the field, a value exactly at it (accepted) and
/// one just past it (refused).
fn edges() -> Vec<(&'static str, Value, Value)> {
    vec![
        ("externalId", json!("e".repeat(255)), json!("e".repeat(256))),
        ("externalId", json!("e"), json!("")),
        ("email", json!(email(320)), json!(email(321))),
        ("name", json!("n".repeat(255)), json!("n".repeat(256))),
        ("name", json!("n"), json!("")),
        ("phone", json!("1".repeat(64)), json!("1".repeat(65))),
        ("phone", json!("+"), json!("")),
        ("taxId", json!("t".repeat(64)), json!("t".repeat(65))),
        ("taxId", json!("t"), json!("")),
        (
            "defaultPaymentTokenId",
            json!("pt_01HXAB7K3M9N2P5QRS8TVWXY3Z"),
            json!("tok_01HXAB7K3M9N2P5QRS8TVWXY3Z"),
        ),
        ("defaultPaymentTokenId", json!("pt_1"), json!("pt_")),
        ("metadata", metadata(50), metadata(51)),
    ]
}

fn assert_refused(a: &Answer, field: &str, what: &str) {
    assert_eq!(
        (a.status, a.code()),
        (400, "validation_error"),
        "{what}: {a:?}"
    );
    assert_eq!(field_of(a), Some(field), "{what}: {a:?}");
}

#[tokio::test]
async fn published_limits_on_create_at_their_edges() {
    let sb = Sandbox::start(crate::common::unpaced()).await.unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    for (n, (field, at_limit, past_limit)) in edges().into_iter().enumerate() {
        let a = raw
            .create(&json!({ field: at_limit }).to_string(), &fresh_key())
            .await;
        assert_eq!(a.status, 201, "{field} #{n} at its limit: {a:?}");
        assert_eq!(a.body["data"][field], at_limit, "{field} #{n}");
        let a = raw
            .create(&json!({ field: past_limit }).to_string(), &fresh_key())
            .await;
        assert_refused(&a, field, &format!("{field} #{n} past its limit"));
    }
}

#[tokio::test]
async fn published_limits_on_patch_at_their_edges() {
    let sb = Sandbox::start(crate::common::unpaced()).await.unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    let id = id_of(&raw.create("{}", &fresh_key()).await);
    let path = paths::customer(&id);
    for (n, (field, at_limit, past_limit)) in edges().into_iter().enumerate() {
        let body = json!({ field: at_limit }).to_string();
        let a = raw
            .send("PATCH", &path, Some(&body), Some(&fresh_key()))
            .await;
        assert_eq!(a.status, 200, "{field} #{n} at its limit: {a:?}");
        assert_eq!(a.body["data"][field], at_limit, "{field} #{n}");
        let body = json!({ field: past_limit }).to_string();
        let a = raw
            .send("PATCH", &path, Some(&body), Some(&fresh_key()))
            .await;
        assert_refused(&a, field, &format!("{field} #{n} past its limit"));
    }
}

#[tokio::test]
async fn a_reused_key_with_another_request_names_the_differing_field() {
    let sb = Sandbox::start(crate::common::unpaced()).await.unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    let key = fresh_key();
    let first = raw
        .create(r#"{"name":"First","email":"a@example.com"}"#, &key)
        .await;
    assert_eq!(first.status, 201);
    for (body, field) in [
        (r#"{"name":"Second","email":"a@example.com"}"#, "name"),
        (r#"{"name":"First","email":"b@example.com"}"#, "email"),
        (r#"{"name":"First"}"#, "email"),
        (
            r#"{"name":"First","email":"a@example.com","phone":"1"}"#,
            "phone",
        ),
        (
            r#"{"name":"First","email":"a@example.com","metadata":{"a":"1"}}"#,
            "metadata",
        ),
    ] {
        let a = raw.create(body, &key).await;
        assert_eq!(
            (a.status, a.code()),
            (409, "idempotency_mismatch"),
            "{body}: {a:?}"
        );
        assert_eq!(field_of(&a), Some(field), "{body}: {a:?}");
        assert!(a.headers.get("idempotent-replayed").is_none());
    }
    // The same request (spelled otherwise) still replays.
    let again = raw
        .create(r#"{ "email": "a@example.com", "name": "First" }"#, &key)
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["data"], first.body["data"]);
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 1, "nothing else ran");

    // On PATCH: a field nested in metadata is named by its top-level field.
    let path = paths::customer(&id_of(&first));
    let patch_key = fresh_key();
    let a = raw
        .send(
            "PATCH",
            &path,
            Some(r#"{"metadata":{"a":"1"}}"#),
            Some(&patch_key),
        )
        .await;
    assert_eq!(a.status, 200);
    let a = raw
        .send(
            "PATCH",
            &path,
            Some(r#"{"metadata":{"a":"2"}}"#),
            Some(&patch_key),
        )
        .await;
    assert_eq!((a.status, a.code()), (409, "idempotency_mismatch"));
    assert_eq!(field_of(&a), Some("metadata"));

    // Another method or path: a mismatch naming no body field.
    let a = raw
        .send(
            "PATCH",
            &path,
            Some(r#"{"name":"First","email":"a@example.com"}"#),
            Some(&key),
        )
        .await;
    assert_eq!((a.status, a.code()), (409, "idempotency_mismatch"), "{a:?}");
    assert_eq!(field_of(&a), None, "{a:?}");
    assert!(a.message().contains("method or path"), "{a:?}");
    let a = raw.send("DELETE", &path, None, Some(&patch_key)).await;
    assert_eq!((a.status, a.code()), (409, "idempotency_mismatch"), "{a:?}");
    assert_eq!(field_of(&a), None, "{a:?}");
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 1, "not deleted");
}

async fn two_worlds() -> Sandbox {
    Sandbox::start(
        crate::common::unpaced()
            .seed_customers(3)
            .key(ApiKey::hmac(LIVE_KEY_ID, LIVE_SECRET, TEST_ACCOUNT_ID))
            .key(ApiKey::bearer(LIVE_API_KEY, TEST_ACCOUNT_ID)),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn test_and_live_keys_see_separate_worlds() {
    let sb = two_worlds().await;
    let list = &format!("{}?limit=100", paths::customers());
    let test = RawClient::sandbox(sb.base_url());
    let live = RawClient::hmac(sb.base_url(), LIVE_KEY_ID, LIVE_SECRET);
    let mut live_bearer = RawClient::sandbox(sb.base_url());
    live_bearer.auth = Auth::Bearer(LIVE_API_KEY.into());

    // The seeds are test customers: the live world starts empty.
    assert_eq!(ids_of(&test.send("GET", list, None, None).await).len(), 3);
    assert_eq!(
        ids_of(&live.send("GET", list, None, None).await),
        Vec::<String>::new()
    );

    // One externalId in each world: no conflict.
    let in_test = test.create(r#"{"externalId":"same"}"#, &fresh_key()).await;
    let in_live = live.create(r#"{"externalId":"same"}"#, &fresh_key()).await;
    assert_eq!((in_test.status, in_live.status), (201, 201), "{in_live:?}");
    let (test_id, live_id) = (id_of(&in_test), id_of(&in_live));
    assert_ne!(test_id, live_id);
    assert_eq!(in_live.body["data"]["accountId"], TEST_ACCOUNT_ID);

    // Neither world reads, changes or deletes the other's customers.
    for (client, other) in [
        (&test, &live_id),
        (&live, &test_id),
        (&live_bearer, &test_id),
    ] {
        let path = paths::customer(other);
        let a = client.send("GET", &path, None, None).await;
        assert_eq!((a.status, a.code()), (404, "not_found"));
        let a = client
            .send("PATCH", &path, Some(r#"{"name":"x"}"#), Some(&fresh_key()))
            .await;
        assert_eq!((a.status, a.code()), (404, "not_found"));
        let a = client.send("DELETE", &path, None, Some(&fresh_key())).await;
        assert_eq!((a.status, a.code()), (404, "not_found"));
    }

    // Lists and filters do not cross; both live keys share the live world.
    let test_ids = ids_of(&test.send("GET", list, None, None).await);
    assert_eq!(test_ids.len(), 4);
    assert!(test_ids.contains(&test_id) && !test_ids.contains(&live_id));
    for client in [&live, &live_bearer] {
        assert_eq!(
            ids_of(&client.send("GET", list, None, None).await),
            std::slice::from_ref(&live_id)
        );
        let by_ext = client
            .send(
                "GET",
                &format!("{}?externalId=same", paths::customers()),
                None,
                None,
            )
            .await;
        assert_eq!(ids_of(&by_ext), std::slice::from_ref(&live_id));
    }

    // A cursor belongs to its world.
    let page = test
        .send(
            "GET",
            &format!("{}?limit=1", paths::customers()),
            None,
            None,
        )
        .await;
    let cursor = page.body["meta"]["cursor"].as_str().unwrap().to_owned();
    let a = live
        .send(
            "GET",
            &format!("{}?limit=1&cursor={cursor}", paths::customers()),
            None,
            None,
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "validation_error"), "{a:?}");

    // The library's accessors mean the test world unless told otherwise.
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 4);
    assert_eq!(sb.customer_count_in(TEST_ACCOUNT_ID, Mode::Live), 1);
    let live_book = sb.customers_in(TEST_ACCOUNT_ID, Mode::Live);
    assert_eq!(
        live_book.iter().map(|c| &c.id).collect::<Vec<_>>(),
        [&live_id]
    );
    assert_eq!(sb.customers(TEST_ACCOUNT_ID).len(), 4);
}

#[tokio::test]
async fn idempotency_keys_do_not_cross_worlds() {
    let sb = two_worlds().await;
    let test = RawClient::sandbox(sb.base_url());
    let live = RawClient::hmac(sb.base_url(), LIVE_KEY_ID, LIVE_SECRET);
    // The same key and request in both worlds: two customers, no replay.
    let key = fresh_key();
    let a = test.create(r#"{"name":"Twice"}"#, &key).await;
    let b = live.create(r#"{"name":"Twice"}"#, &key).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert!(b.headers.get("idempotent-replayed").is_none(), "{b:?}");
    assert_ne!(id_of(&a), id_of(&b));
    // The same key with another request in the other world: no mismatch.
    let key = fresh_key();
    assert_eq!(test.create(r#"{"name":"Test"}"#, &key).await.status, 201);
    let b = live.create(r#"{"name":"Live"}"#, &key).await;
    assert_eq!(b.status, 201, "{b:?}");
    assert_eq!(b.body["data"]["name"], "Live");
    // Each world replays its own.
    let again = test.create(r#"{"name":"Test"}"#, &key).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["data"]["name"], "Test");
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 3 + 2);
}

#[tokio::test]
async fn keys_whose_prefix_names_no_mode_are_refused_at_start() {
    let bad = [
        ApiKey::hmac("ak_reader", "sk_test_reader", TEST_ACCOUNT_ID),
        ApiKey::hmac("ak_test_reader", "sk_reader", TEST_ACCOUNT_ID),
        ApiKey::hmac("ak_live_reader", "sk_test_reader", TEST_ACCOUNT_ID),
        ApiKey::bearer("pk_reader", TEST_ACCOUNT_ID),
        ApiKey::bearer("ak_test_reader", TEST_ACCOUNT_ID),
    ];
    for key in bad {
        let shown = format!("{key:?}");
        let err = Sandbox::start(crate::common::unpaced().key(key))
            .await
            .expect_err(&shown);
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{shown}");
        assert!(
            err.to_string().contains("must start with"),
            "{shown}: {err}"
        );
    }
}

#[tokio::test]
async fn a_key_without_the_scope_gets_insufficient_scope() {
    let sb = Sandbox::start(
        crate::common::unpaced()
            .key(
                ApiKey::hmac("ak_test_reader", "sk_test_reader", TEST_ACCOUNT_ID)
                    .with_scopes(&[Scope::Read]),
            )
            .key(
                ApiKey::hmac("ak_test_creator", "sk_test_creator", TEST_ACCOUNT_ID)
                    .with_scopes(&[Scope::Create, Scope::Read]),
            ),
    )
    .await
    .unwrap();
    let reader = RawClient::hmac(sb.base_url(), "ak_test_reader", "sk_test_reader");
    let creator = RawClient::hmac(sb.base_url(), "ak_test_creator", "sk_test_creator");
    let a = reader.create("{}", &fresh_key()).await;
    assert_eq!((a.status, a.code()), (403, "insufficient_scope"), "{a:?}");
    assert!(a.message().contains("plugipay:customer:create"), "{a:?}");
    assert_eq!(
        reader
            .send("GET", paths::customers(), None, None)
            .await
            .status,
        200
    );

    let id = id_of(&creator.create("{}", &fresh_key()).await);
    let path = paths::customer(&id);
    assert_eq!(reader.send("GET", &path, None, None).await.status, 200);
    let a = creator
        .send("PATCH", &path, Some(r#"{"name":"x"}"#), Some(&fresh_key()))
        .await;
    assert_eq!((a.status, a.code()), (403, "insufficient_scope"), "{a:?}");
    assert!(a.message().contains("plugipay:customer:write"), "{a:?}");
    let a = creator
        .send("DELETE", &path, None, Some(&fresh_key()))
        .await;
    assert_eq!((a.status, a.code()), (403, "insufficient_scope"), "{a:?}");
    assert!(a.message().contains("plugipay:customer:write"), "{a:?}");
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 1);
}

/// `--live` adds the default live pair, `--key` any key; both on the
/// binary, whose live world starts empty while the seeds are test customers.
#[tokio::test]
async fn the_binary_takes_live_keys() {
    let process = crate::common::sandbox_binary(&[
        "--seed-customers",
        "2",
        "--live",
        "--key",
        "ak_live_other:sk_live_other@acct_other",
        "--key",
        "pk_live_other@acct_other",
    ]);
    let base = process.base_url();
    let list = paths::customers();
    let test = RawClient::sandbox(base);
    assert_eq!(ids_of(&test.send("GET", list, None, None).await).len(), 2);
    let live = RawClient::hmac(base, "ak_live_sandbox", "sk_live_sandbox");
    assert_eq!(ids_of(&live.send("GET", list, None, None).await).len(), 0);
    let mut live_bearer = RawClient::sandbox(base);
    live_bearer.auth = Auth::Bearer("pk_live_sandbox".into());
    let c = live_bearer
        .create(r#"{"externalId":"seed_0000001"}"#, &fresh_key())
        .await;
    assert_eq!(c.status, 201, "{c:?}");
    let other = RawClient::hmac(base, "ak_live_other", "sk_live_other");
    let c = other.create("{}", &fresh_key()).await;
    assert_eq!(c.body["data"]["accountId"], "acct_other");
    let mut other_bearer = RawClient::sandbox(base);
    other_bearer.auth = Auth::Bearer("pk_live_other".into());
    assert_eq!(
        ids_of(&other_bearer.send("GET", list, None, None).await),
        [id_of(&c)]
    );

    // A key whose prefix names no mode is a bad invocation.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugipay-sandbox"))
        .args(["--addr", "127.0.0.1:0", "--key", "ak_other:sk_other"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ak_live_"),
        "{out:?}"
    );
}

/// The events API keeps the customers API's boundaries: its own scope
/// (`plugipay:event:read`), test and live worlds apart, workspaces apart
/// (another's event is 404, as a customer is), and a query parameter that
/// does not fit its type is a 400 `validation_error` naming it.
#[tokio::test]
async fn the_events_api_keeps_scopes_worlds_and_workspaces_apart() {
    let sb = Sandbox::start(
        crate::common::unpaced()
            .key(ApiKey::hmac(LIVE_KEY_ID, LIVE_SECRET, TEST_ACCOUNT_ID))
            .key(
                ApiKey::hmac("ak_test_reader", "sk_test_reader", TEST_ACCOUNT_ID)
                    .with_scopes(&[Scope::Read]),
            ),
    )
    .await
    .unwrap();
    let list = &format!("{}?limit=100", paths::events());
    let test = RawClient::sandbox(sb.base_url());
    let live = RawClient::hmac(sb.base_url(), LIVE_KEY_ID, LIVE_SECRET);
    let other = platform_for(sb.base_url(), "acct_other");
    let in_test = id_of(&test.create(r#"{"name":"Test"}"#, &fresh_key()).await);
    let in_live = id_of(&live.create(r#"{"name":"Live"}"#, &fresh_key()).await);
    let in_other = id_of(&other.create(r#"{"name":"Other"}"#, &fresh_key()).await);

    // Each sees its own creation only.
    let mut event_ids = Vec::new();
    for (client, customer) in [(&test, &in_test), (&live, &in_live), (&other, &in_other)] {
        let page = client.send("GET", list, None, None).await;
        assert_eq!(page.status, 200, "{page:?}");
        let events = page.body["data"].as_array().unwrap();
        assert_eq!(events.len(), 1, "{page:?}");
        assert_eq!(events[0]["data"]["aggregateId"], customer.as_str());
        event_ids.push(events[0]["id"].as_str().unwrap().to_owned());
    }
    // Nobody reads another's event by id.
    for (client, mine) in [(&test, 0), (&live, 1), (&other, 2)] {
        for (n, id) in event_ids.iter().enumerate() {
            let a = client.send("GET", &paths::event(id), None, None).await;
            let want = if n == mine { 200 } else { 404 };
            assert_eq!(a.status, want, "{a:?}");
            if n != mine {
                assert_eq!(a.code(), "not_found");
            }
        }
    }

    // A key that may read customers but not events.
    let reader = RawClient::hmac(sb.base_url(), "ak_test_reader", "sk_test_reader");
    for target in [list.to_owned(), paths::event(&event_ids[0])] {
        let a = reader.send("GET", &target, None, None).await;
        assert_eq!((a.status, a.code()), (403, "insufficient_scope"), "{a:?}");
        assert!(a.message().contains("plugipay:event:read"), "{a:?}");
    }

    // A parameter whose value does not fit is named.
    for (query, field) in [
        ("occurredAfter=yesterday", "occurredAfter"),
        ("occurredBefore=1", "occurredBefore"),
        ("order=sideways", "order"),
        ("limit=many", "limit"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
    ] {
        let a = test
            .send("GET", &format!("{}?{query}", paths::events()), None, None)
            .await;
        assert_eq!((a.status, a.code()), (400, "validation_error"), "{a:?}");
        assert_eq!(field_of(&a), Some(field), "{a:?}");
    }
}

/// The two readings on the wire: every answer is checked against the one
/// the sandbox speaks (`RawClient::speaking`): paging in `meta.cursor` and
/// `meta.hasMore`, or in `meta.page`; codes in lower or UPPER case; events
/// in the SDKs' envelope, or in the API page's (with an update's
/// `previousAttributes`).
#[tokio::test]
async fn each_dialect_speaks_its_reading() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(unpaced().dialect(dialect).seed_customers(3))
            .await
            .unwrap();
        let raw = RawClient::sandbox(sandbox.base_url()).speaking(dialect);
        let first = raw
            .send(
                "GET",
                &format!("{}?limit=2", paths::customers()),
                None,
                None,
            )
            .await;
        let meta = &first.body["meta"];
        let cursor = match dialect {
            Dialect::Sdk => meta["cursor"].as_str(),
            Dialect::Docs => meta["page"]["nextCursor"].as_str(),
        }
        .expect("a cursor to the second page");
        let second = raw
            .send(
                "GET",
                &format!("{}?cursor={cursor}&limit=2", paths::customers()),
                None,
                None,
            )
            .await;
        assert_eq!(ids_of(&second).len(), 1, "{dialect}");

        let missing = raw
            .send("GET", &paths::customer("cus_none"), None, None)
            .await;
        let expected_code = match dialect {
            Dialect::Sdk => "not_found",
            Dialect::Docs => "NOT_FOUND",
        };
        assert_eq!((missing.status, missing.code()), (404, expected_code));

        let created = raw.create(r#"{"name":"Ani"}"#, &fresh_key()).await;
        let id = id_of(&created);
        raw.send(
            "PATCH",
            &paths::customer(&id),
            Some(r#"{"name":"Ani S"}"#),
            Some(&fresh_key()),
        )
        .await;
        let events = raw
            .send(
                "GET",
                &format!("{}?order=asc&limit=100", paths::events()),
                None,
                None,
            )
            .await;
        let events = events.body["data"].as_array().unwrap().clone();
        let update = events.last().unwrap();
        match dialect {
            Dialect::Sdk => {
                assert_eq!(update["type"], "plugipay.customer.updated.v1");
                assert_eq!(update["data"]["object"]["name"], "Ani S");
            }
            Dialect::Docs => {
                assert_eq!(update["type"], "customer.updated");
                assert_eq!(update["data"]["name"], "Ani S");
                assert_eq!(update["workspaceId"], TEST_ACCOUNT_ID);
                assert_eq!(update["previousAttributes"], json!({"name": "Ani"}));
            }
        }
        let one = raw
            .send(
                "GET",
                &paths::event(update["id"].as_str().unwrap()),
                None,
                None,
            )
            .await;
        assert_eq!(&one.body["data"], update, "{dialect}");
    }
}

/// `pk_test_…` key ids with `sk_test_…` secrets, as Plugipay's API keys
/// page mints them, are HMAC pairs; a lone `pk_test_…` stays a Bearer key.
#[tokio::test]
async fn pk_key_ids_sign_as_hmac_pairs() {
    let sandbox = Sandbox::start(unpaced().key(ApiKey::hmac(
        "pk_test_docs",
        "sk_test_docs",
        TEST_ACCOUNT_ID,
    )))
    .await
    .unwrap();
    let pair = RawClient::hmac(sandbox.base_url(), "pk_test_docs", "sk_test_docs");
    let listed = pair.send("GET", paths::customers(), None, None).await;
    assert_eq!(listed.status, 200);
    let wrong = RawClient::hmac(sandbox.base_url(), "pk_test_docs", "sk_test_wrong");
    let refused = wrong.send("GET", paths::customers(), None, None).await;
    assert_eq!((refused.status, refused.code()), (401, "signature_invalid"));
}

/// A sandbox whose clock is off from the machine's (`clock_offset_secs`)
/// judges timestamps, dates its answers and stamps its customers by its
/// own clock.
#[tokio::test]
async fn the_sandbox_clock_can_run_off_the_machines() {
    let sandbox = Sandbox::start(unpaced().clock_offset_secs(-600))
        .await
        .unwrap();
    let mut raw = RawClient::sandbox(sandbox.base_url());
    let skewed = raw.send("GET", paths::customers(), None, None).await;
    assert_eq!((skewed.status, skewed.code()), (401, "timestamp_skew"));
    let date = skewed.headers["date"].to_str().unwrap();
    let date = chrono::DateTime::parse_from_rfc2822(date).unwrap();
    let behind = chrono::Utc::now().timestamp() - date.timestamp();
    assert!((599..=601).contains(&behind), "{behind}");
    assert_eq!(skewed.headers.get_all("date").iter().count(), 1, "one Date");
    raw.clock_offset_secs = -600;
    let created = raw.create(r#"{"name":"Late"}"#, &fresh_key()).await;
    assert_eq!(created.status, 201);
    let at =
        chrono::DateTime::parse_from_rfc3339(created.body["data"]["createdAt"].as_str().unwrap())
            .unwrap();
    let behind = chrono::Utc::now().timestamp() - at.timestamp();
    assert!((599..=601).contains(&behind), "{behind}");
}

//! `client.request(..)`: routes the typed API does not wrap, signed,
//! retried, keyed and decoded like the typed calls; and customers routes
//! against the sandbox.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::scripted::{Reply, Scripted, assert_signed};
use crate::common::*;
use futures_util::TryStreamExt;
use plugipay::{Client, Error, ErrorCode, Method, RetryPolicy};
use serde_json::json;

fn client_for(base: &str) -> Client {
    Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(base)
        .retry_policy(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

fn unavailable() -> Reply {
    Reply::json(503, error_envelope("internal_error", "try later"))
}

#[derive(Debug, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Invoice {
    id: String,
    amount_due: u64,
}

#[tokio::test]
async fn a_get_on_another_route_is_signed_retried_and_typed() {
    let server = Scripted::start(vec![
        unavailable(),
        Reply::json(200, envelope(json!({"id": "inv_1", "amountDue": 150000}))),
    ])
    .await;
    let invoice: Invoice = client_for(&server.base_url)
        .request(Method::GET, "/api/v1/invoices/inv_1")
        .query(&[("expand", "lines")])
        .returning::<Invoice>()
        .await
        .unwrap();
    assert_eq!(
        invoice,
        Invoice {
            id: "inv_1".into(),
            amount_due: 150_000
        }
    );
    let attempts = server.received();
    assert_eq!(attempts.len(), 2, "the 503 was retried");
    for attempt in &attempts {
        assert_eq!(attempt.method, "GET");
        assert_eq!(attempt.target, "/api/v1/invoices/inv_1?expand=lines");
        assert!(
            attempt.header("idempotency-key").is_none(),
            "no key on a GET"
        );
        assert_signed(attempt);
    }
}

#[tokio::test]
async fn a_write_keeps_one_idempotency_key_across_retries() {
    let server = Scripted::start(vec![
        unavailable(),
        Reply::json(201, envelope(json!({"id": "gc_1"}))),
    ])
    .await;
    let created: serde_json::Value = client_for(&server.base_url)
        .request(Method::POST, "/api/v1/gift_cards")
        .json(&json!({"amount": 50000, "currency": "IDR"}))
        .await
        .unwrap();
    assert_eq!(created["id"], "gc_1");
    let attempts = server.received();
    assert_eq!(attempts.len(), 2);
    let keys: HashSet<_> = attempts
        .iter()
        .map(|a| a.header("idempotency-key").expect("a write carries a key"))
        .collect();
    assert_eq!(keys.len(), 1, "one key for every attempt");
    for attempt in &attempts {
        assert_signed(attempt);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&attempt.body).unwrap(),
            json!({"amount": 50000, "currency": "IDR"})
        );
        assert_eq!(
            attempt.header("content-type").as_deref(),
            Some("application/json")
        );
    }
}

#[tokio::test]
async fn a_caller_key_an_empty_answer_and_an_api_error() {
    let server = Scripted::start(vec![
        Reply::raw(204, ""),
        Reply::json(409, error_envelope("conflict", "it has money history")),
    ])
    .await;
    let client = client_for(&server.base_url);
    let gone: serde_json::Value = client
        .request(Method::DELETE, "/api/v1/webhooks/wh_1")
        .idempotency_key("idem_mine")
        .await
        .unwrap();
    assert_eq!(gone, serde_json::Value::Null, "no data reads as null");
    assert_eq!(
        server.received()[0].header("idempotency-key").as_deref(),
        Some("idem_mine")
    );
    let err = client
        .request(Method::DELETE, "/api/v1/webhooks/wh_2")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Conflict));
}

#[tokio::test]
async fn a_list_route_is_walked_page_by_page() {
    let page = |ids: &[&str], cursor: Option<&str>| {
        Reply::json(
            200,
            json!({"data": ids.iter().map(|id| json!({"id": id, "amountDue": 1})).collect::<Vec<_>>(),
                   "error": null,
                   "meta": {"requestId": "req_1", "cursor": cursor, "hasMore": cursor.is_some()}}),
        )
    };
    let server = Scripted::start(vec![
        page(&["inv_1", "inv_2"], Some("c1")),
        unavailable(),
        page(&["inv_3"], None),
    ])
    .await;
    let invoices: Vec<Invoice> = client_for(&server.base_url)
        .request(Method::GET, "/api/v1/invoices")
        .query(&[("status", "open"), ("limit", "2")])
        .returning::<Invoice>()
        .paginated()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = invoices.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["inv_1", "inv_2", "inv_3"]);
    let targets: Vec<_> = server.received().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            "/api/v1/invoices?status=open&limit=2",
            "/api/v1/invoices?status=open&limit=2&cursor=c1",
            "/api/v1/invoices?status=open&limit=2&cursor=c1",
        ]
    );
}

/// A write answered 2xx was applied: data that does not fit the caller's
/// type is of unknown outcome (never a failure to send again), and `()`
/// takes any answer.
#[tokio::test]
async fn a_raw_write_answered_2xx_is_never_a_plain_failure() {
    let deleted = Reply::json(
        200,
        json!({"data": {"id": "inv_1", "deleted": true}, "meta": {"requestId": "r"}}),
    );
    let server = Scripted::start(vec![deleted]).await;
    let () = client_for(&server.base_url)
        .request(Method::DELETE, "/api/v1/invoices/inv_1")
        .returning::<()>()
        .await
        .unwrap();

    let odd = Reply::json(
        201,
        json!({"data": {"id": "inv_2", "amountDue": "lots"}, "meta": {"requestId": "r"}}),
    );
    let server = Scripted::start(vec![odd.clone()]).await;
    let err = client_for(&server.base_url)
        .request(Method::POST, "/api/v1/invoices")
        .json(&json!({"amountDue": 5}))
        .returning::<Invoice>()
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(matches!(&err, Error::OutcomeUnknown(inner) if matches!(**inner, Error::Decode(_))));
    assert_eq!(server.received().len(), 1, "not sent again");

    // A read that does not fit is a plain decode error.
    let server = Scripted::start(vec![odd]).await;
    let err = client_for(&server.base_url)
        .request(Method::GET, "/api/v1/invoices/inv_2")
        .returning::<Invoice>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn a_looping_list_route_ends_with_a_paging_error() {
    let looping = Reply::json(
        200,
        json!({"data": [{"id": "x"}], "meta": {"requestId": "r", "cursor": "same", "hasMore": true}}),
    );
    let server = Scripted::start(vec![looping.clone(), looping.clone(), looping]).await;
    let result: Result<Vec<serde_json::Value>, Error> = client_for(&server.base_url)
        .request(Method::GET, paths::events())
        .paginated()
        .stream()
        .try_collect()
        .await;
    assert!(matches!(result, Err(Error::Paging(_))), "{result:?}");
}

#[tokio::test]
async fn bad_paths_are_refused_before_the_network() {
    let server = Scripted::start(vec![]).await;
    let client = client_for(&server.base_url);
    for path in ["api/v1/x", "/a b", "/x?y=1", "/a/../b"] {
        let err = client.request(Method::GET, path).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { field, .. } if field == "path"),
            "{path}: {err:?}"
        );
    }
    assert!(server.received().is_empty());
    assert_eq!(
        plugipay::escape_path_segment("inv 1/2"),
        "inv%201%2F2",
        "segments are escaped for you"
    );
}

#[tokio::test]
async fn customers_routes_against_the_sandbox() {
    let sandbox =
        plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new().seed_customers(30))
            .await
            .unwrap();
    let client = sandbox_client(sandbox.base_url());
    let created: serde_json::Value = client
        .request(Method::POST, paths::customers())
        .json(&json!({"externalId": "raw_1", "metadata": {"plan": "pro"}}))
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let path = paths::customer(&plugipay::escape_path_segment(&id));
    let typed: plugipay::Customer = client
        .request(Method::GET, &path)
        .returning::<plugipay::Customer>()
        .await
        .unwrap();
    assert_eq!(typed.external_id.as_deref(), Some("raw_1"));
    let all: Vec<serde_json::Value> = client
        .request(Method::GET, paths::customers())
        .query(&[("limit", "7")])
        .paginated()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 31);
    let () = client
        .request(Method::DELETE, &path)
        .returning::<()>()
        .await
        .unwrap();
    let err = client.customers().get(&id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
}

//! Right under every published reading of Plugipay: where its reference
//! pages and its SDKs' code disagree (list paging, error code case, the
//! event envelope, HMAC key ids), each test body runs against the sandbox
//! speaking both (`Dialect::ALL`); and a machine clock far from the
//! server's is corrected from the server's `Date` header.

use std::collections::HashSet;

use crate::common::scripted::{Reply, Scripted};
use futures_util::TryStreamExt;
use plugipay::api::endpoint::Endpoint as _;
use plugipay::api::endpoints::ListCustomers;
use plugipay::{Client, ErrorCode, ListParams, Mode, NewCustomer};
use plugipay_sandbox::{ApiKey, Dialect, Sandbox, TEST_ACCOUNT_ID};
use serde_json::json;

fn client(base_url: &str, key_id: &str, secret: &str) -> Client {
    Client::builder()
        .key_id(key_id)
        .secret(secret)
        .base_url(base_url)
        .build()
        .unwrap()
}

/// One cursor, small pages, both readings: the whole book, each once, and
/// `pages()` ends where `stream()` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_cursor_walk_reads_the_whole_book_in_either_reading() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(
            crate::common::unpaced()
                .seed_customers(230)
                .dialect(dialect),
        )
        .await
        .unwrap();
        let client = crate::common::sandbox_client(sandbox.base_url());
        let walked: Vec<_> = client
            .customers()
            .list(ListParams::new().limit(7))
            .stream()
            .try_collect()
            .await
            .unwrap();
        let ids: HashSet<_> = walked.iter().map(|c| c.id.clone()).collect();
        assert_eq!((walked.len(), ids.len()), (230, 230), "{dialect}");
        let pages: Vec<_> = client
            .customers()
            .list(ListParams::new().limit(100))
            .pages()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(pages.len(), 3, "{dialect}");
        assert!(pages[..2].iter().all(|p| p.has_more && p.cursor.is_some()));
        assert_eq!(pages[2].next_cursor(), Ok(None), "{dialect}");
    }
}

/// The errors a caller handles, in either case of code: the same typed
/// error whatever the reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_the_same_typed_errors_in_either_reading() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(crate::common::unpaced().dialect(dialect))
            .await
            .unwrap();
        let client = crate::common::sandbox_client(sandbox.base_url());
        let customers = client.customers();

        let missing = customers.get("cus_missing").await.unwrap_err();
        assert_eq!(missing.code(), Some(&ErrorCode::NotFound), "{dialect}");

        customers
            .create(NewCustomer::new().external_id("crm_1"))
            .await
            .unwrap();
        let taken = customers
            .create(NewCustomer::new().external_id("crm_1"))
            .await
            .unwrap_err();
        assert_eq!(taken.code(), Some(&ErrorCode::Conflict), "{dialect}");

        customers
            .create(NewCustomer::new().name("Ani"))
            .idempotency_key("key-reused")
            .await
            .unwrap();
        let reused = customers
            .create(NewCustomer::new().name("Budi"))
            .idempotency_key("key-reused")
            .await
            .unwrap_err();
        assert_eq!(
            reused.code(),
            Some(&ErrorCode::IdempotencyMismatch),
            "{dialect}"
        );

        // A page size the server refuses (the raw path does not check it).
        let invalid = client
            .request(plugipay::Method::GET, ListCustomers::PATH)
            .query(&[("limit", "0")])
            .await
            .unwrap_err();
        assert_eq!(
            invalid.code(),
            Some(&ErrorCode::ValidationError),
            "{dialect}"
        );
        let plugipay::Error::Api(api) = invalid else {
            panic!("{dialect}: an API error")
        };
        assert_eq!(api.field.as_deref(), Some("limit"), "{dialect}");
        let upper = api.code.as_str().to_ascii_uppercase();
        assert_eq!(upper, "VALIDATION_ERROR");
    }
}

/// An HMAC key id as Plugipay's API keys page mints it (`pk_test_…` with an
/// `sk_test_…` secret) signs as an `ak_…` one does, given as a pair or as
/// `PLUGIPAY_API_KEY`'s `keyId:secret`; a lone `pk_…` stays a Bearer key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pk_key_ids_with_sk_secrets_are_hmac_pairs() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(crate::common::unpaced().dialect(dialect).key(ApiKey::hmac(
            "pk_test_docs",
            "sk_test_docs",
            TEST_ACCOUNT_ID,
        )))
        .await
        .unwrap();
        let pair = client(sandbox.base_url(), "pk_test_docs", "sk_test_docs");
        let created = pair
            .customers()
            .create(NewCustomer::new().name("Dewi"))
            .await
            .unwrap();
        assert_eq!(pair.mode(), Some(Mode::Test));
        let joined = Client::builder()
            .api_key("pk_test_docs:sk_test_docs")
            .base_url(sandbox.base_url())
            .build()
            .unwrap();
        assert_eq!(
            joined.customers().get(&created.id).await.unwrap().id,
            created.id
        );
        let bearer = Client::builder()
            .api_key("pk_test_sandbox")
            .base_url(sandbox.base_url())
            .build()
            .unwrap();
        assert_eq!(
            bearer.customers().get(&created.id).await.unwrap().id,
            created.id
        );
        let wrong = client(sandbox.base_url(), "pk_test_docs", "sk_test_other");
        let refused = wrong.customers().get(&created.id).await.unwrap_err();
        assert_eq!(
            refused.code(),
            Some(&ErrorCode::SignatureInvalid),
            "{dialect}"
        );
    }
}

/// A machine clock ten minutes ahead of the server's (or behind it): the
/// first call of a fresh client is refused once, signed again by the
/// server's time and served; the client keeps the offset, so its later
/// calls go through at once; a create under it is made once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_far_from_the_servers_is_corrected_on_the_first_call() {
    for (dialect, offset) in [(Dialect::Sdk, -600), (Dialect::Docs, 600)] {
        let sandbox = Sandbox::start(
            crate::common::unpaced()
                .dialect(dialect)
                .clock_offset_secs(offset),
        )
        .await
        .unwrap();
        let client = client(
            sandbox.base_url(),
            plugipay_sandbox::TEST_KEY_ID,
            plugipay_sandbox::TEST_SECRET,
        );
        let created = client
            .customers()
            .create(NewCustomer::new().external_id("crm_skew"))
            .max_retries(0)
            .await
            .unwrap();
        let learned = client.clock_offset();
        assert!(
            (learned - offset).abs() <= 2,
            "{dialect}: learned {learned}"
        );
        // Later calls are signed right at once: no retry is left, none needed.
        client
            .customers()
            .get(&created.id)
            .max_retries(0)
            .await
            .unwrap();
        assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 1, "{dialect}");
        // The create's read-back compares times by the server's clock: an
        // ensure of the same external id finds it, created by no one now.
        let ensured = client
            .customers()
            .ensure("crm_skew", NewCustomer::new())
            .await
            .unwrap();
        assert!(!ensured.created && ensured.customer.id == created.id);
    }
}

fn refused(code: &str, date: &str) -> Reply {
    Reply::json(
        401,
        json!({"data": null, "error": {"code": code, "message": "refused"}, "meta": {}}),
    )
    .header("date", date)
}

fn http_date(offset_secs: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::seconds(offset_secs))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// One extra attempt for the clock, never more; never for a signature
/// refused for another reason, nor when the clocks agree; the error that
/// remains says how far this machine's clock is.
#[tokio::test]
async fn the_clock_is_corrected_once_and_only_for_a_refused_timestamp() {
    // Refused again after the correction: two requests, and the error
    // says by how much the clocks differ.
    let server = Scripted::start(vec![
        refused("TIMESTAMP_SKEW", &http_date(-900)),
        refused("timestamp_skew", &http_date(-900)),
        refused("timestamp_skew", &http_date(-900)),
    ])
    .await;
    let client = crate::common::client_for(&server.base_url);
    let error = client
        .customers()
        .get("cus_1")
        .max_retries(5)
        .await
        .unwrap_err();
    assert_eq!(server.received().len(), 2);
    let text = error.to_string();
    assert!(text.contains("900 s ahead of the server's"), "{text}");

    // Another spelling of the code, the server ahead: corrected the same way.
    let server = Scripted::start(vec![
        refused("invalid_timestamp", &http_date(700)),
        Reply::json(
            200,
            crate::common::envelope(crate::common::customer_json("cus_1")),
        ),
    ])
    .await;
    let client = crate::common::client_for(&server.base_url);
    client.customers().get("cus_1").await.unwrap();
    let received = server.received();
    let stamps: Vec<i64> = received
        .iter()
        .map(|r| r.header("x-plugipay-timestamp").unwrap().parse().unwrap())
        .collect();
    assert!((stamps[1] - stamps[0] - 700).abs() <= 2, "{stamps:?}");

    // A signature refused for what it is: never sent again.
    let server = Scripted::start(vec![
        refused("signature_invalid", &http_date(-900)),
        Reply::json(
            200,
            crate::common::envelope(crate::common::customer_json("cus_1")),
        ),
    ])
    .await;
    let client = crate::common::client_for(&server.base_url);
    client
        .customers()
        .get("cus_1")
        .max_retries(5)
        .await
        .unwrap_err();
    assert_eq!(server.received().len(), 1);

    // A timestamp refused while the clocks agree: nothing to correct.
    let server = Scripted::start(vec![
        refused("timestamp_skew", &http_date(0)),
        Reply::json(
            200,
            crate::common::envelope(crate::common::customer_json("cus_1")),
        ),
    ])
    .await;
    let client = crate::common::client_for(&server.base_url);
    let error = client
        .customers()
        .get("cus_1")
        .max_retries(5)
        .await
        .unwrap_err();
    assert_eq!(server.received().len(), 1);
    assert!(error.to_string().contains("agrees"), "{error}");
}

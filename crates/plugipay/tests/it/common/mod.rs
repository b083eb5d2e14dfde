//! Helpers shared by the wire tests: a capturing mock server, an independent
//! HMAC check, and JSON fixtures.
#![allow(dead_code, reason = "each test binary uses part of the helpers")]

pub mod scripted;

use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use httpmock::prelude::*;
use httpmock::{HttpMockRequest, When};
use plugipay::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const KEY_ID: &str = "ak_test_wire";
pub const SECRET: &str = "sk_test_wire_secret";
pub const API_KEY: &str = "pk_test_wire_key";
pub const CUSTOMER_ID: &str = "cus_01HXAB7K3M9N2P5QRS8TVWXY3Z";

/// Requests a mock saw, in order.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<HttpMockRequest>>>);

impl Captured {
    /// Adds a matcher that accepts every request and keeps a copy of it.
    pub fn on(&self, when: When) -> When {
        let store = self.0.clone();
        when.is_true(move |req: &HttpMockRequest| {
            store.lock().unwrap().push(req.clone());
            true
        })
    }

    pub fn all(&self) -> Vec<HttpMockRequest> {
        self.0.lock().unwrap().clone()
    }

    /// The only request seen.
    pub fn one(&self) -> HttpMockRequest {
        let all = self.all();
        assert_eq!(all.len(), 1, "expected exactly one request");
        all.into_iter().next().unwrap()
    }
}

/// A client for `base` that makes one attempt per call: these tests look at
/// single requests.
pub fn client_for(base: &str) -> Client {
    Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(base)
        .max_retries(0)
        .build()
        .unwrap()
}

/// A client of a sandbox's default workspace key, retrying the default
/// way but quickly (these tests are about what is sent, not how long it waits).
pub fn sandbox_client(base: &str) -> Client {
    Client::builder()
        .key_id(plugipay_sandbox::TEST_KEY_ID)
        .secret(plugipay_sandbox::TEST_SECRET)
        .base_url(base)
        .retry_policy(
            plugipay::RetryPolicy::default()
                .base_delay(std::time::Duration::from_millis(1))
                .max_delay(std::time::Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

/// [`client_for`] a mock server.
pub fn hmac_client(server: &MockServer) -> Client {
    client_for(&server.base_url())
}

pub fn bearer_client(server: &MockServer) -> Client {
    Client::builder()
        .api_key(API_KEY)
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap()
}

/// The request target as received: path and query, without scheme and host.
pub fn target(req: &HttpMockRequest) -> String {
    req.uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_default()
}

pub fn header(req: &HttpMockRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// Checks the HMAC signature of a received request from first principles
/// (not with the SDK's own signing code): the request target and body as
/// received, the timestamp header, and the Idempotency-Key line when present.
pub fn assert_signed(req: &HttpMockRequest) {
    let auth = header(req, "authorization").expect("Authorization header");
    let prefix = format!("Plugipay-HMAC-SHA256 keyId={KEY_ID}, scope=*, signature=");
    let signature = auth
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("unexpected Authorization header {auth:?}"));
    let timestamp = header(req, "x-plugipay-timestamp").expect("timestamp header");
    let ts: i64 = timestamp.parse().expect("timestamp in seconds");
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now - ts).abs() <= 300,
        "timestamp {ts} is not current ({now})"
    );
    let mut to_sign = format!(
        "{}\n{}\n{}\n{}",
        req.method_str(),
        target(req),
        timestamp,
        hex::encode(Sha256::digest(req.body_ref()))
    );
    if let Some(key) = header(req, "idempotency-key") {
        to_sign.push('\n');
        to_sign.push_str(&key);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    assert_eq!(
        signature,
        hex::encode(mac.finalize().into_bytes()),
        "signature over {to_sign:?}"
    );
}

/// Asserts the Idempotency-Key looks like `idem_<uuid>` and returns it.
pub fn assert_fresh_idempotency_key(req: &HttpMockRequest) -> String {
    let key = header(req, "idempotency-key").expect("Idempotency-Key on a write");
    let uuid = key.strip_prefix("idem_").expect("idem_ prefix");
    assert_eq!(uuid.len(), 36, "{key}");
    assert!(
        uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "{key}"
    );
    key
}

pub fn customer_json(id: &str) -> Value {
    json!({
        "id": id,
        "arn": format!("arn:plugipay:customer:{id}"),
        "accountId": "acct_wire",
        "email": "alice@example.com",
        "name": "Alice Tan",
        "phone": null,
        "externalId": "user_19823",
        "taxId": null,
        "defaultPaymentTokenId": null,
        "metadata": {"plan": "pro"},
        "createdAt": "2026-11-25T01:02:03Z",
        "updatedAt": "2026-11-25T01:02:03Z"
    })
}

pub fn envelope(data: Value) -> Value {
    json!({
        "data": data,
        "error": null,
        "meta": {"requestId": "req_ok", "timestamp": "2026-11-25T01:02:03Z"}
    })
}

pub fn error_envelope(code: &str, message: &str) -> Value {
    json!({
        "data": null,
        "error": {"code": code, "message": message},
        "meta": {"requestId": "req_err_1", "timestamp": "2026-11-25T01:02:03Z"}
    })
}

/// A sandbox configuration without the published rate limits, for tests
/// that measure something other than pacing and set up more than those
/// limits allow quickly (the limits have tests of their own).
pub fn unpaced() -> plugipay_sandbox::SandboxConfig {
    plugipay_sandbox::SandboxConfig::new().rate_limits(plugipay_sandbox::RateLimits::off())
}

/// The spec's paths, from the generated descriptors (a moved path needs no
/// test edit).
pub use plugipay::api::paths;

//! A deliberately independent Plugipay client, written from the protocol as
//! the spec's security schemes describe it (its own signing, query encoding
//! and idempotency keys), and checks of responses against the spec.
#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use plugipay_api::types;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// Credentials of the raw client.
#[derive(Clone)]
pub enum Auth {
    Hmac { key_id: String, secret: String },
    Bearer(String),
}

#[derive(Clone)]
pub struct RawClient {
    http: reqwest::Client,
    base: String,
    pub auth: Auth,
    pub on_behalf_of: Option<String>,
    /// Added to the signing time (to test clock skew).
    pub clock_offset_secs: i64,
    /// The X-Plugipay-Timestamp to send instead of the signing time: none
    /// (`Some(None)`) or a given text.
    pub timestamp_override: Option<Option<String>>,
    /// The reading the sandbox speaks, which answers are checked against.
    pub dialect: plugipay_sandbox::Dialect,
}

impl RawClient {
    pub fn hmac(base: &str, key_id: &str, secret: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            auth: Auth::Hmac {
                key_id: key_id.into(),
                secret: secret.into(),
            },
            on_behalf_of: None,
            clock_offset_secs: 0,
            timestamp_override: None,
            dialect: plugipay_sandbox::Dialect::Sdk,
        }
    }

    /// The same client, checking answers as `dialect` writes them.
    pub fn speaking(mut self, dialect: plugipay_sandbox::Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    pub fn sandbox(base: &str) -> Self {
        Self::hmac(
            base,
            plugipay_sandbox::TEST_KEY_ID,
            plugipay_sandbox::TEST_SECRET,
        )
    }

    /// Sends `method target` with an optional JSON body and Idempotency-Key,
    /// signed as the spec's `hmac` security scheme says.
    pub async fn send(
        &self,
        method: &str,
        target: &str,
        body: Option<&str>,
        key: Option<&str>,
    ) -> Answer {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + self.clock_offset_secs;
        let body_bytes = body.unwrap_or("").as_bytes();
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{target}", self.base))
            .header("Accept", "application/json");
        match &self.auth {
            Auth::Bearer(token) => req = req.header("Authorization", format!("Bearer {token}")),
            Auth::Hmac { key_id, secret } => {
                let mut to_sign = format!(
                    "{method}\n{target}\n{ts}\n{}",
                    hex::encode(Sha256::digest(body_bytes))
                );
                if let Some(k) = key {
                    to_sign = format!("{to_sign}\n{k}");
                }
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
                mac.update(to_sign.as_bytes());
                let sig = hex::encode(mac.finalize().into_bytes());
                req = req.header(
                    "Authorization",
                    format!("Plugipay-HMAC-SHA256 keyId={key_id}, scope=*, signature={sig}"),
                );
                match &self.timestamp_override {
                    None => req = req.header("X-Plugipay-Timestamp", ts.to_string()),
                    Some(Some(text)) => req = req.header("X-Plugipay-Timestamp", text),
                    Some(None) => {}
                }
            }
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(acct) = &self.on_behalf_of {
            req = req.header("X-Plugipay-On-Behalf-Of", acct);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_owned());
        }
        let resp = req.send().await.expect("the sandbox answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        // A 204 has no body at all.
        let body: Value = if status == 204 && bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        let answer = Answer {
            status,
            headers,
            body,
        };
        assert_valid(method, target, &answer.in_sdk_reading(self.dialect));
        answer
    }

    pub async fn create(&self, body: &str, key: &str) -> Answer {
        self.send("POST", paths::customers(), Some(body), Some(key))
            .await
    }
}

pub fn fresh_key() -> String {
    format!("idem_{}", uuid::Uuid::new_v4())
}

/// The codes a raw client may meet: the sandbox's own, and the
/// `service_unavailable` of a fault proxy in front of it.
const KNOWN_CODES: [&str; 13] = [
    "validation_error",
    "unauthorized",
    "signature_invalid",
    "timestamp_skew",
    "invalid_timestamp",
    "forbidden",
    "insufficient_scope",
    "not_found",
    "conflict",
    "idempotency_mismatch",
    "rate_limited",
    "service_unavailable",
    "method_not_allowed",
];

fn assert_customer(c: &types::Customer) {
    let suffix = c.id.strip_prefix("cus_").expect("cus_ prefix");
    assert_eq!(suffix.len(), 26, "{}", c.id);
    assert!(
        suffix
            .bytes()
            .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
        "{}",
        c.id
    );
    assert!(c.updated_at >= c.created_at);
}

impl Answer {
    /// This answer as the official SDKs' reading writes it, after checking
    /// that it is written as `dialect` says: the reference pages' reading
    /// has list paging in `meta.page`, codes in UPPER case and events in the
    /// API page's envelope (checked here, then rewritten), so one check of
    /// the spec's types serves both.
    pub fn in_sdk_reading(&self, dialect: plugipay_sandbox::Dialect) -> Answer {
        let mut body = self.body.clone();
        if dialect == plugipay_sandbox::Dialect::Sdk || body.is_null() {
            return Answer {
                status: self.status,
                headers: self.headers.clone(),
                body,
            };
        }
        let raw = body.to_string();
        if let Some(code) = body["error"]["code"].as_str() {
            assert_eq!(code, code.to_ascii_uppercase(), "UPPER case: {raw}");
            body["error"]["code"] = Value::String(code.to_ascii_lowercase());
        }
        if let Some(meta) = body["meta"].as_object_mut()
            && let Some(page) = meta.remove("page")
        {
            assert!(
                !meta.contains_key("cursor") && !meta.contains_key("hasMore"),
                "{raw}"
            );
            assert!(page["limit"].as_u64().is_some(), "{raw}");
            let next = page["nextCursor"].clone();
            assert_eq!(page["hasMore"].as_bool(), Some(!next.is_null()), "{raw}");
            meta.insert("cursor".into(), next);
            meta.insert("hasMore".into(), page["hasMore"].clone());
        }
        let sdk_event = |event: &Value| -> Value {
            let kind = event["type"].as_str().expect("a type");
            assert!(!kind.starts_with("plugipay."), "a bare type: {event}");
            assert!(event.get("occurredAt").is_none() && event.get("accountId").is_none());
            let object = event["data"].clone();
            json!({
                "id": event["id"],
                "type": format!("plugipay.{kind}.v1"),
                "accountId": event["workspaceId"].as_str().expect("workspaceId"),
                "occurredAt": event["createdAt"].as_str().expect("createdAt"),
                "data": {"object": object, "aggregateType": "customer", "aggregateId": object["id"]},
            })
        };
        match &mut body["data"] {
            Value::Array(items)
                if items
                    .first()
                    .is_some_and(|e| e.get("workspaceId").is_some()) =>
            {
                for item in items.iter_mut() {
                    *item = sdk_event(item);
                }
            }
            data if data.get("workspaceId").is_some() => *data = sdk_event(data),
            _ => {}
        }
        Answer {
            status: self.status,
            headers: self.headers.clone(),
            body,
        }
    }
}

/// Every response must decode as the spec's type for its operation and
/// status, and keep the spec's promises.
pub fn assert_valid(method: &str, target: &str, answer: &Answer) {
    if answer.status == 204 {
        assert_eq!(method, "DELETE", "only a delete answers 204");
        assert!(answer.body.is_null(), "a 204 has no body");
        return;
    }
    let body = answer.body.clone();
    let raw = serde_json::to_string(&body).unwrap();
    assert_eq!(
        answer
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/json")
    );
    if answer.status >= 400 {
        let env: types::ErrorEnvelope =
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("error envelope: {e}: {raw}"));
        // `field`, when sent, names a field or parameter.
        if let Some(field) = body["error"].get("field") {
            assert!(field.as_str().is_some_and(|f| !f.is_empty()), "{raw}");
        }
        assert!(KNOWN_CODES.contains(&env.error.code.as_str()), "{raw}");
        assert!(body["data"].is_null(), "{raw}");
        assert!(!env.meta.expect("meta").request_id.is_empty());
        return;
    }
    // The operation, by the generated route table (so a moved path follows).
    let path = target.split('?').next().unwrap();
    let route = plugipay_api::endpoints::route(method, path).ok();
    use plugipay_api::endpoints::Route;
    if matches!(route, Some(Route::ListEvents)) {
        let env: types::EventListEnvelope =
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("events envelope: {e}: {raw}"));
        assert_eq!(env.meta.has_more, env.meta.cursor.is_some(), "{raw}");
        assert!(env.error.is_none());
        assert_eq!(answer.status, 200, "{raw}");
    } else if matches!(route, Some(Route::GetEvent { .. })) {
        let env: types::EventEnvelope =
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("event envelope: {e}: {raw}"));
        assert!(env.error.is_none());
        assert_eq!(answer.status, 200, "{raw}");
    } else if matches!(route, Some(Route::ListCustomers)) {
        let env: types::CustomerListEnvelope =
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("list envelope: {e}: {raw}"));
        assert_eq!(env.meta.has_more, env.meta.cursor.is_some(), "{raw}");
        env.data.iter().for_each(assert_customer);
        assert!(env.error.is_none());
    } else {
        let env: types::CustomerEnvelope =
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("customer envelope: {e}: {raw}"));
        assert_customer(&env.data);
        assert!(env.error.is_none());
        // Every live field is present, null when unset.
        for key in [
            "arn",
            "taxId",
            "defaultPaymentTokenId",
            "metadata",
            "email",
            "phone",
        ] {
            assert!(body["data"].get(key).is_some(), "{key} missing: {raw}");
        }
        let expected = if method == "POST" { 201 } else { 200 };
        assert_eq!(answer.status, expected, "{raw}");
    }
}

/// An SDK client for the sandbox with the default HMAC key.
pub fn sdk(base: &str) -> plugipay::Client {
    plugipay::Client::builder()
        .key_id(plugipay_sandbox::TEST_KEY_ID)
        .secret(plugipay_sandbox::TEST_SECRET)
        .base_url(base)
        .build()
        .unwrap()
}

/// A raw client with the sandbox's platform key, acting for `account`.
pub fn platform_for(base: &str, account: &str) -> RawClient {
    let mut raw = RawClient::hmac(
        base,
        plugipay_sandbox::PLATFORM_KEY_ID,
        plugipay_sandbox::PLATFORM_SECRET,
    );
    raw.on_behalf_of = Some(account.to_owned());
    raw
}

/// A sandbox configuration without the published rate limits, for tests
/// that measure something other than pacing and set up more than those
/// limits allow quickly (the limits have tests of their own).
pub fn unpaced() -> plugipay_sandbox::SandboxConfig {
    plugipay_sandbox::SandboxConfig::new().rate_limits(plugipay_sandbox::RateLimits::off())
}

/// The spec's paths, from the generated descriptors (a moved path needs no
/// test edit).
pub use plugipay_api::paths;

/// The `plugipay-sandbox` binary on a free loopback port with `args`, ready
/// (it has printed its address), killed when dropped.
pub fn sandbox_binary(args: &[&str]) -> plugipay_sandbox::SandboxProcess {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_plugipay-sandbox"));
    command
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stderr(std::process::Stdio::null());
    plugipay_sandbox::SandboxProcess::spawn(command).expect("the sandbox binary starts")
}

//! Credentials and the Plugipay request signature (HMAC-SHA256 or Bearer).
//!
//! The string-to-sign is the method, the path and query exactly as sent, the
//! Unix timestamp, the hex SHA-256 of the body as sent (of the empty string when
//! there is none) and, only when the request carries one, the Idempotency-Key,
//! joined by `\n`. The signature is the lowercase hex HMAC-SHA256 of it, keyed
//! with the secret.
//!
//! ```
//! use plugipay_api::auth::{signature, string_to_sign};
//!
//! let to_sign = string_to_sign("GET", "/api/v1/customers?limit=2", 1_700_000_000, b"", None);
//! assert_eq!(
//!     to_sign,
//!     "GET\n/api/v1/customers?limit=2\n1700000000\n\
//!      e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
//! );
//! assert_eq!(signature(b"sk_test_sandbox", &to_sign).len(), 64);
//! ```

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

/// The header that carries the signing time, in Unix seconds.
pub use crate::wire::TIMESTAMP as TIMESTAMP_HEADER;

/// The header that carries a write's idempotency key.
pub use crate::wire::IDEMPOTENCY_KEY as IDEMPOTENCY_KEY_HEADER;

/// The scheme name in an HMAC `Authorization` header.
pub use crate::wire::HMAC_SCHEME;

/// How far the server's clock may be from the signing time, in seconds.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// Which of a workspace's two worlds a key acts in. Plugipay decides it by
/// the key's prefix (`…_test_…` or `…_live_…`); test and live share no
/// customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Test mode: `pk_test_…`, `ak_test_…`, `sk_test_…`.
    Test,
    /// Live mode: `pk_live_…`, `ak_live_…`, `sk_live_…`.
    Live,
}

impl Mode {
    /// `test` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    /// The mode a key id, secret or API key's prefix names (`ak_`, `pk_`
    /// or `sk_`, then `test_` or `live_`); `None` for any other text.
    ///
    /// ```
    /// use plugipay_api::auth::Mode;
    ///
    /// assert_eq!(Mode::of_key("pk_test_AKIA1"), Some(Mode::Test));
    /// assert_eq!(Mode::of_key("ak_live_1"), Some(Mode::Live));
    /// assert_eq!(Mode::of_key("key_1"), None);
    /// ```
    pub fn of_key(key: &str) -> Option<Mode> {
        let rest = ["ak_", "pk_", "sk_"]
            .iter()
            .find_map(|prefix| key.strip_prefix(prefix))?;
        if rest.starts_with("test_") {
            Some(Mode::Test)
        } else if rest.starts_with("live_") {
            Some(Mode::Live)
        } else {
            None
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    /// `test` or `live`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "test" => Ok(Mode::Test),
            "live" => Ok(Mode::Live),
            _ => Err(format!("{s:?} is not a mode: test or live")),
        }
    }
}

/// The key a client authenticates with: an HMAC key pair or a Bearer API key.
///
/// Cheap to clone (shared). Its `Debug` output shows the key id but never a
/// secret or an API key.
///
/// ```
/// use plugipay_api::auth::Credentials;
///
/// let creds = Credentials::hmac("ak_test_sandbox", "sk_test_sandbox").unwrap();
/// assert!(!format!("{creds:?}").contains("sk_test_sandbox"));
/// assert!(Credentials::hmac("ak test", "s").is_err());
/// ```
#[derive(Clone)]
pub struct Credentials(Arc<Kind>);

enum Kind {
    Hmac { key_id: String, secret: Vec<u8> },
    Bearer { api_key: String },
}

/// A key id, secret or API key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsError {
    what: &'static str,
    reason: &'static str,
}

impl CredentialsError {
    /// Which part of the credentials is wrong (`key_id`, `secret` or `api_key`).
    pub fn what(&self) -> &'static str {
        self.what
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.what, self.reason)
    }
}

impl std::error::Error for CredentialsError {}

/// Checks a value that goes into the `Authorization` header: non-empty, printable
/// ASCII, no white space and no comma (the HMAC header separates its fields
/// with `, `). The value itself is never put into the error.
fn check_token(what: &'static str, value: &str) -> Result<(), CredentialsError> {
    let reason = if value.is_empty() {
        "is empty"
    } else if !value.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        "must be printable ASCII without spaces or commas"
    } else {
        return Ok(());
    };
    Err(CredentialsError { what, reason })
}

impl Credentials {
    /// An HMAC key pair: requests are signed with `secret` and name `key_id`.
    pub fn hmac(
        key_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Result<Self, CredentialsError> {
        let key_id = key_id.into();
        let secret = secret.into();
        check_token("key_id", &key_id)?;
        if secret.is_empty() {
            return Err(CredentialsError {
                what: "secret",
                reason: "is empty",
            });
        }
        Ok(Self(Arc::new(Kind::Hmac {
            key_id,
            secret: secret.into_bytes(),
        })))
    }

    /// A dashboard API key (`pk_live_…` / `pk_test_…`), sent as a Bearer token.
    pub fn bearer(api_key: impl Into<String>) -> Result<Self, CredentialsError> {
        let api_key = api_key.into();
        check_token("api_key", &api_key)?;
        Ok(Self(Arc::new(Kind::Bearer { api_key })))
    }

    /// The mode the key's prefix names: the key id's (or else the
    /// secret's) for an HMAC pair, the API key's for a Bearer key; `None`
    /// when the prefix names none. Reveals nothing else of a secret.
    pub fn mode(&self) -> Option<Mode> {
        match &*self.0 {
            Kind::Hmac { key_id, secret } => Mode::of_key(key_id).or_else(|| {
                std::str::from_utf8(secret.get(..8).unwrap_or_default())
                    .ok()
                    .and_then(Mode::of_key)
            }),
            Kind::Bearer { api_key } => Mode::of_key(api_key),
        }
    }

    /// The HMAC key id, or `None` for a Bearer key.
    pub fn key_id(&self) -> Option<&str> {
        match &*self.0 {
            Kind::Hmac { key_id, .. } => Some(key_id),
            Kind::Bearer { .. } => None,
        }
    }

    /// Adds the `Authorization` header (and, for HMAC, `X-Plugipay-Timestamp`)
    /// to a fully built request, signing what it will send at `timestamp`.
    ///
    /// Fails only for a body that is not in memory (a stream cannot be signed).
    pub fn authorize(&self, request: &mut reqwest::Request, timestamp: u64) -> Result<(), String> {
        let value = match &*self.0 {
            Kind::Bearer { api_key } => format!("Bearer {api_key}"),
            Kind::Hmac { key_id, secret } => {
                let body: &[u8] = match request.body() {
                    None => b"",
                    Some(body) => body
                        .as_bytes()
                        .ok_or("cannot sign a streaming request body")?,
                };
                let url = request.url();
                let path_and_query = match url.query() {
                    Some(query) => format!("{}?{query}", url.path()),
                    None => url.path().to_owned(),
                };
                let idempotency_key = request
                    .headers()
                    .get(IDEMPOTENCY_KEY_HEADER)
                    .map(|v| v.to_str().map_err(|_| "Idempotency-Key is not ASCII"))
                    .transpose()?;
                let to_sign = string_to_sign(
                    request.method().as_str(),
                    &path_and_query,
                    timestamp,
                    body,
                    idempotency_key,
                );
                let sig = signature(secret, &to_sign);
                request.headers_mut().insert(
                    HeaderName::from_static(TIMESTAMP_HEADER),
                    HeaderValue::from(timestamp),
                );
                format!("{HMAC_SCHEME} keyId={key_id}, scope=*, signature={sig}")
            }
        };
        // The key id and API key were checked to be header-safe on construction.
        let mut value = HeaderValue::from_str(&value).map_err(|_| "unusable credentials")?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Kind::Hmac { key_id, .. } => f
                .debug_struct("Credentials::Hmac")
                .field("key_id", key_id)
                .field("secret", &"[redacted]")
                .finish(),
            Kind::Bearer { .. } => f
                .debug_struct("Credentials::Bearer")
                .field("api_key", &"[redacted]")
                .finish(),
        }
    }
}

/// The string an HMAC signature covers. `path_and_query` is the request target
/// exactly as sent (`/api/v1/customers?limit=2`); `body` the bytes as sent.
pub fn string_to_sign(
    method: &str,
    path_and_query: &str,
    timestamp: u64,
    body: &[u8],
    idempotency_key: Option<&str>,
) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    let mut out = format!("{method}\n{path_and_query}\n{timestamp}\n{body_hash}");
    if let Some(key) = idempotency_key {
        out.push('\n');
        out.push_str(key);
    }
    out
}

/// Lowercase hex HMAC-SHA256 of `string_to_sign`, keyed with `secret`.
pub fn signature(secret: &[u8], string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_adds_the_idempotency_line_only_when_sent() {
        let without = string_to_sign("POST", "/p", 1, b"{}", None);
        let with = string_to_sign("POST", "/p", 1, b"{}", Some("idem_1"));
        assert_eq!(with, format!("{without}\nidem_1"));
        assert_eq!(without.lines().count(), 4);
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tokens_are_checked_without_echoing_them() {
        for bad in ["", "a b", "a,b", "a\nb", "é"] {
            let err = Credentials::hmac(bad, "secret").unwrap_err();
            assert_eq!(err.what(), "key_id");
            assert!(bad.is_empty() || !err.to_string().contains(bad));
            assert_eq!(Credentials::bearer(bad).unwrap_err().what(), "api_key");
        }
        assert_eq!(Credentials::hmac("ak", "").unwrap_err().what(), "secret");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let hmac = Credentials::hmac("ak_test_x", "sk_very_secret").unwrap();
        let bearer = Credentials::bearer("pk_test_very_secret").unwrap();
        let shown = format!("{hmac:?} {bearer:?} {hmac:#?}");
        assert!(shown.contains("ak_test_x"));
        assert!(!shown.contains("very_secret"));
    }

    #[test]
    fn authorize_signs_the_request_as_sent() {
        let creds = Credentials::hmac("ak_1", "sk_1").unwrap();
        let mut req = reqwest::Request::new(
            reqwest::Method::POST,
            "http://127.0.0.1:1/api/v1/customers?b=2&a=1"
                .parse()
                .unwrap(),
        );
        *req.body_mut() = Some(reqwest::Body::from("{\"name\":\"A\"}"));
        req.headers_mut()
            .insert(IDEMPOTENCY_KEY_HEADER, HeaderValue::from_static("idem_k"));
        creds.authorize(&mut req, 42).unwrap();
        let expected = signature(
            b"sk_1",
            "POST\n/api/v1/customers?b=2&a=1\n42\n\
             b2c9ee672db13673e38e84d0da1a6e765c88b3d0f1dc65244d3f736045aa5c84\nidem_k",
        );
        let auth = req.headers()[AUTHORIZATION].to_str().unwrap();
        assert_eq!(
            auth,
            format!("Plugipay-HMAC-SHA256 keyId=ak_1, scope=*, signature={expected}")
        );
        assert_eq!(req.headers()[TIMESTAMP_HEADER], "42");
        assert!(req.headers()[AUTHORIZATION].is_sensitive());
    }

    #[test]
    fn bearer_sends_no_timestamp() {
        let creds = Credentials::bearer("pk_test_1").unwrap();
        let mut req =
            reqwest::Request::new(reqwest::Method::GET, "http://127.0.0.1:1/".parse().unwrap());
        creds.authorize(&mut req, 42).unwrap();
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer pk_test_1");
        assert!(req.headers().get(TIMESTAMP_HEADER).is_none());
    }
}

//! Customer webhooks: check a delivery's signature and read its event.
//!
//! Plugipay sends each event to your endpoint as a JSON `POST` signed with
//! the endpoint's secret (`whsec_…`) in `X-Plugipay-Signature: t=<unix
//! seconds>,v1=<hex>` ([`plugipay_api::webhook`] has the recipe). A
//! [`Verifier`] checks that header against the body's bytes **as received**
//! (parse nothing before: JSON serialised again is other bytes), refuses a
//! timestamp more than five minutes from your clock, and gives the typed
//! [`Event`] or a [`WebhookError`] whose [`code`](WebhookError::code) is
//! one of the failure codes Plugipay's SDKs publish.
//!
//! Delivery is at least once: the same event may arrive again (a retry
//! after a timeout, say). Deduplicate on [`Event::id`] before acting.
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use http_body_util::{BodyExt, Full};
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response, StatusCode};
//! use plugipay::webhooks::{EventType, Verifier};
//!
//! async fn plugipay_webhook(
//!     verifier: &Verifier,
//!     request: Request<Incoming>,
//! ) -> Result<Response<Full<Bytes>>, Infallible> {
//!     let (parts, body) = request.into_parts();
//!     let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
//!         return Ok(answer(StatusCode::BAD_REQUEST));
//!     };
//!     let event = match verifier.verify(&parts.headers, &body) {
//!         Ok(event) => event,
//!         Err(e) => {
//!             eprintln!("refused webhook: {} ({e})", e.code());
//!             return Ok(answer(StatusCode::BAD_REQUEST));
//!         }
//!     };
//!     // if already_seen(&event.id) { return Ok(answer(StatusCode::OK)); }
//!     match &event.event_type {
//!         EventType::CustomerCreated | EventType::CustomerUpdated => {
//!             if let Ok(Some(customer)) = event.customer() {
//!                 println!("customer {} is now {:?}", customer.id, customer.email);
//!             }
//!         }
//!         EventType::CustomerDeleted => println!("customer {:?} deleted", event.object_id()),
//!         other => println!("ignoring {other}"),
//!     }
//!     Ok(answer(StatusCode::OK))
//! }
//!
//! fn answer(status: StatusCode) -> Response<Full<Bytes>> {
//!     let mut response = Response::new(Full::default());
//!     *response.status_mut() = status;
//!     response
//! }
//! # let _ = Verifier::new(std::env::var("PLUGIPAY_WEBHOOK_SECRET").unwrap());
//! ```

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};
use plugipay_api::webhook::{
    SCHEME_V1, SIGNATURE_HEADER, SIGNATURE_HEADER_ALT, SIGNATURE_LEN, TIMESTAMP_KEY,
    TOLERANCE_SECS, signature_matches_any,
};

pub use plugipay_api::event::{Event, EventType};

/// How far a delivery's timestamp may be from the clock, either way, unless
/// [`Verifier::tolerance`] says otherwise: 300 seconds.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(TOLERANCE_SECS);

/// Checks webhook deliveries against one endpoint secret, or several while
/// you rotate it.
///
/// Cheap to clone; its `Debug` output never shows a secret.
///
/// ```
/// use std::time::Duration;
///
/// use chrono::DateTime;
/// use plugipay::webhooks::{Verifier, WebhookError};
/// use plugipay_api::webhook::signature_header;
///
/// let body = br#"{"id":"evt_1","type":"plugipay.customer.created.v1","accountId":"acct_1","occurredAt":"2026-01-05T10:00:00Z","data":{"object":{"id":"cus_1"},"aggregateType":"customer","aggregateId":"cus_1"}}"#;
/// let header = signature_header(b"whsec_new", 1_767_607_200, body);
/// let now = DateTime::from_timestamp(1_767_607_260, 0).unwrap();
///
/// // The old secret and the new one both pass while the endpoint rotates.
/// let verifier = Verifier::new("whsec_old").secret("whsec_new").tolerance(Duration::from_secs(120));
/// let event = verifier.verify_at(header.as_str(), body, now).unwrap();
/// assert_eq!(event.id, "evt_1");
///
/// let later = DateTime::from_timestamp(1_767_607_200 + 121, 0).unwrap();
/// let refused = verifier.verify_at(header.as_str(), body, later).unwrap_err();
/// assert_eq!(refused.code(), "signature_stale");
/// assert!(matches!(refused, WebhookError::Stale { .. }));
/// ```
#[derive(Clone)]
pub struct Verifier {
    secrets: Vec<Vec<u8>>,
    tolerance: Duration,
}

impl Verifier {
    /// A verifier for the endpoint signing with `secret` (`whsec_…`, as
    /// Plugipay showed it), with the [`DEFAULT_TOLERANCE`].
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self {
            secrets: vec![secret.as_ref().to_vec()],
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Accepts signatures made with `secret` as well: add the new secret
    /// beside the old one while an endpoint's secret rotates.
    #[must_use]
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push(secret.as_ref().to_vec());
        self
    }

    /// How far a timestamp may be from the clock, in the past or the future
    /// (300 s unless set). The clock's fraction of a second counts: with
    /// 300 s, a delivery checked 300.5 s after its timestamp is stale.
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Checks a delivery against the system clock and reads its event.
    ///
    /// `signature` is the request's headers (an [`http::HeaderMap`], where
    /// `X-Plugipay-Signature` or `Plugipay-Signature` is looked up) or the
    /// header's value (`&str`, `&HeaderValue`, `Option<…>` when it may be
    /// absent); `body` is the request body's bytes exactly as received.
    pub fn verify(
        &self,
        signature: impl SignatureHeader,
        body: &[u8],
    ) -> Result<Event, WebhookError> {
        self.verify_at(signature, body, Utc::now())
    }

    /// [`verify`](Self::verify) with the clock read as `now`, for tests and
    /// for deliveries checked after the fact.
    pub fn verify_at(
        &self,
        signature: impl SignatureHeader,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Event, WebhookError> {
        self.check_at(signature, body, now)?;
        Event::from_slice(body).map_err(|e| WebhookError::Payload(e.to_string()))
    }

    /// Checks only the signature and the timestamp, without reading the
    /// body as an event.
    pub fn check_at(
        &self,
        signature: impl SignatureHeader,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let header = match signature.signature_header() {
            None | Some(b"") => return Err(WebhookError::Missing),
            Some(header) => header,
        };
        // A verifier without a secret can judge nothing: said before the
        // header is read, as the official SDKs do.
        let secrets = || self.secrets.iter().filter(|s| !s.is_empty());
        if secrets().next().is_none() {
            return Err(WebhookError::NoSecret);
        }
        let parsed = Parsed::from_header(header)?;
        // To the nanosecond: 300.5 s is more than a 300 s tolerance.
        let now_nanos =
            i128::from(now.timestamp()) * 1_000_000_000 + i128::from(now.timestamp_subsec_nanos());
        let age = now_nanos - i128::from(parsed.timestamp) * 1_000_000_000;
        if age.unsigned_abs() > self.tolerance.as_nanos() {
            return Err(WebhookError::Stale {
                timestamp: parsed.timestamp,
                now: now.timestamp(),
                tolerance: self.tolerance,
            });
        }
        // The body is hashed once per secret, however many `v1` values the
        // header holds.
        let candidates: Vec<&[u8]> = parsed.signatures.iter().map(|c| c.as_slice()).collect();
        let matched = secrets()
            .any(|secret| signature_matches_any(secret, parsed.timestamp, body, &candidates));
        if matched {
            Ok(())
        } else {
            Err(WebhookError::Invalid)
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.secrets.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

/// Checks a delivery with one `secret`, the default tolerance and the system
/// clock: `Verifier::new(secret).verify(signature, body)`.
pub fn verify(
    signature: impl SignatureHeader,
    body: &[u8],
    secret: impl AsRef<[u8]>,
) -> Result<Event, WebhookError> {
    Verifier::new(secret).verify(signature, body)
}

/// Where a delivery's signature header is read from: request headers or the
/// header's value itself.
pub trait SignatureHeader {
    /// The signature header's value as received; `None` when there is none.
    fn signature_header(&self) -> Option<&[u8]>;
}

impl SignatureHeader for str {
    fn signature_header(&self) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl SignatureHeader for String {
    fn signature_header(&self) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl SignatureHeader for HeaderValue {
    fn signature_header(&self) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

/// `X-Plugipay-Signature`, or else `Plugipay-Signature` (the first value of
/// either; an empty one counts as absent).
impl SignatureHeader for HeaderMap {
    fn signature_header(&self) -> Option<&[u8]> {
        let present = |name| self.get(name).filter(|v| !v.is_empty());
        present(SIGNATURE_HEADER)
            .or_else(|| present(SIGNATURE_HEADER_ALT))
            .map(HeaderValue::as_bytes)
    }
}

impl<T: SignatureHeader> SignatureHeader for Option<T> {
    fn signature_header(&self) -> Option<&[u8]> {
        self.as_ref().and_then(T::signature_header)
    }
}

impl<T: SignatureHeader + ?Sized> SignatureHeader for &T {
    fn signature_header(&self) -> Option<&[u8]> {
        T::signature_header(self)
    }
}

/// The header value, read: its timestamp and every `v1` signature.
struct Parsed {
    timestamp: u64,
    signatures: Vec<[u8; SIGNATURE_LEN]>,
}

impl Parsed {
    fn from_header(header: &[u8]) -> Result<Self, WebhookError> {
        let malformed = |reason| Err(WebhookError::Malformed(reason));
        let Ok(header) = std::str::from_utf8(header) else {
            return malformed(Malformed::NotText);
        };
        let mut timestamp = None;
        let mut signatures = Vec::new();
        let mut v1_seen = false;
        for part in header.split(',') {
            // Parts without `=` and other schemes are skipped, as the
            // official SDKs do.
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            if key == TIMESTAMP_KEY {
                let t =
                    parse_timestamp(value).ok_or(WebhookError::Malformed(Malformed::Timestamp))?;
                if timestamp.is_some_and(|seen| seen != t) {
                    return malformed(Malformed::SeveralTimestamps);
                }
                timestamp = Some(t);
            } else if key == SCHEME_V1 {
                v1_seen = true;
                let mut bytes = [0; SIGNATURE_LEN];
                if hex::decode_to_slice(value, &mut bytes).is_ok() {
                    signatures.push(bytes);
                }
            }
        }
        let Some(timestamp) = timestamp else {
            return malformed(Malformed::NoTimestamp);
        };
        if !v1_seen {
            return malformed(Malformed::NoSignature);
        }
        if signatures.is_empty() {
            return malformed(Malformed::SignatureNotHex);
        }
        Ok(Self {
            timestamp,
            signatures,
        })
    }
}

/// Unix seconds: ASCII digits only (no sign, no spaces inside).
fn parse_timestamp(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Why a delivery was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No signature header, or an empty one (`signature_missing`).
    #[error("the delivery carries no X-Plugipay-Signature header")]
    Missing,
    /// The header is not `t=<unix seconds>,v1=<hex>` (`signature_malformed`).
    #[error("the signature header is malformed: {0}")]
    Malformed(Malformed),
    /// The timestamp is further than the tolerance from the clock, in the
    /// past or the future (`signature_stale`): a replay, or a clock off.
    #[error(
        "the signature's timestamp {timestamp} is more than {tolerance:?} from the clock \
         ({now}, whole seconds shown)"
    )]
    Stale {
        /// The header's timestamp (Unix seconds).
        timestamp: u64,
        /// The clock's time when checked (Unix seconds, the fraction
        /// dropped).
        now: i64,
        /// The tolerance it was checked with.
        tolerance: Duration,
    },
    /// No `v1` signature is the body's under any of the secrets
    /// (`signature_invalid`): another secret, or a body or timestamp changed
    /// on the way.
    #[error("the signature does not match the body")]
    Invalid,
    /// The verifier holds no secret but empty ones (`signature_missing`, as
    /// the official SDKs answer an empty secret).
    #[error("the verifier has no (non-empty) secret")]
    NoSecret,
    /// The signature matched but the body is not a JSON event (an object
    /// with a string `id` and `type`); `invalid_payload`, the Go SDK's code.
    #[error("the delivery's body is not an event: {0}")]
    Payload(String),
}

impl WebhookError {
    /// The code Plugipay's official SDKs give this kind of failure:
    /// `signature_missing`, `signature_malformed`, `signature_stale`,
    /// `signature_invalid` or `invalid_payload`. The checks run in the Go
    /// SDK's order (header present, secret present, header readable, time,
    /// signature, body); the SDKs do not all sort an odd header alike (a
    /// `v1` that is not hex is `signature_malformed` in Go and here,
    /// `signature_invalid` in Python), so branch on the failure, not on
    /// which code one SDK gives an odd header.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing | Self::NoSecret => "signature_missing",
            Self::Malformed(_) => "signature_malformed",
            Self::Stale { .. } => "signature_stale",
            Self::Invalid => "signature_invalid",
            Self::Payload(_) => "invalid_payload",
        }
    }
}

/// What is wrong with a malformed signature header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// The value is not text (bytes that are not UTF-8).
    #[error("not text")]
    NotText,
    /// No `t=` part.
    #[error("no t= timestamp")]
    NoTimestamp,
    /// A `t=` that is not Unix seconds (ASCII digits).
    #[error("t= is not Unix seconds")]
    Timestamp,
    /// Two `t=` parts that differ.
    #[error("several different t= timestamps")]
    SeveralTimestamps,
    /// No `v1=` part.
    #[error("no v1= signature")]
    NoSignature,
    /// No `v1=` value is 64 hex digits.
    #[error("no v1= signature is 64 hex digits")]
    SignatureNotHex,
}

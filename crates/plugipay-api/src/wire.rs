//! The wire protocol's small facts, defined once for every side of it (the
//! SDK, the sandbox, the fault proxy): header names, how a value becomes
//! one path segment and back, which statuses say "try again", and the
//! `{data, error, meta}` envelope every body is.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The header that carries a write's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header that names the workspace a platform key acts for.
pub const ON_BEHALF_OF: &str = "x-plugipay-on-behalf-of";
/// The header that carries the signing time (Unix seconds).
pub const TIMESTAMP: &str = "x-plugipay-timestamp";
/// The `Authorization` scheme of HMAC-signed requests.
pub const HMAC_SCHEME: &str = "Plugipay-HMAC-SHA256";
/// A request id header: our choice of fallback for `meta.requestId` (the
/// sandbox sends it; nothing publishes it).
pub const REQUEST_ID: &str = "x-request-id";
/// Marks an answer replayed from an idempotency record (the sandbox's
/// choice; nothing publishes it).
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// The size of the rate-limit bucket a request drew on.
pub const RATE_LIMIT_LIMIT: &str = "x-ratelimit-limit";
/// Requests left in that bucket.
pub const RATE_LIMIT_REMAINING: &str = "x-ratelimit-remaining";
/// When that bucket is full again (Unix seconds).
pub const RATE_LIMIT_RESET: &str = "x-ratelimit-reset";

/// Statuses that say the same request may succeed later: 429 and the 5xx
/// a server or gateway gives when it is busy or failing for now.
pub const RETRYABLE_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// Whether `status` is one of [`RETRYABLE_STATUSES`].
pub fn retryable_status(status: u16) -> bool {
    RETRYABLE_STATUSES.contains(&status)
}

/// `value` as one path segment: every byte but ASCII letters, digits and
/// `-`, `.`, `_`, `~` percent-encoded, so `/`, `?`, `%` and spaces cannot
/// change the route or the signed path.
///
/// ```
/// use plugipay_api::wire::{escape_segment, unescape_segment};
///
/// assert_eq!(escape_segment(r"inv 1/a?b\c"), "inv%201%2Fa%3Fb%5Cc");
/// assert_eq!(unescape_segment("inv%201%2Fa%3Fb%5Cc").as_deref(), Some(r"inv 1/a?b\c"));
/// ```
pub fn escape_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A path segment as received, its `%XX` escapes decoded; `None` for a
/// malformed escape or bytes that are not UTF-8.
pub fn unescape_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The envelope around every body: `data` on success, `error` on failure,
/// `meta` about the answer. Read leniently, as Plugipay's official SDKs read
/// it — every part may be missing, unknown fields are ignored — and written
/// with `data` and `error` always present (`null` when unset).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
pub struct Envelope<T> {
    /// What a success carries.
    #[serde(default = "none")]
    pub data: Option<T>,
    /// What went wrong, on a failure.
    #[serde(default)]
    pub error: Option<ErrorBody>,
    /// Facts about the answer.
    #[serde(default)]
    pub meta: Option<Meta>,
    /// Any other top-level member, kept so that paging a server puts there
    /// is seen ([`paging`](crate::paging)); never written when empty.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub other: Map<String, Value>,
}

fn none<T>() -> Option<T> {
    None
}

/// An envelope's `error`: a code and a message, and optionally the field at
/// fault, details and a page that explains it. Every part may be missing
/// when read.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The machine-readable code (any case).
    #[serde(default)]
    pub code: Option<String>,
    /// The explanation.
    #[serde(default)]
    pub message: Option<String>,
    /// The field or parameter at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// More about the error (an object, as published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// A page that explains the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
}

/// An envelope's `meta`: the request id and time of every answer, and the
/// paging of a list. Every part may be missing when read; parts not set are
/// not written.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// The server's id for the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// When the server answered (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// A list page: where the next page starts (`null` on the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Option<String>>,
    /// A list page: whether another page follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
    /// Any other member: the published pages' paging object `page`
    /// (`{limit, hasMore, nextCursor}`), and whatever else a server sends,
    /// read by [`paging`](crate::paging); never written when empty.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub other: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip() {
        for value in ["cus_1", "a/b c", "100%", "é?#&=", "", "~._-"] {
            assert_eq!(
                unescape_segment(&escape_segment(value)).as_deref(),
                Some(value)
            );
        }
        assert_eq!(unescape_segment("%zz"), None);
        assert_eq!(unescape_segment("%4"), None);
        assert_eq!(unescape_segment("%ff"), None, "not UTF-8");
    }

    #[test]
    fn envelopes_are_read_leniently_and_written_whole() {
        let read: Envelope<serde_json::Value> = serde_json::from_str("{}").unwrap();
        assert_eq!((read.data, read.error, read.meta), (None, None, None));
        let read: Envelope<u8> =
            serde_json::from_str(r#"{"data":null,"error":{"code":"X"},"meta":{"extra":1}}"#)
                .unwrap();
        assert_eq!(read.error.unwrap().code.as_deref(), Some("X"));
        let page = Envelope {
            data: Some(vec![1]),
            error: None,
            other: Map::new(),
            meta: Some(Meta {
                request_id: Some("req_1".into()),
                cursor: Some(None),
                has_more: Some(false),
                ..Meta::default()
            }),
        };
        assert_eq!(
            serde_json::to_string(&page).unwrap(),
            r#"{"data":[1],"error":null,"meta":{"requestId":"req_1","cursor":null,"hasMore":false}}"#
        );
    }

    #[test]
    fn retryable_statuses_are_the_busy_ones() {
        assert!(RETRYABLE_STATUSES.iter().all(|&s| retryable_status(s)));
        for status in [200, 400, 404, 409, 501] {
            assert!(!retryable_status(status));
        }
    }
}

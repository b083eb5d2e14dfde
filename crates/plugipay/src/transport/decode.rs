//! Reads a whole response (status, headers, body) as the API's envelope:
//! its `data` and `meta` on success, as leniently as Plugipay's official SDKs
//! (`meta` and its fields optional, unknown fields ignored), or the typed
//! [`Error`] it stands for, never losing the HTTP status.

use std::time::Duration;

use plugipay_api::wire::{self, ErrorBody, Meta};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::{ApiError, DecodeError, Error, ErrorCode};

/// How many characters of an undecodable body an error keeps.
const EXCERPT_CHARS: usize = 200;

/// A successful answer: the envelope's `data` (absent on an empty 2xx) and
/// what its `meta` said.
#[derive(Debug)]
pub(crate) struct Envelope<T> {
    pub(crate) status: StatusCode,
    pub(crate) data: Option<T>,
    pub(crate) meta: Meta,
    /// The envelope's other top-level members (where a server may put
    /// paging of another shape).
    pub(crate) other: serde_json::Map<String, serde_json::Value>,
    /// How many earlier attempts of the call were answered 429 (set by
    /// the attempt loop; a walk backs off on it).
    pub(crate) throttled: u32,
    /// Whether the body breaks lines inside its JSON (a server that
    /// pretty-prints): read once for the whole body, so that the items of
    /// a compact one are not each searched for line breaks.
    pub(crate) line_breaks: bool,
}

impl<T> Envelope<T> {
    /// Where the list continues after this answer's page (see
    /// [`plugipay_api::paging`]).
    pub(crate) fn continuation(
        &self,
    ) -> Result<plugipay_api::paging::Continuation, plugipay_api::paging::Unclear> {
        plugipay_api::paging::judge(Some(&self.meta), &self.other)
    }
}

/// The answer `status` / `headers` / `body` as an envelope of `T`, or the
/// error it stands for: an [`Error::Api`] for an error envelope (on any
/// status, a 2xx included) or for a non-2xx, an [`Error::Decode`] for
/// anything that is not the API's JSON. An empty 2xx body is a success with
/// no data.
pub(crate) fn envelope<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Envelope<T>, Error> {
    if !status.is_success() {
        return Err(failure(status, headers, body));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Envelope {
            status,
            data: None,
            meta: Meta {
                request_id: header_request_id(headers),
                ..Meta::default()
            },
            other: serde_json::Map::new(),
            throttled: 0,
            line_breaks: false,
        });
    }
    match serde_json::from_slice::<wire::Envelope<T>>(body) {
        Ok(wire::Envelope {
            error: Some(error),
            meta,
            ..
        }) => {
            let request_id = meta.and_then(|m| m.request_id);
            Err(api_error(status, headers, error, request_id))
        }
        Ok(wire::Envelope {
            data, meta, other, ..
        }) => {
            let mut meta = meta.unwrap_or_default();
            if meta.request_id.is_none() {
                meta.request_id = header_request_id(headers);
            }
            Ok(Envelope {
                status,
                data,
                meta,
                other,
                throttled: 0,
                line_breaks: memchr::memchr2(b'\n', b'\r', body.trim_ascii()).is_some(),
            })
        }
        Err(e) => Err(failure_or(
            status,
            headers,
            body,
            format!("not the expected envelope: {e}"),
        )),
    }
}

/// A non-2xx answer: its error envelope as an [`Error::Api`] when it has one.
fn failure(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let reason = if body.is_empty() {
        "empty body where an error envelope was expected"
    } else {
        "not a JSON error envelope"
    };
    failure_or(status, headers, body, reason.into())
}

/// An error envelope in `body` as an [`Error::Api`]; otherwise a
/// [`DecodeError`] for `reason`.
fn failure_or(status: StatusCode, headers: &HeaderMap, body: &[u8], reason: String) -> Error {
    if let Ok(wire::Envelope {
        error: Some(error),
        meta,
        ..
    }) = serde_json::from_slice::<wire::Envelope<IgnoredAny>>(body)
    {
        let request_id = meta.and_then(|m| m.request_id);
        return api_error(status, headers, error, request_id);
    }
    decode_error(status, headers, body, reason)
}

/// A 2xx that should have carried `data` but did not.
pub(crate) fn no_data(status: StatusCode, what: &str) -> Error {
    decode_error(
        status,
        &HeaderMap::new(),
        b"",
        format!("a {} answer without {what}", status.as_u16()),
    )
}

/// A 2xx read whole whose envelope has no `data` where the call needs it
/// (an empty body, `{}`, `"data": null`): not the answer the API promises.
pub(crate) fn missing_data(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let reason = format!(
        "a {} answer without the data it must carry",
        status.as_u16()
    );
    decode_error(status, headers, body, reason)
}

/// `data`, read as the caller's `T` once the call is over: a mismatch is the
/// caller's type, not a fault of the answer, so it is never retried (sending
/// again would bring the same data, and a write has already been applied).
pub(crate) fn data_as<T: DeserializeOwned>(
    status: StatusCode,
    request_id: Option<String>,
    data: serde_json::Value,
) -> Result<T, Error> {
    let excerpt = excerpt(data.to_string().as_bytes());
    serde_json::from_value(data).map_err(|e| {
        Error::Decode(Box::new(DecodeError {
            status,
            reason: format!("the answer's data is not the requested type: {e}"),
            excerpt,
            request_id,
        }))
    })
}

/// A 2xx envelope's `data` as the caller's `T` (see [`data_as`]): absent
/// data reads as JSON `null`; a `T` that holds nothing (`()`, any
/// zero-sized type) ignores whatever data came, as an answer promised to
/// carry none; and for a `write`, which the 2xx says was applied, data that
/// does not fit is [`Error::OutcomeUnknown`] around the decode error, never
/// a plain failure a caller might send again.
pub(crate) fn answer_as<T: DeserializeOwned>(
    envelope: Envelope<serde_json::Value>,
    write: bool,
) -> Result<T, Error> {
    let mut data = envelope.data.unwrap_or(serde_json::Value::Null);
    if std::mem::size_of::<T>() == 0 {
        data = serde_json::Value::Null;
    }
    data_as(envelope.status, envelope.meta.request_id, data).map_err(|e| {
        if write {
            Error::OutcomeUnknown(Box::new(e))
        } else {
            e
        }
    })
}

/// One item of a 2xx list answer that is not what a list item must be.
pub(crate) fn unreadable_item(reason: String, json: &str) -> Error {
    decode_error(StatusCode::OK, &HeaderMap::new(), json.as_bytes(), reason)
}

/// An answer whose body was over the limit and was not read.
pub(crate) fn too_large(status: StatusCode, headers: &HeaderMap) -> Error {
    let reason = format!(
        "the body is over {} bytes and was not read",
        crate::transport::attempt::MAX_RESPONSE_BYTES
    );
    decode_error(status, headers, b"", reason)
}

fn header_request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(plugipay_api::wire::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `Retry-After`: seconds, or an HTTP date (a date in the past means now).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn api_error(
    status: StatusCode,
    headers: &HeaderMap,
    error: ErrorBody,
    request_id: Option<String>,
) -> Error {
    let code = match error.code.as_deref() {
        Some(code) if !code.is_empty() => ErrorCode::from(code),
        // An error without a code: name it after the status.
        _ if status.is_server_error() => ErrorCode::InternalError,
        _ => ErrorCode::Other(format!("http_{}", status.as_u16())),
    };
    Error::Api(Box::new(ApiError {
        status,
        message: error.message.unwrap_or_default(),
        field: error.field,
        details: match error.details {
            Some(serde_json::Value::Object(details)) => Some(details),
            _ => None,
        },
        doc_url: error.doc_url,
        request_id: request_id.or_else(|| header_request_id(headers)),
        retry_after: retry_after(headers),
        clock_offset: match code {
            ErrorCode::TimestampSkew | ErrorCode::InvalidTimestamp => headers
                .get(reqwest::header::DATE)
                .and_then(|date| date.to_str().ok())
                .and_then(plugipay_api::clock::server_offset),
            _ => None,
        },
        code,
    }))
}

fn decode_error(status: StatusCode, headers: &HeaderMap, body: &[u8], reason: String) -> Error {
    Error::Decode(Box::new(DecodeError {
        status,
        reason,
        excerpt: excerpt(body),
        request_id: header_request_id(headers),
    }))
}

/// The start of a body as text, at most [`EXCERPT_CHARS`] characters, with
/// control characters escaped so that it prints on one line (and `…` when
/// there is more).
fn excerpt(body: &[u8]) -> String {
    let read = &body[..body.len().min(EXCERPT_CHARS * 4)];
    let mut out = String::new();
    let mut chars = 0;
    let mut cut = read.len() < body.len();
    for c in String::from_utf8_lossy(read).chars() {
        let piece: String = if c.is_control() {
            c.escape_default().collect()
        } else {
            c.to_string()
        };
        let len = piece.chars().count();
        if chars + len > EXCERPT_CHARS {
            cut = true;
            break;
        }
        chars += len;
        out.push_str(&piece);
    }
    if cut {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(excerpt(b"<html>\n<body>"), "<html>\\n<body>");
        let long = excerpt(&[b'x'; 5000]);
        assert_eq!(long.chars().count(), EXCERPT_CHARS + 1);
        assert!(long.ends_with('…'));
        assert_eq!(excerpt(&[0xff, b'a']), "\u{fffd}a");
    }

    #[test]
    fn retry_after_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a past date means now"
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        headers.insert(RETRY_AFTER, soon.parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(85) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
    }

    type One = Result<Envelope<crate::Customer>, Error>;

    fn one(status: u16, body: &[u8]) -> One {
        envelope(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body,
        )
    }

    const CUSTOMER: &str = r#"{"id":"cus_1","accountId":"acct_1","createdAt":"2026-11-25T00:00:00Z","updatedAt":"2026-11-25T00:00:00Z"}"#;

    #[test]
    fn an_error_inside_a_200_is_an_api_error() {
        let body = br#"{"data":null,"error":{"code":"conflict","message":"taken"},"meta":{"requestId":"req_1"}}"#;
        let err = one(200, body).unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::Conflict));
        assert_eq!(err.status(), Some(StatusCode::OK));
        assert_eq!(err.request_id(), Some("req_1"));
    }

    #[test]
    fn success_is_read_as_leniently_as_the_official_sdks() {
        // No meta at all, metadata null, absent optional fields, unknown fields.
        let body = format!(
            r#"{{"data":{},"extra":1}}"#,
            CUSTOMER.replace('}', r#","metadata":null,"loyalty":"gold"}"#)
        );
        let ok = one(201, body.as_bytes()).unwrap();
        let customer = ok.data.unwrap();
        assert_eq!(customer.id, "cus_1");
        assert!(customer.metadata.is_empty() && customer.email.is_none());
        assert_eq!(ok.meta.request_id, None);
        // meta without requestId or timestamp; the header stands in.
        let mut headers = HeaderMap::new();
        headers.insert(plugipay_api::wire::REQUEST_ID, "req_h".parse().unwrap());
        let body = format!(r#"{{"data":{CUSTOMER},"error":null,"meta":{{}}}}"#);
        let ok: Envelope<crate::Customer> =
            envelope(StatusCode::OK, &headers, body.as_bytes()).unwrap();
        assert_eq!(ok.meta.request_id.as_deref(), Some("req_h"));
    }

    #[test]
    fn an_empty_success_has_no_data() {
        for (status, body) in [(204, &b""[..]), (200, b" \n"), (201, b"")] {
            assert!(one(status, body).unwrap().data.is_none(), "{status}");
        }
        assert!(one(200, br#"{"data":null}"#).unwrap().data.is_none());
    }

    /// A body's line breaks are noticed inside its JSON only: a compact
    /// body with a final newline has none worth putting its items on one
    /// line for.
    #[test]
    fn line_breaks_inside_the_json_are_noticed() {
        let compact = br#"{"data":null,"meta":{"requestId":"r"}}"#;
        assert!(!one(200, compact).unwrap().line_breaks);
        let mut final_newline = compact.to_vec();
        final_newline.extend_from_slice(b"\r\n");
        assert!(!one(200, &final_newline).unwrap().line_breaks);
        for pretty in [
            &b"{\"data\":\nnull,\"meta\":{}}"[..],
            b"{\"data\":null,\"meta\":\r{}}",
        ] {
            assert!(one(200, pretty).unwrap().line_breaks);
        }
    }

    #[test]
    fn what_is_not_the_envelope_keeps_its_status() {
        for (status, body) in [
            (200, &b"<html>"[..]),
            (201, b"{\"data\":{\"id\""),
            (500, b""),
        ] {
            let err = one(status, body).unwrap_err();
            assert!(matches!(err, Error::Decode(_)), "{err:?}");
            assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// JSON made of the envelope's own words, nested: noise shaped like the real thing.
        fn json_like() -> impl Strategy<Value = serde_json::Value> {
            let key = prop::sample::select(vec![
                "data",
                "error",
                "meta",
                "code",
                "message",
                "requestId",
                "id",
                "accountId",
                "email",
                "createdAt",
                "updatedAt",
                "cursor",
                "hasMore",
                "metadata",
                "field",
            ]);
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                "[a-z_]{0,8}".prop_map(serde_json::Value::from),
                Just(serde_json::Value::from("2026-11-25T00:00:00Z")),
            ];
            leaf.prop_recursive(4, 64, 6, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                    prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| {
                        serde_json::Value::Object(
                            m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                        )
                    }),
                ]
            })
        }

        fn check(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
            let status = StatusCode::from_u16(status).unwrap();
            let headers = HeaderMap::new();
            let one = envelope::<crate::Customer>(status, &headers, body).err();
            let list = envelope::<Vec<crate::Customer>>(status, &headers, body).err();
            for result in [one, list].into_iter().flatten() {
                // Every failure keeps the status it came with.
                prop_assert_eq!(result.status(), Some(status));
                prop_assert!(matches!(result, Error::Api(_) | Error::Decode(_)));
            }
            // A non-2xx is never a success.
            if !status.is_success() {
                prop_assert!(envelope::<crate::Customer>(status, &headers, body).is_err());
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..256)) {
                check(status, &body)?;
                prop_assert!(excerpt(&body).chars().count() <= EXCERPT_CHARS + 1);
            }

            #[test]
            fn envelope_shaped_json_never_panics(status in 100u16..600, value in json_like()) {
                check(status, value.to_string().as_bytes())?;
            }
        }
    }
}

//! Turns what the generated client returned (a decoded envelope, a declared
//! error, an undeclared response, an undecodable body) into the envelope or a
//! typed [`Error`], never losing the HTTP status.

use std::time::Duration;

use plugipay_api::types::{CustomerEnvelope, CustomerListEnvelope, ErrorBody, ErrorEnvelope};
use plugipay_api::{ResponseHead, ResponseValue};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, DecodeError, Error, ErrorCode};

/// How many characters of an undecodable body an error keeps.
const EXCERPT_CHARS: usize = 200;

/// The outcome of one generated operation.
pub(crate) type Outcome<T> = Result<ResponseValue<T>, plugipay_api::Error<ErrorEnvelope>>;

/// A success envelope: it may still carry an `error`.
pub(crate) trait Envelope: DeserializeOwned {
    fn error(&self) -> Option<&ErrorBody>;
    fn request_id(&self) -> &str;
}

impl Envelope for CustomerEnvelope {
    fn error(&self) -> Option<&ErrorBody> {
        self.error.as_ref()
    }
    fn request_id(&self) -> &str {
        &self.meta.request_id
    }
}

impl Envelope for CustomerListEnvelope {
    fn error(&self) -> Option<&ErrorBody> {
        self.error.as_ref()
    }
    fn request_id(&self) -> &str {
        &self.meta.request_id
    }
}

/// The envelope of a successful call, or the error the outcome stands for.
/// `head` is the recorded head of the response, for the outcomes that lost it.
pub(crate) async fn envelope<T: Envelope>(
    outcome: Outcome<T>,
    head: Option<ResponseHead>,
) -> Result<T, Error> {
    use plugipay_api::Error as E;
    if let Some(head) = head.as_ref().filter(|h| h.oversized) {
        let reason = format!(
            "the body is over {} bytes and was not read",
            plugipay_api::MAX_RESPONSE_BYTES
        );
        return Err(decode_error(head.status, &head.headers, b"", reason));
    }
    match outcome {
        Ok(value) => {
            let (status, headers) = (value.status(), value.headers().clone());
            checked(value.into_inner(), status, &headers)
        }
        Err(E::ErrorResponse(value)) => {
            let (status, headers) = (value.status(), value.headers().clone());
            let envelope = value.into_inner();
            let request_id = envelope.meta.map(|m| m.request_id);
            Err(api_error(
                status,
                &headers,
                LenientError::from(envelope.error),
                request_id,
            ))
        }
        Err(E::UnexpectedResponse(response)) => {
            let (status, headers) = (response.status(), response.headers().clone());
            let body = response.bytes().await.map_err(Error::transport)?;
            from_body(status, &headers, &body)
        }
        Err(E::InvalidResponsePayload(body, _)) => match head {
            Some(head) => from_body(head.status, &head.headers, &body),
            // Unreachable: a payload is only decoded after a recorded response.
            None => Err(decode_error(
                StatusCode::OK,
                &HeaderMap::new(),
                &body,
                "response of unknown status".into(),
            )),
        },
        Err(E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e)) => {
            Err(Error::transport(e))
        }
        Err(E::InvalidRequest(reason)) => Err(Error::InvalidArgument {
            field: "request".into(),
            reason,
        }),
        Err(E::Custom(reason)) => Err(Error::Config(reason)),
    }
}

/// A decoded success envelope, unless its `error` is set.
fn checked<T: Envelope>(envelope: T, status: StatusCode, headers: &HeaderMap) -> Result<T, Error> {
    match envelope.error() {
        None => Ok(envelope),
        Some(body) => Err(api_error(
            status,
            headers,
            LenientError::from(body.clone()),
            Some(envelope.request_id().to_owned()),
        )),
    }
}

/// Reads a body the generated client could not: a success envelope on 2xx,
/// otherwise an error envelope; anything else is a [`DecodeError`].
fn from_body<T: Envelope>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Error> {
    let success_error = if status.is_success() {
        match serde_json::from_slice::<T>(body) {
            Ok(envelope) => return checked(envelope, status, headers),
            Err(e) => Some(e),
        }
    } else {
        None
    };
    if let Ok(LenientEnvelope {
        error: Some(error),
        meta,
    }) = serde_json::from_slice::<LenientEnvelope>(body)
    {
        let request_id = meta.and_then(|m| m.request_id);
        return Err(api_error(status, headers, error, request_id));
    }
    let reason = match success_error {
        Some(e) if body.is_empty() => format!("empty body ({e})"),
        Some(e) => format!("not the expected envelope: {e}"),
        None if body.is_empty() => "empty body where an error envelope was expected".into(),
        None => "not a JSON error envelope".into(),
    };
    Err(decode_error(status, headers, body, reason))
}

/// An error envelope read without insisting on every field.
#[derive(Deserialize)]
struct LenientEnvelope {
    #[serde(default)]
    error: Option<LenientError>,
    #[serde(default)]
    meta: Option<LenientMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LenientMeta {
    #[serde(default)]
    request_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LenientError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    doc_url: Option<String>,
}

impl From<ErrorBody> for LenientError {
    fn from(body: ErrorBody) -> Self {
        Self {
            code: Some(body.code.0),
            message: Some(body.message),
            field: body.field,
            doc_url: body.doc_url,
        }
    }
}

fn header_request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `Retry-After`: seconds, or an HTTP date (a date in the past means now).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
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
    error: LenientError,
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
        code,
        message: error.message.unwrap_or_default(),
        field: error.field,
        doc_url: error.doc_url,
        request_id: request_id.or_else(|| header_request_id(headers)),
        retry_after: retry_after(headers),
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

    #[test]
    fn an_error_inside_a_200_is_an_api_error() {
        let body = br#"{"data":null,"error":{"code":"conflict","message":"taken"},"meta":{"requestId":"req_1"}}"#;
        let err =
            from_body::<CustomerEnvelope>(StatusCode::OK, &HeaderMap::new(), body).unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::Conflict));
        assert_eq!(err.status(), Some(StatusCode::OK));
        assert_eq!(err.request_id(), Some("req_1"));
    }

    #[test]
    fn an_empty_success_is_a_decode_error_with_its_status() {
        let err = from_body::<CustomerEnvelope>(StatusCode::NO_CONTENT, &HeaderMap::new(), b"")
            .unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{err:?}");
        assert_eq!(err.status(), Some(StatusCode::NO_CONTENT));
    }

    mod properties {
        use super::*;
        use plugipay_api::types::CustomerListEnvelope;
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
            for result in [
                from_body::<CustomerEnvelope>(status, &headers, body).err(),
                from_body::<CustomerListEnvelope>(status, &headers, body).err(),
            ]
            .into_iter()
            .flatten()
            {
                // Every failure keeps the status it came with.
                prop_assert_eq!(result.status(), Some(status));
                prop_assert!(matches!(result, Error::Api(_) | Error::Decode(_)));
            }
            // A non-2xx is never a success.
            if !status.is_success() {
                prop_assert!(from_body::<CustomerEnvelope>(status, &headers, body).is_err());
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

//! The wire protocol's bodies — `{data, error, meta}` around a success, a
//! page or a failure — and the HTTP response that carries one.

use hyper::http::{HeaderValue, StatusCode, header};
use plugipay_api::wire::{Envelope, ErrorBody, Meta};
use serde_json::Value;

use crate::failure::Failure;

/// A response as the sandbox sends it: the body is the JSON text (or empty).
pub(crate) type Response = hyper::Response<String>;

/// Now, as the envelope's `meta.timestamp` writes it.
fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `meta` with the request id and the time.
fn meta(request_id: &str) -> Meta {
    Meta {
        request_id: Some(request_id.to_owned()),
        timestamp: Some(timestamp()),
        ..Meta::default()
    }
}

fn body<T: serde::Serialize>(envelope: &Envelope<T>) -> String {
    serde_json::to_string(envelope).unwrap_or_default()
}

/// The body of a success carrying `data`.
pub(crate) fn success_body(data: Value, request_id: &str) -> String {
    body(&Envelope {
        data: Some(data),
        error: None,
        meta: Some(meta(request_id)),
    })
}

/// The body of one page of a list; `cursor` continues it when more follow.
pub(crate) fn page_body(items: Value, cursor: Option<String>, request_id: &str) -> String {
    let has_more = cursor.is_some();
    body(&Envelope {
        data: Some(items),
        error: None,
        meta: Some(Meta {
            cursor: Some(cursor),
            has_more: Some(has_more),
            ..meta(request_id)
        }),
    })
}

/// The body of a failure; `error.field` only when it is about one field.
pub(crate) fn error_body(failure: &Failure, request_id: &str) -> String {
    body(&Envelope::<()> {
        data: None,
        error: Some(ErrorBody {
            code: Some(failure.code.to_string()),
            message: Some(failure.message.to_string()),
            field: failure.field.as_ref().map(|f| f.to_string()),
            ..ErrorBody::default()
        }),
        meta: Some(meta(request_id)),
    })
}

/// A response with `status` and `body` (typed JSON unless empty), tagged
/// with its request id.
pub(crate) fn json_response(status: u16, body: String, request_id: &str) -> Response {
    let empty = body.is_empty();
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if !empty {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(plugipay_api::wire::REQUEST_ID, id);
    }
    response
}

/// The response to a failure, with `Retry-After` when given.
pub(crate) fn error_response(
    failure: &Failure,
    request_id: &str,
    retry_after: Option<u64>,
) -> Response {
    let mut response = json_response(failure.status, error_body(failure, request_id), request_id);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

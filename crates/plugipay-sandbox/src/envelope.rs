//! The wire protocol's bodies — `{data, error, meta}` around a success, a
//! page or a failure — and the HTTP response that carries one.

use hyper::http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::failure::Failure;

/// A response as the sandbox sends it: the body is the JSON text (or empty).
pub(crate) type Response = hyper::Response<String>;

/// Now, as the envelope's `meta.timestamp` writes it.
fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The body of a success carrying `data`.
pub(crate) fn success_body(data: Value, request_id: &str) -> String {
    json!({
        "data": data,
        "error": null,
        "meta": {"requestId": request_id, "timestamp": timestamp()}
    })
    .to_string()
}

/// The body of one page of a list; `cursor` continues it when more follow.
pub(crate) fn page_body(items: Value, cursor: Option<String>, request_id: &str) -> String {
    let has_more = cursor.is_some();
    json!({
        "data": items,
        "error": null,
        "meta": {
            "requestId": request_id,
            "timestamp": timestamp(),
            "cursor": cursor,
            "hasMore": has_more,
        }
    })
    .to_string()
}

/// The body of a failure; `error.field` only when it is about one field.
pub(crate) fn error_body(failure: &Failure, request_id: &str) -> String {
    let mut error = json!({
        "code": failure.code,
        "message": failure.message,
    });
    if let Some(field) = &failure.field {
        error["field"] = json!(field);
    }
    json!({
        "data": null,
        "error": error,
        "meta": {"requestId": request_id, "timestamp": timestamp()}
    })
    .to_string()
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

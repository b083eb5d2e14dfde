//! The wire protocol's bodies — `{data, error, meta}` around a success, a
//! page or a failure — and the HTTP response that carries one, in the
//! sandbox's [`Dialect`] and stamped by its [`Clock`].

use hyper::http::{HeaderValue, StatusCode, header};
use plugipay_api::wire::{Envelope, ErrorBody, Meta};
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::dialect::Dialect;
use crate::failure::Failure;

/// A response as the sandbox sends it: the body is the JSON text (or empty).
pub(crate) type Response = hyper::Response<String>;

/// How the sandbox writes its answers: in which reading, at what time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Voice {
    pub dialect: Dialect,
    pub clock: Clock,
}

fn body<T: serde::Serialize>(envelope: &Envelope<T>) -> String {
    serde_json::to_string(envelope).unwrap_or_default()
}

impl Voice {
    /// `meta` with the request id and the time.
    fn meta(&self, request_id: &str) -> Meta {
        Meta {
            request_id: Some(request_id.to_owned()),
            timestamp: Some(
                self.clock
                    .now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ),
            ..Meta::default()
        }
    }

    /// The body of a success carrying `data`.
    pub(crate) fn success_body(&self, data: Value, request_id: &str) -> String {
        body(&Envelope {
            data: Some(data),
            error: None,
            meta: Some(self.meta(request_id)),
            other: Map::new(),
        })
    }

    /// The body of one page of a list of at most `limit` items; `next`
    /// continues it when more follow.
    pub(crate) fn page_body(
        &self,
        items: Value,
        next: Option<String>,
        limit: usize,
        request_id: &str,
    ) -> String {
        let mut meta = self.meta(request_id);
        meta.other = self.dialect.paging(limit, next);
        body(&Envelope {
            data: Some(items),
            error: None,
            meta: Some(meta),
            other: Map::new(),
        })
    }

    /// The body of a failure; `error.field` only when it is about one field.
    pub(crate) fn error_body(&self, failure: &Failure, request_id: &str) -> String {
        body(&Envelope::<()> {
            data: None,
            error: Some(ErrorBody {
                code: Some(self.dialect.code(failure.code)),
                message: Some(failure.message.to_string()),
                field: failure.field.as_ref().map(|f| f.to_string()),
                ..ErrorBody::default()
            }),
            meta: Some(self.meta(request_id)),
            other: Map::new(),
        })
    }

    /// A response with `status` and `body` (typed JSON unless empty), tagged
    /// with its request id and dated by the sandbox's clock.
    pub(crate) fn response(&self, status: u16, body: String, request_id: &str) -> Response {
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
        // The server's time, which a client whose clock is off corrects by
        // (hyper adds none when one is set).
        if let Ok(date) = HeaderValue::from_str(&self.clock.http_date()) {
            headers.insert(header::DATE, date);
        }
        response
    }

    /// The response to a failure, with `Retry-After` when given.
    pub(crate) fn error_response(
        &self,
        failure: &Failure,
        request_id: &str,
        retry_after: Option<u64>,
    ) -> Response {
        let mut response = self.response(
            failure.status,
            self.error_body(failure, request_id),
            request_id,
        );
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

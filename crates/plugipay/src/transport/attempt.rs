//! One attempt: sign a copy of the request with a fresh timestamp (the
//! client's [`SigningClock`](plugipay_api::clock::SigningClock)), send it,
//! and read the whole body, at most [`MAX_RESPONSE_BYTES`].

use std::time::Duration;

use bytes::Bytes;
use plugipay_api::ClientInfo;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::error::Error;

/// The largest response body a call reads; a larger one is an error
/// ([`Error::Decode`](crate::Error::Decode), retried like any unreadable
/// answer), not read.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// What one attempt got back.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// No answer: the request could not be sent, or no status line arrived.
    Failed(reqwest::Error),
    /// A status line and headers arrived; the body is as far as it got.
    Answered(Answer),
}

/// A response: its status, headers and body, all in one place.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Body,
}

/// How much of a body arrived.
#[derive(Debug)]
pub(crate) enum Body {
    /// All of it.
    Whole(Bytes),
    /// It ended early or failed mid-read (short of its Content-Length, a
    /// reset, the attempt's time running out).
    Cut(reqwest::Error),
    /// More than [`MAX_RESPONSE_BYTES`]: not read.
    TooLarge,
}

/// Signs a copy of `request` now, sends it on `api`'s connection with
/// `timeout` (from sending to the end of the body; `None`: the connection's
/// own), and reads the answer.
pub(crate) async fn attempt(
    api: &plugipay_api::Client,
    request: &reqwest::Request,
    timeout: Option<Duration>,
) -> Result<Attempt, Error> {
    let mut request = request
        .try_clone()
        .ok_or_else(|| Error::Config("a request with a streaming body cannot be retried".into()))?;
    api.inner().sign(&mut request).map_err(Error::Config)?;
    if let Some(timeout) = timeout {
        *request.timeout_mut() = Some(timeout);
    }
    if tracing::enabled!(tracing::Level::TRACE) {
        trace_headers(">", request.headers());
    }
    let response = match api.client().execute(request).await {
        Ok(response) => response,
        Err(e) => return Ok(Attempt::Failed(e)),
    };
    if tracing::enabled!(tracing::Level::TRACE) {
        trace_headers("<", response.headers());
    }
    Ok(Attempt::Answered(read(response, MAX_RESPONSE_BYTES).await))
}

/// Each header as a trace event, `> name: value` for a request's and `<`
/// for an answer's; an `Authorization` value keeps only its scheme and key
/// id (a Bearer key, a signature and a secret are never shown).
fn trace_headers(direction: &str, headers: &HeaderMap) {
    for (name, value) in headers {
        let value = value.to_str().unwrap_or("(not text)");
        let shown = if name == reqwest::header::AUTHORIZATION {
            redacted_authorization(value)
        } else {
            value.to_owned()
        };
        tracing::trace!("{direction} {name}: {shown}");
    }
}

/// An `Authorization` value without its secret part.
fn redacted_authorization(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, params)) if scheme == plugipay_api::wire::HMAC_SCHEME => {
            let key_id = params
                .split(',')
                .find_map(|p| p.trim().strip_prefix("keyId="))
                .unwrap_or("?");
            format!("{scheme} keyId={key_id}, signature=(redacted)")
        }
        Some((scheme, _)) => format!("{scheme} (redacted)"),
        None => "(redacted)".to_owned(),
    }
}

/// Reads a whole response, at most `limit` bytes of body.
async fn read(mut response: reqwest::Response, limit: usize) -> Answer {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let declared = response.content_length();
    let body = match declared {
        Some(length) if length > limit as u64 => Body::TooLarge,
        // The framing holds a declared body to its length: one read.
        Some(_) => match response.bytes().await {
            Ok(bytes) => Body::Whole(bytes),
            Err(e) => Body::Cut(e),
        },
        None => read_chunks(response, limit).await,
    };
    Answer {
        status,
        headers,
        body,
    }
}

async fn read_chunks(mut response: reqwest::Response, limit: usize) -> Body {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > limit => return Body::TooLarge,
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Body::Whole(body.into()),
            Err(e) => return Body::Cut(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_authorization;

    #[test]
    fn authorization_shows_no_secret() {
        assert_eq!(
            redacted_authorization(
                "Plugipay-HMAC-SHA256 keyId=ak_test_1, scope=*, signature=abc123"
            ),
            "Plugipay-HMAC-SHA256 keyId=ak_test_1, signature=(redacted)"
        );
        assert_eq!(
            redacted_authorization("Bearer pk_test_secret"),
            "Bearer (redacted)"
        );
        assert_eq!(redacted_authorization("pk_test_secret"), "(redacted)");
    }
}

//! One attempt: sign a copy of the request with a fresh timestamp (the
//! client's [`SigningClock`](plugipay_api::clock::SigningClock)), send it,
//! and read the whole body, at most [`plugipay_api::MAX_RESPONSE_BYTES`].

use std::time::Duration;

use bytes::Bytes;
use plugipay_api::ClientInfo;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::error::Error;

use plugipay_api::MAX_RESPONSE_BYTES;

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
    let response = match api.client().execute(request).await {
        Ok(response) => response,
        Err(e) => return Ok(Attempt::Failed(e)),
    };
    Ok(Attempt::Answered(read(response, MAX_RESPONSE_BYTES).await))
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

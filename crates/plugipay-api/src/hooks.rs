//! What runs around every generated operation of the low-level client: sign
//! the built request, stamp the User-Agent (and drop progenitor's
//! `api-version` header), send it with the client's
//! timeout, and bound the body read. (The `plugipay` SDK sends through its
//! own attempt pipeline instead, with retries.)

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use progenitor_client::{ClientHooks, Error, OperationInfo};
use reqwest::header::{HeaderValue, USER_AGENT};

use crate::Client;
use crate::auth::Credentials;

/// The state the generated [`Client`] carries for its hooks: the credentials
/// every request is signed with and, for one call, a timeout.
#[derive(Clone, Debug)]
pub struct Context {
    credentials: Credentials,
    timeout: Option<Duration>,
}

impl Context {
    /// A context that signs with `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            timeout: None,
        }
    }

    /// The credentials requests are signed with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
}

/// The largest response body read. A larger one is not read: the response
/// reaches the caller with an empty body.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

impl Client {
    /// A client that shares this one's connection pool and credentials and
    /// gives each request `timeout` (from connecting to the end of the
    /// response body) instead of the `reqwest::Client`'s own.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        let mut client = self.clone();
        client.inner.timeout = Some(timeout);
        client
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ClientHooks<Context> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let headers = request.headers_mut();
        headers.insert(USER_AGENT, HeaderValue::from_static(crate::USER_AGENT));
        // progenitor stamps every request with `api-version: <info.version>`;
        // Plugipay defines no such header and its own SDKs do not send it.
        headers.remove("api-version");
        // Signed here, once per send: a retry builds and signs a new request.
        self.inner
            .credentials
            .authorize(request, unix_now())
            .map_err(Error::Custom)
    }

    async fn exec(
        &self,
        mut request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        if let Some(timeout) = self.inner.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        let response = self.client.execute(request).await?;
        read_bounded(response, MAX_RESPONSE_BYTES).await
    }
}

/// Bounds a response's body to `limit` bytes: a body whose declared length
/// is within the limit passes through untouched (HTTP framing holds it to
/// that length); any other is read here, at most `limit` bytes of it, and a
/// response holding it is handed back. A larger body is dropped unread.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> reqwest::Result<reqwest::Response> {
    let declared = response.content_length();
    if declared.is_some_and(|length| length <= limit as u64) {
        return Ok(response);
    }
    let mut body = Vec::new();
    let mut oversized = declared.is_some();
    while !oversized && let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            oversized = true;
        } else {
            body.extend_from_slice(&chunk);
        }
    }
    if oversized {
        body = Vec::new();
    }
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = response.status();
    *rebuilt.version_mut() = response.version();
    *rebuilt.headers_mut() = response.headers().clone();
    // The headers now describe a different body length; let the new one speak.
    rebuilt
        .headers_mut()
        .remove(reqwest::header::CONTENT_LENGTH);
    Ok(reqwest::Response::from(rebuilt))
}

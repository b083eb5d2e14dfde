//! A call ready to be sent: per-call options (on-behalf-of, timeout,
//! idempotency key) and the run of one call through the generated client.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use plugipay_api::ResponseRecorder;
use tracing::Instrument;

use crate::client::{Client, check_on_behalf_of};
use crate::decode::{self, Envelope, Outcome};
use crate::error::Error;
use crate::retry::{self, Decision, RetryPolicy};

/// The future a [`Request`] turns into when awaited.
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// The longest idempotency key the API accepts (from the spec).
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = plugipay_api::limits::IDEMPOTENCY_KEY_MAX_CHARS;

/// One call, with its options. Nothing is sent until it is awaited (or
/// [`send`](Request::send) is awaited); the future owns what it needs, so it
/// can be spawned.
///
/// ```no_run
/// # async fn demo(client: plugipay::Client) -> Result<(), plugipay::Error> {
/// use std::time::Duration;
///
/// let customer = client
///     .customers()
///     .get("cus_01HXAB7K3M9N2P5QRS8TVWXY3Z")
///     .timeout(Duration::from_secs(5))
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct Request<Op> {
    pub(crate) client: Client,
    pub(crate) op: Op,
    on_behalf_of: Option<String>,
    timeout: Option<Duration>,
    idempotency_key: Option<String>,
    retry: Option<RetryPolicy>,
}

/// A write: its requests carry an Idempotency-Key.
pub trait Write: private::Sealed {}

pub(crate) mod private {
    pub trait Sealed {}
}

impl<Op> Request<Op> {
    pub(crate) fn new(client: &Client, op: Op) -> Self {
        Self {
            client: client.clone(),
            op,
            on_behalf_of: None,
            timeout: None,
            idempotency_key: None,
            retry: None,
        }
    }

    /// The same options on another operation of the same client (for calls
    /// made of several requests, such as ensure and archive).
    pub(crate) fn with_op<Other>(&self, op: Other) -> Request<Other> {
        Request {
            client: self.client.clone(),
            op,
            on_behalf_of: self.on_behalf_of.clone(),
            timeout: self.timeout,
            idempotency_key: self.idempotency_key.clone(),
            retry: self.retry.clone(),
        }
    }

    /// Acts for the merchant workspace `account_id` on this call only
    /// (overrides [`Client::for_merchant`]).
    pub fn on_behalf_of(mut self, account_id: impl Into<String>) -> Self {
        self.on_behalf_of = Some(account_id.into());
        self
    }

    /// The timeout of each attempt of this call, instead of the client's.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How this call retries, instead of the client's policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// At most `retries` retries for this call (0: a single attempt).
    pub fn max_retries(mut self, retries: u32) -> Self {
        let policy = self
            .retry
            .take()
            .unwrap_or_else(|| self.client.retry_policy().clone());
        self.retry = Some(policy.max_retries(retries));
        self
    }

    /// The workspace header value of this call, checked.
    pub(crate) fn resolved_on_behalf_of(&self) -> Result<Option<String>, Error> {
        match &self.on_behalf_of {
            Some(account) => {
                check_on_behalf_of(account)?;
                Ok(Some(account.clone()))
            }
            None => Ok(self.client.on_behalf_of().map(str::to_owned)),
        }
    }

    /// Runs one logical call: `op` builds and sends the generated operation
    /// on a client that records the response head and applies this call's
    /// timeout; failed attempts are retried as the policy decides. `op` runs
    /// once per attempt, so every attempt is signed anew while the
    /// Idempotency-Key it captured stays the same.
    pub(crate) async fn run<T, Fut>(
        &self,
        operation: &'static str,
        op: impl Fn(plugipay_api::Client) -> Fut,
    ) -> Result<T, Error>
    where
        T: Envelope,
        Fut: Future<Output = Outcome<T>>,
    {
        let policy = self
            .retry
            .as_ref()
            .unwrap_or_else(|| self.client.retry_policy());
        let call = tracing::info_span!(
            "plugipay",
            operation,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        async {
            let mut retries = 0;
            loop {
                let attempt = tracing::debug_span!(
                    "attempt",
                    number = retries + 1,
                    status = tracing::field::Empty,
                    request_id = tracing::field::Empty,
                );
                let result = async {
                    let recorder = ResponseRecorder::default();
                    let mut api = self.client.api().recording(&recorder);
                    if let Some(timeout) = self.timeout {
                        api = api.with_timeout(timeout);
                    }
                    let result = decode::envelope(op(api).await, recorder.last()).await;
                    let status = recorder.last().map(|head| head.status.as_u16());
                    let request_id = match &result {
                        Ok(envelope) => Some(envelope.request_id().to_owned()),
                        Err(error) => error.request_id().map(str::to_owned),
                    };
                    let span = tracing::Span::current();
                    span.record("status", status);
                    span.record("request_id", request_id.as_deref());
                    (result, status, request_id)
                }
                .instrument(attempt.clone())
                .await;
                let (result, status, request_id) = result;
                let decision = match &result {
                    Ok(_) => None,
                    Err(error) => Some(retry::decide(policy, error, retries, retry::jitter())),
                };
                match (result, decision) {
                    (Err(error), Some(Decision::RetryAfter(wait))) => {
                        attempt.in_scope(|| {
                            let wait_ms = wait.as_millis() as u64;
                            tracing::info!(error = %error, wait_ms, "retrying");
                        });
                        tokio::time::sleep(wait).await;
                        retries += 1;
                    }
                    (result, _) => {
                        let span = tracing::Span::current();
                        span.record("attempts", retries + 1);
                        span.record("status", status);
                        span.record("request_id", request_id.as_deref());
                        match &result {
                            Ok(_) => tracing::debug!("succeeded"),
                            Err(error) => tracing::debug!(error = %error, "failed"),
                        }
                        return result;
                    }
                }
            }
        }
        .instrument(call)
        .await
    }
}

impl<Op: Write> Request<Op> {
    /// Uses `key` as the Idempotency-Key of this write instead of a fresh
    /// `idem_<uuid>`. Sending the same write again with the same key (after a
    /// crash, from another process) cannot create a second customer.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The key of this write: the caller's, checked, or a fresh one.
    pub(crate) fn resolved_idempotency_key(&self) -> Result<String, Error> {
        let Some(key) = &self.idempotency_key else {
            return Ok(new_idempotency_key());
        };
        let chars = key.chars().count();
        if chars == 0
            || chars > IDEMPOTENCY_KEY_MAX_CHARS
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::InvalidArgument {
                field: "idempotency_key".into(),
                reason: format!(
                    "must be 1 to {IDEMPOTENCY_KEY_MAX_CHARS} printable ASCII characters without spaces"
                ),
            });
        }
        Ok(key.clone())
    }
}

/// A fresh key for one logical write: `idem_` and a random UUID.
pub fn new_idempotency_key() -> String {
    format!("idem_{}", uuid::Uuid::new_v4())
}

/// `impl IntoFuture for Request<$op>` through its `send` method.
macro_rules! into_future {
    ($op:ty => $output:ty) => {
        impl std::future::IntoFuture for $crate::request::Request<$op> {
            type Output = Result<$output, $crate::Error>;
            type IntoFuture = $crate::request::ResponseFuture<$output>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}
pub(crate) use into_future;

/// Marks an operation as a write.
macro_rules! write_op {
    ($op:ty) => {
        impl $crate::request::private::Sealed for $op {}
        impl $crate::request::Write for $op {}
    };
}
pub(crate) use write_op;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_keys_are_unique_and_prefixed() {
        let (a, b) = (new_idempotency_key(), new_idempotency_key());
        assert!(a.starts_with("idem_") && a.len() == 41, "{a}");
        assert_ne!(a, b);
    }
}

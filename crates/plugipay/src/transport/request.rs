//! A call ready to be sent: the generated client's connection, the call's
//! resolved options and its [`Operation`]; awaiting it runs the operation.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::transport::decode::Envelope;
use crate::transport::options::Options;
use crate::transport::outgoing::Outgoing;
use crate::transport::retry::RetryPolicy;
use crate::transport::retry_loop;

/// The future a [`Request`] turns into when awaited.
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

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
///     .deadline(Duration::from_secs(20))
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct Request<Op> {
    api: plugipay_api::Client,
    options: Options,
    pub(crate) op: Op,
}

/// What awaiting a [`Request`] does: one API call (create, get, list,
/// update, delete, a raw `request`), or a few of them (ensure, archive,
/// set_metadata, remove). Implemented by this crate's operations only.
pub trait Operation: private::Sealed + Sized + Send + 'static {
    /// What the call returns.
    type Output: Send + 'static;
    /// The call's name in traces (the spec's operationId for one API call).
    const NAME: &'static str;
    /// Runs the call.
    #[doc(hidden)]
    fn run(request: Request<Self>) -> impl Future<Output = Result<Self::Output, Error>> + Send;
}

/// An operation that writes: its requests carry an Idempotency-Key, which
/// [`Request::idempotency_key`] can set.
pub trait Write: Operation {}

pub(crate) mod private {
    pub trait Sealed {}
}

impl<Op> Request<Op> {
    pub(crate) fn new(api: plugipay_api::Client, options: Options, op: Op) -> Self {
        Self { api, options, op }
    }

    /// The same connection and options on another operation (for calls made
    /// of several requests, such as ensure and archive).
    pub(crate) fn with_op<Other>(&self, op: Other) -> Request<Other> {
        Request {
            api: self.api.clone(),
            options: self.options.clone(),
            op,
        }
    }

    /// The same call with its operation changed by `f`.
    pub(crate) fn map_op<Other>(self, f: impl FnOnce(Op) -> Other) -> Request<Other> {
        Request {
            api: self.api,
            options: self.options,
            op: f(self.op),
        }
    }

    /// The same call with its operation changed by `f`, which may refuse.
    pub(crate) fn try_map_op<Other, E>(
        self,
        f: impl FnOnce(Op) -> Result<Other, E>,
    ) -> Result<Request<Other>, E> {
        Ok(Request {
            api: self.api,
            options: self.options,
            op: f(self.op)?,
        })
    }

    /// The resolved options of this call.
    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    /// A time of this machine's clock on the server's, as far as the
    /// client knows the offset between them (learned from answers' `Date`
    /// headers): for comparing the call's start with times the server
    /// stamps.
    pub(crate) fn on_server_clock(
        &self,
        machine: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        use plugipay_api::ClientInfo as _;
        let offset = chrono::TimeDelta::seconds(self.api.inner().clock().offset_secs());
        machine.checked_add_signed(offset).unwrap_or(machine)
    }

    /// Acts for the merchant workspace `account_id` on this call only
    /// (overrides [`Client::for_merchant`](crate::Client::for_merchant)).
    pub fn on_behalf_of(mut self, account_id: impl Into<String>) -> Self {
        self.options.on_behalf_of = Some(account_id.into());
        self
    }

    /// The time each attempt of this call may take, from sending to the end
    /// of the response body, instead of the client's.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// The time the whole call may take, every attempt and every wait between
    /// attempts together, instead of the client's (none by default). A call
    /// whose deadline passes fails with [`Error::Timeout`], or with the last
    /// attempt's error when the next wait would cross it. A call made of
    /// several requests (ensure, archive, set_metadata, remove) has one
    /// deadline for all of them; a walk (`stream`, `pages`) gives each page
    /// its own.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.options.deadline = Some(deadline);
        self.options.deadline_at = None;
        self
    }

    /// Makes this call bulk work: it draws on the client's
    /// [bulk share](crate::ClientBuilder::bulk_share) of the rate budget
    /// only. Walks are bulk work already.
    pub fn bulk(mut self) -> Self {
        self.options.rate_share = Some(self.options.bulk_share);
        self
    }

    /// The share of the rate budget this call (or walk) draws on, instead
    /// of the whole budget a single call has, or the bulk share a walk has:
    /// [`RateShare::WHOLE`](crate::RateShare::WHOLE) runs a walk at the
    /// ceiling.
    pub fn rate_share(mut self, share: crate::RateShare) -> Self {
        self.options.rate_share = Some(share);
        self
    }

    /// The call as bulk work unless it says what share it draws on (for
    /// walks).
    pub(crate) fn into_bulk_work(mut self) -> Self {
        if self.options.rate_share.is_none() {
            self.options.rate_share = Some(self.options.bulk_share);
        }
        self
    }

    /// How this call retries, instead of the client's policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.options.retry = policy;
        self
    }

    /// At most `retries` retries for this call (0: a single attempt).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.options.retry.max_retries = retries;
        self
    }
}

impl<Op: Operation> Request<Op> {
    /// Sends the call; the same as awaiting the request.
    pub fn send(self) -> impl Future<Output = Result<Op::Output, Error>> + Send + 'static {
        Op::run(self.started())
    }

    /// The call as it starts: its deadline, if any, becomes an instant that
    /// the requests it is made of inherit (a deadline past the clock's
    /// range is none).
    fn started(mut self) -> Self {
        if let (Some(deadline), None) = (self.options.deadline, self.options.deadline_at) {
            self.options.deadline_at = tokio::time::Instant::now().checked_add(deadline);
        }
        self
    }

    /// Sends `outgoing` with this call's connection and options, as
    /// `Op::NAME`, retrying as the options say.
    pub(crate) async fn exchange<T: DeserializeOwned>(
        &self,
        outgoing: Outgoing,
    ) -> Result<Envelope<T>, Error> {
        if let Some(account) = &self.options.on_behalf_of {
            check_on_behalf_of(account)?;
        }
        retry_loop::exchange(&self.api, &self.options, Op::NAME, &outgoing).await
    }
}

impl<Op: Operation> IntoFuture for Request<Op> {
    type Output = Result<Op::Output, Error>;
    type IntoFuture = ResponseFuture<Op::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl<Op: Write> Request<Op> {
    /// What `endpoint` sends, under this request's idempotency key when the
    /// operation needs one (a key given for one that does not is refused).
    pub(crate) fn outgoing_for<E: plugipay_api::endpoint::Endpoint>(
        &self,
        endpoint: &E,
    ) -> Result<Outgoing, Error> {
        let mut outgoing = Outgoing::endpoint(endpoint)?;
        if E::IDEMPOTENCY_KEY {
            outgoing = outgoing.idempotency_key(self.resolved_idempotency_key()?);
        } else if self.options().idempotency_key.is_some() {
            return Err(Error::InvalidArgument {
                field: "idempotency_key".into(),
                reason: format!("`{}` takes no Idempotency-Key", E::OPERATION_ID),
            });
        }
        if !outgoing.is_write() {
            outgoing = outgoing.needs_data();
        }
        Ok(outgoing)
    }

    /// Uses `key` as the Idempotency-Key of this write instead of a fresh
    /// `idem_<uuid>`. Sending the same write again with the same key (after a
    /// crash, from another process) cannot create a second customer.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.options.idempotency_key = Some(key.into());
        self
    }

    /// The key of this write: the caller's, checked, or a fresh one.
    pub(crate) fn resolved_idempotency_key(&self) -> Result<String, Error> {
        let Some(key) = &self.options.idempotency_key else {
            return Ok(new_idempotency_key());
        };
        // What an HTTP header can carry; its length is the server's to judge.
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidArgument {
                field: "idempotency_key".into(),
                reason: "must be printable ASCII characters without spaces".into(),
            });
        }
        Ok(key.clone())
    }
}

/// A fresh key for one logical write: `idem_` and a random UUID.
pub fn new_idempotency_key() -> String {
    format!("idem_{}", uuid::Uuid::new_v4())
}

/// Checks a workspace id bound for the `X-Plugipay-On-Behalf-Of` header.
pub(crate) fn check_on_behalf_of(account_id: &str) -> Result<(), Error> {
    if account_id.is_empty() || !account_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::InvalidArgument {
            field: "on_behalf_of".into(),
            reason: "must be a non-empty workspace id of printable ASCII".into(),
        });
    }
    Ok(())
}

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

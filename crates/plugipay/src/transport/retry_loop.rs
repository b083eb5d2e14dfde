//! The retry loop of one call: each attempt waits for the rate budget, is
//! sent, read and judged in one place, then [`decide`] says whether to send
//! it again, within the call's retry budget and deadline. Every call is a
//! tracing span, every attempt a child span.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use plugipay_api::ClientInfo as _;

use crate::error::{Error, ErrorCode};
use crate::transport::attempt::{self, Answer, Attempt, Body};
use crate::transport::decode::{self, Envelope};
use crate::transport::options::Options;
use crate::transport::outgoing::Outgoing;
use crate::transport::pacing::RateClass;
use crate::transport::retry::{self, BodyState, Decision, Outcome, decide, may_have_applied};

/// Sends `outgoing` as the call `operation` (its name in traces) until an
/// attempt gives a result worth keeping: a decoded envelope of `T`, or the
/// error of the last attempt. A write that fails after an attempt that may
/// have been applied fails with [`Error::OutcomeUnknown`] around that
/// error, unless the last answer settles it (a decoded 4xx other than 429:
/// under the same key, an applied write would have been replayed instead).
pub(crate) async fn exchange<T: DeserializeOwned>(
    api: &plugipay_api::Client,
    options: &Options,
    operation: &'static str,
    outgoing: &Outgoing,
) -> Result<Envelope<T>, Error> {
    let call = tracing::info_span!(
        "plugipay",
        operation,
        attempts = tracing::field::Empty,
        status = tracing::field::Empty,
        request_id = tracing::field::Empty,
    );
    run(api, options, outgoing).instrument(call).await
}

async fn run<T: DeserializeOwned>(
    api: &plugipay_api::Client,
    options: &Options,
    outgoing: &Outgoing,
) -> Result<Envelope<T>, Error> {
    let request = outgoing.build(api, options.on_behalf_of.as_deref())?;
    // What the attempt lines name: the method and the target as sent.
    let target = match request.url().query() {
        Some(query) => format!("{} {}?{query}", request.method(), request.url().path()),
        None => format!("{} {}", request.method(), request.url().path()),
    };
    let deadline = options
        .deadline_at
        .or_else(|| options.deadline.and_then(|d| Instant::now().checked_add(d)));
    let repeatable = outgoing.repeatable();
    let needs_data = outgoing.requires_data();
    let mut retries = 0;
    let mut throttled = 0;
    // Whether an attempt so far may have been applied by the server.
    let mut maybe_applied = false;
    let unknown_unless_settled = |error: Error, settled: bool, maybe_applied: bool| {
        if outgoing.is_write() && maybe_applied && !settled {
            Error::OutcomeUnknown(Box::new(error))
        } else {
            error
        }
    };
    let class = if outgoing.is_write() {
        RateClass::Write
    } else {
        RateClass::Read
    };
    let workspace = options.on_behalf_of.as_deref();
    // Whether the attempt after a refused timestamp, signed by the server's
    // clock, has been sent: once a call at most.
    let mut clock_corrected = false;
    loop {
        // Wait for the rate budget (never past the deadline), then time
        // the attempt itself.
        let pace = options.pacer.acquire(workspace, class, options.rate_share);
        let permit = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, pace).await {
                Ok(permit) => permit,
                Err(_) => {
                    return Err(unknown_unless_settled(Error::Timeout, false, maybe_applied));
                }
            },
            None => pace.await,
        };
        let timeout = match attempt_timeout(options.timeout, deadline) {
            Ok(timeout) => timeout,
            Err(error) => return Err(unknown_unless_settled(error, false, maybe_applied)),
        };
        let span = tracing::debug_span!(
            "attempt",
            number = retries + 1,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
            rate_remaining = tracing::field::Empty,
        );
        // The clock this attempt is signed by (an answer may change it).
        let signed_by = api.inner().clock().offset_secs();
        let sent = Instant::now();
        options.sent.fetch_add(1, Ordering::Relaxed);
        let attempted = one::<T>(api, &request, timeout, needs_data)
            .instrument(span.clone())
            .await;
        let took = sent.elapsed();
        let (result, outcome, headers) = match attempted {
            Ok(judged) => judged,
            Err(error) => return Err(unknown_unless_settled(error, false, maybe_applied)),
        };
        maybe_applied |= may_have_applied(outcome);
        // The permit goes now, not after a backoff: a learning request
        // holds up its bucket's other requests, an unanswered one its count.
        // Pacing reads the answer's rate headers.
        let remaining = match (outcome, &headers) {
            (Outcome::Answered { status, .. }, Some(headers)) => {
                permit.answered_with(status, headers, api.inner().clock().offset_secs())
            }
            _ => {
                drop(permit);
                None
            }
        };
        if let Some(remaining) = remaining {
            span.record("rate_remaining", remaining);
        }
        let status = match outcome {
            Outcome::Answered { status, .. } => Some(status),
            _ => None,
        };
        let request_id = match &result {
            Ok(envelope) => envelope.meta.request_id.clone(),
            Err(error) => error.request_id().map(str::to_owned),
        };
        span.record("status", status);
        span.record("request_id", request_id.as_deref());
        span.in_scope(|| {
            let line = AttemptLine {
                target: &target,
                status,
                error: result.as_ref().err(),
                took,
                attempt: retries + 1,
                request_id: request_id.as_deref(),
                left: remaining.map(|r| (r, class)),
            };
            tracing::debug!(
                status,
                took_ms = took.as_millis() as u64,
                request_id = request_id.as_deref(),
                "{line}"
            );
        });
        if !clock_corrected
            && let Err(error) = &result
            && refused_for_the_clock(api, error, signed_by)
        {
            // Refused before the request was looked at: sending it again
            // (same Idempotency-Key) cannot apply anything twice.
            clock_corrected = true;
            continue;
        }
        let decision = match result {
            Ok(_) => Decision::GiveUp,
            Err(_) => decide(
                &options.retry,
                outcome,
                repeatable,
                retries,
                retry::jitter(),
            ),
        };
        match (decision, result) {
            (Decision::RetryAfter(wait), Err(error))
                if deadline
                    .is_none_or(|d| Instant::now().checked_add(wait).is_some_and(|t| t < d)) =>
            {
                span.in_scope(|| {
                    let wait_ms = wait.as_millis() as u64;
                    tracing::info!(error = %error, wait_ms, "retrying in {wait_ms} ms: {error}");
                });
                tokio::time::sleep(wait).await;
                retries += 1;
                throttled += u32::from(status == Some(429));
            }
            (_, result) => {
                let call = tracing::Span::current();
                call.record("attempts", retries + 1);
                call.record("status", status);
                call.record("request_id", request_id.as_deref());
                let attempts = retries + 1;
                let noun = if attempts == 1 { "attempt" } else { "attempts" };
                match &result {
                    Ok(_) => tracing::trace!("the call succeeded in {attempts} {noun}"),
                    Err(error) => {
                        tracing::trace!(error = %error, "the call failed after {attempts} {noun}")
                    }
                }
                let settled = result.as_ref().err().is_some_and(|e| settles(outcome, e));
                return result
                    .map(|envelope| Envelope {
                        throttled,
                        ..envelope
                    })
                    .map_err(|error| unknown_unless_settled(error, settled, maybe_applied));
            }
        }
    }
}

/// Whether a refused timestamp came from a clock that the answer's `Date`
/// header shows far (two seconds or more: it has whole seconds) from the
/// one the request was signed by, `signed_by`: the client now signs by the
/// server's time, and the request is worth sending again. A signature
/// refused for any other reason is never sent again.
fn refused_for_the_clock(api: &plugipay_api::Client, error: &Error, signed_by: i64) -> bool {
    let Error::Api(api_error) = error else {
        return false;
    };
    let Some(offset) = api_error.clock_offset else {
        return false;
    };
    if offset.abs_diff(signed_by) < 2 {
        return false;
    }
    // Usually kept already, as every answer's `Date` is (see `one`).
    api.inner().clock().set_offset_secs(offset);
    true
}

/// One attempt as `-v` shows it, on one line: `GET /api/v1/customers?limit=2
/// → 200 in 2 ms (attempt 1, request req_…, 99 left in the read budget)`.
struct AttemptLine<'a> {
    target: &'a str,
    status: Option<u16>,
    error: Option<&'a Error>,
    took: Duration,
    attempt: u32,
    request_id: Option<&'a str>,
    /// The rate budget left, by the answer's headers.
    left: Option<(u32, RateClass)>,
}

impl std::fmt::Display for AttemptLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.took.as_millis();
        match self.status {
            Some(status) => write!(f, "{} → {status} in {ms} ms", self.target)?,
            None => write!(f, "{} → no answer after {ms} ms", self.target)?,
        }
        write!(f, " (attempt {}", self.attempt)?;
        if let Some(id) = self.request_id {
            write!(f, ", request {id}")?;
        }
        if let Some((left, class)) = self.left {
            let class = match class {
                RateClass::Read => "read",
                RateClass::Write => "write",
            };
            write!(f, ", {left} left in the {class} budget")?;
        }
        f.write_str(")")?;
        match (self.status, self.error) {
            (None, Some(error)) => write!(f, ": {error}"),
            _ => Ok(()),
        }
    }
}

/// Whether an answer tells where a write stands even after earlier
/// attempts that may have been applied: a refusal of the request for what
/// it is, judged after the server looked its Idempotency-Key up — a
/// `validation_error` or `invalid_request` (the same request is refused
/// whenever it arrives) or an `idempotency_mismatch`. Anything else leaves
/// it open: a 401 or 403 comes before the key is looked up (a key revoked,
/// a clock stepped), and a 404 or a 409 `conflict` may answer a repeat whose
/// record is gone (a delete applied, a create that took its `externalId`).
fn settles(outcome: Outcome, error: &Error) -> bool {
    let decoded = matches!(
        outcome,
        Outcome::Answered {
            body: BodyState::Decoded,
            ..
        }
    );
    decoded
        && matches!(
            error.code(),
            Some(
                ErrorCode::ValidationError
                    | ErrorCode::InvalidRequest
                    | ErrorCode::IdempotencyMismatch
            )
        )
}

/// The time one attempt may take: the call's per-attempt timeout, cut to
/// what is left before the deadline. A deadline already past is a timeout.
fn attempt_timeout(
    timeout: Option<Duration>,
    deadline: Option<Instant>,
) -> Result<Option<Duration>, Error> {
    let Some(deadline) = deadline else {
        return Ok(timeout);
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::Timeout);
    }
    Ok(Some(timeout.map_or(left, |t| t.min(left))))
}

/// What one attempt came to: its result, the HTTP-level facts of its
/// outcome, and the headers of its answer (when it had one), for pacing.
type Judged<T> = (Result<Envelope<T>, Error>, Outcome, Option<HeaderMap>);

/// One attempt, judged. With `needs_data`, a success without `data` is an
/// unreadable answer.
async fn one<T: DeserializeOwned>(
    api: &plugipay_api::Client,
    request: &reqwest::Request,
    timeout: Option<Duration>,
    needs_data: bool,
) -> Result<Judged<T>, Error> {
    let answer = match attempt::attempt(api, request, timeout).await? {
        Attempt::Failed(e) => {
            let outcome = if e.is_connect() {
                Outcome::NotSent
            } else {
                Outcome::NoAnswer
            };
            return Ok((Err(Error::transport(e)), outcome, None));
        }
        Attempt::Answered(answer) => answer,
    };
    let Answer {
        status,
        headers,
        body,
    } = answer;
    learn_the_servers_clock(api, &headers);
    let (result, state) = match body {
        Body::Whole(bytes) => {
            let result = match decode::envelope::<T>(status, &headers, &bytes) {
                Ok(envelope) if needs_data && envelope.data.is_none() => {
                    Err(decode::missing_data(status, &headers, &bytes))
                }
                result => result,
            };
            let state = match &result {
                Err(Error::Decode(_)) if json_ends_early(&bytes) => BodyState::Cut,
                Err(Error::Decode(_)) => BodyState::Undecodable,
                _ => BodyState::Decoded,
            };
            (result, state)
        }
        Body::Cut(e) => (Err(Error::transport(e)), BodyState::Cut),
        Body::TooLarge => (
            Err(decode::too_large(status, &headers)),
            BodyState::TooLarge,
        ),
    };
    let outcome = Outcome::Answered {
        status: status.as_u16(),
        retry_after: decode::retry_after(&headers),
        body: state,
    };
    Ok((result, outcome, Some(headers)))
}

/// Keeps the server's clock as an answer's `Date` header shows it, so that
/// later requests are signed by it (and reads that compare the server's
/// times with the call's start use it); says so when it changes.
fn learn_the_servers_clock(api: &plugipay_api::Client, headers: &reqwest::header::HeaderMap) {
    let Some(offset) = headers
        .get(reqwest::header::DATE)
        .and_then(|date| date.to_str().ok())
        .and_then(plugipay_api::clock::server_offset)
    else {
        return;
    };
    if api.inner().clock().observe(offset) {
        tracing::info!(
            clock_offset_s = offset,
            "this machine's clock is {} s {} the server's: signing by the server's time",
            offset.unsigned_abs(),
            if offset < 0 { "ahead of" } else { "behind" }
        );
    }
}

/// Whether `body` is JSON that stops before it is complete: an answer cut
/// off with valid framing (whatever its status), not a different document.
fn json_ends_early(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err_and(|e| e.is_eof())
}

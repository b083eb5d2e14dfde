//! When to try a call again: exponential backoff with full jitter, honouring
//! `Retry-After`, for network failures, timeouts, 429 and 500/502/503/504.
//! The decision is a pure function ([`decide`]); the SDK sleeps and resends
//! with the same Idempotency-Key and a fresh signature.

use std::time::Duration;

use crate::error::Error;

/// How a client retries a failed call.
///
/// ```
/// use std::time::Duration;
/// use plugipay::RetryPolicy;
///
/// let policy = RetryPolicy::default().max_retries(5).base_delay(Duration::from_millis(100));
/// assert_eq!(policy.max_retries, 5);
/// assert_eq!(RetryPolicy::none().max_retries, 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2; 0 disables retrying).
    pub max_retries: u32,
    /// The first backoff ceiling, doubled on each retry (default 0.5 s).
    pub base_delay: Duration,
    /// The largest backoff ceiling (default 5 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured (default 30 s): a longer one is cut
    /// to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the number of retries.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the first backoff ceiling.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets the largest backoff ceiling.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets the longest `Retry-After` honoured.
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// The backoff ceiling before retry number `retry` (0 for the first):
    /// `base_delay × 2^retry`, at most `max_delay`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then send the same request again.
    RetryAfter(Duration),
    /// Give up and return the error.
    GiveUp,
}

/// The decision after attempt number `retries_done + 1` failed with `error`.
///
/// `jitter` is a draw from `[0, 1)`: the wait is `jitter × ceiling` ("full
/// jitter"), but never shorter than the server's `Retry-After` (itself cut to
/// `max_retry_after`). Errors that are not [retryable](Error::is_retryable)
/// are never retried.
pub fn decide(policy: &RetryPolicy, error: &Error, retries_done: u32, jitter: f64) -> Decision {
    if retries_done >= policy.max_retries || !error.is_retryable() {
        return Decision::GiveUp;
    }
    let backoff = policy.ceiling(retries_done).mul_f64(jitter.clamp(0.0, 1.0));
    let asked = error
        .as_api()
        .and_then(|e| e.retry_after)
        .map(|d| d.min(policy.max_retry_after))
        .unwrap_or_default();
    Decision::RetryAfter(backoff.max(asked))
}

/// A uniform draw from `[0, 1)` for [`decide`].
pub(crate) fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() >> 75; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, ErrorCode};
    use reqwest::StatusCode;

    fn api(status: u16, retry_after: Option<u64>) -> Error {
        Error::Api(Box::new(ApiError {
            status: StatusCode::from_u16(status).unwrap(),
            code: ErrorCode::from("x"),
            message: String::new(),
            field: None,
            doc_url: None,
            request_id: None,
            retry_after: retry_after.map(Duration::from_secs),
        }))
    }

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn retryable_statuses_back_off_with_full_jitter() {
        let p = RetryPolicy::default();
        for status in [429, 500, 502, 503, 504] {
            assert_eq!(
                decide(&p, &api(status, None), 0, 1.0),
                Decision::RetryAfter(MS(500)),
                "{status}"
            );
            assert_eq!(
                decide(&p, &api(status, None), 0, 0.0),
                Decision::RetryAfter(MS(0))
            );
            assert_eq!(
                decide(&p, &api(status, None), 1, 0.5),
                Decision::RetryAfter(MS(500))
            );
        }
        assert_eq!(
            decide(&p, &Error::Timeout, 1, 1.0),
            Decision::RetryAfter(MS(1000))
        );
    }

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let ceilings: Vec<_> = (0..6).map(|r| p.ceiling(r)).collect();
        assert_eq!(
            ceilings,
            [MS(500), MS(1000), MS(2000), MS(4000), MS(5000), MS(5000)]
        );
        assert_eq!(p.ceiling(u32::MAX), MS(5000));
    }

    #[test]
    fn other_errors_and_spent_budgets_give_up() {
        let p = RetryPolicy::default();
        for status in [400, 401, 403, 404, 409, 422, 501] {
            assert_eq!(
                decide(&p, &api(status, None), 0, 0.5),
                Decision::GiveUp,
                "{status}"
            );
        }
        let invalid = Error::InvalidArgument {
            field: "x".into(),
            reason: "y".into(),
        };
        assert_eq!(decide(&p, &invalid, 0, 0.5), Decision::GiveUp);
        assert_eq!(decide(&p, &api(503, None), 2, 0.5), Decision::GiveUp);
        assert_eq!(
            decide(&RetryPolicy::none(), &api(503, None), 0, 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            decide(&p, &api(429, Some(3)), 0, 0.1),
            Decision::RetryAfter(MS(3000))
        );
        assert_eq!(
            decide(&p, &api(503, Some(3600)), 0, 0.1),
            Decision::RetryAfter(MS(30_000))
        );
        // A short Retry-After does not shorten the backoff.
        let slow = p.clone().base_delay(Duration::from_secs(4));
        assert_eq!(
            decide(&slow, &api(429, Some(1)), 0, 1.0),
            Decision::RetryAfter(MS(4000))
        );
    }

    #[test]
    fn jitter_is_in_range() {
        assert!((0..1000).map(|_| jitter()).all(|j| (0.0..1.0).contains(&j)));
    }
}

//! When to send a request again: a pure function of what one attempt came to
//! at the HTTP level ([`Outcome`]), whether the request is safe to repeat, and
//! how many retries were already spent. Backoff is exponential with full
//! jitter, and never shorter than the server's `Retry-After` (capped).

use std::time::Duration;

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

/// What one attempt came to, in HTTP terms: the facts a retry decision needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The request never left: the connection could not be made (refused,
    /// DNS failure, TLS handshake). Nothing reached the server.
    NotSent,
    /// The request may have reached the server, but no answer came: the
    /// connection was reset or closed, or the attempt's time ran out before
    /// the status line arrived.
    NoAnswer,
    /// An answer arrived.
    Answered {
        /// Its HTTP status.
        status: u16,
        /// Its `Retry-After`, when it had a valid one.
        retry_after: Option<Duration>,
        /// How far its body got.
        body: BodyState,
    },
}

/// How far the body of an answer got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyState {
    /// Read whole and decoded: a result (a success, or an API error).
    Decoded,
    /// Read whole, but not the API's JSON (cut JSON, HTML, the wrong shape).
    Undecodable,
    /// The body ended early or failed mid-read (short of its
    /// `Content-Length`, a reset, the attempt's time running out), or its
    /// JSON stops before it is complete.
    Cut,
    /// Larger than the SDK reads; not read.
    TooLarge,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then send the same request again (same Idempotency-Key,
    /// fresh signature).
    RetryAfter(Duration),
    /// Stop: return this attempt's result, success or failure.
    GiveUp,
}

/// Whether an attempt that came to `outcome` is worth repeating, leaving the
/// retry budget aside. `repeatable` says whether sending the request twice is
/// harmless: a GET, or a write that carries an Idempotency-Key (the server
/// replays its first answer).
///
/// - never sent: always (nothing reached the server);
/// - `429`: always (the server refused it unprocessed);
/// - no answer, `500`/`502`/`503`/`504`, a body cut off, a `2xx` whose body
///   is not the API's JSON: when `repeatable`;
/// - anything else (a decoded success or API error, a body too large): never.
pub fn worth_repeating(outcome: Outcome, repeatable: bool) -> bool {
    match outcome {
        Outcome::NotSent => true,
        Outcome::NoAnswer => repeatable,
        Outcome::Answered { status: 429, .. } => true,
        Outcome::Answered { body, status, .. } => match body {
            BodyState::TooLarge => false,
            BodyState::Cut => repeatable,
            BodyState::Undecodable if (200..300).contains(&status) => repeatable,
            BodyState::Undecodable | BodyState::Decoded => {
                // A busy or failing server (429 is handled above).
                repeatable && status != 429 && plugipay_api::wire::retryable_status(status)
            }
        },
    }
}

/// Whether a write whose attempt came to `outcome` may have been applied by
/// the server although the attempt did not bring back a result: no answer
/// (the request may have arrived), a 5xx (the server may have failed after
/// committing), or a 2xx whose body could not be read (it was applied, and
/// the answer was lost). A connection never made, a 429 and any other answer
/// (a decoded success, a 4xx) say where the write stands.
///
/// ```
/// use plugipay::{BodyState, Outcome, may_have_applied};
///
/// assert!(may_have_applied(Outcome::NoAnswer));
/// assert!(!may_have_applied(Outcome::NotSent));
/// let cut_201 = Outcome::Answered { status: 201, retry_after: None, body: BodyState::Cut };
/// assert!(may_have_applied(cut_201));
/// let conflict = Outcome::Answered { status: 409, retry_after: None, body: BodyState::Decoded };
/// assert!(!may_have_applied(conflict));
/// ```
pub fn may_have_applied(outcome: Outcome) -> bool {
    match outcome {
        Outcome::NotSent => false,
        Outcome::NoAnswer => true,
        Outcome::Answered { status, body, .. } => match status {
            500..=599 => true,
            200..=299 => body != BodyState::Decoded,
            _ => false,
        },
    }
}

/// The decision after attempt number `retries_done + 1` came to `outcome`.
///
/// Gives up when the budget is spent or the outcome is not
/// [`worth_repeating`]; otherwise waits `jitter × ceiling` ("full jitter",
/// `jitter` a draw from `[0, 1)`), but never less than the answer's
/// `Retry-After` (itself cut to [`RetryPolicy::max_retry_after`]).
///
/// ```
/// use std::time::Duration;
/// use plugipay::{BodyState, Decision, Outcome, RetryPolicy, decide};
///
/// let busy = Outcome::Answered { status: 503, retry_after: None, body: BodyState::Undecodable };
/// let policy = RetryPolicy::default();
/// assert_eq!(decide(&policy, busy, true, 0, 1.0), Decision::RetryAfter(Duration::from_millis(500)));
/// assert_eq!(decide(&policy, busy, false, 0, 1.0), Decision::GiveUp);
/// assert_eq!(decide(&policy, busy, true, 2, 1.0), Decision::GiveUp); // budget spent
/// ```
pub fn decide(
    policy: &RetryPolicy,
    outcome: Outcome,
    repeatable: bool,
    retries_done: u32,
    jitter: f64,
) -> Decision {
    if retries_done >= policy.max_retries || !worth_repeating(outcome, repeatable) {
        return Decision::GiveUp;
    }
    // A draw outside [0, 1] is taken to its nearest end; NaN as 0.
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let backoff = policy.ceiling(retries_done).mul_f64(jitter);
    let asked = match outcome {
        Outcome::Answered {
            retry_after: Some(wait),
            ..
        } => wait.min(policy.max_retry_after),
        _ => Duration::ZERO,
    };
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

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn answered(status: u16, body: BodyState) -> Outcome {
        Outcome::Answered {
            status,
            retry_after: None,
            body,
        }
    }

    fn with_retry_after(status: u16, secs: u64) -> Outcome {
        Outcome::Answered {
            status,
            retry_after: Some(Duration::from_secs(secs)),
            body: BodyState::Decoded,
        }
    }

    #[test]
    fn every_class_of_outcome() {
        use BodyState::*;
        // (outcome, worth repeating when repeatable, when not)
        let table = [
            (Outcome::NotSent, true, true),
            (Outcome::NoAnswer, true, false),
            (answered(429, Decoded), true, true),
            (answered(429, Undecodable), true, true),
            (answered(500, Decoded), true, false),
            (answered(500, Undecodable), true, false),
            (answered(502, Undecodable), true, false),
            (answered(503, Decoded), true, false),
            (answered(504, Decoded), true, false),
            (answered(200, Cut), true, false),
            (answered(404, Cut), true, false),
            (answered(200, Undecodable), true, false),
            (answered(201, Undecodable), true, false),
            (answered(200, Decoded), false, false),
            (answered(201, Decoded), false, false),
            (answered(200, TooLarge), false, false),
            (answered(503, TooLarge), false, false),
            (answered(301, Undecodable), false, false),
            (answered(501, Decoded), false, false),
        ];
        for (outcome, repeatable, unrepeatable) in table {
            assert_eq!(worth_repeating(outcome, true), repeatable, "{outcome:?}");
            assert_eq!(worth_repeating(outcome, false), unrepeatable, "{outcome:?}");
        }
        for status in [400, 401, 403, 404, 409, 422] {
            for body in [Decoded, Undecodable] {
                assert!(!worth_repeating(answered(status, body), true), "{status}");
            }
        }
    }

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_ceiling() {
        let p = RetryPolicy::default();
        let busy = answered(503, BodyState::Decoded);
        assert_eq!(
            decide(&p, busy, true, 0, 1.0),
            Decision::RetryAfter(MS(500))
        );
        assert_eq!(decide(&p, busy, true, 0, 0.0), Decision::RetryAfter(MS(0)));
        assert_eq!(
            decide(&p, busy, true, 1, 0.5),
            Decision::RetryAfter(MS(500))
        );
        assert_eq!(
            decide(&p, Outcome::NoAnswer, true, 1, 1.0),
            Decision::RetryAfter(MS(1000))
        );
        let ceilings: Vec<_> = (0..6).map(|r| p.ceiling(r)).collect();
        assert_eq!(
            ceilings,
            [MS(500), MS(1000), MS(2000), MS(4000), MS(5000), MS(5000)]
        );
        assert_eq!(p.ceiling(u32::MAX), MS(5000));
    }

    #[test]
    fn any_jitter_is_a_decision_never_a_panic() {
        let p = RetryPolicy::default();
        let busy = answered(503, BodyState::Decoded);
        for (jitter, wait) in [
            (f64::NAN, MS(0)),
            (-1.0, MS(0)),
            (f64::NEG_INFINITY, MS(0)),
            (7.0, MS(500)),
            (f64::INFINITY, MS(500)),
        ] {
            assert_eq!(
                decide(&p, busy, true, 0, jitter),
                Decision::RetryAfter(wait),
                "{jitter}"
            );
        }
    }

    #[test]
    fn spent_budgets_give_up() {
        let p = RetryPolicy::default();
        assert_eq!(decide(&p, Outcome::NotSent, true, 2, 0.5), Decision::GiveUp);
        assert_eq!(
            decide(&RetryPolicy::none(), Outcome::NotSent, true, 0, 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            decide(&p, with_retry_after(429, 3), false, 0, 0.1),
            Decision::RetryAfter(MS(3000))
        );
        assert_eq!(
            decide(&p, with_retry_after(503, 3600), true, 0, 0.1),
            Decision::RetryAfter(MS(30_000))
        );
        // A short Retry-After does not shorten the backoff.
        let slow = p.clone().base_delay(Duration::from_secs(4));
        assert_eq!(
            decide(&slow, with_retry_after(429, 1), true, 0, 1.0),
            Decision::RetryAfter(MS(4000))
        );
    }

    #[test]
    fn which_outcomes_may_have_applied_a_write() {
        use BodyState::*;
        let table = [
            (Outcome::NotSent, false),
            (Outcome::NoAnswer, true),
            (answered(429, Decoded), false),
            (answered(400, Decoded), false),
            (answered(409, Cut), false),
            (answered(500, Decoded), true),
            (answered(502, Undecodable), true),
            (answered(200, Decoded), false),
            (answered(201, Cut), true),
            (answered(201, Undecodable), true),
            (answered(200, TooLarge), true),
            (answered(301, Undecodable), false),
        ];
        for (outcome, applied) in table {
            assert_eq!(may_have_applied(outcome), applied, "{outcome:?}");
        }
    }

    #[test]
    fn jitter_is_in_range() {
        assert!((0..1000).map(|_| jitter()).all(|j| (0.0..1.0).contains(&j)));
    }
}

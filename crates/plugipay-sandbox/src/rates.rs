//! Rate limits: a token bucket per workspace, mode and class (reads,
//! writes), as configured by [`RateLimits`].
//!
//! A bucket of size N holds up to N tokens and refills continuously at N
//! per second (a second's worth of burst, then the rate: the model the
//! SDK's pacing assumes, `X-RateLimit-Limit` being the rate per second).
//! A bucket that is full is the same as no bucket, so full ones are
//! forgotten: buckets kept are only those drawn on within about the last
//! second, whatever workspaces requests name.
//!
//! What an answer says of its bucket ([`Snapshot`]):
//!
//! - `X-RateLimit-Limit`: the bucket's size (= requests per second);
//! - `X-RateLimit-Remaining`: whole tokens left once this request drew its
//!   own (0 on a 429);
//! - `X-RateLimit-Reset`: the Unix second, rounded up, by which the bucket
//!   is full again if nothing more draws on it (now, when it is full).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hyper::http::{HeaderMap, HeaderValue, Method};

use crate::clock::Clock;
use crate::config::RateLimits;
use crate::workspace::WorkspaceId;

/// Which bucket a request draws on: reads are `GET` and `HEAD`, writes
/// every other method (as Plugipay publishes: POST, PUT, PATCH, DELETE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    Reads,
    Writes,
}

impl Class {
    /// The class of a request with `method`.
    pub fn of(method: &Method) -> Self {
        if method == Method::GET || method == Method::HEAD {
            Class::Reads
        } else {
            Class::Writes
        }
    }
}

/// A bucket's state as one answer reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// The bucket's size.
    pub limit: u32,
    /// Whole tokens left.
    pub remaining: u32,
    /// Unix seconds (rounded up) when the bucket is full again.
    pub reset: u64,
}

impl Snapshot {
    /// Writes `X-RateLimit-Limit`, `-Remaining` and `-Reset`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        use plugipay_api::wire::{RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET};
        headers.insert(RATE_LIMIT_LIMIT, HeaderValue::from(self.limit));
        headers.insert(RATE_LIMIT_REMAINING, HeaderValue::from(self.remaining));
        headers.insert(RATE_LIMIT_RESET, HeaderValue::from(self.reset));
    }
}

/// What drawing a token gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Draw {
    /// The class is not limited: nothing drawn, nothing to report.
    Unlimited,
    /// A token was drawn.
    Granted(Snapshot),
    /// The bucket is empty: nothing drawn; answer 429 with `Retry-After`
    /// of this many seconds.
    Refused(Snapshot, u64),
}

/// One bucket's tokens, as of an instant.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

struct State {
    buckets: HashMap<(WorkspaceId, Class), Bucket>,
    /// When full buckets were last forgotten.
    swept: Instant,
}

/// Every bucket of a sandbox.
pub(crate) struct RateBuckets {
    limits: RateLimits,
    state: Mutex<State>,
    /// The server's clock, for the resets the answers report.
    clock: Clock,
}

/// How often full buckets are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl RateBuckets {
    /// Buckets for `limits`, all full.
    pub fn new(limits: RateLimits, clock: Clock) -> Self {
        Self {
            limits,
            clock,
            state: Mutex::new(State {
                buckets: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    /// The limits enforced.
    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The size (and rate per second) of `class`'s buckets; `None`:
    /// unlimited.
    fn size(&self, class: Class) -> Option<u32> {
        let size = match class {
            Class::Reads => self.limits.reads_per_second,
            Class::Writes => self.limits.writes_per_second,
        };
        (size > 0).then_some(size)
    }

    /// Draws a token from `workspace`'s `class` bucket, now.
    pub fn draw(&self, workspace: &WorkspaceId, class: Class) -> Draw {
        self.draw_at(workspace, class, Instant::now(), self.clock.unix_secs_f64())
    }

    /// Gives back the token a request drew (its answer was a 429 of
    /// another kind, which takes none) and reports the bucket then.
    pub fn refund(&self, workspace: &WorkspaceId, class: Class) -> Option<Snapshot> {
        self.refund_at(workspace, class, Instant::now(), self.clock.unix_secs_f64())
    }

    /// [`draw`](Self::draw) at `now`, which is `unix` seconds on the wall
    /// clock.
    fn draw_at(&self, workspace: &WorkspaceId, class: Class, now: Instant, unix: f64) -> Draw {
        let Some(size) = self.size(class) else {
            return Draw::Unlimited;
        };
        let rate = f64::from(size);
        let mut state = self.lock();
        if now.saturating_duration_since(state.swept) >= SWEEP_EVERY {
            state
                .buckets
                .retain(|(_, class), bucket| match self.size(*class) {
                    Some(size) => tokens_at(bucket, f64::from(size), now) < f64::from(size),
                    None => false,
                });
            state.swept = now;
        }
        let bucket = state
            .buckets
            .entry((workspace.clone(), class))
            .or_insert(Bucket {
                tokens: rate,
                at: now,
            });
        let tokens = tokens_at(bucket, rate, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            return Draw::Granted(snapshot(size, tokens - 1.0, unix));
        }
        *bucket = Bucket { tokens, at: now };
        // The next token comes in (1 - tokens) / rate seconds.
        let next_token = ((1.0 - tokens) / rate).ceil() as u64;
        let retry_after = self.limits.retry_after_secs.max(next_token).max(1);
        Draw::Refused(snapshot(size, tokens, unix), retry_after)
    }

    /// [`refund`](Self::refund) at `now` (`unix` on the wall clock).
    fn refund_at(
        &self,
        workspace: &WorkspaceId,
        class: Class,
        now: Instant,
        unix: f64,
    ) -> Option<Snapshot> {
        let size = self.size(class)?;
        let rate = f64::from(size);
        let mut state = self.lock();
        let bucket = state
            .buckets
            .entry((workspace.clone(), class))
            .or_insert(Bucket {
                tokens: rate,
                at: now,
            });
        let tokens = (tokens_at(bucket, rate, now) + 1.0).min(rate);
        *bucket = Bucket { tokens, at: now };
        Some(snapshot(size, tokens, unix))
    }
}

/// The tokens `bucket` holds at `now`, refilled at `rate` per second up to
/// `rate`.
fn tokens_at(bucket: &Bucket, rate: f64, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * rate).min(rate)
}

/// What a bucket of `size` holding `tokens` reports at `unix` seconds.
fn snapshot(size: u32, tokens: f64, unix: f64) -> Snapshot {
    let rate = f64::from(size);
    let missing = (rate - tokens).max(0.0);
    Snapshot {
        limit: size,
        remaining: tokens.max(0.0).floor() as u32,
        reset: (unix + missing / rate).ceil() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_700_000_000.0;

    fn ws(account: &str) -> WorkspaceId {
        WorkspaceId::test(account)
    }

    fn granted(draw: Draw) -> Snapshot {
        match draw {
            Draw::Granted(s) => s,
            other => panic!("expected a token: {other:?}"),
        }
    }

    #[test]
    fn a_bucket_allows_its_size_then_refills_at_its_size_per_second() {
        let buckets =
            RateBuckets::new(RateLimits::new(4, 2).retry_after_secs(12), Clock::default());
        let start = Instant::now();
        let a = ws("a");
        for left in (0..4).rev() {
            let s = granted(buckets.draw_at(&a, Class::Reads, start, T0));
            assert_eq!((s.limit, s.remaining), (4, left));
        }
        // Empty: 4 tokens missing, full again in one second.
        match buckets.draw_at(&a, Class::Reads, start, T0) {
            Draw::Refused(s, retry) => {
                assert_eq!((s.limit, s.remaining, s.reset), (4, 0, T0 as u64 + 1));
                assert_eq!(retry, 12);
            }
            other => panic!("{other:?}"),
        }
        // A refused request took nothing: a quarter second later, one token.
        let later = start + Duration::from_millis(250);
        let s = granted(buckets.draw_at(&a, Class::Reads, later, T0 + 0.25));
        assert_eq!(s.remaining, 0);
        assert!(matches!(
            buckets.draw_at(&a, Class::Reads, later, T0 + 0.25),
            Draw::Refused(..)
        ));
        // Writes, other workspaces, the live world: their own buckets.
        assert_eq!(
            granted(buckets.draw_at(&a, Class::Writes, later, T0)).remaining,
            1
        );
        assert_eq!(
            granted(buckets.draw_at(&ws("b"), Class::Reads, later, T0)).remaining,
            3
        );
        let live = WorkspaceId::new("a", crate::workspace::Mode::Live);
        assert_eq!(
            granted(buckets.draw_at(&live, Class::Reads, later, T0)).remaining,
            3
        );
        // Refilled to its size, no more.
        let much_later = start + Duration::from_secs(60);
        let s = granted(buckets.draw_at(&a, Class::Reads, much_later, T0 + 60.0));
        assert_eq!((s.remaining, s.reset), (3, T0 as u64 + 61));
    }

    #[test]
    fn retry_after_is_never_sooner_than_the_next_token() {
        let buckets = RateBuckets::new(RateLimits::new(1, 1).retry_after_secs(0), Clock::default());
        let now = Instant::now();
        granted(buckets.draw_at(&ws("a"), Class::Writes, now, T0));
        assert!(matches!(
            buckets.draw_at(&ws("a"), Class::Writes, now, T0),
            Draw::Refused(_, 1)
        ));
    }

    #[test]
    fn a_refund_gives_the_token_back() {
        let buckets = RateBuckets::new(RateLimits::new(3, 3), Clock::default());
        let now = Instant::now();
        assert_eq!(
            granted(buckets.draw_at(&ws("a"), Class::Writes, now, T0)).remaining,
            2
        );
        let s = buckets.refund_at(&ws("a"), Class::Writes, now, T0).unwrap();
        assert_eq!((s.remaining, s.reset), (3, T0 as u64));
        // Never past full.
        let s = buckets.refund_at(&ws("a"), Class::Writes, now, T0).unwrap();
        assert_eq!(s.remaining, 3);
    }

    #[test]
    fn unlimited_classes_draw_nothing() {
        let buckets = RateBuckets::new(RateLimits::new(0, 5), Clock::default());
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(
                buckets.draw_at(&ws("a"), Class::Reads, now, T0),
                Draw::Unlimited
            );
        }
        assert!(buckets.refund_at(&ws("a"), Class::Reads, now, T0).is_none());
        let off = RateBuckets::new(RateLimits::off(), Clock::default());
        assert_eq!(
            off.draw_at(&ws("a"), Class::Writes, now, T0),
            Draw::Unlimited
        );
        assert!(off.lock().buckets.is_empty());
    }

    #[test]
    fn full_buckets_are_forgotten() {
        let buckets = RateBuckets::new(RateLimits::new(10, 10), Clock::default());
        let start = Instant::now();
        for n in 0..1000 {
            granted(buckets.draw_at(&ws(&format!("w{n}")), Class::Reads, start, T0));
        }
        assert_eq!(buckets.lock().buckets.len(), 1000);
        // A second later every one of them is full again.
        let later = start + Duration::from_secs(2);
        granted(buckets.draw_at(&ws("last"), Class::Reads, later, T0 + 2.0));
        assert_eq!(buckets.lock().buckets.len(), 1);
    }

    #[test]
    fn classes_by_method() {
        assert_eq!(Class::of(&Method::GET), Class::Reads);
        assert_eq!(Class::of(&Method::HEAD), Class::Reads);
        for method in [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ] {
            assert_eq!(Class::of(&method), Class::Writes, "{method}");
        }
    }
}

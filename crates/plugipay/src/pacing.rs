//! Pacing a client to the rate limits the server reports: each answer's
//! `X-RateLimit-Limit` / `-Remaining` / `-Reset` feed a budget per workspace
//! acted for and per bucket (reads, writes), shared by every task using the
//! client (clones included), and a request waits for a token instead of
//! spending one the server does not have. Until a bucket's first answer
//! arrives, one request at a time goes out to learn it; a server that sends
//! no such headers is not paced at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The header holding a bucket's size.
const LIMIT: &str = "x-ratelimit-limit";
/// The header holding the requests left in the bucket now.
const REMAINING: &str = "x-ratelimit-remaining";
/// The header holding when the bucket is full again (Unix seconds).
const RESET: &str = "x-ratelimit-reset";

/// Which of a workspace's rate-limit buckets a request draws on: Plugipay
/// publishes separate limits for reads (GET) and writes (POST, PUT, PATCH,
/// DELETE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RateClass {
    /// GET and HEAD requests.
    Read,
    /// Every other request.
    Write,
}

/// What the server last said of one rate-limit bucket, as
/// [`Client::rate_budgets`](crate::Client::rate_budgets) reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateBudget {
    /// The workspace acted for (`X-Plugipay-On-Behalf-Of`); `None`: the
    /// key's own.
    pub on_behalf_of: Option<String>,
    /// Reads or writes.
    pub class: RateClass,
    /// The bucket's size (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Requests left when the answer was made (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// When the bucket is full again (`X-RateLimit-Reset`), if given.
    pub reset: Option<SystemTime>,
    /// When the answer arrived.
    pub seen: SystemTime,
}

/// The rate-limit headers of one answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RateHeaders {
    limit: u32,
    remaining: u32,
    /// Unix seconds.
    reset: Option<u64>,
}

impl RateHeaders {
    /// Requests left in the bucket when the answer was made.
    pub(crate) fn remaining(&self) -> u32 {
        self.remaining
    }

    /// The headers of `headers`, when the limit and the remainder are there
    /// and are numbers.
    pub(crate) fn read(headers: &HeaderMap) -> Option<Self> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let limit = u32::try_from(number(LIMIT)?).ok().filter(|&l| l > 0)?;
        let remaining = u32::try_from(number(REMAINING)?).unwrap_or(u32::MAX);
        Some(Self {
            limit,
            remaining: remaining.min(limit),
            reset: number(RESET),
        })
    }
}

type Key = (Option<String>, RateClass);

/// A client's budgets, one per workspace acted for and class.
#[derive(Default)]
pub(crate) struct Pacer {
    buckets: Mutex<HashMap<Key, Bucket>>,
    /// Wakes tasks waiting for a bucket's first answer.
    learned: Notify,
    /// Off: every request goes at once ([`ClientBuilder::pacing`](crate::ClientBuilder::pacing)).
    off: bool,
}

#[derive(Default)]
struct Bucket {
    state: State,
    /// Requests sent on this bucket and not yet answered.
    in_flight: u32,
    last: Option<RateBudget>,
}

#[derive(Default)]
enum State {
    /// No answer yet; nobody is asking.
    #[default]
    Unknown,
    /// One request is out to learn the bucket; the others wait for it.
    Learning,
    /// The server sends no rate-limit headers here: not paced.
    Unpaced,
    /// Paced: a token bucket estimated from the headers.
    Paced(Tokens),
}

/// The bucket as this client estimates it.
struct Tokens {
    size: f64,
    /// Tokens per second.
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Tokens {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.size);
        self.at = now;
    }
}

/// One request's hold on its bucket: answer it with
/// [`Permit::answered`]; dropping it unanswered (a connection never made, a
/// cancelled call) only frees its place.
pub(crate) struct Permit {
    pacer: Arc<Pacer>,
    key: Key,
    /// Whether the request was counted in flight.
    counted: bool,
    learning: bool,
    done: bool,
}

impl Pacer {
    /// A pacer that paces nothing.
    pub(crate) fn off() -> Self {
        Self {
            off: true,
            ..Self::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Bucket>> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a request of `class` for `on_behalf_of` may go.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        on_behalf_of: Option<&str>,
        class: RateClass,
    ) -> Permit {
        let key = (on_behalf_of.map(str::to_owned), class);
        let permit = |counted, learning| Permit {
            pacer: Arc::clone(self),
            key: key.clone(),
            counted,
            learning,
            done: false,
        };
        if self.off {
            return permit(false, false);
        }
        loop {
            let learned = self.learned.notified();
            let wait = {
                let mut buckets = self.lock();
                let bucket = buckets.entry(key.clone()).or_default();
                match &mut bucket.state {
                    State::Unknown => {
                        bucket.state = State::Learning;
                        bucket.in_flight += 1;
                        return permit(true, true);
                    }
                    State::Learning => None,
                    State::Unpaced => return permit(false, false),
                    State::Paced(tokens) => {
                        tokens.refill(Instant::now());
                        if tokens.tokens >= 1.0 {
                            tokens.tokens -= 1.0;
                            bucket.in_flight += 1;
                            return permit(true, false);
                        }
                        Some(Duration::from_secs_f64((1.0 - tokens.tokens) / tokens.rate))
                    }
                }
            };
            match wait {
                None => learned.await,
                Some(wait) => {
                    tracing::debug!(
                        class = ?class,
                        wait_ms = wait.as_millis() as u64,
                        "waiting for the rate budget"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// What the server last said of every bucket this client has used.
    pub(crate) fn budgets(&self) -> Vec<RateBudget> {
        let mut budgets: Vec<RateBudget> = self
            .lock()
            .values()
            .filter_map(|b| b.last.clone())
            .collect();
        budgets.sort_by(|a, b| (&a.on_behalf_of, a.class).cmp(&(&b.on_behalf_of, b.class)));
        budgets
    }

    fn answered(
        &self,
        key: &Key,
        counted: bool,
        learning: bool,
        status: u16,
        rate: Option<RateHeaders>,
    ) {
        let mut buckets = self.lock();
        let bucket = buckets.entry(key.clone()).or_default();
        if counted {
            bucket.in_flight = bucket.in_flight.saturating_sub(1);
        }
        let now = Instant::now();
        match rate {
            Some(rate) => {
                // Others in flight may have been counted by the server
                // after this answer was made.
                let left = f64::from(rate.remaining) - f64::from(bucket.in_flight);
                let size = f64::from(rate.limit);
                let per_second = refill_rate(rate);
                match &mut bucket.state {
                    State::Paced(tokens) => {
                        tokens.refill(now);
                        tokens.size = size;
                        tokens.rate = per_second;
                        // Trust the server when it has less than we thought
                        // (another client draining the same bucket).
                        tokens.tokens = tokens.tokens.min(left);
                    }
                    state => {
                        *state = State::Paced(Tokens {
                            size,
                            rate: per_second,
                            tokens: left,
                            at: now,
                        });
                    }
                }
                bucket.last = Some(RateBudget {
                    on_behalf_of: key.0.clone(),
                    class: key.1,
                    limit: rate.limit,
                    remaining: rate.remaining,
                    reset: rate.reset.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
                    seen: SystemTime::now(),
                });
            }
            None if learning => bucket.state = State::Unpaced,
            None => {}
        }
        if status == 429
            && let State::Paced(tokens) = &mut bucket.state
        {
            tokens.refill(now);
            tokens.tokens = tokens.tokens.min(0.0);
        }
        if learning {
            self.learned.notify_waiters();
        }
    }

    fn released(&self, key: &Key, counted: bool, learning: bool) {
        let mut buckets = self.lock();
        if let Some(bucket) = buckets.get_mut(key) {
            if counted {
                bucket.in_flight = bucket.in_flight.saturating_sub(1);
            }
            if learning && matches!(bucket.state, State::Learning) {
                // Nothing learned: let the next request try.
                bucket.state = State::Unknown;
            }
        }
        if learning {
            self.learned.notify_waiters();
        }
    }
}

/// Tokens per second: the bucket's size per second (Plugipay publishes its
/// limits as requests per second, with the bucket as large as a second's
/// worth), unless `X-RateLimit-Reset` says the bucket fills more slowly.
fn refill_rate(rate: RateHeaders) -> f64 {
    let size = f64::from(rate.limit);
    let missing = f64::from(rate.limit - rate.remaining);
    let Some(reset) = rate.reset else {
        return size;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    // `Reset` is in whole seconds: allow one second of rounding.
    let until_full = reset as f64 - now;
    if missing > 0.0 && until_full > missing / size + 1.0 {
        (missing / until_full).max(size / 3600.0)
    } else {
        size
    }
}

impl Permit {
    /// The request was answered with `status` and these rate-limit headers
    /// (or none).
    pub(crate) fn answered(mut self, status: u16, rate: Option<RateHeaders>) {
        self.done = true;
        self.pacer
            .answered(&self.key, self.counted, self.learning, status, rate);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.pacer.released(&self.key, self.counted, self.learning);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(limit: u32, remaining: u32, reset: Option<u64>) -> Option<RateHeaders> {
        Some(RateHeaders {
            limit,
            remaining,
            reset,
        })
    }

    #[test]
    fn headers_are_read_leniently() {
        let mut map = HeaderMap::new();
        assert_eq!(RateHeaders::read(&map), None);
        map.insert(LIMIT, "20".parse().unwrap());
        map.insert(REMAINING, " 7 ".parse().unwrap());
        assert_eq!(RateHeaders::read(&map), headers(20, 7, None));
        map.insert(REMAINING, "99".parse().unwrap());
        map.insert(RESET, "1700000000".parse().unwrap());
        assert_eq!(
            RateHeaders::read(&map),
            headers(20, 20, Some(1_700_000_000))
        );
        map.insert(LIMIT, "0".parse().unwrap());
        assert_eq!(RateHeaders::read(&map), None, "a zero limit paces nothing");
        map.insert(LIMIT, "many".parse().unwrap());
        assert_eq!(RateHeaders::read(&map), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_request_learns_the_bucket_then_tokens_pace_the_rest() {
        let pacer = Arc::new(Pacer::default());
        let first = pacer.acquire(None, RateClass::Write).await;
        // A second request waits for the first answer.
        let second = {
            let pacer = Arc::clone(&pacer);
            tokio::spawn(async move {
                let permit = pacer.acquire(None, RateClass::Write).await;
                let at = Instant::now();
                drop(permit);
                at
            })
        };
        tokio::task::yield_now().await;
        assert!(!second.is_finished());
        let start = Instant::now();
        // The server has 2 tokens left of 20 (per second).
        first.answered(201, headers(20, 2, None));
        assert_eq!(second.await.unwrap(), start, "a token was left");
        // One more goes at once; the next waits for a refill (1/20 s).
        drop(pacer.acquire(None, RateClass::Write).await);
        let before = Instant::now();
        drop(pacer.acquire(None, RateClass::Write).await);
        let waited = Instant::now() - before;
        assert!(
            waited >= Duration::from_millis(40) && waited <= Duration::from_millis(60),
            "{waited:?}"
        );
        // Reads are another bucket, not learned yet: they go.
        drop(pacer.acquire(None, RateClass::Read).await);
        assert_eq!(pacer.budgets().len(), 1);
        assert_eq!(pacer.budgets()[0].remaining, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_without_headers_is_not_paced() {
        let pacer = Arc::new(Pacer::default());
        pacer
            .acquire(Some("acct_1"), RateClass::Read)
            .await
            .answered(200, None);
        let start = Instant::now();
        let permits: Vec<Permit> = futures_util::future::join_all(
            (0..100).map(|_| pacer.acquire(Some("acct_1"), RateClass::Read)),
        )
        .await;
        assert_eq!(Instant::now(), start);
        drop(permits);
        assert!(pacer.budgets().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_server_is_trusted_when_it_has_less_and_a_429_empties_the_bucket() {
        let pacer = Arc::new(Pacer::default());
        pacer
            .acquire(None, RateClass::Read)
            .await
            .answered(200, headers(100, 100, None));
        // Another process drained it: 0 left.
        pacer
            .acquire(None, RateClass::Read)
            .await
            .answered(200, headers(100, 0, None));
        let before = Instant::now();
        drop(pacer.acquire(None, RateClass::Read).await);
        assert!(Instant::now() - before >= Duration::from_millis(9));
        // A 429 with no headers: nothing left for now either.
        pacer
            .acquire(None, RateClass::Read)
            .await
            .answered(429, None);
        let before = Instant::now();
        drop(pacer.acquire(None, RateClass::Read).await);
        assert!(Instant::now() - before >= Duration::from_millis(9));
    }

    #[tokio::test(start_paused = true)]
    async fn a_learning_request_that_fails_lets_the_next_one_learn() {
        let pacer = Arc::new(Pacer::default());
        drop(pacer.acquire(None, RateClass::Write).await);
        let next = pacer.acquire(None, RateClass::Write).await;
        assert!(next.learning);
    }

    #[test]
    fn a_slow_reset_slows_the_refill() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // 10 missing, full again in 10 s: one a second.
        let rate = refill_rate(RateHeaders {
            limit: 10,
            remaining: 0,
            reset: Some(now + 10),
        });
        assert!((0.9..=1.2).contains(&rate), "{rate}");
        // Full again within the second: the size per second.
        let rate = refill_rate(RateHeaders {
            limit: 100,
            remaining: 0,
            reset: Some(now + 1),
        });
        assert_eq!(rate, 100.0);
    }
}

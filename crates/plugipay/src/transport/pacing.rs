//! Pacing a client to the rate limits the server reports: each answer's
//! `X-RateLimit-Limit` / `-Remaining` / `-Reset` feed a budget per workspace
//! acted for and per bucket (reads, writes), shared by every task using the
//! client (clones included), and a request waits for a token instead of
//! spending one the server does not have. Until a bucket's first answer
//! arrives, one request at a time goes out to learn it; a server that sends
//! no such headers is not paced at all. Bulk work draws on a [`RateShare`]
//! of each bucket only, leaving the rest to the other clients of the
//! workspace; single calls keep the whole budget.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

use plugipay_api::wire::{
    RATE_LIMIT_LIMIT as LIMIT, RATE_LIMIT_REMAINING as REMAINING, RATE_LIMIT_RESET as RESET,
};

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

/// How much of a workspace's rate budget bulk work may draw on: an import,
/// a sync of many rows, an export, a walk of a whole list. A workspace's
/// limits are shared by every key and process that uses it (the app's
/// signups draw on the same 20 writes a second as a nightly import), so
/// bulk work runs below the ceiling to leave room for them.
///
/// Under a share, bulk requests of a bucket go at most at the share's rate
/// (after a start of at most a second's worth at once) and never spend the
/// bucket's last tokens: a share of `f` of a bucket of `L` requests a second (and as many
/// tokens) draws at most `f × L` a second and leaves `(1 − f) × L` tokens
/// for other clients, so an app's request arriving meanwhile finds one. A
/// rate in requests a second does the same with `f` = that rate / `L`
/// (and caps the rate even where the server reports no limits). The share
/// is learned against what the server's `X-RateLimit-*` headers say, and
/// shrinks further when other clients are seen drawing. The default,
/// [`RateShare::DEFAULT`], is 80 %: it keeps a fifth of each bucket (4 of
/// the published 20 writes, 20 of the 100 reads) for the apps that share
/// the workspace, which covers an app's requests arriving together a few at
/// a time, and costs bulk work at most a quarter more time than the
/// ceiling (`1 / 0.8`).
///
/// ```
/// use plugipay::RateShare;
///
/// assert_eq!("80%".parse::<RateShare>()?, RateShare::DEFAULT);
/// assert_eq!("0.5".parse::<RateShare>()?, RateShare::fraction(0.5)?);
/// assert_eq!("12/s".parse::<RateShare>()?, RateShare::per_second(12.0)?);
/// assert!("0".parse::<RateShare>().is_err());
/// assert!(RateShare::fraction(1.0)?.is_whole());
/// # Ok::<(), plugipay::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateShare {
    /// A fraction of each bucket, above 0 and at most 1 (1: the whole
    /// budget, as single calls have).
    Fraction(f64),
    /// At most this many requests a second of each class (reads, writes),
    /// above 0.
    PerSecond(f64),
}

impl RateShare {
    /// 80 % of each bucket (see the type's documentation for why).
    pub const DEFAULT: RateShare = RateShare::Fraction(0.8);

    /// The whole budget: bulk work paced as single calls are.
    pub const WHOLE: RateShare = RateShare::Fraction(1.0);

    /// A fraction of each bucket, above 0 and at most 1
    /// ([`Error::InvalidArgument`](crate::Error::InvalidArgument) otherwise).
    pub fn fraction(fraction: f64) -> Result<Self, crate::Error> {
        if fraction > 0.0 && fraction <= 1.0 {
            Ok(RateShare::Fraction(fraction))
        } else {
            Err(refused(format!(
                "{fraction} is not a share of the rate budget: above 0 and at most 1 \
                 (0.8, 80%) or a rate (15/s)"
            )))
        }
    }

    /// At most `rate` requests a second of each class, above 0
    /// ([`Error::InvalidArgument`](crate::Error::InvalidArgument) otherwise).
    pub fn per_second(rate: f64) -> Result<Self, crate::Error> {
        if rate > 0.0 && rate.is_finite() {
            Ok(RateShare::PerSecond(rate))
        } else {
            Err(refused(format!(
                "{rate}/s is not a rate: more than 0 requests a second"
            )))
        }
    }

    /// Whether this is the whole budget (nothing held back).
    pub fn is_whole(&self) -> bool {
        matches!(self, RateShare::Fraction(f) if *f >= 1.0)
    }

    /// What this share allows of a bucket of `size` tokens refilled at
    /// `rate` a second (`None` when the server reports no limit).
    pub(crate) fn of(&self, bucket: Option<(f64, f64)>) -> Option<BulkLimit> {
        match (*self, bucket) {
            _ if self.is_whole() => None,
            (RateShare::Fraction(f), Some((size, rate))) => Some(BulkLimit {
                per_second: f * rate,
                reserve: (1.0 - f) * size,
            }),
            (RateShare::Fraction(_), None) => None,
            (RateShare::PerSecond(per_second), Some((size, rate))) => Some(BulkLimit {
                per_second: per_second.min(rate),
                reserve: (1.0 - per_second / rate).max(0.0) * size,
            }),
            (RateShare::PerSecond(per_second), None) => Some(BulkLimit {
                per_second,
                reserve: 0.0,
            }),
        }
    }
}

/// A share refused for `reason`.
fn refused(reason: String) -> crate::Error {
    crate::Error::InvalidArgument {
        field: "rate_share".into(),
        reason,
    }
}

impl Default for RateShare {
    fn default() -> Self {
        RateShare::DEFAULT
    }
}

impl std::fmt::Display for RateShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateShare::Fraction(fraction) => write!(f, "{}%", fraction * 100.0),
            RateShare::PerSecond(rate) => write!(f, "{rate}/s"),
        }
    }
}

impl std::str::FromStr for RateShare {
    type Err = crate::Error;

    /// `0.8` or `80%` (a fraction), or `15/s` (requests a second).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let number = |text: &str| {
            text.trim().parse::<f64>().map_err(|_| {
                refused(format!(
                    "{s:?} is not a share of the rate budget: 0.8, 80% or 15/s"
                ))
            })
        };
        if let Some(rate) = s.strip_suffix("/s") {
            RateShare::per_second(number(rate)?)
        } else if let Some(percent) = s.strip_suffix('%') {
            RateShare::fraction(number(percent)? / 100.0)
        } else {
            RateShare::fraction(number(s)?)
        }
    }
}

/// What a share allows bulk work of one bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BulkLimit {
    /// Requests a second at most.
    pub(crate) per_second: f64,
    /// Tokens of the bucket bulk work never spends.
    pub(crate) reserve: f64,
}

/// What the server last said of one rate-limit bucket, as
/// [`Client::rate_budgets`](crate::Client::rate_budgets) reports it.
#[derive(Clone, Debug, PartialEq)]
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
    /// The most requests a second this client's bulk work last drew on
    /// the bucket under its [`RateShare`] (`None`: no bulk work yet, or its
    /// share is the whole budget).
    pub bulk_per_second: Option<f64>,
}

/// The rate-limit headers of one answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RateHeaders {
    limit: u32,
    remaining: u32,
    /// Seconds until the bucket is full again: `X-RateLimit-Reset` (Unix
    /// seconds by the server's clock) less the server's time now (this
    /// machine's, moved by the offset the client learned from the server's
    /// `Date` headers), so a machine whose clock is off paces right.
    reset_in: Option<f64>,
}

impl RateHeaders {
    /// Requests left in the bucket when the answer was made.
    pub(crate) fn remaining(&self) -> u32 {
        self.remaining
    }

    /// The headers of `headers`, when the limit and the remainder are there
    /// and are numbers; `server_offset` is the server's clock minus this
    /// machine's, in seconds, as far as the client knows it.
    pub(crate) fn read(headers: &HeaderMap, server_offset: i64) -> Option<Self> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let limit = u32::try_from(number(LIMIT)?).ok().filter(|&l| l > 0)?;
        let remaining = u32::try_from(number(REMAINING)?).unwrap_or(u32::MAX);
        let reset_in = number(RESET).map(|reset| {
            let machine = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            reset as f64 - (machine + server_offset as f64)
        });
        Some(Self {
            limit,
            remaining: remaining.min(limit),
            reset_in,
        })
    }
}

type Key = (Option<String>, RateClass);

/// A client's budgets, one per workspace acted for and class.
#[derive(Default)]
pub(crate) struct Pacer {
    buckets: Mutex<HashMap<Key, Bucket>>,
    /// Per class, whether the key's own workspace answers without
    /// rate-limit headers: its requests then go without taking the lock.
    own_unpaced: [AtomicBool; 2],
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
    /// Bulk work's own allowance on this bucket.
    bulk: Option<BulkTokens>,
    /// What bulk work was last allowed, to say it when it changes.
    bulk_said: Option<BulkLimit>,
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
    /// The server's refill, tokens per second.
    rate: f64,
    /// This client's share of the refill: the rate less what other clients
    /// of the workspace draw (learned from how `Remaining` moves).
    share: f64,
    tokens: f64,
    at: Instant,
    /// Other clients' draw, tokens per second (a moving average).
    others: f64,
    /// This client's answers that drew a token, so far.
    drawn: u64,
    /// The last reading of `Remaining` used to learn `others`.
    sample: Option<Sample>,
}

/// A reading of the server's bucket.
struct Sample {
    remaining: f64,
    at: Instant,
    drawn: u64,
}

/// The longest a request waits for its bucket's first answer before going
/// without it.
const LEARNING_WAIT: Duration = Duration::from_secs(5);

/// The shortest time between two readings that learn `others`: shorter
/// ones are mostly the rounding of `Remaining`.
const SAMPLE_SECS: f64 = 0.25;

/// How far each reading moves the averages (0: not at all, 1: all the way).
const SMOOTHING: f64 = 0.3;

impl Tokens {
    fn new(size: f64, rate: f64, tokens: f64, now: Instant) -> Self {
        Self {
            size,
            rate,
            share: rate,
            tokens,
            at: now,
            others: 0.0,
            drawn: 0,
            sample: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.share).min(self.size);
        self.at = now;
    }

    /// Learns from `remaining` (read at `now`, after this client's answers
    /// so far) how fast other clients draw on the same bucket, and takes
    /// the rest of the refill as this client's share. Between two readings
    /// the server's bucket gained `rate × time` (at most up to its size)
    /// and lost this client's draws; whatever else it lost, others drew.
    /// Their draw is over-estimated by a fifth, so that clients sharing a
    /// bucket leave it some slack rather than meet 429s.
    fn learn(&mut self, remaining: f64, now: Instant) {
        let Some(last) = &self.sample else {
            self.sample = Some(Sample {
                remaining,
                at: now,
                drawn: self.drawn,
            });
            return;
        };
        let secs = now.saturating_duration_since(last.at).as_secs_f64();
        if secs < SAMPLE_SECS {
            return;
        }
        let mine = (self.drawn - last.drawn) as f64;
        let expected = (last.remaining + self.rate * secs).min(self.size) - mine;
        let others = (expected - remaining) / secs;
        self.others += SMOOTHING * (others - self.others);
        let target = (self.rate - 1.2 * self.others.max(0.0)).clamp(self.rate / 20.0, self.rate);
        self.share += SMOOTHING * (target - self.share);
        self.sample = Some(Sample {
            remaining,
            at: now,
            drawn: self.drawn,
        });
    }
}

/// One request's hold on its bucket: answer it with
/// [`Permit::answered`]; dropping it unanswered (a connection never made, a
/// cancelled call) only frees its place.
pub(crate) struct Permit {
    pacer: Arc<Pacer>,
    /// `None`: not tracked (pacing off, or an unpaced bucket's fast path).
    key: Option<Key>,
    class: RateClass,
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

    /// Waits until a request of `class` for `on_behalf_of` may go: a
    /// single call while its bucket has a token, bulk work (a `share` less
    /// than the whole) only within its share of the bucket.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        on_behalf_of: Option<&str>,
        class: RateClass,
        share: Option<RateShare>,
    ) -> Permit {
        let share = share.filter(|share| !share.is_whole());
        let untracked = || Permit {
            pacer: Arc::clone(self),
            key: None,
            class,
            counted: false,
            learning: false,
            done: false,
        };
        if self.off
            || (share.is_none()
                && on_behalf_of.is_none()
                && self.own_unpaced[class as usize].load(Ordering::Relaxed))
        {
            return untracked();
        }
        let key = (on_behalf_of.map(str::to_owned), class);
        let permit = |counted, learning| Permit {
            pacer: Arc::clone(self),
            key: Some(key.clone()),
            class,
            counted,
            learning,
            done: false,
        };
        loop {
            let learned = self.learned.notified();
            let wait = {
                let mut buckets = self.lock();
                let Bucket {
                    state,
                    in_flight,
                    bulk,
                    bulk_said,
                    ..
                } = buckets.entry(key.clone()).or_default();
                let now = Instant::now();
                match state {
                    State::Unknown => {
                        *state = State::Learning;
                        *in_flight += 1;
                        return permit(true, true);
                    }
                    State::Learning => None,
                    State::Unpaced => match share.and_then(|share| share.of(None)) {
                        None => return permit(false, false),
                        Some(limit) => match BulkTokens::wait(bulk, limit, now) {
                            wait if wait.is_zero() => {
                                BulkTokens::take(bulk, bulk_said, limit, class, None);
                                return permit(false, false);
                            }
                            wait => Some(wait),
                        },
                    },
                    State::Paced(tokens) => {
                        tokens.refill(now);
                        let limit =
                            share.and_then(|share| share.of(Some((tokens.size, tokens.rate))));
                        let reserve = limit.map_or(0.0, |limit| limit.reserve);
                        let allowance = match limit {
                            Some(limit) => BulkTokens::wait(bulk, limit, now),
                            None => Duration::ZERO,
                        };
                        if tokens.tokens >= 1.0 + reserve && allowance.is_zero() {
                            tokens.tokens -= 1.0;
                            *in_flight += 1;
                            if let Some(limit) = limit {
                                BulkTokens::take(bulk, bulk_said, limit, class, Some(tokens.rate));
                            }
                            return permit(true, false);
                        }
                        let missing = (1.0 + reserve - tokens.tokens).max(0.0);
                        Some(Duration::from_secs_f64(missing / tokens.share).max(allowance))
                    }
                }
            };
            match wait {
                // A learner that hangs must not hold the bucket for ever:
                // after a while this request goes, unpaced, and its answer
                // teaches the bucket as well.
                None => {
                    if tokio::time::timeout(LEARNING_WAIT, learned).await.is_err() {
                        return permit(false, false);
                    }
                }
                Some(wait) => {
                    let wait_ms = wait.as_millis() as u64;
                    tracing::debug!(
                        class = ?class,
                        wait_ms,
                        bulk = share.is_some(),
                        "waiting {wait_ms} ms for the {} budget{}",
                        match class {
                            RateClass::Read => "read",
                            RateClass::Write => "write",
                        },
                        if share.is_some() { " (bulk work)" } else { "" }
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
            .filter_map(|b| {
                let mut last = b.last.clone()?;
                last.bulk_per_second = b.bulk_said.map(|limit| limit.per_second);
                Some(last)
            })
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
                        tokens.share = tokens.share.min(per_second);
                        // Trust the server when it has less than we thought
                        // (another client draining the same bucket).
                        tokens.tokens = tokens.tokens.min(left);
                    }
                    state => *state = State::Paced(Tokens::new(size, per_second, left, now)),
                }
                if let State::Paced(tokens) = &mut bucket.state {
                    // A 429 drew no token.
                    tokens.drawn += u64::from(status != 429);
                    tokens.learn(f64::from(rate.remaining), now);
                }
                bucket.last = Some(RateBudget {
                    on_behalf_of: key.0.clone(),
                    class: key.1,
                    limit: rate.limit,
                    remaining: rate.remaining,
                    reset: rate.reset_in.map(|secs| {
                        let now = SystemTime::now();
                        Duration::try_from_secs_f64(secs)
                            .ok()
                            .and_then(|wait| now.checked_add(wait))
                            .unwrap_or(now)
                    }),
                    seen: SystemTime::now(),
                    bulk_per_second: None,
                });
            }
            // Only an answer from the API itself says it sends no headers;
            // a refusal before them (a 401, a proxy's error) says nothing.
            None if learning && !(200..300).contains(&status) => bucket.state = State::Unknown,
            None if learning => {
                bucket.state = State::Unpaced;
                if key.0.is_none() {
                    self.own_unpaced[key.1 as usize].store(true, Ordering::Relaxed);
                }
            }
            None => {}
        }
        if rate.is_some() && key.0.is_none() {
            // Headers after all: the own workspace is paced again.
            self.own_unpaced[key.1 as usize].store(false, Ordering::Relaxed);
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

/// Bulk work's own allowance on a bucket: tokens refilled at its share's
/// rate, holding at most a second's worth (a job starts with that burst,
/// then goes at the share's rate), on top of the bucket's reserve.
#[derive(Clone, Copy, Debug)]
struct BulkTokens {
    tokens: f64,
    at: Instant,
}

impl BulkTokens {
    /// How long bulk work must wait under `limit` for its next request at
    /// `now` (refilling its allowance first).
    fn wait(bulk: &mut Option<BulkTokens>, limit: BulkLimit, now: Instant) -> Duration {
        let most = limit.per_second.max(1.0);
        let bulk = bulk.get_or_insert(BulkTokens {
            tokens: most,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bulk.at).as_secs_f64();
        bulk.tokens = (bulk.tokens + elapsed * limit.per_second).min(most);
        bulk.at = now;
        if bulk.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - bulk.tokens) / limit.per_second)
        }
    }

    /// Lets one bulk request go under `limit` (after a zero
    /// [`wait`](Self::wait)). Says what bulk work is allowed when that
    /// changes (`rate`: the server's, when it reports one).
    fn take(
        bulk: &mut Option<BulkTokens>,
        said: &mut Option<BulkLimit>,
        limit: BulkLimit,
        class: RateClass,
        rate: Option<f64>,
    ) {
        if let Some(bulk) = bulk {
            bulk.tokens -= 1.0;
        }
        let changed = said.is_none_or(|said| {
            (said.per_second - limit.per_second).abs() > 0.01
                || (said.reserve - limit.reserve).abs() > 0.01
        });
        if changed {
            *said = Some(limit);
            tracing::info!(
                class = ?class,
                per_second = limit.per_second,
                left_for_others = limit.reserve,
                limit = rate,
                "bulk work draws at most {:.1} requests a second of this bucket{}",
                limit.per_second,
                match rate {
                    Some(rate) => format!(
                        " (of its {rate:.0}/s), leaving {:.0} of its tokens to other clients",
                        limit.reserve
                    ),
                    None => " (the server reports no limit)".to_owned(),
                }
            );
        }
    }
}

/// Tokens per second: the bucket's size per second (Plugipay publishes its
/// limits as requests per second, with the bucket as large as a second's
/// worth), unless `X-RateLimit-Reset` says the bucket fills more slowly.
fn refill_rate(rate: RateHeaders) -> f64 {
    let size = f64::from(rate.limit);
    let missing = f64::from(rate.limit - rate.remaining);
    let Some(until_full) = rate.reset_in else {
        return size;
    };
    // `Reset` is in whole seconds: allow one second of rounding.
    if missing > 0.0 && until_full > missing / size + 1.0 {
        (missing / until_full).max(size / 3600.0)
    } else {
        size
    }
}

impl Permit {
    /// The request was answered with `status` and `headers`: the only place
    /// the rate-limit headers are read. `server_offset` is the server's clock
    /// minus this machine's, in seconds, as far as the client knows it.
    /// Returns the remainder the headers report, when they do.
    pub(crate) fn answered_with(
        self,
        status: u16,
        headers: &HeaderMap,
        server_offset: i64,
    ) -> Option<u32> {
        let rate = RateHeaders::read(headers, server_offset);
        let remaining = rate.as_ref().map(RateHeaders::remaining);
        self.answered(status, rate);
        remaining
    }

    /// The request was answered with `status` and these rate-limit headers
    /// (or none).
    fn answered(mut self, status: u16, rate: Option<RateHeaders>) {
        self.done = true;
        match &self.key {
            Some(key) => self
                .pacer
                .answered(key, self.counted, self.learning, status, rate),
            // Untracked (the key's own workspace): only headers are worth
            // the lock — a server that starts sending them is paced again,
            // and what they say is reported either way.
            None if rate.is_some() => {
                let key = (None, self.class);
                self.pacer.answered(&key, false, false, status, rate);
            }
            None => {}
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done
            && let Some(key) = &self.key
        {
            self.pacer.released(key, self.counted, self.learning);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(limit: u32, remaining: u32, reset_in: Option<f64>) -> Option<RateHeaders> {
        Some(RateHeaders {
            limit,
            remaining,
            reset_in,
        })
    }

    #[test]
    fn headers_are_read_leniently() {
        let mut map = HeaderMap::new();
        assert_eq!(RateHeaders::read(&map, 0), None);
        map.insert(LIMIT, "20".parse().unwrap());
        map.insert(REMAINING, " 7 ".parse().unwrap());
        assert_eq!(RateHeaders::read(&map, 0), headers(20, 7, None));
        map.insert(REMAINING, "99".parse().unwrap());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        map.insert(RESET, (now + 5).to_string().parse().unwrap());
        let read = RateHeaders::read(&map, 0).unwrap();
        assert_eq!((read.limit, read.remaining), (20, 20));
        assert!((4.0..=5.0).contains(&read.reset_in.unwrap()));
        map.insert(LIMIT, "0".parse().unwrap());
        assert_eq!(
            RateHeaders::read(&map, 0),
            None,
            "a zero limit paces nothing"
        );
        map.insert(LIMIT, "many".parse().unwrap());
        assert_eq!(RateHeaders::read(&map, 0), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_request_learns_the_bucket_then_tokens_pace_the_rest() {
        let pacer = Arc::new(Pacer::default());
        let first = pacer.acquire(None, RateClass::Write, None).await;
        // A second request waits for the first answer.
        let second = {
            let pacer = Arc::clone(&pacer);
            tokio::spawn(async move {
                let permit = pacer.acquire(None, RateClass::Write, None).await;
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
        drop(pacer.acquire(None, RateClass::Write, None).await);
        let before = Instant::now();
        drop(pacer.acquire(None, RateClass::Write, None).await);
        let waited = Instant::now() - before;
        assert!(
            waited >= Duration::from_millis(40) && waited <= Duration::from_millis(60),
            "{waited:?}"
        );
        // Reads are another bucket, not learned yet: they go.
        drop(pacer.acquire(None, RateClass::Read, None).await);
        assert_eq!(pacer.budgets().len(), 1);
        assert_eq!(pacer.budgets()[0].remaining, 2);
    }

    /// Takes bulk permits of `share` for `secs` of (paused) time and says
    /// how many went.
    async fn bulk_permits(pacer: &Arc<Pacer>, share: RateShare, secs: u64) -> u32 {
        let start = Instant::now();
        let mut went = 0;
        while Instant::now() - start < Duration::from_secs(secs) {
            drop(pacer.acquire(None, RateClass::Write, Some(share)).await);
            went += 1;
        }
        went
    }

    /// A pacer that has learned a full bucket of 20 writes a second.
    async fn learned_writes() -> Arc<Pacer> {
        let pacer = Arc::new(Pacer::default());
        pacer
            .acquire(None, RateClass::Write, None)
            .await
            .answered(201, headers(20, 20, None));
        pacer
    }

    #[tokio::test(start_paused = true)]
    async fn bulk_work_draws_its_share_and_leaves_the_rest() {
        // 80 % of 20 a second: a second's worth (16) at once, then 16 a
        // second.
        let pacer = learned_writes().await;
        let before = Instant::now();
        for _ in 0..16 {
            drop(
                pacer
                    .acquire(None, RateClass::Write, Some(RateShare::DEFAULT))
                    .await,
            );
        }
        assert_eq!(Instant::now(), before, "a second's worth at once");
        let went = bulk_permits(&pacer, RateShare::DEFAULT, 10).await;
        assert!((158..=162).contains(&went), "{went} in 10 s");
        // Meanwhile the bucket kept its reserve and more: a single call
        // goes at once, and a burst of the four held back too.
        let before = Instant::now();
        for _ in 0..4 {
            drop(pacer.acquire(None, RateClass::Write, None).await);
        }
        assert_eq!(Instant::now(), before);
        let said = &pacer.budgets()[0];
        assert_eq!(said.bulk_per_second, Some(16.0));

        // An absolute rate: 5 a second (after the first 5).
        let pacer = learned_writes().await;
        let went = bulk_permits(&pacer, RateShare::per_second(5.0).unwrap(), 4).await;
        assert!((24..=26).contains(&went), "{went} in 4 s");

        // The whole budget: a burst of the bucket at once, then its rate.
        let pacer = learned_writes().await;
        let before = Instant::now();
        for _ in 0..19 {
            drop(
                pacer
                    .acquire(None, RateClass::Write, Some(RateShare::WHOLE))
                    .await,
            );
        }
        assert_eq!(Instant::now(), before, "no spacing, no reserve");
        let went = bulk_permits(&pacer, RateShare::WHOLE, 10).await;
        assert!((199..=202).contains(&went), "{went} in 10 s");
    }

    #[tokio::test(start_paused = true)]
    async fn bulk_work_never_spends_the_reserve() {
        let pacer = learned_writes().await;
        // Other clients drained the bucket to 3 tokens.
        pacer
            .acquire(None, RateClass::Write, None)
            .await
            .answered(201, headers(20, 3, None));
        // A single call takes one of them at once.
        let before = Instant::now();
        drop(pacer.acquire(None, RateClass::Write, None).await);
        assert_eq!(Instant::now(), before);
        // Bulk work waits until the bucket holds its reserve (4) and one
        // more: from 2, three tokens at 20 a second.
        drop(
            pacer
                .acquire(None, RateClass::Write, Some(RateShare::DEFAULT))
                .await,
        );
        let waited = Instant::now() - before;
        assert!(
            waited >= Duration::from_millis(140) && waited <= Duration::from_millis(160),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_holds_where_the_server_reports_no_limits() {
        let pacer = Arc::new(Pacer::default());
        pacer
            .acquire(None, RateClass::Read, None)
            .await
            .answered(200, None);
        let start = Instant::now();
        for _ in 0..12 {
            drop(
                pacer
                    .acquire(
                        None,
                        RateClass::Read,
                        Some(RateShare::per_second(4.0).unwrap()),
                    )
                    .await,
            );
        }
        // Four at once, then four a second.
        let took = Instant::now() - start;
        assert!(
            took >= Duration::from_millis(1_950) && took <= Duration::from_millis(2_050),
            "{took:?}"
        );
        // A fraction of an unknown limit holds nothing back.
        let before = Instant::now();
        for _ in 0..100 {
            drop(
                pacer
                    .acquire(None, RateClass::Read, Some(RateShare::DEFAULT))
                    .await,
            );
        }
        assert_eq!(Instant::now(), before);
    }

    #[test]
    fn shares_read_and_refuse() {
        for (text, share) in [
            ("0.8", RateShare::Fraction(0.8)),
            ("80%", RateShare::Fraction(0.8)),
            (" 100% ", RateShare::WHOLE),
            ("15/s", RateShare::PerSecond(15.0)),
            ("0.5/s", RateShare::PerSecond(0.5)),
        ] {
            assert_eq!(text.parse::<RateShare>().unwrap(), share, "{text}");
        }
        for bad in [
            "0", "1.5", "120%", "-3/s", "0/s", "fast", "", "NaN", "inf/s",
        ] {
            assert!(bad.parse::<RateShare>().is_err(), "{bad}");
        }
        let close = |limit: BulkLimit, (per_second, reserve): (f64, f64)| {
            (limit.per_second - per_second).abs() < 1e-9 && (limit.reserve - reserve).abs() < 1e-9
        };
        let of = |share: RateShare, limit: f64| share.of(Some((limit, limit))).unwrap();
        assert!(close(of(RateShare::DEFAULT, 20.0), (16.0, 4.0)));
        assert!(close(of(RateShare::DEFAULT, 100.0), (80.0, 20.0)));
        assert!(close(of(RateShare::PerSecond(50.0), 100.0), (50.0, 50.0)));
        assert!(close(of(RateShare::PerSecond(500.0), 100.0), (100.0, 0.0)));
        assert_eq!(RateShare::WHOLE.of(Some((20.0, 20.0))), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_without_headers_is_not_paced() {
        let pacer = Arc::new(Pacer::default());
        pacer
            .acquire(Some("acct_1"), RateClass::Read, None)
            .await
            .answered(200, None);
        let start = Instant::now();
        let permits: Vec<Permit> = futures_util::future::join_all(
            (0..100).map(|_| pacer.acquire(Some("acct_1"), RateClass::Read, None)),
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
            .acquire(None, RateClass::Read, None)
            .await
            .answered(200, headers(100, 100, None));
        // Another process drained it: 0 left.
        pacer
            .acquire(None, RateClass::Read, None)
            .await
            .answered(200, headers(100, 0, None));
        let before = Instant::now();
        drop(pacer.acquire(None, RateClass::Read, None).await);
        assert!(Instant::now() - before >= Duration::from_millis(9));
        // A 429 with no headers: nothing left for now either.
        pacer
            .acquire(None, RateClass::Read, None)
            .await
            .answered(429, None);
        let before = Instant::now();
        drop(pacer.acquire(None, RateClass::Read, None).await);
        assert!(Instant::now() - before >= Duration::from_millis(9));
    }

    #[tokio::test(start_paused = true)]
    async fn a_learning_request_that_fails_lets_the_next_one_learn() {
        let pacer = Arc::new(Pacer::default());
        drop(pacer.acquire(None, RateClass::Write, None).await);
        let next = pacer.acquire(None, RateClass::Write, None).await;
        assert!(next.learning);
    }

    /// A server bucket of `size` tokens refilled at `size` a second.
    struct Server {
        size: f64,
        tokens: f64,
        at: Instant,
        throttled: u32,
        served: u32,
    }

    impl Server {
        fn answer(&mut self) -> (u16, Option<RateHeaders>) {
            let now = Instant::now();
            let elapsed = (now - self.at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.size).min(self.size);
            self.at = now;
            let status = if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                self.served += 1;
                200
            } else {
                self.throttled += 1;
                429
            };
            (
                status,
                headers(self.size as u32, self.tokens.floor() as u32, None),
            )
        }
    }

    async fn run_clients(clients: usize, writes: usize) -> (u32, u32, f64) {
        let server = Arc::new(std::sync::Mutex::new(Server {
            size: 20.0,
            tokens: 20.0,
            at: Instant::now(),
            throttled: 0,
            served: 0,
        }));
        let start = Instant::now();
        futures_util::future::join_all((0..clients).map(|_| {
            let server = Arc::clone(&server);
            async move {
                let pacer = Arc::new(Pacer::default());
                futures_util::future::join_all((0..4).map(|_| {
                    let (pacer, server) = (Arc::clone(&pacer), Arc::clone(&server));
                    async move {
                        for _ in 0..writes / 4 {
                            let permit = pacer.acquire(None, RateClass::Write, None).await;
                            // 10 ms to the server, 10 ms back.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            let answer = server.lock().unwrap().answer();
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            permit.answered(answer.0, answer.1);
                        }
                    }
                }))
                .await;
            }
        }))
        .await;
        let server = server.lock().unwrap();
        let seconds = (Instant::now() - start).as_secs_f64();
        (server.served, server.throttled, seconds)
    }

    /// One client with four writes in flight runs at the bucket's rate.
    #[tokio::test(start_paused = true)]
    async fn one_client_reaches_the_ceiling() {
        let (served, throttled, seconds) = run_clients(1, 400).await;
        assert_eq!((served, throttled), (400, 0));
        // 400 writes at 20 a second, the first 20 at once: 19 s at best.
        assert!(seconds < 19.0 * 1.05, "{seconds} s");
    }

    /// Two clients (two processes: two pacers) share one write bucket of 20
    /// a second, each with several requests in flight: the headers alone
    /// keep them from tripping it, and together they keep it busy.
    #[tokio::test(start_paused = true)]
    async fn two_clients_sharing_a_bucket_learn_their_share() {
        let (served, throttled, seconds) = run_clients(2, 600).await;
        let total = served + throttled;
        assert!(
            f64::from(throttled) <= 0.02 * f64::from(total),
            "{throttled} of {total} answered 429"
        );
        // 1,200 writes at 20 a second: 60 s at best (less the first 20).
        assert!(seconds < 60.0 * 1.25, "{seconds} s for {served} writes");
    }

    #[test]
    fn a_slow_reset_slows_the_refill() {
        // 10 missing, full again in 10 s: one a second.
        let rate = refill_rate(RateHeaders {
            limit: 10,
            remaining: 0,
            reset_in: Some(10.0),
        });
        assert!((0.9..=1.2).contains(&rate), "{rate}");
        // Full again within the second: the size per second.
        let rate = refill_rate(RateHeaders {
            limit: 100,
            remaining: 0,
            reset_in: Some(1.0),
        });
        assert_eq!(rate, 100.0);
    }

    #[test]
    fn the_reset_is_read_by_the_servers_clock() {
        // A server ten minutes behind this machine: its Reset is ten seconds
        // after its own time, whatever this machine's clock says.
        let server_now = chrono::Utc::now() - chrono::TimeDelta::seconds(600);
        let mut headers = HeaderMap::new();
        headers.insert(LIMIT, "10".parse().unwrap());
        headers.insert(REMAINING, "0".parse().unwrap());
        let reset = (server_now.timestamp() + 10).to_string();
        headers.insert(RESET, reset.parse().unwrap());
        let rate = RateHeaders::read(&headers, -600).unwrap();
        let reset_in = rate.reset_in.unwrap();
        assert!((9.0..=10.0).contains(&reset_in), "{reset_in}");
        assert!((0.9..=1.2).contains(&refill_rate(rate)));
        // Read by this machine's clock, the bucket would seem full long ago.
        let naive = RateHeaders::read(&headers, 0).unwrap();
        assert!(naive.reset_in.unwrap() < -500.0);
    }
}

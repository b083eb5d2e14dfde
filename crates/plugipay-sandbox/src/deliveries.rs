//! Webhook deliveries: every recorded event is POSTed to each endpoint of its
//! workspace and mode, signed as Plugipay signs them (`X-Plugipay-Signature:
//! t=…,v1=…` over `"<t>.<body>"` with the endpoint's secret), at least once:
//! an attempt not answered 2xx is tried again with backoff, until the
//! attempts run out. Delivery faults can send an event twice, and hold each
//! delivery back a random while (so they arrive late and out of order), for
//! testing a receiver's dedupe and ordering.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::rng::SplitMix64;
use crate::workspace::Mode;
use crate::workspace::WorkspaceId;

/// Events waiting to be delivered; past this, new ones are dropped from the
/// deliveries (they stay in the events API, for catching up).
const OUTBOX: usize = 10_000;

/// Deliveries in flight at once (waiting, attempting or backing off); past
/// this, events wait in the outbox.
const IN_FLIGHT: usize = 1_024;

/// An endpoint events are delivered to, and whose events it gets. Like an
/// endpoint registered with Plugipay, it belongs to a workspace: another
/// workspace's events (one a platform key acts for, say) never reach it.
/// Its `Debug` never shows the secret.
///
/// ```
/// use plugipay_sandbox::{Mode, SandboxConfig, TEST_ACCOUNT_ID, WebhookEndpoint};
///
/// // Only the test world of the default workspace, as an endpoint
/// // registered in test mode would be.
/// let endpoint = WebhookEndpoint::new("http://127.0.0.1:9000/hooks", "whsec_local")
///     .in_workspace(TEST_ACCOUNT_ID)
///     .in_mode(Mode::Test);
/// let config = SandboxConfig::new().webhook_endpoint(endpoint);
/// assert_eq!(config.webhooks.len(), 1);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookEndpoint {
    /// Where deliveries are POSTed (`http://…`).
    pub url: String,
    /// The secret deliveries are signed with (`whsec_…`).
    pub secret: String,
    /// The workspace whose events it gets; `None` (the default): each
    /// workspace a key of the sandbox belongs to, as if the endpoint were
    /// registered in each of them.
    pub account_id: Option<String>,
    /// The world whose events it gets; `None` (the default): test and live
    /// alike, as if registered in both modes.
    pub mode: Option<Mode>,
}

impl WebhookEndpoint {
    /// An endpoint at `url`, signing with `secret`, for the events of every
    /// workspace the sandbox's keys belong to, in both modes.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
            account_id: None,
            mode: None,
        }
    }

    /// The same endpoint, for the events of workspace `account_id` only.
    pub fn in_workspace(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = Some(account_id.into());
        self
    }

    /// The same endpoint, for the events of one world only.
    pub fn in_mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Whether an event of `world` is delivered here, `key_accounts` being
    /// the workspaces the sandbox's keys belong to.
    fn receives(&self, world: &WorkspaceId, key_accounts: &HashSet<String>) -> bool {
        let account = match &self.account_id {
            Some(account) => *account == world.account,
            None => key_accounts.contains(&world.account),
        };
        account && self.mode.is_none_or(|mode| mode == world.mode)
    }
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("mode", &self.mode)
            .finish()
    }
}

/// How deliveries are retried, and the faults they meet.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryPolicy {
    /// Attempts per delivery, the first included (default 8).
    pub attempts: u32,
    /// The first wait before a retry, doubled each time (default 100 ms).
    pub backoff: Duration,
    /// The longest wait before a retry (default 5 s).
    pub max_backoff: Duration,
    /// The time each attempt may take (default 10 s).
    pub timeout: Duration,
    /// The share of events delivered twice (0 to 1; default 0).
    pub duplicate_rate: f64,
    /// Each delivery waits a random time up to this before its first
    /// attempt (default none): deliveries then arrive late and out of
    /// order.
    pub max_delay: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            attempts: 8,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            duplicate_rate: 0.0,
            max_delay: Duration::ZERO,
        }
    }
}

/// How deliveries have gone so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryStats {
    /// Deliveries answered 2xx.
    pub delivered: u64,
    /// Attempts made, retries included.
    pub attempts: u64,
    /// Deliveries given up after their last attempt.
    pub abandoned: u64,
    /// Events not delivered because the outbox was full.
    pub dropped: u64,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    attempts: AtomicU64,
    abandoned: AtomicU64,
    dropped: AtomicU64,
    /// Woken whenever a counter moves.
    moved: tokio::sync::Notify,
}

impl Counters {
    fn add(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
        self.moved.notify_waiters();
    }
}

/// Where recorded events go to be delivered.
#[derive(Clone)]
pub(crate) struct Outbox {
    sender: mpsc::Sender<(WorkspaceId, Value)>,
    /// Who gets what: only an event some endpoint gets is queued.
    routes: Arc<Routes>,
    counters: Arc<Counters>,
}

impl Outbox {
    /// Queues `event`, which happened in `world`, for delivery when an
    /// endpoint gets it; a full outbox drops it (and counts it).
    pub(crate) fn send(&self, world: &WorkspaceId, event: &Value) {
        if self.routes.receivers(world).next().is_none() {
            return;
        }
        if self
            .sender
            .try_send((world.clone(), event.clone()))
            .is_err()
        {
            self.counters.add(&self.counters.dropped);
        }
    }

    /// The first stats for which `until` holds, waiting for deliveries to
    /// move them as long as it takes.
    pub(crate) async fn stats_when(&self, until: impl Fn(&DeliveryStats) -> bool) -> DeliveryStats {
        loop {
            let moved = self.counters.moved.notified();
            let mut moved = std::pin::pin!(moved);
            // Registered before reading, so no move is missed in between.
            moved.as_mut().enable();
            let stats = self.stats();
            if until(&stats) {
                return stats;
            }
            moved.await;
        }
    }

    /// How deliveries have gone so far.
    pub(crate) fn stats(&self) -> DeliveryStats {
        let c = &self.counters;
        DeliveryStats {
            delivered: c.delivered.load(Ordering::Relaxed),
            attempts: c.attempts.load(Ordering::Relaxed),
            abandoned: c.abandoned.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
        }
    }
}

/// The endpoints, and the workspaces the sandbox's keys belong to (whose
/// events an endpoint without a workspace of its own gets).
struct Routes {
    endpoints: Vec<WebhookEndpoint>,
    key_accounts: HashSet<String>,
}

impl Routes {
    /// The endpoints an event of `world` goes to.
    fn receivers<'a>(
        &'a self,
        world: &'a WorkspaceId,
    ) -> impl Iterator<Item = &'a WebhookEndpoint> + 'a {
        self.endpoints
            .iter()
            .filter(move |e| e.receives(world, &self.key_accounts))
    }
}

/// Starts delivering to `endpoints`, `key_accounts` being the workspaces the
/// sandbox's keys belong to; the returned outbox takes the events. The
/// delivery task ends when every outbox is dropped.
pub(crate) fn start(
    endpoints: Vec<WebhookEndpoint>,
    key_accounts: HashSet<String>,
    policy: DeliveryPolicy,
    seed: u64,
    clock: Clock,
) -> Outbox {
    let (sender, mut receiver) = mpsc::channel::<(WorkspaceId, Value)>(OUTBOX);
    let counters = Arc::new(Counters::default());
    let routes = Arc::new(Routes {
        endpoints,
        key_accounts,
    });
    let outbox = Outbox {
        sender,
        routes: Arc::clone(&routes),
        counters: Arc::clone(&counters),
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    tokio::spawn(async move {
        let mut dice = SplitMix64::new(seed);
        let mut deliveries = tokio::task::JoinSet::new();
        let in_flight = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        while let Some((world, event)) = receiver.recv().await {
            let body = Arc::new(event.to_string());
            for endpoint in routes.receivers(&world) {
                let copies = if dice.next_f64() < policy.duplicate_rate {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let delay = policy.max_delay.mul_f64(dice.next_f64());
                    let job = Delivery {
                        http: http.clone(),
                        endpoint: endpoint.clone(),
                        body: Arc::clone(&body),
                        policy: policy.clone(),
                        counters: Arc::clone(&counters),
                        clock,
                    };
                    // Never closed, so the permit always comes.
                    let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                        return;
                    };
                    deliveries.spawn(async move {
                        job.run(delay).await;
                        drop(permit);
                    });
                }
            }
            // Reap what has finished, so the set does not grow.
            while deliveries.try_join_next().is_some() {}
        }
        deliveries.join_all().await;
    });
    outbox
}

/// One event's delivery to one endpoint.
struct Delivery {
    http: reqwest::Client,
    endpoint: WebhookEndpoint,
    body: Arc<String>,
    policy: DeliveryPolicy,
    counters: Arc<Counters>,
    /// The server's clock: the signature's time.
    clock: Clock,
}

impl Delivery {
    async fn run(self, delay: Duration) {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut backoff = self.policy.backoff;
        for attempt in 1..=self.policy.attempts.max(1) {
            self.counters.add(&self.counters.attempts);
            if self.attempt().await {
                self.counters.add(&self.counters.delivered);
                return;
            }
            if attempt < self.policy.attempts {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2).min(self.policy.max_backoff);
            }
        }
        self.counters.add(&self.counters.abandoned);
    }

    /// One attempt, signed afresh: whether it was answered 2xx.
    async fn attempt(&self) -> bool {
        let now = self.clock.unix_secs();
        let signature = plugipay_api::webhook::signature_header(
            self.endpoint.secret.as_bytes(),
            now,
            self.body.as_bytes(),
        );
        let sent = self
            .http
            .post(&self.endpoint.url)
            .timeout(self.policy.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(plugipay_api::webhook::SIGNATURE_HEADER, signature)
            .body(self.body.as_str().to_owned())
            .send()
            .await;
        sent.is_ok_and(|response| response.status().is_success())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_gets_the_events_of_its_workspace_and_mode_only() {
        let keys: HashSet<String> = ["acct_a".to_owned(), "acct_b".to_owned()].into();
        let a_test = WorkspaceId::new("acct_a", Mode::Test);
        let a_live = WorkspaceId::new("acct_a", Mode::Live);
        let b_test = WorkspaceId::new("acct_b", Mode::Test);
        // A workspace only a platform key acts for: no key of its own.
        let other = WorkspaceId::new("acct_other", Mode::Test);
        let gets = |endpoint: &WebhookEndpoint| {
            [&a_test, &a_live, &b_test, &other].map(|w| endpoint.receives(w, &keys))
        };
        let any = WebhookEndpoint::new("http://127.0.0.1:1/", "whsec_x");
        assert_eq!(gets(&any), [true, true, true, false]);
        assert_eq!(
            gets(&any.clone().in_mode(Mode::Live)),
            [false, true, false, false]
        );
        assert_eq!(
            gets(&any.clone().in_workspace("acct_a")),
            [true, true, false, false]
        );
        assert_eq!(
            gets(&any.clone().in_workspace("acct_a").in_mode(Mode::Test)),
            [true, false, false, false]
        );
        // Named, a workspace without keys of its own gets its events.
        assert_eq!(
            gets(&any.clone().in_workspace("acct_other")),
            [false, false, false, true]
        );
    }
}

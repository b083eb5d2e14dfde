//! A local Plugipay customers server that speaks the live wire protocol:
//! signed requests (HMAC-SHA256 or Bearer), the `{data, error, meta}`
//! envelope, cursor pagination, idempotency keys, PATCH semantics (metadata
//! merged or replaced, as configured), delete, and validation by its own
//! configurable [`Limits`], in memory, with faults to inject on demand.
//!
//! Start one inside your own tests (it shuts down when dropped):
//!
//! ```
//! use plugipay_sandbox::{Sandbox, SandboxConfig, TEST_KEY_ID, TEST_SECRET};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start(SandboxConfig::new().seed_customers(3)).await?;
//! let client = plugipay::Client::builder()
//!     .key_id(TEST_KEY_ID)
//!     .secret(TEST_SECRET)
//!     .base_url(sandbox.base_url())
//!     .build()?;
//! let page = client.customers().list(plugipay::ListParams::new()).await?;
//! assert_eq!(page.items.len(), 3);
//! # Ok(()) }
//! ```
//!
//! Or run the binary (`plugipay-sandbox`, or `plugipay sandbox`) as a
//! process of its own with [`SandboxProcess`], ready once it has printed its
//! address.
//!
//! Default credentials, always present, all test keys: HMAC key id
//! [`TEST_KEY_ID`] (`ak_test_sandbox`) with secret [`TEST_SECRET`]
//! (`sk_test_sandbox`), and Bearer key [`TEST_API_KEY`] (`pk_test_sandbox`),
//! all on workspace [`TEST_ACCOUNT_ID`]; and a platform key
//! [`PLATFORM_KEY_ID`] / [`PLATFORM_SECRET`] that may act for any workspace.
//!
//! As on the live API, a key's prefix decides its [`Mode`]: test
//! (`pk_test_…`, `ak_test_…` with `sk_test_…`) or live (`pk_live_…`,
//! `ak_live_…` with `sk_live_…`). A workspace's test and live worlds share
//! nothing (customers, `externalId` uniqueness, idempotency keys and
//! budgets). Live keys exist only when configured:
//! [`SandboxConfig::live_keys`] adds [`LIVE_KEY_ID`] / [`LIVE_SECRET`] and
//! [`LIVE_API_KEY`], and [`SandboxConfig::key`] any other; a key whose
//! prefix names neither mode is refused at start.
//!
//! Rate limits are Plugipay's published ones by default, in the library
//! ([`SandboxConfig::new`]), the `plugipay-sandbox` binary and `plugipay
//! sandbox` alike; [`SandboxConfig::rate_limits`] with [`RateLimits::off`]
//! turns them off for bulk setups. With [`RateLimits`] on, each workspace and
//! mode has a token bucket for reads (`GET`, `HEAD`) and one for writes,
//! each as big as its rate per second and refilled continuously at that
//! rate; every authenticated request takes a token, every answer to one
//! carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset`, and an empty bucket answers 429 `rate_limited` with
//! `Retry-After`.
//!
//! Inside, an HTTP edge (connections, timeouts, caps, hang-ups) hands whole
//! requests to a small `match`-based router, on plain hyper rather than a
//! web framework: the sandbox must answer every malformed request (bad
//! JSON, a bad query string, an unknown path, a wrong method) with the wire
//! protocol's exact error envelope and status, in the live API's order
//! (404 before authentication, 405 after it, the body read only once the
//! headers pass and parsed only after its HMAC signature over the raw bytes
//! is checked), and a framework's router
//! and extractors answer those cases themselves, before or instead of the
//! sandbox's code.
//!
//! # Inside
//!
//! A request's path through the files: `edge.rs` (connections into whole
//! requests) → `routes.rs` (faults, path by the generated route table,
//! then `auth.rs` and `rates.rs`) → the operation: `list.rs` and
//! `events_api.rs` read, `writes.rs` writes (an Idempotency-Key reused with
//! another request is its 409, with `idempotency.rs` keeping the answers),
//! `rules.rs` judges fields and `store.rs` holds the book (a taken
//! `externalId` or a customer with money history is its 409) → an answer in
//! `envelope.rs`'s bodies. `events.rs` logs every change and
//! `deliveries.rs` posts it to webhooks; the `fault_proxy/` folder is
//! [`FaultProxy`], a proxy that breaks what passes through it on purpose.
#![warn(missing_docs)]

mod app;
mod args;
mod auth;
mod clock;
mod config;
mod cursor;
mod deliveries;
mod dialect;
mod edge;
mod envelope;
mod events;
mod events_api;
mod failure;
pub mod fault_proxy;
mod faults;
mod idempotency;
mod ids;
mod list;
mod paging;
mod process;
mod query;
mod rates;
mod request_body;
mod rng;
mod routes;
mod rules;
mod runner;
mod store;
mod workspace;
mod writes;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

pub use args::{DEFAULT_ADDR, SandboxArgs, WebhookSecret};
pub use config::{
    ApiKey, Faults, LIVE_API_KEY, LIVE_KEY_ID, LIVE_SECRET, Limits, MetadataMode,
    PLATFORM_ACCOUNT_ID, PLATFORM_KEY_ID, PLATFORM_SECRET, RateLimits, SandboxConfig, Scope,
    Secret, TEST_ACCOUNT_ID, TEST_API_KEY, TEST_KEY_ID, TEST_SECRET,
};
pub use deliveries::{DeliveryPolicy, DeliveryStats, WebhookEndpoint};
pub use dialect::Dialect;
pub use events::MAX_EVENTS_PER_WORKSPACE;
pub use fault_proxy::{FaultKind, FaultProxy, ProxyFaults};
pub use idempotency::IDEMPOTENCY_TTL;
pub use process::{LISTENING_PREFIX, SandboxProcess};
pub use runner::{RunError, run};
pub use store::{Customer, MONEY_HISTORY_KEY};
pub use workspace::Mode;

use crate::app::App;
use crate::auth::Keys;
use crate::clock::Clock;
use crate::cursor::CursorCodec;
use crate::envelope::Voice;
use crate::faults::FaultDice;
use crate::rates::RateBuckets;
use crate::rng::SplitMix64;
use crate::store::Store;
use crate::workspace::WorkspaceId;

/// A running sandbox. Dropping it stops the server and closes its connections.
pub struct Sandbox {
    addr: SocketAddr,
    base_url: String,
    app: Arc<App>,
    outbox: Option<deliveries::Outbox>,
    task: tokio::task::JoinHandle<()>,
}

impl Sandbox {
    /// Binds the address, seeds the customers (in the test world) and
    /// starts serving. The sandbox accepts connections as soon as this
    /// returns. What [`SandboxConfig::validate`] refuses (a key whose prefix
    /// names no mode, see [`ApiKey::mode`]; a webhook URL that is not
    /// `http(s)://host…`) is an error of kind
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput), before binding.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        config
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let all_keys: Vec<ApiKey> = ApiKey::defaults()
            .into_iter()
            .chain(config.extra_keys)
            .collect();
        let key_accounts = all_keys.iter().map(|k| k.account_id.clone()).collect();
        let keys = Keys::new(all_keys)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let voice = Voice {
            dialect: config.dialect,
            clock: Clock::new(chrono::TimeDelta::seconds(config.clock_offset_secs)),
        };
        let mut store = Store::new(
            SplitMix64::random_seed(),
            config.metadata_mode,
            config.limits.clone(),
            config.idempotency_budget_bytes,
            config.idempotency_workspace_budget_bytes,
            voice,
        );
        store.events_mut().keep_at_most(config.events_kept);
        store.seed(
            &WorkspaceId::test(TEST_ACCOUNT_ID),
            config.seed_customers,
            config.seed_span,
        );
        let seed = config.fault_seed.unwrap_or_else(SplitMix64::random_seed);
        // Events recorded from here on (not the seeds) are delivered.
        let outbox = (!config.webhooks.is_empty()).then(|| {
            deliveries::start(
                config.webhooks.clone(),
                key_accounts,
                config.delivery.clone(),
                seed,
                voice.clock,
            )
        });
        if let Some(outbox) = &outbox {
            store.events_mut().deliver_to(outbox.clone());
        }
        let app = Arc::new(App {
            keys,
            store: Mutex::new(store),
            cursors: CursorCodec::new(),
            dice: FaultDice::new(config.faults, seed),
            limits: config.limits.clone(),
            rates: RateBuckets::new(config.rate_limits, voice.clock),
            voice,
        });
        let limits = edge::ConnectionLimits {
            max_connections: config.max_connections,
            read_timeout: config.read_timeout,
        };
        let handler = {
            let app = Arc::clone(&app);
            move |req| routes::handle(Arc::clone(&app), req)
        };
        let task = tokio::spawn(edge::serve(listener, limits, handler));
        Ok(Sandbox {
            base_url: format!("http://{addr}"),
            addr,
            app,
            outbox,
            task,
        })
    }

    /// The address it listens on (with the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, to pass as a client's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.app.dice.faults()
    }

    /// The rate limits it enforces.
    pub fn rate_limits(&self) -> RateLimits {
        self.app.rates.limits()
    }

    /// Replaces the faults in force, from the next request on.
    pub fn set_faults(&self, faults: Faults) {
        self.app.dice.set(faults);
    }

    /// Every customer of a workspace's test world, oldest first.
    pub fn customers(&self, account_id: &str) -> Vec<Customer> {
        self.customers_in(account_id, Mode::Test)
    }

    /// Every customer of a workspace's `mode` world, oldest first.
    pub fn customers_in(&self, account_id: &str, mode: Mode) -> Vec<Customer> {
        self.app.store().all(&WorkspaceId::new(account_id, mode))
    }

    /// Gives the customer `id` of workspace `account_id` money history, so
    /// that deleting it answers 409 `conflict` as the live API does for a
    /// customer that billing records refer to (`held = false` takes that
    /// away). Returns whether the customer exists. Across processes, set the
    /// customer's metadata key [`MONEY_HISTORY_KEY`] to `"true"` instead.
    /// The customer is looked for in the test world; see
    /// [`set_money_history_in`](Self::set_money_history_in) for live ones.
    pub fn set_money_history(&self, account_id: &str, id: &str, held: bool) -> bool {
        self.set_money_history_in(account_id, Mode::Test, id, held)
    }

    /// [`set_money_history`](Self::set_money_history) for a customer of a
    /// workspace's `mode` world.
    pub fn set_money_history_in(&self, account_id: &str, mode: Mode, id: &str, held: bool) -> bool {
        let workspace = WorkspaceId::new(account_id, mode);
        self.app.store().set_money_history(&workspace, id, held)
    }

    /// The bytes its idempotency records hold now, as counted against
    /// [`SandboxConfig::idempotency_budget_bytes`] (never more than that).
    pub fn idempotency_bytes(&self) -> usize {
        self.app.store().idempotency_bytes()
    }

    /// How many workspaces hold anything: customers, or idempotency
    /// records; a workspace's test and live worlds count as two. A workspace comes to be only with a successful write (or
    /// [seeding](Self::seed_at)) and goes with its last customer and
    /// record, so reads and refused writes naming unknown workspaces (with
    /// `X-Plugipay-On-Behalf-Of`) leave nothing behind.
    pub fn workspace_count(&self) -> usize {
        self.app.store().workspace_count()
    }

    /// Creates a generated customer in workspace `account_id`'s test world at each of
    /// `times`, as if created then (for tests of time-based walks). Times
    /// must not go back, nor come before the newest customer's: ids follow
    /// creation order, so such a time gets the newest customer's
    /// millisecond instead. Returns how many were created.
    pub fn seed_at(
        &self,
        account_id: &str,
        times: impl IntoIterator<Item = chrono::DateTime<chrono::Utc>>,
    ) -> usize {
        self.app
            .store()
            .seed_at(&WorkspaceId::test(account_id), times)
    }

    /// How the webhook deliveries have gone (all zero without endpoints).
    pub fn delivery_stats(&self) -> DeliveryStats {
        self.outbox
            .as_ref()
            .map(deliveries::Outbox::stats)
            .unwrap_or_default()
    }

    /// Waits until the webhook deliveries' stats satisfy `until`, and
    /// returns them: a test waits for its deliveries to settle without
    /// polling. Without endpoints the stats stay zero, so a condition on
    /// more waits forever; bound the wait with a timeout.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// let stats = sandbox.delivery_stats_when(|s| s.delivered == 0).await;
    /// assert_eq!(stats.attempts, 0);
    /// # Ok(()) }
    /// ```
    pub async fn delivery_stats_when(
        &self,
        until: impl Fn(&DeliveryStats) -> bool,
    ) -> DeliveryStats {
        match &self.outbox {
            Some(outbox) => outbox.stats_when(until).await,
            None if until(&DeliveryStats::default()) => DeliveryStats::default(),
            None => std::future::pending().await,
        }
    }

    /// How many customers a workspace's test world has.
    pub fn customer_count(&self, account_id: &str) -> usize {
        self.customer_count_in(account_id, Mode::Test)
    }

    /// How many customers a workspace's `mode` world has.
    pub fn customer_count_in(&self, account_id: &str, mode: Mode) -> usize {
        self.app.store().count(&WorkspaceId::new(account_id, mode))
    }

    /// Serves until the task running it is cancelled (for the binaries).
    pub async fn serve_forever(&self) {
        std::future::pending::<()>().await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url)
            .finish()
    }
}

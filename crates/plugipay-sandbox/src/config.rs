//! What a sandbox serves: its address, its keys (each bound to a workspace and
//! scopes), the customers it starts with, the faults it injects, and the
//! choices it makes where the live API's behaviour is not published (field
//! limits, how a PATCH applies metadata).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::deliveries::{DeliveryPolicy, WebhookEndpoint};
use crate::dialect::Dialect;
use crate::workspace::Mode;

/// The default HMAC key id, always present (test mode).
pub const TEST_KEY_ID: &str = "ak_test_sandbox";
/// The secret of [`TEST_KEY_ID`].
pub const TEST_SECRET: &str = "sk_test_sandbox";
/// The default Bearer key, always present (test mode).
pub const TEST_API_KEY: &str = "pk_test_sandbox";
/// The default live HMAC key id, present only when asked for
/// ([`SandboxConfig::live_keys`], `--live`); on [`TEST_ACCOUNT_ID`].
pub const LIVE_KEY_ID: &str = "ak_live_sandbox";
/// The secret of [`LIVE_KEY_ID`].
pub const LIVE_SECRET: &str = "sk_live_sandbox";
/// The default live Bearer key, present only when asked for, like
/// [`LIVE_KEY_ID`].
pub const LIVE_API_KEY: &str = "pk_live_sandbox";
/// The workspace the default keys (test and live) belong to.
pub const TEST_ACCOUNT_ID: &str = "acct_sandbox";
/// A default platform key id: it may act for any workspace with
/// `X-Plugipay-On-Behalf-Of`.
pub const PLATFORM_KEY_ID: &str = "ak_test_platform";
/// The secret of [`PLATFORM_KEY_ID`].
pub const PLATFORM_SECRET: &str = "sk_test_platform";
/// The workspace of the platform key itself.
pub const PLATFORM_ACCOUNT_ID: &str = "acct_platform";

/// A permission a key may hold. Plugipay publishes the pattern
/// `plugipay:<resource>:read|write|create` and that a create needs
/// `plugipay:customer:create`; it publishes no scope of its own for updates
/// or deletes, so the sandbox asks for `:write` for both (which scope a
/// delete needs on the live API is not published).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `plugipay:customer:create`: creating customers.
    Create,
    /// `plugipay:customer:read`: getting and listing customers.
    Read,
    /// `plugipay:customer:write`: updating and deleting customers.
    Write,
    /// `plugipay:event:read`: listing and getting events.
    EventRead,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 4] = [Scope::Create, Scope::Read, Scope::Write, Scope::EventRead];

    /// The scope's name as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EventRead => "plugipay:event:read",
            Scope::Create => "plugipay:customer:create",
            Scope::Read => "plugipay:customer:read",
            Scope::Write => "plugipay:customer:write",
        }
    }
}

/// How a key authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// An HMAC pair: the key id and the secret it signs with.
    Hmac {
        /// The key id (`ak_…`).
        key_id: String,
        /// The signing secret.
        secret: String,
    },
    /// A Bearer API key (`pk_…`).
    Bearer(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Hmac { key_id, .. } => {
                write!(f, "Hmac {{ key_id: {key_id:?}, secret: [redacted] }}")
            }
            Secret::Bearer(_) => f.write_str("Bearer([redacted])"),
        }
    }
}

/// A key the sandbox accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Its credentials.
    pub secret: Secret,
    /// The workspace (`accountId`) it acts on.
    pub account_id: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Whether it may act for other workspaces with `X-Plugipay-On-Behalf-Of`.
    pub platform: bool,
}

impl ApiKey {
    /// An HMAC key with every scope, not a platform key.
    pub fn hmac(key_id: &str, secret: &str, account_id: &str) -> Self {
        Self {
            secret: Secret::Hmac {
                key_id: key_id.into(),
                secret: secret.into(),
            },
            account_id: account_id.into(),
            scopes: Scope::ALL.to_vec(),
            platform: false,
        }
    }

    /// A Bearer key with every scope, not a platform key.
    pub fn bearer(api_key: &str, account_id: &str) -> Self {
        Self {
            secret: Secret::Bearer(api_key.into()),
            account_id: account_id.into(),
            scopes: Scope::ALL.to_vec(),
            platform: false,
        }
    }

    /// The same key with only `scopes`.
    pub fn with_scopes(mut self, scopes: &[Scope]) -> Self {
        self.scopes = scopes.to_vec();
        self
    }

    /// The same key, allowed to act for other workspaces.
    pub fn as_platform(mut self) -> Self {
        self.platform = true;
        self
    }

    /// The mode the key's prefix names: a Bearer key `pk_test_…` or
    /// `pk_live_…`; an HMAC key id `ak_test_…` / `ak_live_…` (as the
    /// official SDKs name them) or `pk_test_…` / `pk_live_…` (as Plugipay's
    /// API keys page mints them) with a secret `sk_` of the same mode. A key whose prefixes name no mode, or two
    /// different ones, is refused (the sandbox does not guess a world for
    /// it): the error says why.
    pub fn mode(&self) -> Result<Mode, String> {
        // The errors never show a credential that is not a key id of a
        // known mode: a Bearer key is a secret, and a "key id" that is not
        // one may be a secret given in the wrong place.
        match &self.secret {
            Secret::Bearer(token) => Mode::of(token, "pk").ok_or_else(|| {
                "a Bearer key must start with pk_test_ or pk_live_ (the key is not shown)"
                    .to_owned()
            }),
            Secret::Hmac { key_id, secret } => {
                let mode = Mode::of(key_id, "ak")
                    .or_else(|| Mode::of(key_id, "pk"))
                    .ok_or_else(|| {
                        "an HMAC key id must start with ak_test_, ak_live_, pk_test_ or pk_live_ \
                         (the pair is not shown)"
                            .to_owned()
                    })?;
                if Mode::of(secret, "sk") != Some(mode) {
                    return Err(format!(
                        "HMAC key id {key_id:?} is a {mode} key: its secret must start \
                         with sk_{mode}_"
                    ));
                }
                Ok(mode)
            }
        }
    }

    /// The keys every sandbox has, all test keys: [`TEST_KEY_ID`] /
    /// [`TEST_SECRET`] and [`TEST_API_KEY`] on [`TEST_ACCOUNT_ID`], and the
    /// platform key [`PLATFORM_KEY_ID`] / [`PLATFORM_SECRET`].
    pub fn defaults() -> Vec<ApiKey> {
        vec![
            ApiKey::hmac(TEST_KEY_ID, TEST_SECRET, TEST_ACCOUNT_ID),
            ApiKey::bearer(TEST_API_KEY, TEST_ACCOUNT_ID),
            ApiKey::hmac(PLATFORM_KEY_ID, PLATFORM_SECRET, PLATFORM_ACCOUNT_ID).as_platform(),
        ]
    }

    /// The default live keys, present only when asked for
    /// ([`SandboxConfig::live_keys`], `--live`): [`LIVE_KEY_ID`] /
    /// [`LIVE_SECRET`] and [`LIVE_API_KEY`] on [`TEST_ACCOUNT_ID`]'s live
    /// world.
    pub fn live_defaults() -> Vec<ApiKey> {
        vec![
            ApiKey::hmac(LIVE_KEY_ID, LIVE_SECRET, TEST_ACCOUNT_ID),
            ApiKey::bearer(LIVE_API_KEY, TEST_ACCOUNT_ID),
        ]
    }
}

/// The faults the server itself injects, all off by default: the two that
/// need its knowledge. Error answers (500, 503, 429 with `Retry-After`) and
/// network faults come from a [`FaultProxy`](crate::FaultProxy) in front of
/// the sandbox; real 429s from its [`RateLimits`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// The probability, from 0 to 1, that a write is applied and then
    /// answered by closing the connection: the fault behind duplicate
    /// customers when a client retries without idempotency. Only the server
    /// knows a write was applied, so only it can drop exactly those answers.
    pub drop_after_commit_rate: f64,
    /// Wait this long before answering every request (a simulation setting,
    /// for benchmarks and for tests that need requests to overlap).
    pub latency: Duration,
}

impl Faults {
    /// Whether any fault is switched on.
    pub fn any(&self) -> bool {
        self.drop_after_commit_rate > 0.0 || !self.latency.is_zero()
    }
}

/// How a PATCH applies the `metadata` map it carries. The live API does not
/// document which it does; code that must be right there gives the same
/// result under both (send the complete map you want).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MetadataMode {
    /// The sent map replaces the stored one whole; a `null` value is refused
    /// (400). The default: every official SDK sends metadata as one whole
    /// map of strings, which reads as replacing it, and this is the stricter
    /// of the two for code tested against the sandbox.
    #[default]
    Replace,
    /// The sent map is merged key by key: a string sets its key, `null`
    /// removes it, keys not sent are kept.
    Merge,
}

impl MetadataMode {
    /// `replace` or `merge`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataMode::Replace => "replace",
            MetadataMode::Merge => "merge",
        }
    }
}

impl std::str::FromStr for MetadataMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "replace" => Ok(MetadataMode::Replace),
            "merge" => Ok(MetadataMode::Merge),
            _ => Err(format!("{s:?} is not `replace` or `merge`")),
        }
    }
}

/// The sandbox's validation limits. Lengths count characters.
///
/// The defaults of the lengths and counts Plugipay publishes in its API
/// reference are the published ones: `externalId` 1–255, `email` at most
/// 320 (RFC 5321's bound), `name` 1–255, `phone` 1–64 (free form, stored as
/// sent), `taxId` 1–64, and at most 50 metadata pairs. A
/// `defaultPaymentTokenId` must also be a payment-token id (`pt_` and at
/// least one character more), as published; that is not configurable.
///
/// The rest is the sandbox's own choice where nothing is published: the
/// longest `defaultPaymentTokenId`, metadata key and value lengths, the
/// longest `Idempotency-Key`, that an email is one `@` between non-empty
/// parts without white space, that no field is empty and that none holds
/// control characters.
///
/// Change any of them to see how your code meets a server's refusal: a
/// value past a limit is answered 400 `validation_error` with the field in
/// `error.field`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest `email` (default 320, published); it must also hold one `@`
    /// and no white space (the sandbox's choice).
    pub email_max_chars: usize,
    /// Longest `name` (default 255, published).
    pub name_max_chars: usize,
    /// Longest `phone` (default 64, published).
    pub phone_max_chars: usize,
    /// Longest `externalId` (default 255, published).
    pub external_id_max_chars: usize,
    /// Longest `taxId` (default 64, published).
    pub tax_id_max_chars: usize,
    /// Longest `defaultPaymentTokenId` (default 255; unpublished, the
    /// sandbox's choice). Its `pt_` prefix is published and always checked.
    pub payment_token_id_max_chars: usize,
    /// Most metadata pairs on a customer (default 50, published).
    pub metadata_max_keys: usize,
    /// Longest metadata key (default 40; unpublished, the sandbox's
    /// choice; keys are never empty).
    pub metadata_key_max_chars: usize,
    /// Longest metadata value (default 500; unpublished, the sandbox's
    /// choice).
    pub metadata_value_max_chars: usize,
    /// Longest `Idempotency-Key` (default 255; unpublished, the sandbox's
    /// choice).
    pub idempotency_key_max_chars: usize,
}

impl Default for Limits {
    /// The published numbers come from the spec's published limits
    /// (`plugipay_api::limits::published`), the rest are the sandbox's own.
    fn default() -> Self {
        use plugipay_api::limits::published;
        Self {
            email_max_chars: published::EMAIL_MAX_CHARS,
            name_max_chars: published::NAME_MAX_CHARS,
            phone_max_chars: published::PHONE_MAX_CHARS,
            external_id_max_chars: published::EXTERNAL_ID_MAX_CHARS,
            tax_id_max_chars: published::TAX_ID_MAX_CHARS,
            payment_token_id_max_chars: 255,
            metadata_max_keys: published::METADATA_MAX_KEYS,
            metadata_key_max_chars: 40,
            metadata_value_max_chars: 500,
            idempotency_key_max_chars: 255,
        }
    }
}

/// The rate limits a sandbox enforces, per workspace and mode (a
/// workspace's test and live worlds have buckets of their own, shared by
/// all the keys acting on that world), with one bucket for reads (`GET`,
/// `HEAD`) and one for writes (every other method).
///
/// Each bucket holds as many tokens as its rate per second and refills
/// continuously at that rate, so a full bucket allows a burst of one
/// second's worth and then the rate. Every authenticated request takes one
/// token from its bucket; with none left it is answered 429
/// `rate_limited` with `Retry-After` and takes none. A rate of 0 leaves
/// that class unlimited: no bucket, no `X-RateLimit-*` headers.
///
/// [`published`](Self::published) is what Plugipay publishes (reads 100/s,
/// writes 20/s, a `Retry-After` of 12 s): the default everywhere, the
/// library's [`SandboxConfig::new`] included, as the live API has no other.
/// A test whose setup needs more than the limits allow quickly, and that
/// is not about pacing, turns them [`off`](Self::off).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimits {
    /// Reads (`GET`, `HEAD`) per second, and the read bucket's size; 0:
    /// unlimited.
    pub reads_per_second: u32,
    /// Writes (`POST`, `PUT`, `PATCH`, `DELETE`, any other method) per
    /// second, and the write bucket's size; 0: unlimited.
    pub writes_per_second: u32,
    /// The `Retry-After` of a 429 from an empty bucket, in seconds (never
    /// less than the wait for the next token, rounded up). Plugipay calls
    /// its own deliberately conservative; its example is 12.
    pub retry_after_secs: u64,
}

impl RateLimits {
    /// Plugipay's published read limit, per second.
    pub const PUBLISHED_READS_PER_SECOND: u32 = 100;
    /// Plugipay's published write limit, per second.
    pub const PUBLISHED_WRITES_PER_SECOND: u32 = 20;
    /// The `Retry-After` of Plugipay's published example, in seconds.
    pub const PUBLISHED_RETRY_AFTER_SECS: u64 = 12;

    /// Reads 100/s, writes 20/s, `Retry-After: 12`, as Plugipay publishes.
    pub fn published() -> Self {
        Self::new(
            Self::PUBLISHED_READS_PER_SECOND,
            Self::PUBLISHED_WRITES_PER_SECOND,
        )
    }

    /// No limits: no 429 from an empty bucket and no `X-RateLimit-*`
    /// headers (not the live API: for bulk test setups).
    pub fn off() -> Self {
        Self::new(0, 0)
    }

    /// `reads` and `writes` per second (0: that class unlimited), with the
    /// published `Retry-After` of 12 s.
    pub fn new(reads: u32, writes: u32) -> Self {
        Self {
            reads_per_second: reads,
            writes_per_second: writes,
            retry_after_secs: Self::PUBLISHED_RETRY_AFTER_SECS,
        }
    }

    /// The same limits, answering 429s with `Retry-After: secs`.
    pub fn retry_after_secs(mut self, secs: u64) -> Self {
        self.retry_after_secs = secs;
        self
    }

    /// Whether neither class is limited.
    pub fn is_off(&self) -> bool {
        self.reads_per_second == 0 && self.writes_per_second == 0
    }
}

impl Default for RateLimits {
    /// [`RateLimits::off`].
    fn default() -> Self {
        Self::off()
    }
}

impl std::str::FromStr for RateLimits {
    type Err = String;

    /// `published`, `off`, or `READS,WRITES` (requests per second, 0 for
    /// unlimited), with the published `Retry-After`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "published" => Ok(Self::published()),
            "off" => Ok(Self::off()),
            pair => {
                let (reads, writes) = pair.split_once(',').ok_or_else(|| {
                    format!("{s:?} is not `published`, `off` or READS,WRITES (per second)")
                })?;
                let number = |n: &str| {
                    n.trim()
                        .parse::<u32>()
                        .map_err(|_| format!("{n:?} is not a whole number of requests per second"))
                };
                Ok(Self::new(number(reads)?, number(writes)?))
            }
        }
    }
}

/// How to start a sandbox.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Where to listen; port 0 picks a free port. Default `127.0.0.1:0`.
    pub addr: SocketAddr,
    /// Keys beyond the [defaults](ApiKey::defaults), which are always
    /// present. Each key's prefix decides its mode (see [`ApiKey::mode`]);
    /// [`Sandbox::start`](crate::Sandbox::start) refuses a key whose prefix
    /// names none.
    pub extra_keys: Vec<ApiKey>,
    /// Customers to create in [`TEST_ACCOUNT_ID`]'s test world at start.
    pub seed_customers: usize,
    /// The time the seeded customers' creation spreads over, ending at
    /// start (default zero: each is created when it is made, so many share
    /// a millisecond).
    pub seed_span: Duration,
    /// Faults to inject from the start (change them later with
    /// [`Sandbox::set_faults`](crate::Sandbox::set_faults)).
    pub faults: Faults,
    /// Seed of the fault dice, for reproducible runs; random when `None`.
    pub fault_seed: Option<u64>,
    /// How a PATCH applies metadata (default [`MetadataMode::Replace`]).
    pub metadata_mode: MetadataMode,
    /// The sandbox's validation limits.
    pub limits: Limits,
    /// Connections served at once (default 512); more wait to be accepted,
    /// so a flood of idle clients cannot exhaust the process's descriptors.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and then its
    /// body, and how long a kept-alive connection may idle between requests
    /// (default 30 s); a slower connection is closed.
    pub read_timeout: Duration,
    /// The most bytes the idempotency records of all workspaces may hold
    /// together (default 64 MiB): the recorded answers, keys and workspace
    /// ids, plus a fixed allowance per record (a request itself is kept as
    /// a 32-byte digest, whatever its size). Each workspace also keeps
    /// within its own [budget](Self::idempotency_workspace_budget_bytes);
    /// a write is answered 429 `rate_limited`, before it runs, while the
    /// other workspaces' records leave less than that budget of this total
    /// free, so no workspace's records are ever dropped to make room for
    /// another's.
    pub idempotency_budget_bytes: usize,
    /// The most bytes one workspace's idempotency records may hold
    /// (default 8 MiB; never more than
    /// [`idempotency_budget_bytes`](Self::idempotency_budget_bytes)). When
    /// a new record does not fit, that workspace's own oldest records go
    /// first; a key whose record is gone is unknown again, so its request
    /// executes again, as after [`IDEMPOTENCY_TTL`](crate::IDEMPOTENCY_TTL).
    /// An answer bigger than this budget is not recorded.
    pub idempotency_workspace_budget_bytes: usize,
    /// The most events a workspace's log keeps, its oldest dropped first
    /// (default [`MAX_EVENTS_PER_WORKSPACE`](crate::MAX_EVENTS_PER_WORKSPACE);
    /// at least 1). Plugipay publishes no retention; a small number lets a
    /// test see a change feed fall behind the log.
    pub events_kept: usize,
    /// The rate limits enforced (default [`RateLimits::published`], as the
    /// binary's; [`RateLimits::off`] for tests not about pacing).
    pub rate_limits: RateLimits,
    /// Endpoints the recorded events of their workspace and mode are
    /// delivered to, signed (none by default).
    pub webhooks: Vec<WebhookEndpoint>,
    /// How deliveries are retried, and their faults.
    pub delivery: DeliveryPolicy,
    /// Which of Plugipay's published readings the sandbox speaks where its
    /// sources disagree (default [`Dialect::Sdk`], the official SDKs').
    pub dialect: Dialect,
    /// How far the sandbox's clock is from the machine's, in seconds
    /// (ahead when positive; default 0): it signs, stamps, dates its
    /// answers and judges request timestamps by it, so a test can make a
    /// client's clock look wrong without touching the machine's.
    pub clock_offset_secs: i64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            extra_keys: Vec::new(),
            seed_customers: 0,
            seed_span: Duration::ZERO,
            faults: Faults::default(),
            fault_seed: None,
            metadata_mode: MetadataMode::default(),
            limits: Limits::default(),
            max_connections: 512,
            read_timeout: Duration::from_secs(30),
            idempotency_budget_bytes: 64 << 20,
            idempotency_workspace_budget_bytes: 8 << 20,
            events_kept: crate::events::MAX_EVENTS_PER_WORKSPACE,
            rate_limits: RateLimits::published(),
            webhooks: Vec::new(),
            delivery: DeliveryPolicy::default(),
            dialect: Dialect::default(),
            clock_offset_secs: 0,
        }
    }
}

impl SandboxConfig {
    /// The defaults: loopback, a free port, the default keys, no customers,
    /// no faults, and Plugipay's published rate limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Speaks `dialect` (see [`Dialect`]).
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// Runs the sandbox's clock `secs` seconds ahead of the machine's
    /// (behind when negative): see [`clock_offset_secs`](Self::clock_offset_secs).
    pub fn clock_offset_secs(mut self, secs: i64) -> Self {
        self.clock_offset_secs = secs;
        self
    }

    /// Listens on `addr`.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Accepts `key` as well, in the mode its prefix names (a live key
    /// `ak_live_…` with `sk_live_…`, or `pk_live_…`, acts in its workspace's
    /// live world).
    pub fn key(mut self, key: ApiKey) -> Self {
        self.extra_keys.push(key);
        self
    }

    /// Delivers every customer event (created, updated, deleted) of the
    /// workspaces the sandbox's keys belong to, in test and live alike, to
    /// `url`, signed with `secret` (`whsec_…`), at least once. Events of a
    /// workspace only a platform key acts for are not delivered (an endpoint
    /// belongs to a workspace); [`webhook_endpoint`](Self::webhook_endpoint)
    /// names the workspace and mode.
    pub fn webhook(self, url: impl Into<String>, secret: impl Into<String>) -> Self {
        self.webhook_endpoint(WebhookEndpoint::new(url, secret))
    }

    /// Delivers the customer events of `endpoint`'s workspace and mode to
    /// it, at least once.
    pub fn webhook_endpoint(mut self, endpoint: WebhookEndpoint) -> Self {
        self.webhooks.push(endpoint);
        self
    }

    /// Retries deliveries, and injects delivery faults, as `policy` says.
    pub fn delivery(mut self, policy: DeliveryPolicy) -> Self {
        self.delivery = policy;
        self
    }

    /// Accepts the default live keys as well ([`ApiKey::live_defaults`]).
    pub fn live_keys(mut self) -> Self {
        self.extra_keys.extend(ApiKey::live_defaults());
        self
    }

    /// Checks what [`Sandbox::start`](crate::Sandbox::start) cannot serve:
    /// a key whose prefix names no mode (see [`ApiKey::mode`]), a webhook
    /// URL that is not `http://` or `https://` with a host (deliveries to it
    /// could only fail). The errors never show a key or a URL (either may
    /// hold a secret).
    pub fn validate(&self) -> Result<(), String> {
        if self.events_kept == 0 {
            return Err("the event log must keep at least one event".into());
        }
        for key in &self.extra_keys {
            key.mode()?;
        }
        for (n, endpoint) in self.webhooks.iter().enumerate() {
            let fits = reqwest::Url::parse(&endpoint.url).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https") && url.host_str().is_some()
            });
            if !fits {
                return Err(format!(
                    "webhook URL {} is not an http:// or https:// URL with a host, like \
                     http://127.0.0.1:3000/webhooks (not shown: it may hold a token)",
                    n + 1
                ));
            }
        }
        Ok(())
    }

    /// Starts with `n` generated customers in [`TEST_ACCOUNT_ID`]'s test world.
    pub fn seed_customers(mut self, n: usize) -> Self {
        self.seed_customers = n;
        self
    }

    /// Spreads the seeded customers' creation times evenly over `span`,
    /// ending at start (a book that grew over months, say).
    pub fn seed_span(mut self, span: Duration) -> Self {
        self.seed_span = span;
        self
    }

    /// Injects `faults`.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Seeds the fault dice.
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.fault_seed = Some(seed);
        self
    }

    /// Applies PATCHed metadata the `mode` way.
    pub fn metadata_mode(mut self, mode: MetadataMode) -> Self {
        self.metadata_mode = mode;
        self
    }

    /// Validates with `limits`.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Serves at most `n` connections at once (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Closes a connection that takes longer than `timeout` to send a
    /// request's headers, or then its body.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Keeps at most `n` events in each workspace's log, its oldest dropped
    /// first (see [`events_kept`](Self::events_kept)).
    pub fn keep_events(mut self, n: usize) -> Self {
        self.events_kept = n;
        self
    }

    /// Keeps at most `bytes` of idempotency records in all workspaces
    /// together (see [`idempotency_budget_bytes`](Self::idempotency_budget_bytes)).
    pub fn idempotency_budget_bytes(mut self, bytes: usize) -> Self {
        self.idempotency_budget_bytes = bytes;
        self
    }

    /// Keeps at most `bytes` of idempotency records in any one workspace,
    /// its own oldest dropped first (see
    /// [`idempotency_workspace_budget_bytes`](Self::idempotency_workspace_budget_bytes)).
    pub fn idempotency_workspace_budget_bytes(mut self, bytes: usize) -> Self {
        self.idempotency_workspace_budget_bytes = bytes;
        self
    }

    /// Enforces `limits` (see [`RateLimits`]): `RateLimits::published()`
    /// for Plugipay's numbers, or small ones to meet a 429 quickly.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }
}

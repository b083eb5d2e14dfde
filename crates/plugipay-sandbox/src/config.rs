//! What a sandbox serves: its address, its keys (each bound to a workspace and
//! scopes), the customers it starts with, the faults it injects, and the
//! choices it makes where the live API's behaviour is not published (field
//! limits, how a PATCH applies metadata).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// The default HMAC key id, always present.
pub const TEST_KEY_ID: &str = "ak_test_sandbox";
/// The secret of [`TEST_KEY_ID`].
pub const TEST_SECRET: &str = "sk_test_sandbox";
/// The default Bearer key, always present.
pub const TEST_API_KEY: &str = "pk_test_sandbox";
/// The workspace the default keys belong to.
pub const TEST_ACCOUNT_ID: &str = "acct_sandbox";
/// A default platform key id: it may act for any workspace with
/// `X-Plugipay-On-Behalf-Of`.
pub const PLATFORM_KEY_ID: &str = "ak_test_platform";
/// The secret of [`PLATFORM_KEY_ID`].
pub const PLATFORM_SECRET: &str = "sk_test_platform";
/// The workspace of the platform key itself.
pub const PLATFORM_ACCOUNT_ID: &str = "acct_platform";

/// A permission a key may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `plugipay:customer:create`
    Create,
    /// `plugipay:customer:read`
    Read,
    /// `plugipay:customer:update`
    Update,
    /// Deleting customers. The live API does not publish the scope delete
    /// needs; the sandbox calls it `plugipay:customer:delete`.
    Delete,
}

impl Scope {
    /// Every customer scope.
    pub const ALL: [Scope; 4] = [Scope::Create, Scope::Read, Scope::Update, Scope::Delete];

    /// The scope's name as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Create => "plugipay:customer:create",
            Scope::Read => "plugipay:customer:read",
            Scope::Update => "plugipay:customer:update",
            Scope::Delete => "plugipay:customer:delete",
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

    /// The keys every sandbox has: [`TEST_KEY_ID`] / [`TEST_SECRET`] and
    /// [`TEST_API_KEY`] on [`TEST_ACCOUNT_ID`], and the platform key
    /// [`PLATFORM_KEY_ID`] / [`PLATFORM_SECRET`].
    pub fn defaults() -> Vec<ApiKey> {
        vec![
            ApiKey::hmac(TEST_KEY_ID, TEST_SECRET, TEST_ACCOUNT_ID),
            ApiKey::bearer(TEST_API_KEY, TEST_ACCOUNT_ID),
            ApiKey::hmac(PLATFORM_KEY_ID, PLATFORM_SECRET, PLATFORM_ACCOUNT_ID).as_platform(),
        ]
    }
}

/// Faults to inject, all off by default. Rates are probabilities from 0 to 1,
/// drawn per request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Answer 500 or 503 (half each) before doing anything.
    pub error_rate: f64,
    /// Answer 429 with `Retry-After` before doing anything.
    pub rate_limit_rate: f64,
    /// The `Retry-After` of injected 429s and 503s, in seconds.
    pub retry_after_secs: u64,
    /// Apply a write, then close the connection without a response: the
    /// fault behind duplicate customers when a client retries without
    /// idempotency.
    pub drop_after_commit_rate: f64,
    /// Wait this long before answering every request.
    pub latency: Duration,
}

impl Faults {
    /// Whether any fault is switched on.
    pub fn any(&self) -> bool {
        self.error_rate > 0.0
            || self.rate_limit_rate > 0.0
            || self.drop_after_commit_rate > 0.0
            || !self.latency.is_zero()
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

/// The sandbox's own validation limits. The live API validates lengths and
/// formats too, but publishes no numbers (only the list page size, 1 to 100,
/// is documented), so these are this sandbox's choices, not facts about
/// Plugipay: change them to try how your code meets a server's refusal.
/// Lengths count characters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest `email` (default 254); it must also hold one `@` and no white space.
    pub email_max_chars: usize,
    /// Longest `name` (default 256).
    pub name_max_chars: usize,
    /// Longest `phone` (default 32).
    pub phone_max_chars: usize,
    /// Longest `externalId` (default 256).
    pub external_id_max_chars: usize,
    /// Longest `taxId` (default 64).
    pub tax_id_max_chars: usize,
    /// Longest `defaultPaymentTokenId` (default 256).
    pub payment_token_id_max_chars: usize,
    /// Most metadata keys on a customer (default 50).
    pub metadata_max_keys: usize,
    /// Longest metadata key (default 40; keys are never empty).
    pub metadata_key_max_chars: usize,
    /// Longest metadata value (default 500).
    pub metadata_value_max_chars: usize,
    /// Longest `Idempotency-Key` (default 255).
    pub idempotency_key_max_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            email_max_chars: 254,
            name_max_chars: 256,
            phone_max_chars: 32,
            external_id_max_chars: 256,
            tax_id_max_chars: 64,
            payment_token_id_max_chars: 256,
            metadata_max_keys: 50,
            metadata_key_max_chars: 40,
            metadata_value_max_chars: 500,
            idempotency_key_max_chars: 255,
        }
    }
}

/// How to start a sandbox.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Where to listen; port 0 picks a free port. Default `127.0.0.1:0`.
    pub addr: SocketAddr,
    /// Keys beyond the [defaults](ApiKey::defaults), which are always present.
    pub extra_keys: Vec<ApiKey>,
    /// Customers to create in [`TEST_ACCOUNT_ID`] at start.
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
        }
    }
}

impl SandboxConfig {
    /// The defaults: loopback, a free port, the default keys, no customers, no faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on `addr`.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Accepts `key` as well.
    pub fn key(mut self, key: ApiKey) -> Self {
        self.extra_keys.push(key);
        self
    }

    /// Starts with `n` generated customers in [`TEST_ACCOUNT_ID`].
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
}

//! The [`Client`]: credentials, base URL and connection pool, built once and
//! shared by every call.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use plugipay_api::auth::{Credentials, Mode};

use crate::customers::Customers;
use crate::error::Error;
use crate::id_cache::CustomerIdCache;
use crate::ops::{Call, Raw};
use crate::transport::options::Options;
use crate::transport::pacing::{Pacer, RateBudget, RateShare};
use crate::transport::request::{Request, check_on_behalf_of};
use crate::transport::retry::RetryPolicy;

/// The environment variables [`Client::from_env`] reads.
pub mod env {
    /// HMAC key id (`ak_live_…` / `ak_test_…`, or `pk_live_…` / `pk_test_…`
    /// as Plugipay's API keys page mints them); goes with [`SECRET`].
    pub const KEY_ID: &str = "PLUGIPAY_KEY_ID";
    /// HMAC secret; goes with [`KEY_ID`].
    pub const SECRET: &str = "PLUGIPAY_SECRET";
    /// Dashboard API key (`pk_live_…` / `pk_test_…`), instead of an HMAC
    /// pair; or the pair itself as `<keyId>:<secret>` (`ak_…:sk_…` or
    /// `pk_…:sk_…`), as Plugipay's own CLI keeps it.
    pub const API_KEY: &str = "PLUGIPAY_API_KEY";
    /// Base URL; `https://plugipay.com` when unset.
    pub const BASE_URL: &str = "PLUGIPAY_BASE_URL";
    /// Workspace (`accountId`) a platform key acts for; optional.
    pub const ON_BEHALF_OF: &str = "PLUGIPAY_ON_BEHALF_OF";

    /// The HMAC pair an API key value holds when it is written
    /// `<keyId>:<secret>`, as Plugipay's own CLI keeps it, whatever the key
    /// id's prefix (`ak_…` in the official SDKs, `pk_…` on Plugipay's API
    /// keys page); `None` for a Bearer key, which has no `:`.
    ///
    /// ```
    /// use plugipay::env::key_pair;
    ///
    /// assert_eq!(key_pair("ak_test_1:sk_test_1"), Some(("ak_test_1", "sk_test_1")));
    /// assert_eq!(key_pair("pk_test_2:sk_test_2"), Some(("pk_test_2", "sk_test_2")));
    /// assert_eq!(key_pair("pk_test_1"), None);
    /// assert_eq!(key_pair(":sk_test_1"), None);
    /// ```
    pub fn key_pair(api_key: &str) -> Option<(&str, &str)> {
        api_key
            .split_once(':')
            .filter(|(key_id, secret)| !key_id.is_empty() && !secret.is_empty())
    }
}

/// The default timeout of a call, from connecting to the end of the response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A Plugipay API client. Cheap to clone: clones share one connection pool.
///
/// ```
/// use plugipay::Client;
///
/// let client = Client::builder()
///     .key_id("ak_test_sandbox")
///     .secret("sk_test_sandbox")
///     .base_url("http://127.0.0.1:8080")
///     .build()?;
/// assert!(!format!("{client:?}").contains("sk_test_sandbox"));
/// # Ok::<(), plugipay::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    /// What every call starts from; a call's own settings override them.
    defaults: Options,
}

struct Shared {
    api: plugipay_api::Client,
    base_url: String,
    credentials: Credentials,
}

impl Client {
    /// A builder for a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `PLUGIPAY_KEY_ID` and
    /// `PLUGIPAY_SECRET`, or `PLUGIPAY_API_KEY`; optionally
    /// `PLUGIPAY_BASE_URL` and `PLUGIPAY_ON_BEHALF_OF`. Fails with
    /// [`Error::Config`] naming the variables when no credentials (or two
    /// kinds of them) are set, and when any of these variables is set but
    /// empty: a half-set environment must not send test credentials to the
    /// live API, which an empty `PLUGIPAY_BASE_URL` read as unset would.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// The mode the client's key names by its prefix: the key id's (or
    /// else its secret's) for an HMAC pair, the API key's for a Bearer key;
    /// `None` when the prefix names none.
    ///
    /// ```
    /// let client = plugipay::Client::builder()
    ///     .api_key("pk_live_AKIA1:sk_live_2")
    ///     .build()?;
    /// assert_eq!(client.mode(), Some(plugipay::Mode::Live));
    /// # Ok::<(), plugipay::Error>(())
    /// ```
    pub fn mode(&self) -> Option<Mode> {
        self.shared.credentials.mode()
    }

    /// The customers of the workspace.
    pub fn customers(&self) -> Customers<'_> {
        Customers::new(&self.shared.api, &self.defaults)
    }

    /// A call to any route of the API, for what the typed methods do not
    /// cover: `path` is absolute and already escaped (build segments with
    /// [`escape_path_segment`](crate::escape_path_segment)); add
    /// [`query`](Request::query), a [`json`](Request::json) body, and
    /// [`returning`](Request::returning) a type of yours. It is signed,
    /// retried, bounded and traced like the typed calls, and a write (any
    /// method but GET, HEAD, OPTIONS and TRACE) carries an Idempotency-Key.
    /// Awaiting it gives the envelope's `data`; for list routes,
    /// [`paginated`](Request::paginated) walks the pages.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new().seed_customers(3)).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use futures_util::TryStreamExt;
    /// use plugipay::Method;
    /// use plugipay::api::{endpoint::Endpoint, endpoints::ListCustomers};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Row {
    ///     id: String,
    /// }
    ///
    /// // Any path will do; this one is the spec's customers collection.
    /// let path = ListCustomers::PATH; // "/api/v1/customers"
    /// let created: serde_json::Value = client
    ///     .request(Method::POST, path)
    ///     .json(&serde_json::json!({ "name": "Sari" }))
    ///     .await?;
    /// let rows: Vec<Row> = client
    ///     .request(Method::GET, path)
    ///     .query(&[("limit", "2")])
    ///     .returning::<Row>()
    ///     .paginated()
    ///     .stream()
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(rows.len(), 4);
    /// assert!(rows.iter().any(|row| row.id == created["id"]));
    /// # Ok(()) }
    /// ```
    pub fn request(&self, method: crate::Method, path: impl Into<String>) -> Request<Raw> {
        Request::new(
            self.shared.api.clone(),
            self.defaults.clone(),
            Raw::new(method, path.into()),
        )
    }

    /// Any operation of the spec, from its generated description in
    /// [`plugipay_api::endpoints`]: signed, retried, under an
    /// Idempotency-Key when the spec says the operation needs one (your own
    /// with [`Request::idempotency_key`]), answering the envelope's `data`
    /// as the spec's type. An operation added to the spec is callable this
    /// way as soon as the code is regenerated, with no hand-written code.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use plugipay::api::endpoints::{CreateCustomer, GetCustomer};
    /// use plugipay::NewCustomer;
    ///
    /// let created = client
    ///     .call(CreateCustomer { body: NewCustomer::new().name("Sari") })
    ///     .idempotency_key("idem_sari_1")
    ///     .await?;
    /// let fetched = client.call(GetCustomer { id: created.id.clone() }).await?;
    /// assert_eq!(fetched.name.as_deref(), Some("Sari"));
    /// # Ok(()) }
    /// ```
    pub fn call<E: plugipay_api::endpoint::Endpoint>(&self, endpoint: E) -> Request<Call<E>> {
        Request::new(
            self.shared.api.clone(),
            self.defaults.clone(),
            Call { endpoint },
        )
    }

    /// A client that acts for the merchant workspace `account_id` (sent as
    /// `X-Plugipay-On-Behalf-Of`), sharing this client's connection pool.
    pub fn for_merchant(&self, account_id: impl Into<String>) -> Result<Client, Error> {
        let account_id = account_id.into();
        check_on_behalf_of(&account_id)?;
        let mut defaults = self.defaults.clone();
        defaults.on_behalf_of = Some(account_id);
        Ok(Client {
            shared: Arc::clone(&self.shared),
            defaults,
        })
    }

    /// The same client (connection pool, rate budgets and all) doing bulk
    /// work: every call it makes draws on the client's
    /// [bulk share](ClientBuilder::bulk_share) of the workspace's rate
    /// budget only (80 % unless set), leaving the rest to the other apps
    /// and processes that share the workspace. For a batch job of your own
    /// (an import, a nightly sync); walks are bulk work already.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use plugipay::NewCustomer;
    ///
    /// let nightly = client.bulk();
    /// for n in 0..3 {
    ///     let crm_id = format!("crm_{n}");
    ///     nightly.customers().ensure(crm_id, NewCustomer::new()).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn bulk(&self) -> Client {
        let mut defaults = self.defaults.clone();
        defaults.rate_share = Some(defaults.bulk_share);
        Client {
            shared: Arc::clone(&self.shared),
            defaults,
        }
    }

    /// The share of the rate budget bulk work draws on.
    pub fn bulk_share(&self) -> RateShare {
        self.defaults.bulk_share
    }

    /// The workspace this client acts for, if it acts for one.
    pub fn on_behalf_of(&self) -> Option<&str> {
        self.defaults.on_behalf_of.as_deref()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The cache `ensure` falls back on, if one was given.
    pub fn customer_id_cache(&self) -> Option<&dyn CustomerIdCache> {
        self.defaults.id_cache.as_deref()
    }

    /// What the server last said of each rate-limit bucket this client
    /// (or a clone, or a [`for_merchant`](Self::for_merchant) client) has
    /// drawn on: its size, what was left and when it is full again. Empty
    /// when the server sends no rate-limit headers or nothing was sent yet.
    pub fn rate_budgets(&self) -> Vec<RateBudget> {
        self.defaults.pacer.budgets()
    }

    /// How calls retry unless a call says otherwise.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.defaults.retry
    }

    /// The time each attempt may take, unless a call says otherwise (`None`
    /// when the client was built on your own `reqwest::Client`, whose
    /// settings then apply).
    pub fn timeout(&self) -> Option<Duration> {
        self.defaults.timeout
    }

    /// The time a whole call may take, retries included, unless a call says
    /// otherwise (`None`: no limit beyond the retry policy).
    pub fn deadline(&self) -> Option<Duration> {
        self.defaults.deadline
    }

    /// The generated low-level client (with the `raw-api` feature), signed
    /// by the same signer but otherwise **unguarded**: it adds no
    /// idempotency keys or on-behalf-of headers, is not paced, retries
    /// nothing, and reads each answer whole with no size cap (this crate's
    /// calls stop at [`MAX_RESPONSE_BYTES`](crate::MAX_RESPONSE_BYTES)).
    /// [`Client::call`] sends any operation of the spec, and
    /// [`Client::request`] any route, through the guarded pipeline.
    #[cfg(feature = "raw-api")]
    pub fn api(&self) -> &plugipay_api::Client {
        &self.shared.api
    }

    /// How far ahead of this machine's clock the server's is, in seconds,
    /// as this client has learned it from the answers' `Date` headers (0
    /// until an answer shows a difference worth correcting). Requests are
    /// signed by the server's time.
    pub fn clock_offset(&self) -> i64 {
        use plugipay_api::ClientInfo as _;
        self.shared.api.inner().clock().offset_secs()
    }

    /// How many HTTP requests this client and its clones have sent so far,
    /// retries included: what a job spent of the rate limits, for its
    /// report.
    ///
    /// ```
    /// let client = plugipay::Client::builder()
    ///     .key_id("ak_test_example")
    ///     .secret("sk_test_example")
    ///     .build()?;
    /// assert_eq!(client.requests_sent(), 0);
    /// # Ok::<(), plugipay::Error>(())
    /// ```
    pub fn requests_sent(&self) -> u64 {
        self.defaults
            .sent
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url)
            .field("credentials", &self.shared.credentials)
            .field("on_behalf_of", &self.defaults.on_behalf_of)
            .field("timeout", &self.defaults.timeout)
            .field("deadline", &self.defaults.deadline)
            .finish()
    }
}

/// Builds a [`Client`]. Give either [`key_id`](Self::key_id) and
/// [`secret`](Self::secret), or [`api_key`](Self::api_key).
#[derive(Default, Clone)]
pub struct ClientBuilder {
    key_id: Option<String>,
    secret: Option<String>,
    api_key: Option<String>,
    base_url: Option<String>,
    on_behalf_of: Option<String>,
    timeout: Option<Duration>,
    deadline: Option<Duration>,
    retry: Option<RetryPolicy>,
    http: Option<reqwest::Client>,
    id_cache: Option<Arc<dyn CustomerIdCache>>,
    /// `Some(false)`: requests are not paced to the rate limits.
    pacing: Option<bool>,
    bulk_share: Option<RateShare>,
}

impl ClientBuilder {
    /// The HMAC key id (`ak_live_…` / `ak_test_…`, or `pk_live_…` /
    /// `pk_test_…` as Plugipay's API keys page mints them).
    pub fn key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// The HMAC secret.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// A dashboard API key (`pk_live_…` / `pk_test_…`), sent as a Bearer
    /// token, instead of an HMAC pair; a value written `<keyId>:<secret>`
    /// (as Plugipay's CLI keeps one) is that HMAC pair.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The base URL (default `https://plugipay.com`); trailing slashes are dropped.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Acts for the merchant workspace `account_id` on every call.
    pub fn on_behalf_of(mut self, account_id: impl Into<String>) -> Self {
        self.on_behalf_of = Some(account_id.into());
        self
    }

    /// The timeout of each attempt of a call (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The time a whole call may take, every attempt and every wait between
    /// attempts together (default: none; the retry policy and the
    /// per-attempt timeout bound it).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// How calls retry (default [`RetryPolicy::default`]: 2 retries, 0.5 s
    /// base, 5 s cap).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// At most `retries` retries per call (0 disables retrying).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry = Some(self.retry.unwrap_or_default().max_retries(retries));
        self
    }

    /// Where `ensure` looks up a customer id when the `externalId` list
    /// filter finds nothing (see [`CustomerIdCache`]).
    pub fn customer_id_cache(mut self, cache: Arc<dyn CustomerIdCache>) -> Self {
        self.id_cache = Some(cache);
        self
    }

    /// Whether the client paces itself to the rate limits the server
    /// reports (default `true`). Plugipay's answers carry
    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset`; a paced client keeps
    /// a budget per workspace acted for and per bucket (reads, writes),
    /// shared by its clones, and makes a request wait for a token rather
    /// than spend one the server does not have (a 429 costs a long
    /// `Retry-After`). Until a bucket's first answer arrives one request
    /// at a time goes out; a server that sends no such headers is not
    /// paced. [`Client::rate_budgets`] shows what was last seen, paced or
    /// not.
    pub fn pacing(mut self, pace: bool) -> Self {
        self.pacing = Some(pace);
        self
    }

    /// The share of each rate-limit bucket bulk work draws on (default
    /// [`RateShare::DEFAULT`], 80 %): walks ([`Request::stream`],
    /// [`Request::pages`], [`Request::partitioned`]), calls marked
    /// [`Request::bulk`] and every call of [`Client::bulk`]. Single calls
    /// keep the whole budget. [`RateShare::WHOLE`] runs bulk work at the
    /// ceiling. Only paced clients hold bulk work back ([`pacing`](Self::pacing)).
    ///
    /// [`Request::stream`]: crate::Request::stream
    /// [`Request::pages`]: crate::Request::pages
    /// [`Request::partitioned`]: crate::Request::partitioned
    /// [`Request::bulk`]: crate::Request::bulk
    pub fn bulk_share(mut self, share: RateShare) -> Self {
        self.bulk_share = Some(share);
        self
    }

    /// Sends through this `reqwest::Client` (for a proxy, custom TLS roots,
    /// …) instead of one built here; its own timeout applies unless
    /// [`timeout`](Self::timeout) is also given. Build it from
    /// [`plugipay_api::http_client_builder`] to keep redirects off.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// A builder holding what the environment sets ([`env`](mod@env)), to add to or
    /// override before [`build`](Self::build) (a command line's flags, for
    /// instance). Fails with [`Error::Config`] naming a variable that is set
    /// but empty, or not UTF-8; which credentials go together is checked
    /// by `build`.
    ///
    /// ```
    /// # fn main() -> Result<(), plugipay::Error> {
    /// # if std::env::var_os(plugipay::env::API_KEY).is_some() { return Ok(()); }
    /// let client = plugipay::ClientBuilder::from_env()?
    ///     .key_id("ak_test_123")
    ///     .secret("sk_test_456")
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            // Set but not text: refused by name rather than taken as unset.
            Err(std::env::VarError::NotUnicode(_)) => Err(()),
        })
    }

    /// A builder filled from environment variables, read through `lookup`
    /// (`Err` for a variable that is set but not UTF-8).
    fn from_lookup(lookup: impl Fn(&str) -> Result<Option<String>, ()>) -> Result<Self, Error> {
        for name in [
            env::KEY_ID,
            env::SECRET,
            env::API_KEY,
            env::BASE_URL,
            env::ON_BEHALF_OF,
        ] {
            match lookup(name) {
                Err(()) => {
                    return Err(Error::Config(format!(
                        "{name} is not valid UTF-8: give it a text value or unset it"
                    )));
                }
                Ok(Some(v)) if v.trim().is_empty() => {
                    return Err(Error::Config(format!(
                        "{name} is set but empty: give it a value or unset it"
                    )));
                }
                _ => {}
            }
        }
        // Every variable was read above; here only their text matters. Which
        // credentials go together is checked once, by `build`.
        let var = |name: &str| lookup(name).ok().flatten();
        let (mut key_id, mut secret, mut api_key) =
            (var(env::KEY_ID), var(env::SECRET), var(env::API_KEY));
        // Plugipay's own CLI keeps an HMAC pair in PLUGIPAY_API_KEY as
        // `<keyId>:<secret>`: read as the pair it is.
        if let Some((pair_key, pair_secret)) = api_key.as_deref().and_then(env::key_pair)
            && key_id.is_none()
            && secret.is_none()
        {
            (key_id, secret) = (Some(pair_key.to_owned()), Some(pair_secret.to_owned()));
            api_key = None;
        }
        Ok(ClientBuilder {
            key_id,
            secret,
            api_key,
            base_url: var(env::BASE_URL),
            on_behalf_of: var(env::ON_BEHALF_OF),
            ..ClientBuilder::default()
        })
    }

    /// Checks the settings and builds the client (no network traffic).
    pub fn build(self) -> Result<Client, Error> {
        let config = |e: plugipay_api::auth::CredentialsError| Error::Config(e.to_string());
        let credentials = match (self.key_id, self.secret, self.api_key) {
            (Some(key_id), Some(secret), None) => {
                Credentials::hmac(key_id, secret).map_err(config)?
            }
            // `<keyId>:<secret>` is an HMAC pair, whatever the key id's prefix.
            (None, None, Some(api_key)) => match env::key_pair(&api_key) {
                Some((key_id, secret)) => Credentials::hmac(key_id, secret).map_err(config)?,
                None => Credentials::bearer(api_key).map_err(config)?,
            },
            // The one place credentials are checked: the messages name the
            // environment variables too, which the CLI's flags fall back on.
            (None, None, None) => {
                return Err(Error::Config(format!(
                    "no credentials: give a key id and its secret ({}, {}) or an API key ({})",
                    env::KEY_ID,
                    env::SECRET,
                    env::API_KEY
                )));
            }
            (_, _, Some(_)) => {
                return Err(Error::Config(format!(
                    "both an HMAC key pair ({}, {}) and an API key ({}) are given: use one kind",
                    env::KEY_ID,
                    env::SECRET,
                    env::API_KEY
                )));
            }
            (Some(_), None, None) => {
                return Err(Error::Config(format!(
                    "a key id is given without its secret ({})",
                    env::SECRET
                )));
            }
            (None, Some(_), None) => {
                return Err(Error::Config(format!(
                    "a secret is given without its key id ({})",
                    env::KEY_ID
                )));
            }
        };
        let base_url = normalize_base_url(
            self.base_url
                .as_deref()
                .unwrap_or(plugipay_api::DEFAULT_BASE_URL),
        )?;
        if let Some(account) = &self.on_behalf_of {
            check_on_behalf_of(account)?;
        }
        let (http, timeout) = match self.http {
            Some(http) => (http, self.timeout),
            None => {
                let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
                let http = plugipay_api::http_client_builder_for(&base_url)
                    .timeout(timeout)
                    .build()
                    .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
                (http, Some(timeout))
            }
        };
        let api = plugipay_api::client_with_http(&base_url, credentials.clone(), http);
        Ok(Client {
            shared: Arc::new(Shared {
                api,
                base_url,
                credentials,
            }),
            defaults: Options {
                on_behalf_of: self.on_behalf_of,
                timeout,
                deadline: self.deadline,
                deadline_at: None,
                idempotency_key: None,
                retry: self.retry.unwrap_or_default(),
                id_cache: self.id_cache,
                locks: Arc::default(),
                rate_share: None,
                bulk_share: self.bulk_share.unwrap_or_default(),
                sent: Arc::default(),
                pacer: Arc::new(if self.pacing == Some(false) {
                    Pacer::off()
                } else {
                    Pacer::default()
                }),
            },
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |set: bool| if set { Some("[redacted]") } else { None };
        f.debug_struct("ClientBuilder")
            .field("key_id", &self.key_id)
            .field("secret", &redacted(self.secret.is_some()))
            .field("api_key", &redacted(self.api_key.is_some()))
            .field("base_url", &self.base_url)
            .field("on_behalf_of", &self.on_behalf_of)
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("retry", &self.retry)
            .field("http", &self.http.is_some())
            .field("customer_id_cache", &self.id_cache.is_some())
            .field("pacing", &self.pacing.unwrap_or(true))
            .finish()
    }
}

/// An http(s) URL with a host and no query or fragment, without trailing slashes.
fn normalize_base_url(raw: &str) -> Result<String, Error> {
    let invalid = |reason: String| Error::InvalidArgument {
        field: "base_url".into(),
        reason,
    };
    let url =
        reqwest::Url::parse(raw).map_err(|e| invalid(format!("{raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(format!(
            "{raw:?} is not an http(s) URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(format!(
            "{raw:?} must not have a query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> Result<ClientBuilder, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClientBuilder::from_lookup(move |name| {
            Ok(vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        })
    }

    fn config_message(result: Result<ClientBuilder, Error>) -> String {
        match result.and_then(ClientBuilder::build) {
            Err(Error::Config(message)) => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn env_hmac_pair_and_optional_settings() {
        let client = lookup(&[
            (env::KEY_ID, "ak_test_1"),
            (env::SECRET, "sk_test_1"),
            (env::BASE_URL, "http://127.0.0.1:9/"),
            (env::ON_BEHALF_OF, "acct_9"),
        ])
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
        assert_eq!(client.on_behalf_of(), Some("acct_9"));
        assert_eq!(client.shared.credentials.key_id(), Some("ak_test_1"));
    }

    #[test]
    fn env_api_key_may_hold_an_hmac_pair_as_plugipays_cli_writes_it() {
        let client = lookup(&[(env::API_KEY, "ak_test_7:sk_test_7")])
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.shared.credentials.key_id(), Some("ak_test_7"));
        // With a pair given apart as well, both kinds are refused as before.
        let both = config_message(lookup(&[
            (env::API_KEY, "ak_test_7:sk_test_7"),
            (env::KEY_ID, "ak_test_8"),
        ]));
        assert!(
            both.contains("both") || both.contains(env::SECRET),
            "{both}"
        );
    }

    #[test]
    fn env_bearer_and_default_base_url() {
        let client = lookup(&[(env::API_KEY, "pk_test_1")])
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "https://plugipay.com");
        assert_eq!(client.shared.credentials.key_id(), None);
    }

    #[test]
    fn env_errors_name_the_variables() {
        let none = config_message(lookup(&[]));
        for var in [env::KEY_ID, env::SECRET, env::API_KEY] {
            assert!(none.contains(var), "{none}");
        }
        assert!(config_message(lookup(&[(env::KEY_ID, "ak")])).contains(env::SECRET));
        assert!(config_message(lookup(&[(env::SECRET, "sk")])).contains(env::KEY_ID));
        let both = config_message(lookup(&[
            (env::KEY_ID, "ak"),
            (env::SECRET, "sk"),
            (env::API_KEY, "pk"),
        ]));
        assert!(both.contains("both"), "{both}");
    }

    #[test]
    fn env_set_but_empty_is_an_error_naming_the_variable() {
        let pair = [(env::KEY_ID, "ak_test_1"), (env::SECRET, "sk_test_1")];
        for name in [env::BASE_URL, env::ON_BEHALF_OF, env::API_KEY] {
            for empty in ["", "  "] {
                let mut vars = pair.to_vec();
                vars.push((name, empty));
                let message = config_message(lookup(&vars));
                assert!(
                    message.contains(name) && message.contains("empty"),
                    "{message}"
                );
            }
        }
        let message = config_message(lookup(&[(env::API_KEY, "pk_test_1"), (env::KEY_ID, "")]));
        assert!(message.contains(env::KEY_ID), "{message}");
    }

    #[test]
    fn builder_rejects_bad_settings() {
        let base = || Client::builder().key_id("ak").secret("sk");
        for url in ["ftp://x", "not a url", "http://h/?q=1", "http://h/#f"] {
            let err = base().base_url(url).build().unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { ref field, .. } if field == "base_url"));
        }
        assert!(matches!(Client::builder().build(), Err(Error::Config(_))));
        assert!(matches!(
            base().api_key("pk").build(),
            Err(Error::Config(_))
        ));
        assert!(base().on_behalf_of("").build().is_err());
        let client = base().build().unwrap();
        assert!(client.for_merchant("acct\n1").is_err());
    }

    #[test]
    fn for_merchant_shares_the_pool() {
        let client = Client::builder().key_id("ak").secret("sk").build().unwrap();
        let merchant = client.for_merchant("acct_1").unwrap();
        assert!(Arc::ptr_eq(&client.shared, &merchant.shared));
        assert_eq!(merchant.on_behalf_of(), Some("acct_1"));
        assert_eq!(client.on_behalf_of(), None);
    }

    #[test]
    fn debug_hides_secrets() {
        let builder = Client::builder().key_id("ak_x").secret("sk_hidden");
        let client = builder.clone().build().unwrap();
        let bearer = Client::builder().api_key("pk_hidden");
        let shown = format!(
            "{builder:?} {client:?} {bearer:?} {:?}",
            bearer.clone().build().unwrap()
        );
        assert!(shown.contains("ak_x"));
        assert!(!shown.contains("hidden"), "{shown}");
    }
}

//! The command-line settings of a sandbox, shared by the `plugipay-sandbox`
//! binary and `plugipay sandbox`.

use crate::dialect::Dialect;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{ApiKey, Faults, MetadataMode, RateLimits, SandboxConfig, TEST_ACCOUNT_ID};
use crate::deliveries::DeliveryPolicy;

/// A `--key` value: `KEY_ID:SECRET[@ACCOUNT]` (an HMAC pair) or
/// `API_KEY[@ACCOUNT]` (a Bearer key), with every scope, on `ACCOUNT`
/// (default the default workspace); refused unless its prefixes name a mode.
fn key(s: &str) -> Result<ApiKey, String> {
    let (credentials, account) = match s.rsplit_once('@') {
        Some((credentials, account)) => (credentials, account),
        None => (s, TEST_ACCOUNT_ID),
    };
    if account.is_empty() {
        return Err("the account after `@` is empty".into());
    }
    let key = match credentials.split_once(':') {
        Some((key_id, secret)) => ApiKey::hmac(key_id, secret, account),
        None => ApiKey::bearer(credentials, account),
    };
    key.mode()?;
    Ok(key)
}

/// Parses `--key` with [`key`]; unlike a plain value parser, its error
/// never repeats the value given, which holds a secret.
#[derive(Clone, Copy, Debug)]
struct KeyParser;

impl clap::builder::TypedValueParser for KeyParser {
    type Value = ApiKey;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<ApiKey, clap::Error> {
        let refused = |reason: &str| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for --key (not shown: it holds a secret): {reason}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| refused("it is not UTF-8"))?;
        key(text).map_err(|reason| refused(&reason))
    }
}

fn rate(s: &str) -> Result<f64, String> {
    let r: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is not a rate from 0 to 1"))
    }
}

/// Where `plugipay-sandbox` and `plugipay sandbox` listen unless told:
/// loopback, port 8765 (the library's [`SandboxConfig`] takes a free port
/// instead, for tests).
pub const DEFAULT_ADDR: &str = "127.0.0.1:8765";

// Rustdoc only (`concat!`): clap would take a literal doc comment for the
// about of the command that flattens these arguments, replacing that
// command's own once it is built (`plugipay sandbox` is built on demand).
#[doc = concat!("How to run a sandbox from the command line.")]
#[derive(Clone, Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on (HOST:PORT): a fixed port by default, so a
    /// profile's base URL stays right across restarts; port 0 picks a free
    /// one.
    #[arg(long, default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// Create N generated customers in the default workspace at start.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed_customers: usize,

    /// Spread the seeded customers' creation over this many days before
    /// start (0: all created at start).
    #[arg(long, value_name = "DAYS", default_value_t = 0)]
    pub seed_span_days: u32,

    /// Keep at most N events in each workspace's log, the oldest dropped
    /// first (Plugipay publishes no retention).
    #[arg(long, value_name = "N", default_value_t = crate::MAX_EVENTS_PER_WORKSPACE)]
    pub keep_events: usize,

    /// Fraction of writes applied and then answered by closing the connection (0 to 1).
    #[arg(long, value_name = "RATE", value_parser = rate, default_value_t = 0.0)]
    pub drop_after_commit_rate: f64,

    /// Latency added to every request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Seed of the fault dice, for reproducible runs.
    #[arg(long, value_name = "SEED")]
    pub fault_seed: Option<u64>,

    /// How a PATCH applies metadata: `replace` the stored map whole, or
    /// `merge` it key by key (the live API documents neither).
    #[arg(long, value_name = "MODE", default_value = "replace")]
    pub metadata_mode: MetadataMode,

    /// Also accept the default live keys: HMAC ak_live_sandbox /
    /// sk_live_sandbox and Bearer pk_live_sandbox, on the default
    /// workspace's live world (test and live customers, externalIds and
    /// idempotency keys are kept apart).
    #[arg(long)]
    pub live: bool,

    /// Also accept this key, with every scope: an HMAC pair
    /// KEY_ID:SECRET or a Bearer key, on workspace ACCOUNT (default
    /// acct_sandbox). Its prefix decides its mode: ak_test_…:sk_test_…,
    /// pk_test_…:sk_test_… (an HMAC pair as Plugipay's API keys page mints
    /// it) or pk_test_… (Bearer) for test; the same with _live_ for live;
    /// any other prefix is refused. Repeatable.
    #[arg(long = "key", value_name = "KEY_ID:SECRET[@ACCOUNT]", value_parser = KeyParser)]
    pub keys: Vec<ApiKey>,

    /// Rate limits per workspace and mode, one token bucket for reads
    /// (GET) and one for writes: `published` (reads 100/s, writes 20/s, as
    /// Plugipay publishes), `off`, or READS,WRITES per second (0: that
    /// class unlimited). Each bucket holds a second's worth and refills
    /// continuously; every authenticated answer carries
    /// X-RateLimit-Limit/-Remaining/-Reset, and an empty bucket answers 429
    /// rate_limited with Retry-After. `off` sends no such headers.
    #[arg(
        long,
        value_name = "published|off|READS,WRITES",
        default_value = "published"
    )]
    pub rate_limits: RateLimits,

    /// Retry-After of a 429 from an empty rate-limit bucket, in seconds
    /// (never less than the wait for the next token).
    #[arg(long, value_name = "SECS", default_value_t = RateLimits::PUBLISHED_RETRY_AFTER_SECS)]
    pub rate_limit_retry_after: u64,

    /// Deliver every customer event (created, updated, deleted) of the
    /// workspaces the sandbox's keys belong to, test and live, to this URL,
    /// POSTed and signed with --webhook-secret (X-Plugipay-Signature): an
    /// attempt not answered 2xx is retried with backoff (0.1 s doubling to
    /// 5 s), up to 8 attempts, then abandoned and counted. Repeatable (each
    /// URL gets every such event). `plugipay sandbox --forward-to URL` is
    /// the same.
    #[arg(long = "webhook", visible_alias = "forward-to", value_name = "URL")]
    pub webhooks: Vec<String>,

    /// The secret deliveries are signed with (the variable keeps one of
    /// your own off the command line; `plugipay webhooks verify` reads it
    /// too).
    #[arg(long, value_name = "SECRET", default_value = WebhookSecret::DEFAULT,
          env = "PLUGIPAY_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: WebhookSecret,

    /// Share of events delivered twice (0 to 1), to test a receiver's dedupe.
    #[arg(long, value_name = "RATE", value_parser = rate, default_value_t = 0.0)]
    pub delivery_duplicate_rate: f64,

    /// Hold each delivery back a random time up to this, in milliseconds,
    /// so that deliveries arrive late and out of order.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delivery_max_delay_ms: u64,

    /// Which reading of Plugipay to speak where its sources disagree:
    /// `sdk`, as the official SDKs' code (meta.cursor/meta.hasMore,
    /// lower-case error codes, plugipay.customer.created.v1 events), or
    /// `docs`, as Plugipay's reference pages (meta.page = {limit, hasMore,
    /// nextCursor}, UPPER-case codes, events with createdAt, workspaceId
    /// and a bare customer.created type).
    #[arg(long, value_name = "sdk|docs", default_value = "sdk")]
    pub dialect: Dialect,

    /// Run the sandbox's clock this many seconds ahead of the machine's
    /// (negative: behind), to see how clients cope with a clock that is
    /// off: request timestamps are judged, and answers dated, by it.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub clock_offset: i64,
}

impl SandboxArgs {
    /// The sandbox these arguments describe.
    pub fn config(&self) -> SandboxConfig {
        let mut config = SandboxConfig::new()
            .addr(self.addr)
            .seed_customers(self.seed_customers)
            .seed_span(Duration::from_secs(u64::from(self.seed_span_days) * 86_400))
            .keep_events(self.keep_events)
            .metadata_mode(self.metadata_mode)
            .rate_limits(
                self.rate_limits
                    .retry_after_secs(self.rate_limit_retry_after),
            )
            .faults(Faults {
                drop_after_commit_rate: self.drop_after_commit_rate,
                latency: Duration::from_millis(self.latency_ms),
            });
        if let Some(seed) = self.fault_seed {
            config = config.fault_seed(seed);
        }
        if self.live {
            config = config.live_keys();
        }
        for key in &self.keys {
            config = config.key(key.clone());
        }
        for url in &self.webhooks {
            config = config.webhook(url, self.webhook_secret.expose());
        }
        config
            .delivery(DeliveryPolicy {
                duplicate_rate: self.delivery_duplicate_rate,
                max_delay: Duration::from_millis(self.delivery_max_delay_ms),
                ..DeliveryPolicy::default()
            })
            .dialect(self.dialect)
            .clock_offset_secs(self.clock_offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::workspace::Mode;

    #[test]
    fn the_reading_and_the_clock_from_the_command_line() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            sandbox: SandboxArgs,
        }
        use clap::Parser;
        let cli = Cli::try_parse_from(["sandbox", "--dialect", "docs", "--clock-offset", "-600"])
            .unwrap();
        let config = cli.sandbox.config();
        assert_eq!(
            (config.dialect, config.clock_offset_secs),
            (Dialect::Docs, -600)
        );
        let default = Cli::try_parse_from(["sandbox"]).unwrap().sandbox.config();
        assert_eq!(
            (default.dialect, default.clock_offset_secs),
            (Dialect::Sdk, 0)
        );
        assert!(Cli::try_parse_from(["sandbox", "--dialect", "stripe"]).is_err());
    }

    #[test]
    fn rate_limits_from_the_command_line() {
        assert_eq!("published".parse(), Ok(RateLimits::published()));
        assert_eq!("off".parse(), Ok(RateLimits::off()));
        assert_eq!("5, 2".parse(), Ok(RateLimits::new(5, 2)));
        assert_eq!("0,3".parse(), Ok(RateLimits::new(0, 3)));
        for bad in ["", "5", "5,", "a,b", "-1,2", "1,2,3", "1.5,2"] {
            assert!(bad.parse::<RateLimits>().is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_from_the_command_line() {
        let k = key("ak_live_x:sk_live_y@acct_z").unwrap();
        assert_eq!(k.account_id, "acct_z");
        assert_eq!(k.mode(), Ok(Mode::Live));
        assert!(matches!(&k.secret, Secret::Hmac { key_id, secret }
            if key_id == "ak_live_x" && secret == "sk_live_y"));
        let k = key("pk_test_b").unwrap();
        assert_eq!(k.account_id, TEST_ACCOUNT_ID);
        assert_eq!(k.secret, Secret::Bearer("pk_test_b".into()));
        // A pk_ key id with an sk_ secret is an HMAC pair (the API keys
        // page's form), its mode from its prefixes.
        let k = key("pk_test_docs:sk_test_docs").unwrap();
        assert_eq!(k.mode(), Ok(Mode::Test));
        assert!(matches!(&k.secret, Secret::Hmac { key_id, secret }
            if key_id == "pk_test_docs" && secret == "sk_test_docs"));
        for bad in [
            "pk_live_x:sk_test_y",
            "pk_x:sk_x",
            "ak_x:sk_test_y",
            "ak_live_x:sk_test_y",
            "pk_x",
            "pk_live_x@",
            "ak_test_x:sk_x",
        ] {
            assert!(key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_refused_key_is_not_repeated_in_the_error() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            sandbox: SandboxArgs,
        }
        use clap::Parser;
        for bad in [
            "ak_x:sk_test_hunter2",
            "ak_live_x:sk_test_hunter2",
            "pk_hunter2",
            "sk_live_hunter2:ak_live_x",
        ] {
            let error = Cli::try_parse_from(["sandbox", "--key", bad])
                .err()
                .expect("refused");
            let text = error.to_string();
            assert!(text.contains("--key"), "{text}");
            // Not even the start of the secret.
            assert!(!text.contains("hunte"), "{text}");
        }
        let ok = Cli::try_parse_from(["sandbox", "--key", "pk_test_fine"]).unwrap();
        assert_eq!(ok.sandbox.keys.len(), 1);
    }

    #[test]
    fn a_webhook_secret_of_the_users_never_shows_in_debug() {
        let own: WebhookSecret = "whsec_mine_42".parse().unwrap();
        assert!(!format!("{own:?}").contains("mine_42"));
        assert_eq!(own.expose(), "whsec_mine_42");
        let endpoint = crate::WebhookEndpoint::new("http://127.0.0.1:1/hook", "whsec_mine_42");
        assert!(!format!("{endpoint:?}").contains("mine_42"));
        let default: WebhookSecret = WebhookSecret::DEFAULT.parse().unwrap();
        assert!(default.is_default());
    }
}

/// The secret webhook deliveries are signed with, as given on the command
/// line. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// The default secret, `whsec_sandbox`: public, so printing it is safe.
    pub const DEFAULT: &'static str = "whsec_sandbox";

    /// The secret itself, for signing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this is the public default rather than a secret of the user's.
    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }
}

impl std::str::FromStr for WebhookSecret {
    type Err = String;

    /// Any text but the empty one (a delivery signed with no secret proves
    /// nothing, and verifiers refuse an empty secret).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("the webhook secret is empty".to_owned());
        }
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_default() {
            f.debug_tuple("WebhookSecret").field(&self.0).finish()
        } else {
            f.write_str("WebhookSecret(<redacted>)")
        }
    }
}

//! The command-line settings of a sandbox, shared by the `plugipay-sandbox`
//! binary and `plugipay sandbox`.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{Faults, MetadataMode, SandboxConfig};

fn rate(s: &str) -> Result<f64, String> {
    let r: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is not a rate from 0 to 1"))
    }
}

/// How to run a sandbox from the command line.
#[derive(Clone, Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on (HOST:PORT); port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,

    /// Create N generated customers in the default workspace at start.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed_customers: usize,

    /// Spread the seeded customers' creation over this many days before
    /// start (0: all created at start).
    #[arg(long, value_name = "DAYS", default_value_t = 0)]
    pub seed_span_days: u32,

    /// Fraction of requests answered 500 or 503 (0 to 1).
    #[arg(long, value_name = "RATE", value_parser = rate, default_value_t = 0.0)]
    pub error_rate: f64,

    /// Fraction of requests answered 429 with Retry-After (0 to 1).
    #[arg(long, value_name = "RATE", value_parser = rate, default_value_t = 0.0)]
    pub rate_limit_rate: f64,

    /// Retry-After of injected 429s and 503s, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub retry_after: u64,

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
}

impl SandboxArgs {
    /// The sandbox these arguments describe.
    pub fn config(&self) -> SandboxConfig {
        let mut config = SandboxConfig::new()
            .addr(self.addr)
            .seed_customers(self.seed_customers)
            .seed_span(Duration::from_secs(u64::from(self.seed_span_days) * 86_400))
            .metadata_mode(self.metadata_mode)
            .faults(Faults {
                error_rate: self.error_rate,
                rate_limit_rate: self.rate_limit_rate,
                retry_after_secs: self.retry_after,
                drop_after_commit_rate: self.drop_after_commit_rate,
                latency: Duration::from_millis(self.latency_ms),
            });
        if let Some(seed) = self.fault_seed {
            config = config.fault_seed(seed);
        }
        config
    }
}

//! The settings one call runs with: the client's defaults, with the call's
//! own overrides applied.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::id_cache::CustomerIdCache;
use crate::locks::CustomerLocks;
use crate::transport::pacing::{Pacer, RateShare};
use crate::transport::retry::RetryPolicy;

/// Resolved per-call settings.
#[derive(Clone, Default)]
pub(crate) struct Options {
    /// The workspace a platform key acts for (`X-Plugipay-On-Behalf-Of`).
    pub(crate) on_behalf_of: Option<String>,
    /// The time each attempt may take; `None`: the HTTP client's own.
    pub(crate) timeout: Option<Duration>,
    /// The time the whole call may take, attempts and waits together.
    pub(crate) deadline: Option<Duration>,
    /// When the call began, the instant its deadline passes: set once when
    /// the call is sent, and inherited by the requests a call is made of
    /// (ensure, archive, remove, …), so they share one deadline.
    pub(crate) deadline_at: Option<tokio::time::Instant>,
    /// The caller's Idempotency-Key for a write; a fresh one otherwise.
    pub(crate) idempotency_key: Option<String>,
    pub(crate) retry: RetryPolicy,
    /// Where `ensure` looks up ids the list filter cannot find.
    pub(crate) id_cache: Option<Arc<dyn CustomerIdCache>>,
    /// The client's per-customer locks for metadata writes, shared by its
    /// clones.
    pub(crate) locks: Arc<CustomerLocks>,
    /// The client's rate budgets, shared by its clones.
    pub(crate) pacer: Arc<Pacer>,
    /// The share of the rate budget this call draws on: `None` for a
    /// single call (the whole budget), the share for bulk work.
    pub(crate) rate_share: Option<RateShare>,
    /// The share bulk work draws on unless told otherwise (walks, and
    /// calls marked bulk).
    pub(crate) bulk_share: RateShare,
    /// The HTTP requests the client and its clones have sent, retries
    /// included.
    pub(crate) sent: Arc<AtomicU64>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("on_behalf_of", &self.on_behalf_of)
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("deadline_at", &self.deadline_at)
            .field("idempotency_key", &self.idempotency_key)
            .field("retry", &self.retry)
            .field("id_cache", &self.id_cache.is_some())
            .field("rate_share", &self.rate_share)
            .field("bulk_share", &self.bulk_share)
            .finish()
    }
}

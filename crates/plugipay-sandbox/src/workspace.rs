//! Which world a request acts in: a workspace (`accountId`) in one mode.
//! Test and live are separate worlds of the same workspace, so everything
//! kept per workspace — customers, `externalId` uniqueness, idempotency
//! records and their budget, and any rate bucket to come — is kept per
//! [`WorkspaceId`].

use std::fmt;

/// Which of a workspace's two worlds a key acts in. Its prefix says:
/// `pk_test_` / `ak_test_` (an HMAC id with an `sk_test_` secret) for test,
/// `pk_live_` / `ak_live_` (with `sk_live_`) for live. The two worlds share
/// nothing: customers, `externalId` uniqueness, idempotency keys and the
/// idempotency budget are each per workspace *and* mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Test mode: the keys every sandbox has, and where seeds go.
    #[default]
    Test,
    /// Live mode: only with live keys configured.
    Live,
}

impl Mode {
    /// `test` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    /// The mode a credential's prefix names: `{kind}_test_…` or
    /// `{kind}_live_…` (`kind` being `pk`, `ak` or `sk`); `None` for any
    /// other text.
    pub(crate) fn of(credential: &str, kind: &str) -> Option<Mode> {
        let rest = credential.strip_prefix(kind)?.strip_prefix('_')?;
        if rest.starts_with("test_") {
            Some(Mode::Test)
        } else if rest.starts_with("live_") {
            Some(Mode::Live)
        } else {
            None
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A workspace in one mode.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct WorkspaceId {
    /// The workspace (`accountId`).
    pub account: String,
    /// Test or live.
    pub mode: Mode,
}

impl WorkspaceId {
    /// `account` in `mode`.
    pub fn new(account: impl Into<String>, mode: Mode) -> Self {
        Self {
            account: account.into(),
            mode,
        }
    }

    /// `account`'s test world.
    pub fn test(account: impl Into<String>) -> Self {
        Self::new(account, Mode::Test)
    }
}

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.account, self.mode)
    }
}

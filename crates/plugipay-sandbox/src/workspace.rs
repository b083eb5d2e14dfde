//! Which world a request acts in: a workspace (`accountId`) in one mode.
//! Test and live are separate worlds of the same workspace, so everything
//! kept per workspace — customers, `externalId` uniqueness, idempotency
//! records and their budget, and any rate bucket to come — is kept per
//! [`WorkspaceId`].

use std::fmt;

use crate::config::Mode;

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

//! The archive convention: a customer that cannot be deleted (it has money
//! history) is retired by setting `metadata.archived = "true"`, and lists
//! can skip it.

pub use plugipay_api::archive::{ARCHIVED_KEY, ARCHIVED_VALUE, UNARCHIVED_VALUE};

use crate::customer::Customer;

/// Which customers a list keeps, by the archive convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArchiveFilter {
    /// Only customers that are not archived.
    Active,
    /// Only archived customers.
    Archived,
}

impl ArchiveFilter {
    /// Whether `customer` passes the filter.
    pub fn keeps(self, customer: &Customer) -> bool {
        self.keeps_flag(customer.is_archived())
    }

    /// Whether a customer that is (or is not) archived passes the filter.
    pub(crate) fn keeps_flag(self, archived: bool) -> bool {
        archived == (self == ArchiveFilter::Archived)
    }
}

//! The archive convention: a customer that cannot be deleted (it has money
//! history) is retired by setting `metadata.archived = "true"`, and lists
//! can skip it.

use crate::customer::Customer;

/// The metadata key that marks an archived customer.
pub const ARCHIVED_KEY: &str = "archived";
/// Its value on an archived customer.
pub const ARCHIVED_VALUE: &str = "true";
/// Its value on a customer taken out of the archive. Any value but
/// [`ARCHIVED_VALUE`], or no key, reads as active; unarchiving writes this
/// one rather than removing the key, because removing one key cannot be
/// written the same way for a server that merges metadata and one that
/// replaces it.
pub const UNARCHIVED_VALUE: &str = "false";

impl Customer {
    /// Whether the customer is archived (`metadata.archived == "true"`).
    pub fn is_archived(&self) -> bool {
        self.metadata.get(ARCHIVED_KEY).map(String::as_str) == Some(ARCHIVED_VALUE)
    }
}

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
        customer.is_archived() == (self == ArchiveFilter::Archived)
    }
}

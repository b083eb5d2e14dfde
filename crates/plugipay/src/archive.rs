//! The archive convention: Plugipay has no delete, so a customer is
//! "removed" by setting `metadata.archived = "true"`, and lists skip it.

use crate::customer::{Customer, CustomerUpdate};
use crate::customers::{GetCustomer, UpdateCustomer};
use crate::error::Error;
use crate::request::{Request, into_future, write_op};

/// The metadata key that marks an archived customer.
pub const ARCHIVED_KEY: &str = "archived";
/// Its value on an archived customer.
pub const ARCHIVED_VALUE: &str = "true";

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

/// `customers().archive(..)` and `customers().unarchive(..)`.
#[derive(Debug, Clone)]
pub struct ArchiveCustomer {
    pub(crate) id: String,
    pub(crate) archived: bool,
}

write_op!(ArchiveCustomer);
into_future!(ArchiveCustomer => Customer);

impl Request<ArchiveCustomer> {
    /// Sends the call; the same as awaiting the request.
    ///
    /// Reads the customer, then (unless it already is in the wanted state,
    /// which makes archiving twice harmless) writes its whole metadata map
    /// back with `archived` set or removed. Sending every key keeps the
    /// customer's other metadata whether the server merges the map or
    /// replaces it. A metadata change made by someone else between the read
    /// and the write can be lost.
    pub async fn send(self) -> Result<Customer, Error> {
        let id = self.op.id.clone();
        let current = self.with_op(GetCustomer { id: id.clone() }).send().await?;
        if current.is_archived() == self.op.archived {
            return Ok(current);
        }
        let mut update = CustomerUpdate::new();
        for (key, value) in current.metadata.iter().filter(|(k, _)| *k != ARCHIVED_KEY) {
            update = update.set_metadata(key, value);
        }
        update = if self.op.archived {
            update.set_metadata(ARCHIVED_KEY, ARCHIVED_VALUE)
        } else {
            update.remove_metadata(ARCHIVED_KEY)
        };
        self.with_op(UpdateCustomer { id, update }).send().await
    }
}

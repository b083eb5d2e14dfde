//! `customers().archive(id)` / `unarchive(id)`: the archive convention's
//! read-merge-write of `metadata.archived`.

use super::{GetCustomer, UpdateCustomer};
use crate::archive::{ARCHIVED_KEY, ARCHIVED_VALUE};
use crate::customer::{Customer, CustomerUpdate};
use crate::error::Error;
use crate::request::{Operation, Request, Write, private};

/// `customers().archive(..)` and `customers().unarchive(..)`.
#[derive(Debug, Clone)]
pub struct ArchiveCustomer {
    pub(crate) id: String,
    pub(crate) archived: bool,
}

impl private::Sealed for ArchiveCustomer {}
impl Write for ArchiveCustomer {}

impl Operation for ArchiveCustomer {
    type Output = Customer;
    const NAME: &'static str = "archive_customer";

    /// Reads the customer, then (unless it already is in the wanted state,
    /// which makes archiving twice harmless) writes its whole metadata map
    /// back with `archived` set or removed.
    async fn run(request: Request<Self>) -> Result<Customer, Error> {
        let id = request.op.id.clone();
        let current = request
            .with_op(GetCustomer { id: id.clone() })
            .send()
            .await?;
        if current.is_archived() == request.op.archived {
            return Ok(current);
        }
        let mut update = CustomerUpdate::new();
        for (key, value) in current.metadata.iter().filter(|(k, _)| *k != ARCHIVED_KEY) {
            update = update.set_metadata(key, value);
        }
        update = if request.op.archived {
            update.set_metadata(ARCHIVED_KEY, ARCHIVED_VALUE)
        } else {
            update.remove_metadata(ARCHIVED_KEY)
        };
        request.with_op(UpdateCustomer { id, update }).send().await
    }
}

//! `customers().set_metadata(..)`, `archive(id)` and `unarchive(id)`: metadata
//! changes written as the customer's whole map (read, change, write), which
//! gives the same result whether the server merges a PATCHed map or
//! replaces the stored one with it.

use std::collections::BTreeMap;

use super::{GetCustomer, UpdateCustomer};
use crate::archive::{ARCHIVED_KEY, ARCHIVED_VALUE, UNARCHIVED_VALUE};
use crate::customer::{Customer, CustomerUpdate};
use crate::error::Error;
use crate::transport::request::{Operation, Request, Write, private};

/// `customers().set_metadata(..)`.
#[derive(Debug, Clone)]
pub struct SetMetadata {
    pub(crate) id: String,
    pub(crate) entries: BTreeMap<String, String>,
}

impl private::Sealed for SetMetadata {}
impl Write for SetMetadata {}

impl Operation for SetMetadata {
    type Output = Customer;
    const NAME: &'static str = "set_customer_metadata";

    async fn run(request: Request<Self>) -> Result<Customer, Error> {
        let entries = request.op.entries.clone();
        let id = request.op.id.clone();
        write_entries(&request, id, |current| {
            let mut map = current.metadata.clone();
            map.extend(entries);
            map
        })
        .await
    }
}

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

    /// Reads the customer; unless it already is in the wanted state (which
    /// makes archiving twice harmless), writes its whole metadata map back
    /// with `archived` set to `"true"`, or to `"false"` to unarchive.
    async fn run(request: Request<Self>) -> Result<Customer, Error> {
        let archived = request.op.archived;
        let id = request.op.id.clone();
        write_entries(&request, id, |current| {
            let mut map = current.metadata.clone();
            if current.is_archived() != archived {
                let value = if archived {
                    ARCHIVED_VALUE
                } else {
                    UNARCHIVED_VALUE
                };
                map.insert(ARCHIVED_KEY.to_owned(), value.to_owned());
            }
            map
        })
        .await
    }
}

/// Reads customer `id`, computes the metadata it should hold with `change`,
/// and, when that differs from what it holds, sends the whole map in a PATCH
/// under the request's idempotency key. Calls of one client (and its
/// clones) on the same customer run one at a time, so none loses another's
/// change; writers in other processes can still interleave (see
/// [`Customers::set_metadata`](crate::Customers::set_metadata)).
async fn write_entries<Op: Write>(
    request: &Request<Op>,
    id: String,
    change: impl FnOnce(&Customer) -> BTreeMap<String, String>,
) -> Result<Customer, Error> {
    let options = request.options();
    let _writing = options
        .locks
        .lock(options.on_behalf_of.as_deref(), &id, options.deadline_at)
        .await?;
    let current = request
        .with_op(GetCustomer { id: id.clone() })
        .send()
        .await?;
    let wanted = change(&current);
    if wanted == current.metadata {
        return Ok(current);
    }
    let update = CustomerUpdate::new().metadata_map(wanted);
    request.with_op(UpdateCustomer { id, update }).send().await
}

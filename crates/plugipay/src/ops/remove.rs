//! `customers().remove(id)`: delete when the server allows it, archive when
//! it refuses because of money history.

use super::{ArchiveCustomer, DeleteCustomer};
use crate::customer::Customer;
use crate::error::{Error, ErrorCode};
use crate::transport::request::{Operation, Request, Write, private};

/// `customers().remove(..)`.
#[derive(Debug, Clone)]
pub struct RemoveCustomer {
    pub(crate) id: String,
}

/// What [`Customers::remove`](crate::Customers::remove) did.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per call, matched at once: boxing would only add a step for the caller"
)]
pub enum Removed {
    /// The customer was deleted: it is gone, and its `externalId` is free.
    Deleted,
    /// The server refused the delete (409 `conflict`: the customer has money
    /// history), so the customer was archived instead; here it is.
    Archived(Customer),
}

impl private::Sealed for RemoveCustomer {}
impl Write for RemoveCustomer {}

impl Operation for RemoveCustomer {
    type Output = Removed;
    const NAME: &'static str = "remove_customer";

    /// Sends the DELETE; on 409 `conflict`, archives. With a caller's
    /// idempotency key `K`, the delete is sent under `K` and the archive's
    /// PATCH under `K:archive` (8 characters longer: mind a server's key
    /// length limit), so repeating the whole call with `K` repeats neither
    /// write. Without a key, repeating a `remove` that deleted the customer
    /// fails with `not_found`.
    async fn run(request: Request<Self>) -> Result<Removed, Error> {
        let id = request.op.id.clone();
        let delete = request.with_op(DeleteCustomer { id: id.clone() });
        match delete.send().await {
            Ok(()) => return Ok(Removed::Deleted),
            Err(error) if error.code() == Some(&ErrorCode::Conflict) => {}
            Err(error) => return Err(error),
        }
        let mut archive = request.with_op(ArchiveCustomer { id, archived: true });
        if let Some(key) = &request.options().idempotency_key {
            archive = archive.idempotency_key(format!("{key}:archive"));
        }
        archive.send().await.map(Removed::Archived)
    }
}

//! The SDK's operations, one file each: what each sends and what it returns.

mod archive;
mod create;
mod ensure;
mod get;
mod list;
mod update;

pub use archive::ArchiveCustomer;
pub use create::CreateCustomer;
pub use ensure::{EnsureCustomer, Ensured};
pub use get::GetCustomer;
pub use list::ListCustomers;
pub use update::UpdateCustomer;

use crate::customer::Customer;
use crate::decode::{self, Envelope};
use crate::error::Error;

/// A customer id bound for a path, checked.
fn checked_id(id: &str) -> Result<(), Error> {
    plugipay_api::validate::path_segment("id", id).map_err(Error::invalid)
}

/// The customer an envelope must carry.
fn customer(envelope: Envelope<Customer>) -> Result<Customer, Error> {
    envelope
        .data
        .ok_or_else(|| decode::no_data(envelope.status, "a customer"))
}

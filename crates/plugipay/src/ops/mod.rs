//! The SDK's operations, one file each: what each sends and what it returns.

mod create;
mod delete;
mod ensure;
mod find;
mod get;
mod list;
mod list_json;
mod metadata;
mod raw;
mod remove;
mod sync;
mod update;

pub use create::CreateCustomer;
pub use delete::DeleteCustomer;
pub use ensure::{EnsureCustomer, Ensured};
pub use find::FindCustomer;
pub use get::GetCustomer;
pub use list::ListCustomers;
pub use list_json::ListCustomersJson;
pub use metadata::{ArchiveCustomer, SetMetadata};
pub use raw::{Raw, RawList, escape_path_segment};
pub use remove::{RemoveCustomer, Removed};
pub use sync::{SyncAction, SyncCustomer, Synced};
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

//! The SDK's operations, one file each: what each sends and what it returns.

mod call;
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

pub use call::{Call, CallList};
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
pub use sync::{SyncAction, SyncCustomer, SyncPlan, Synced};
pub use update::UpdateCustomer;

use crate::customer::Customer;
use crate::error::Error;
use crate::transport::decode::{self, Envelope};

/// What a write came to: the server's answer, or, when its outcome was
/// unknown, what reading the customer back showed.
enum Settled<A, R> {
    Answered(A),
    ReadBack(R),
}

/// A write's result, settled when its outcome is unknown: `read_back`
/// looks at the server and returns what the write stands for when what it
/// finds shows the write was applied (`Ok(Some(..))`). Anything else — not
/// found, not as written, or the read failing — keeps the
/// [`Error::OutcomeUnknown`]: a late copy of the write may still arrive.
async fn settle<A, R, F>(
    result: Result<A, Error>,
    read_back: impl FnOnce() -> F,
) -> Result<Settled<A, R>, Error>
where
    F: std::future::Future<Output = Result<Option<R>, Error>>,
{
    match result {
        Ok(answer) => Ok(Settled::Answered(answer)),
        Err(Error::OutcomeUnknown(last)) => match read_back().await {
            Ok(Some(found)) => {
                tracing::debug!("a write of unknown outcome was read back as applied");
                Ok(Settled::ReadBack(found))
            }
            Ok(None) => Err(Error::OutcomeUnknown(last)),
            Err(error) => {
                tracing::debug!(error = %error, "reading back a write of unknown outcome failed");
                Err(Error::OutcomeUnknown(last))
            }
        },
        Err(error) => Err(error),
    }
}

/// The customer an envelope must carry.
fn customer(envelope: Envelope<Customer>) -> Result<Customer, Error> {
    envelope
        .data
        .ok_or_else(|| decode::no_data(envelope.status, "a customer"))
}

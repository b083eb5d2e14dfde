//! `customers().sync(external_id, record)`: make the customer with your own
//! id hold a record from your CRM: create it, update the fields that differ,
//! or leave it alone.

use super::{EnsureCustomer, GetCustomer, UpdateCustomer};
use crate::customer::{Customer, NewCustomer};
use crate::difference::difference;
use crate::error::Error;
use crate::request::{Operation, Request, Write, private};

/// What [`Customers::sync`](crate::Customers::sync) did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncAction {
    /// There was no customer with the external id: it was created.
    Created,
    /// The customer existed and these fields (wire names) were changed.
    Updated(Vec<String>),
    /// The customer already held the record: nothing was written.
    Unchanged,
}

/// What [`Customers::sync`](crate::Customers::sync) returns.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Synced {
    /// The customer as it now is.
    pub customer: Customer,
    /// What the call did.
    pub action: SyncAction,
    /// Wanted fields that differ but that an update cannot change (fields
    /// only a create takes); nothing was done about them.
    pub unchangeable: Vec<String>,
}

/// `customers().sync(..)`.
#[derive(Debug, Clone)]
pub struct SyncCustomer {
    pub(crate) external_id: String,
    pub(crate) record: NewCustomer,
}

impl private::Sealed for SyncCustomer {}
impl Write for SyncCustomer {}

impl Operation for SyncCustomer {
    type Output = Synced;
    const NAME: &'static str = "sync_customer";

    /// Ensures the customer (created once, however often retried); when it
    /// existed, PATCHes the fields [`difference`] finds. With a caller's
    /// idempotency key `K`, the create is sent under `K` and the update
    /// under `K:update`.
    async fn run(request: Request<Self>) -> Result<Synced, Error> {
        let record = request.op.record.clone();
        let ensure = request.with_op(EnsureCustomer {
            external_id: request.op.external_id.clone(),
            attrs: record.clone(),
        });
        let mut ensured = ensure.send().await?;
        if ensured.created {
            return Ok(Synced {
                customer: ensured.customer,
                action: SyncAction::Created,
                unchangeable: Vec::new(),
            });
        }
        let mut change = difference(&ensured.customer, &record);
        // The metadata is written whole: under this client's lock on the
        // customer, from a fresh read, so no other metadata write of this
        // client is lost.
        let _writing = if change.update.metadata.as_set().is_some() {
            let options = request.options();
            let id = &ensured.customer.id;
            let guard = options
                .locks
                .lock(options.on_behalf_of.as_deref(), id, options.deadline_at)
                .await?;
            let current = request
                .with_op(GetCustomer { id: id.clone() })
                .send()
                .await?;
            change = difference(&current, &record);
            ensured.customer = current;
            Some(guard)
        } else {
            None
        };
        if change.fields.is_empty() {
            return Ok(Synced {
                customer: ensured.customer,
                action: SyncAction::Unchanged,
                unchangeable: change.unchangeable,
            });
        }
        let mut update = request.with_op(UpdateCustomer {
            id: ensured.customer.id.clone(),
            update: change.update,
        });
        if let Some(key) = &request.options().idempotency_key {
            update = update.idempotency_key(format!("{key}:update"));
        }
        Ok(Synced {
            customer: update.send().await?,
            action: SyncAction::Updated(change.fields),
            unchangeable: change.unchangeable,
        })
    }
}

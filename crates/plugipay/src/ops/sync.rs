//! `customers().sync(external_id, record)`: make the customer with your own
//! id hold a record from your CRM: create it, update the fields that differ,
//! or leave it alone.

use super::{EnsureCustomer, GetCustomer, UpdateCustomer};
use crate::customer::{Customer, NewCustomer};
use crate::difference::{Difference, difference};
use crate::error::Error;
use crate::transport::request::{Operation, Request, Write, private};

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

/// What a sync of a record would do to the customer with its external id,
/// decided from that customer as read: the one rule behind
/// [`Customers::sync`](crate::Customers::sync), for a dry run or a plan
/// shown before any write.
///
/// ```
/// use plugipay::{NewCustomer, SyncPlan};
///
/// let record = NewCustomer::new().external_id("crm_1").email("ada@example.com");
/// assert_eq!(SyncPlan::decide(None, &record), SyncPlan::Create);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SyncPlan {
    /// No customer has the external id: create it.
    Create,
    /// The customer holds other values: PATCH the fields of the difference
    /// (its metadata, when it changes, written whole from a fresh read).
    Update(Difference),
    /// The customer already holds the record: nothing to write. Wanted
    /// fields an update cannot change are listed in the difference's
    /// `unchangeable`.
    Unchanged(Difference),
}

impl SyncPlan {
    /// The plan for `record` when the customer with its external id is
    /// `current` (`None`: there is none).
    pub fn decide(current: Option<&Customer>, record: &NewCustomer) -> SyncPlan {
        match current {
            None => SyncPlan::Create,
            Some(current) => {
                let change = difference(current, record);
                if change.fields.is_empty() {
                    SyncPlan::Unchanged(change)
                } else {
                    SyncPlan::Update(change)
                }
            }
        }
    }
}

/// `customers().sync(..)`.
#[derive(Debug, Clone)]
pub struct SyncCustomer {
    pub(crate) external_id: String,
    pub(crate) record: NewCustomer,
    /// The customer with the external id as the caller already read it.
    pub(crate) current: Option<Customer>,
}

impl Request<SyncCustomer> {
    /// Decides from `customer`, the customer with this external id as you
    /// already read it (by a walk of the book, say), instead of looking it
    /// up: a record it already holds costs no request, and a change is one
    /// PATCH of the fields that differ (a metadata change still reads the
    /// customer again, under this client's lock, and writes the whole map).
    /// A customer with another external id is refused before the network.
    pub fn current(mut self, customer: Customer) -> Self {
        self.op.current = Some(customer);
        self
    }
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
        let mut customer = match request.op.current.clone() {
            Some(current) => {
                if current.external_id.as_deref() != Some(request.op.external_id.as_str()) {
                    return Err(Error::InvalidArgument {
                        field: "current".into(),
                        reason: format!(
                            "the customer given ({}) does not have the external id {:?}",
                            current.id, request.op.external_id
                        ),
                    });
                }
                current
            }
            None => {
                let ensured = request
                    .with_op(EnsureCustomer {
                        external_id: request.op.external_id.clone(),
                        attrs: record.clone(),
                    })
                    .send()
                    .await?;
                if ensured.created {
                    return Ok(Synced {
                        customer: ensured.customer,
                        action: SyncAction::Created,
                        unchangeable: Vec::new(),
                    });
                }
                ensured.customer
            }
        };
        let mut change = difference(&customer, &record);
        // The metadata is written whole: under this client's lock on the
        // customer, from a fresh read, so no other metadata write of this
        // client is lost.
        let _writing = if change.update.metadata.as_set().is_some() {
            let options = request.options();
            let id = &customer.id;
            let guard = options
                .locks
                .lock(options.on_behalf_of.as_deref(), id, options.deadline_at)
                .await?;
            let current = request
                .with_op(GetCustomer { id: id.clone() })
                .send()
                .await?;
            change = difference(&current, &record);
            customer = current;
            Some(guard)
        } else {
            None
        };
        if change.fields.is_empty() {
            return Ok(Synced {
                customer,
                action: SyncAction::Unchanged,
                unchangeable: change.unchangeable,
            });
        }
        let mut update = request.with_op(UpdateCustomer {
            id: customer.id.clone(),
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

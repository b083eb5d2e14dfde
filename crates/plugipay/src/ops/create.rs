//! `customers().create(new)`: a new customer, under an Idempotency-Key.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use plugipay_api::endpoint::Endpoint;
use plugipay_api::endpoints;

use super::{FindCustomer, Settled, customer, settle};
use crate::customer::{Customer, NewCustomer};
use crate::difference::difference;
use crate::error::{Error, ErrorCode};
use crate::transport::decode;
use crate::transport::request::{Operation, Request, Write, private};

/// `customers().create(..)`.
#[derive(Debug, Clone)]
pub struct CreateCustomer {
    pub(crate) customer: NewCustomer,
}

impl private::Sealed for CreateCustomer {}
impl Write for CreateCustomer {}

impl Operation for CreateCustomer {
    type Output = Customer;
    const NAME: &'static str = endpoints::CreateCustomer::OPERATION_ID;

    /// Sends the create. A 2xx without a customer (an empty answer) means
    /// it was created: the customer is then found by its `externalId`; one
    /// without an `externalId` cannot be found, and the call fails with
    /// [`Error::OutcomeUnknown`] around an [`Error::Decode`] that says the
    /// create was accepted (it was applied; its answer is unknown). A create whose
    /// outcome is unknown is read back by its `externalId` too: found,
    /// holding every field it sent, and created (by the server's
    /// `createdAt`) no earlier than the whole second this call began in
    /// (by this machine's clock moved by the offset the client learned from
    /// the server's `Date` headers; a server may keep whole seconds), it is
    /// the created customer; otherwise (or with no `externalId`) the call
    /// fails with [`Error::OutcomeUnknown`]. A server clock behind ours can
    /// only make a creation unknown, never claim an older customer as new.
    async fn run(request: Request<Self>) -> Result<Customer, Error> {
        let started = Utc::now();
        let new = &request.op.customer;
        let endpoint = endpoints::CreateCustomer { body: new.clone() };
        let outgoing = request.outgoing_for(&endpoint)?;
        let answer = request.exchange(outgoing).await;
        // A 409 `conflict` may mean the externalId was taken before this
        // create (not by it): that answer goes back as it is, for `ensure`
        // to tell apart, never read back as a creation.
        let answer = match answer {
            Err(Error::OutcomeUnknown(last)) if last.code() == Some(&ErrorCode::Conflict) => {
                return Err(Error::OutcomeUnknown(last));
            }
            other => other,
        };
        let settled = settle(answer, || async {
            let found = find(&request, new).await?;
            // The call's start by the server's clock, as known now.
            let since = request.on_server_clock(started).trunc_subsecs(0);
            Ok(found.filter(|customer| {
                difference(customer, new).is_empty() && customer.created_at >= since
            }))
        })
        .await?;
        let envelope = match settled {
            Settled::ReadBack(customer) => return Ok(customer),
            Settled::Answered(envelope) => envelope,
        };
        if envelope.data.is_some() {
            return customer(envelope);
        }
        if new.external_id.is_none() {
            return Err(Error::OutcomeUnknown(Box::new(decode::no_data(
                envelope.status,
                "a customer: the create was accepted, but the new customer's id is unknown \
                 (do not send it again under a new idempotency key)",
            ))));
        }
        // Applied (a 2xx): not finding the result is no failure of the
        // create.
        match find(&request, new).await {
            Ok(Some(customer)) => Ok(customer),
            Ok(None) => Err(decode::no_data(envelope.status, "the customer it created")),
            Err(error) => Err(error),
        }
        .map_err(|e| Error::OutcomeUnknown(Box::new(e)))
    }
}

/// How far the server's clock and ours may disagree: a customer whose
/// `createdAt` is more than this before a call began existed before it.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Whether `customer` surely existed before a call that began at `started`
/// (by our clock): created more than [`CLOCK_SKEW`] before it.
pub(super) fn predates(customer: &Customer, started: DateTime<Utc>) -> bool {
    customer.created_at < started - CLOCK_SKEW
}

/// The customer holding `new`'s `externalId`; `None` without one.
async fn find(
    request: &Request<CreateCustomer>,
    new: &NewCustomer,
) -> Result<Option<Customer>, Error> {
    let Some(external_id) = &new.external_id else {
        return Ok(None);
    };
    let find = FindCustomer {
        external_id: external_id.clone(),
    };
    request.with_op(find).send().await
}

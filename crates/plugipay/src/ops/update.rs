//! `customers().update(id, change)`: a PATCH of the fields a change touches.

use plugipay_api::endpoint::Endpoint;
use plugipay_api::endpoints;

use super::{GetCustomer, Settled, customer, settle};
use crate::customer::{Customer, CustomerUpdate};
use crate::difference::holds_update;
use crate::error::Error;
use crate::transport::request::{Operation, Request, Write, private};

/// `customers().update(..)`.
#[derive(Debug, Clone)]
pub struct UpdateCustomer {
    pub(crate) id: String,
    pub(crate) update: CustomerUpdate,
}

impl private::Sealed for UpdateCustomer {}
impl Write for UpdateCustomer {}

impl Operation for UpdateCustomer {
    type Output = Customer;
    const NAME: &'static str = endpoints::UpdateCustomer::OPERATION_ID;

    /// Sends the PATCH. A 2xx without a customer (an empty answer) means the
    /// change was made: the customer is then read back with a GET. A PATCH
    /// whose outcome is unknown is read back too: a customer that holds
    /// every field it sent is the answer; otherwise the call fails with
    /// [`Error::OutcomeUnknown`].
    async fn run(request: Request<Self>) -> Result<Customer, Error> {
        let id = request.op.id.clone();
        let body = &request.op.update;
        let endpoint = endpoints::UpdateCustomer {
            id: id.clone(),
            body: body.clone(),
        };
        let outgoing = request.outgoing_for(&endpoint)?;
        let answer = request.exchange(outgoing).await;
        let settled = settle(answer, || async {
            let current = request
                .with_op(GetCustomer { id: id.clone() })
                .send()
                .await?;
            Ok(holds_update(&current, body).then_some(current))
        })
        .await?;
        let envelope = match settled {
            Settled::Answered(envelope) => envelope,
            Settled::ReadBack(current) => return Ok(current),
        };
        if envelope.data.is_none() {
            // Applied (a 2xx): a failed read of the result is no failure of
            // the update.
            return request
                .with_op(GetCustomer { id })
                .send()
                .await
                .map_err(|e| Error::OutcomeUnknown(Box::new(e)));
        }
        customer(envelope)
    }
}

//! `customers().create(new)`: a new customer, under an Idempotency-Key.

use reqwest::Method;

use super::customer;
use crate::customer::{Customer, ListParams, NewCustomer};
use crate::decode;
use crate::error::Error;
use crate::outgoing::{Outgoing, customers_path};
use crate::request::{Operation, Request, Write, private};

use super::ListCustomers;

/// `customers().create(..)`.
#[derive(Debug, Clone)]
pub struct CreateCustomer {
    pub(crate) customer: NewCustomer,
}

impl private::Sealed for CreateCustomer {}
impl Write for CreateCustomer {}

impl Operation for CreateCustomer {
    type Output = Customer;
    const NAME: &'static str = "create_customer";

    /// Sends the create. A 2xx without a customer (an empty answer) means
    /// it was created: the customer is then found by its `externalId`; one
    /// without an `externalId` cannot be found, and the call fails with an
    /// [`Error::Decode`] that says the create was accepted.
    async fn run(request: Request<Self>) -> Result<Customer, Error> {
        let external_id = request.op.customer.external_id.clone();
        let body = &request.op.customer;
        let outgoing = Outgoing::new(Method::POST, customers_path(&[]))
            .json(body)?
            .idempotency_key(request.resolved_idempotency_key()?);
        let envelope = request.exchange(outgoing).await?;
        if envelope.data.is_some() {
            return customer(envelope);
        }
        let Some(external_id) = external_id else {
            return Err(decode::no_data(
                envelope.status,
                "a customer: the create was accepted, but the new customer's id is unknown \
                 (do not send it again under a new idempotency key)",
            ));
        };
        let filter = ListParams::new().external_id(external_id.clone()).limit(1);
        let page = request.with_op(ListCustomers::new(filter)).send().await?;
        page.items
            .into_iter()
            .find(|c| c.external_id.as_deref() == Some(external_id.as_str()))
            .ok_or_else(|| decode::no_data(envelope.status, "the customer it created"))
    }
}

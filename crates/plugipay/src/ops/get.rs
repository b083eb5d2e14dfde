//! `customers().get(id)`: one customer by id.

use plugipay_api::endpoint::Endpoint;
use plugipay_api::endpoints;

use super::customer;
use crate::customer::Customer;
use crate::error::Error;
use crate::transport::outgoing::Outgoing;
use crate::transport::request::{Operation, Request, private};

/// `customers().get(..)`.
#[derive(Debug, Clone)]
pub struct GetCustomer {
    pub(crate) id: String,
}

impl private::Sealed for GetCustomer {}

impl Operation for GetCustomer {
    type Output = Customer;
    const NAME: &'static str = endpoints::GetCustomer::OPERATION_ID;

    async fn run(request: Request<Self>) -> Result<Customer, Error> {
        let endpoint = endpoints::GetCustomer {
            id: request.op.id.clone(),
        };
        let outgoing = Outgoing::endpoint(&endpoint)?.needs_data();
        customer(request.exchange(outgoing).await?)
    }
}

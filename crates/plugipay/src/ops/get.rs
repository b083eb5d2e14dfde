//! `customers().get(id)`: one customer by id.

use reqwest::Method;

use super::{checked_id, customer};
use crate::customer::Customer;
use crate::error::Error;
use crate::outgoing::{Outgoing, customers_path};
use crate::request::{Operation, Request, private};

/// `customers().get(..)`.
#[derive(Debug, Clone)]
pub struct GetCustomer {
    pub(crate) id: String,
}

impl private::Sealed for GetCustomer {}

impl Operation for GetCustomer {
    type Output = Customer;
    const NAME: &'static str = "get_customer";

    async fn run(request: Request<Self>) -> Result<Customer, Error> {
        checked_id(&request.op.id)?;
        let outgoing = Outgoing::new(Method::GET, customers_path(&[&request.op.id])).needs_data();
        customer(request.exchange(outgoing).await?)
    }
}

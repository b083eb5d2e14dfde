//! `customers().find(external_id)`: the customer holding your own id, if any.

use super::ListCustomers;
use crate::customer::{Customer, ListParams};
use crate::error::Error;
use crate::transport::request::{Operation, Request, private};

/// `customers().find(..)`.
#[derive(Debug, Clone)]
pub struct FindCustomer {
    pub(crate) external_id: String,
}

impl private::Sealed for FindCustomer {}

impl Operation for FindCustomer {
    type Output = Option<Customer>;
    const NAME: &'static str = "find_customer";

    /// Lists with the `externalId` filter, one item, and keeps it only if it
    /// really holds the id (a server that ignored the filter would answer
    /// with someone else).
    async fn run(request: Request<Self>) -> Result<Option<Customer>, Error> {
        let external_id = request.op.external_id.clone();
        let filter = ListParams::new().external_id(external_id.clone()).limit(1);
        let page = request.with_op(ListCustomers::new(filter)).send().await?;
        Ok(page
            .items
            .into_iter()
            .find(|c| c.external_id.as_deref() == Some(external_id.as_str())))
    }
}

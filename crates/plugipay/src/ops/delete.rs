//! `customers().delete(id)`: a DELETE of a customer with no money history.

use plugipay_api::endpoint::Endpoint;
use plugipay_api::endpoints;
use serde::de::IgnoredAny;

use super::{GetCustomer, settle};
use crate::error::{Error, ErrorCode};
use crate::transport::request::{Operation, Request, Write, private};

/// `customers().delete(..)`.
#[derive(Debug, Clone)]
pub struct DeleteCustomer {
    pub(crate) id: String,
}

impl private::Sealed for DeleteCustomer {}
impl Write for DeleteCustomer {}

impl Operation for DeleteCustomer {
    type Output = ();
    const NAME: &'static str = endpoints::DeleteCustomer::OPERATION_ID;

    /// Sends the DELETE under an Idempotency-Key: a retry of a delete that
    /// was applied but whose answer was lost replays the first answer
    /// instead of failing with 404. Any 2xx is success, with or without a body.
    /// A delete whose outcome is unknown is read back: a customer that is
    /// gone (404) was deleted; otherwise the call fails with
    /// [`Error::OutcomeUnknown`].
    async fn run(request: Request<Self>) -> Result<(), Error> {
        let id = request.op.id.clone();
        let endpoint = endpoints::DeleteCustomer { id: id.clone() };
        let outgoing = request.outgoing_for(&endpoint)?;
        let answer = request.exchange::<IgnoredAny>(outgoing).await;
        settle(answer, || async {
            match request.with_op(GetCustomer { id: id.clone() }).send().await {
                Err(error) if error.code() == Some(&ErrorCode::NotFound) => Ok(Some(())),
                Err(error) => Err(error),
                Ok(_) => Ok(None),
            }
        })
        .await?;
        Ok(())
    }
}

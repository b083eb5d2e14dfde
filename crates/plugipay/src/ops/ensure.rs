//! `customers().ensure(external_id, attrs)`: find-or-create by your own id,
//! never creating a second customer.

use super::{CreateCustomer, FindCustomer, GetCustomer};
use crate::customer::{Customer, NewCustomer};
use crate::error::{Error, ErrorCode};
use crate::request::{Operation, Request, Write, private};

/// What [`Customers::ensure`](crate::Customers::ensure) returns.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Ensured {
    /// The customer with the external id.
    pub customer: Customer,
    /// Whether this call created it (`false`: it existed).
    pub created: bool,
}

/// `customers().ensure(..)`.
#[derive(Debug, Clone)]
pub struct EnsureCustomer {
    pub(crate) external_id: String,
    pub(crate) attrs: NewCustomer,
}

impl private::Sealed for EnsureCustomer {}
impl Write for EnsureCustomer {}

impl Operation for EnsureCustomer {
    type Output = Ensured;
    const NAME: &'static str = "ensure_customer";

    /// Creates the customer with the external id (and the attributes); on
    /// 409 `conflict`, finds the existing one with the `externalId` list
    /// filter, then with the client's id cache; never tries a second create.
    async fn run(request: Request<Self>) -> Result<Ensured, Error> {
        let external_id = request.op.external_id.clone();
        let attrs = request.op.attrs.clone().external_id(external_id.clone());
        let cache = request.options().id_cache.clone();
        let remember = |customer: Customer, created: bool| {
            let (cache, external_id) = (&cache, &external_id);
            async move {
                if let Some(cache) = cache {
                    cache.put(external_id, &customer.id).await;
                }
                Ok(Ensured { customer, created })
            }
        };
        match request
            .with_op(CreateCustomer { customer: attrs })
            .send()
            .await
        {
            Ok(customer) => return remember(customer, true).await,
            Err(error) if error.code() == Some(&ErrorCode::Conflict) => {}
            Err(error) => return Err(error),
        }
        let find = FindCustomer {
            external_id: external_id.clone(),
        };
        if let Some(customer) = request.with_op(find).send().await? {
            return remember(customer, false).await;
        }
        let holds_it = |c: &Customer| c.external_id.as_deref() == Some(external_id.as_str());
        if let Some(cache) = &cache
            && let Some(id) = cache.get(&external_id).await
        {
            let customer = request.with_op(GetCustomer { id }).send().await?;
            if holds_it(&customer) {
                return Ok(Ensured {
                    customer,
                    created: false,
                });
            }
        }
        Err(Error::Unresolved { external_id })
    }
}

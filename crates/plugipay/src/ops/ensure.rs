//! `customers().ensure(external_id, attrs)`: find-or-create by your own id,
//! never creating a second customer.

use super::create::predates;
use super::{CreateCustomer, FindCustomer, GetCustomer};
use crate::customer::{Customer, NewCustomer};
use crate::error::{Error, ErrorCode};
use crate::transport::request::{Operation, Request, Write, private};

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
    /// 409 `conflict` (or a 409 whose body was lost), finds the existing one
    /// with the `externalId` list filter, then with the client's id cache;
    /// never tries a second create. A create refused for another reason
    /// (a 400, 429s to the end, no connection) is checked with the filter
    /// too, since the customer may exist all the same: found, it is the
    /// answer; absent, the create's error is; and when that cannot be read,
    /// the call fails with [`Error::OutcomeUnknown`] around the create's
    /// error, as whether the customer exists is unknown. A create of
    /// unknown outcome that the read-back could not settle is looked up
    /// once more: a customer with the external id created well before this
    /// call (its `createdAt` more than five minutes before the call began,
    /// by our clock moved by the offset learned from the server's `Date`
    /// headers) existed already; a newer one may be this call's, and
    /// the outcome stays unknown.
    async fn run(request: Request<Self>) -> Result<Ensured, Error> {
        let started = chrono::Utc::now();
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
            // Read back already, with no answer (a 409 after an attempt
            // that may have been applied included: that attempt may be
            // what took the external id): unless the customer is older
            // than this call, whether this call made it stays unknown.
            Err(error) if error.is_outcome_unknown() => {
                let find = FindCustomer {
                    external_id: external_id.clone(),
                };
                let started = request.on_server_clock(started);
                return match request.with_op(find).send().await {
                    Ok(Some(customer)) if predates(&customer, started) => {
                        remember(customer, false).await
                    }
                    _ => Err(error),
                };
            }
            Err(error) if is_conflict(&error) => {}
            Err(refused) => {
                let find = FindCustomer {
                    external_id: external_id.clone(),
                };
                return match request.with_op(find).send().await {
                    Ok(Some(customer)) => remember(customer, false).await,
                    Ok(None) => Err(refused),
                    Err(_) => Err(Error::OutcomeUnknown(Box::new(refused))),
                };
            }
        }
        // It exists: from here on, a failure is a failure to read it.
        let unresolved = |source: Option<Error>| Error::Unresolved {
            external_id: external_id.clone(),
            source: source.map(Box::new),
        };
        let find = FindCustomer {
            external_id: external_id.clone(),
        };
        let found = request.with_op(find).send().await;
        if let Some(customer) = found.map_err(|e| unresolved(Some(e)))? {
            return remember(customer, false).await;
        }
        let holds_it = |c: &Customer| c.external_id.as_deref() == Some(external_id.as_str());
        if let Some(cache) = &cache
            && let Some(id) = cache.get(&external_id).await
        {
            let customer = request
                .with_op(GetCustomer { id })
                .send()
                .await
                .map_err(|e| unresolved(Some(e)))?;
            if holds_it(&customer) {
                return Ok(Ensured {
                    customer,
                    created: false,
                });
            }
        }
        Err(unresolved(None))
    }
}

/// Whether a refused create says the external id is taken: a 409
/// `conflict`, or a 409 whose body could not be read (a 409 with another
/// code, `idempotency_mismatch` say, is not). Never true of an error of
/// unknown outcome, whose cause is only the last attempt's answer.
fn is_conflict(error: &Error) -> bool {
    match error {
        Error::Api(api) => api.code == ErrorCode::Conflict,
        Error::Decode(_) => error.status() == Some(reqwest::StatusCode::CONFLICT),
        _ => false,
    }
}

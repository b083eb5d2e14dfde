//! Find-or-create by your own id: [`Customers::ensure`](crate::Customers::ensure)
//! returns the customer with an `externalId`, creating it only when absent,
//! and never creates a second one.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use crate::customer::{Customer, ListParams, NewCustomer};
use crate::customers::{CreateCustomer, GetCustomer, ListCustomers};
use crate::error::{Error, ErrorCode};
use crate::request::{Request, into_future, write_op};

/// The future a [`CustomerIdCache`] method returns.
pub type CacheFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where `ensure` remembers which `cus_` id belongs to which `externalId`,
/// for a deployment whose list cannot filter by `externalId`. Plug in your
/// own (a database table, Redis); [`InMemoryCustomerIdCache`] keeps it in
/// the process.
pub trait CustomerIdCache: Send + Sync {
    /// The customer id stored for `external_id`, if any.
    fn get<'a>(&'a self, external_id: &'a str) -> CacheFuture<'a, Option<String>>;
    /// Stores `customer_id` for `external_id`.
    fn put<'a>(&'a self, external_id: &'a str, customer_id: &'a str) -> CacheFuture<'a, ()>;
}

/// A [`CustomerIdCache`] in memory, for one process.
#[derive(Debug, Default)]
pub struct InMemoryCustomerIdCache {
    ids: Mutex<HashMap<String, String>>,
}

impl InMemoryCustomerIdCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CustomerIdCache for InMemoryCustomerIdCache {
    fn get<'a>(&'a self, external_id: &'a str) -> CacheFuture<'a, Option<String>> {
        let id = self.ids().get(external_id).cloned();
        Box::pin(std::future::ready(id))
    }

    fn put<'a>(&'a self, external_id: &'a str, customer_id: &'a str) -> CacheFuture<'a, ()> {
        self.ids()
            .insert(external_id.to_owned(), customer_id.to_owned());
        Box::pin(std::future::ready(()))
    }
}

/// What [`Customers::ensure`](crate::Customers::ensure) returns.
#[derive(Clone, Debug, PartialEq, Eq)]
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

write_op!(EnsureCustomer);
into_future!(EnsureCustomer => Ensured);

impl Request<EnsureCustomer> {
    /// Sends the call; the same as awaiting the request.
    ///
    /// Creates the customer with the external id (and the attributes); when
    /// the server answers 409 `conflict`, finds the existing customer with
    /// the `externalId` list filter, then with the client's
    /// [`CustomerIdCache`]. If neither finds it, fails with
    /// [`Error::Unresolved`]: it never tries a second create. The attributes
    /// are not applied to a customer that already existed.
    pub async fn send(self) -> Result<Ensured, Error> {
        let external_id = self.op.external_id.clone();
        let attrs = self.op.attrs.clone().external_id(external_id.clone());
        let cache = self.client.customer_id_cache();
        let remember = |customer: Customer, created: bool| async move {
            if let Some(cache) = cache {
                cache.put(&external_id, &customer.id).await;
            }
            Ok(Ensured { customer, created })
        };
        match self
            .with_op(CreateCustomer { customer: attrs })
            .send()
            .await
        {
            Ok(customer) => return remember(customer, true).await,
            Err(error) if error.code() == Some(&ErrorCode::Conflict) => {}
            Err(error) => return Err(error),
        }
        let external_id = &self.op.external_id;
        let holds_it = |c: &Customer| c.external_id.as_deref() == Some(external_id.as_str());
        let filter = ListParams::new().external_id(external_id.clone()).limit(1);
        let page = self.with_op(ListCustomers::new(filter)).send().await?;
        if let Some(customer) = page.items.into_iter().find(holds_it) {
            return remember(customer, false).await;
        }
        if let Some(cache) = cache
            && let Some(id) = cache.get(external_id).await
        {
            let customer = self.with_op(GetCustomer { id }).send().await?;
            if holds_it(&customer) {
                return Ok(Ensured {
                    customer,
                    created: false,
                });
            }
        }
        Err(Error::Unresolved {
            external_id: external_id.clone(),
        })
    }
}

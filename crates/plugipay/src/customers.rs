//! The customers of a workspace, `client.customers()`: one method per
//! operation, each returning a [`Request`] to await.

use crate::customer::{CustomerUpdate, ListParams, NewCustomer};
use crate::ops::{
    ArchiveCustomer, CreateCustomer, EnsureCustomer, GetCustomer, ListCustomers, UpdateCustomer,
};
use crate::options::Options;
use crate::request::Request;

/// The customers of a workspace: `client.customers()`.
#[derive(Debug, Clone, Copy)]
pub struct Customers<'a> {
    api: &'a plugipay_api::Client,
    defaults: &'a Options,
}

impl<'a> Customers<'a> {
    pub(crate) fn new(api: &'a plugipay_api::Client, defaults: &'a Options) -> Self {
        Self { api, defaults }
    }

    fn request<Op>(&self, op: Op) -> Request<Op> {
        Request::new(self.api.clone(), self.defaults.clone(), op)
    }

    /// Creates a customer. A fresh Idempotency-Key is sent unless
    /// [`Request::idempotency_key`] gives one, and every retry carries it, so
    /// the customer is created once however often the call is retried. An
    /// `externalId` another customer holds fails with
    /// [`ErrorCode::Conflict`](crate::ErrorCode::Conflict).
    ///
    /// A 2xx answer without a customer (an empty body) means the create was
    /// accepted: the customer is then found by its `externalId`; without
    /// one, the call fails with an [`Error::Decode`](crate::Error::Decode)
    /// whose reason says so.
    pub fn create(&self, customer: NewCustomer) -> Request<CreateCustomer> {
        self.request(CreateCustomer { customer })
    }

    /// Fetches one customer by id. A customer that does not exist, or lives in
    /// another workspace, fails with [`ErrorCode::NotFound`](crate::ErrorCode::NotFound).
    pub fn get(&self, id: impl Into<String>) -> Request<GetCustomer> {
        self.request(GetCustomer { id: id.into() })
    }

    /// Fetches one page of customers; [`Request::stream`] walks every page.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new().seed_customers(250)).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use futures_util::TryStreamExt;
    /// use plugipay::ListParams;
    ///
    /// // The guide's "Walk the whole customer book", in one call.
    /// let mut book = client.customers().list(ListParams::new().limit(100)).stream();
    /// let mut seen = 0;
    /// while let Some(customer) = book.try_next().await? {
    ///     seen += 1; // export to your warehouse, reconcile, …
    /// }
    /// assert_eq!(seen, 250);
    /// # Ok(()) }
    /// ```
    pub fn list(&self, params: ListParams) -> Request<ListCustomers> {
        self.request(ListCustomers::new(params))
    }

    /// The customer with your `external_id`, created (with `attrs`) only when
    /// there is none: the guide's "Look up by external ID (or create)" in
    /// one call, safe when many tasks ensure the same id at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use plugipay::NewCustomer;
    ///
    /// let attrs = NewCustomer::new().email("budi@example.com");
    /// let first = client.customers().ensure("crm_88012", attrs.clone()).await?;
    /// let again = client.customers().ensure("crm_88012", attrs).await?;
    /// assert!(first.created && !again.created);
    /// assert_eq!(first.customer.id, again.customer.id);
    /// # Ok(()) }
    /// ```
    pub fn ensure(
        &self,
        external_id: impl Into<String>,
        attrs: NewCustomer,
    ) -> Request<EnsureCustomer> {
        self.request(EnsureCustomer {
            external_id: external_id.into(),
            attrs,
        })
    }

    /// Archives a customer (`metadata.archived = "true"`), keeping its other
    /// metadata. Archiving an archived customer changes nothing.
    pub fn archive(&self, id: impl Into<String>) -> Request<ArchiveCustomer> {
        self.request(ArchiveCustomer {
            id: id.into(),
            archived: true,
        })
    }

    /// Takes a customer out of the archive (removes `metadata.archived`).
    pub fn unarchive(&self, id: impl Into<String>) -> Request<ArchiveCustomer> {
        self.request(ArchiveCustomer {
            id: id.into(),
            archived: false,
        })
    }

    /// Changes the fields `update` touches and no others (PATCH), under an
    /// Idempotency-Key like [`create`](Self::create). A 2xx answer without a
    /// customer (an empty body) means the change was made: the customer is
    /// then read back with a GET.
    pub fn update(&self, id: impl Into<String>, update: CustomerUpdate) -> Request<UpdateCustomer> {
        self.request(UpdateCustomer {
            id: id.into(),
            update,
        })
    }
}

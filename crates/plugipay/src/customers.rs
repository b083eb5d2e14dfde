//! The customer operations: create, get, list (one page) and update.

use plugipay_api::types;
use plugipay_api::validate;

use crate::archive::{ArchiveCustomer, ArchiveFilter};
use crate::client::Client;
use crate::customer::{Customer, CustomerUpdate, ListParams, NewCustomer, Page};
use crate::ensure::EnsureCustomer;
use crate::error::Error;
use crate::pagination::{CustomerStream, Pages};
use crate::request::{Request, into_future, write_op};

/// The customers of a workspace: `client.customers()`.
#[derive(Debug, Clone, Copy)]
pub struct Customers<'a> {
    client: &'a Client,
}

impl<'a> Customers<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Creates a customer. A fresh Idempotency-Key is sent unless
    /// [`Request::idempotency_key`] gives one. An `externalId` another
    /// customer holds fails with [`ErrorCode::Conflict`](crate::ErrorCode::Conflict).
    pub fn create(&self, customer: NewCustomer) -> Request<CreateCustomer> {
        Request::new(self.client, CreateCustomer { customer })
    }

    /// Fetches one customer by id. A customer that does not exist, or lives in
    /// another workspace, fails with [`ErrorCode::NotFound`](crate::ErrorCode::NotFound).
    pub fn get(&self, id: impl Into<String>) -> Request<GetCustomer> {
        Request::new(self.client, GetCustomer { id: id.into() })
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
        Request::new(self.client, ListCustomers::new(params))
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
        Request::new(
            self.client,
            EnsureCustomer {
                external_id: external_id.into(),
                attrs,
            },
        )
    }

    /// Archives a customer (`metadata.archived = "true"`), keeping its other
    /// metadata. Archiving an archived customer changes nothing.
    pub fn archive(&self, id: impl Into<String>) -> Request<ArchiveCustomer> {
        Request::new(
            self.client,
            ArchiveCustomer {
                id: id.into(),
                archived: true,
            },
        )
    }

    /// Takes a customer out of the archive (removes `metadata.archived`).
    pub fn unarchive(&self, id: impl Into<String>) -> Request<ArchiveCustomer> {
        Request::new(
            self.client,
            ArchiveCustomer {
                id: id.into(),
                archived: false,
            },
        )
    }

    /// Changes the fields `update` touches and no others (PATCH).
    pub fn update(&self, id: impl Into<String>, update: CustomerUpdate) -> Request<UpdateCustomer> {
        Request::new(
            self.client,
            UpdateCustomer {
                id: id.into(),
                update,
            },
        )
    }
}

/// `customers().create(..)`.
#[derive(Debug, Clone)]
pub struct CreateCustomer {
    pub(crate) customer: NewCustomer,
}

/// `customers().get(..)`.
#[derive(Debug, Clone)]
pub struct GetCustomer {
    pub(crate) id: String,
}

/// `customers().list(..)`.
#[derive(Debug, Clone)]
pub struct ListCustomers {
    params: ListParams,
    keep: Option<ArchiveFilter>,
}

impl ListCustomers {
    pub(crate) fn new(params: ListParams) -> Self {
        Self { params, keep: None }
    }
}

/// `customers().update(..)`.
#[derive(Debug, Clone)]
pub struct UpdateCustomer {
    pub(crate) id: String,
    pub(crate) update: CustomerUpdate,
}

write_op!(CreateCustomer);
write_op!(UpdateCustomer);
into_future!(CreateCustomer => Customer);
into_future!(GetCustomer => Customer);
into_future!(ListCustomers => Page<Customer>);
into_future!(UpdateCustomer => Customer);

fn checked_id(id: &str) -> Result<(), Error> {
    validate::path_segment("id", id).map_err(Error::invalid)
}

impl Request<CreateCustomer> {
    /// Sends the call; the same as awaiting the request.
    pub async fn send(self) -> Result<Customer, Error> {
        let body = self
            .op
            .customer
            .clone()
            .into_request()
            .map_err(Error::invalid)?;
        let key = self.resolved_idempotency_key()?;
        let on_behalf_of = self.resolved_on_behalf_of()?;
        let envelope = self
            .run("create_customer", |api| {
                let (key, body, on_behalf_of) = (key.clone(), body.clone(), on_behalf_of.clone());
                async move {
                    let mut call = api.create_customer().idempotency_key(key).body(body);
                    if let Some(account) = on_behalf_of {
                        call = call.x_plugipay_on_behalf_of(account);
                    }
                    call.send().await
                }
            })
            .await?;
        Ok(envelope.data.into())
    }
}

impl Request<GetCustomer> {
    /// Sends the call; the same as awaiting the request.
    pub async fn send(self) -> Result<Customer, Error> {
        checked_id(&self.op.id)?;
        let id = self.op.id.clone();
        let on_behalf_of = self.resolved_on_behalf_of()?;
        let envelope = self
            .run("get_customer", |api| {
                let (id, on_behalf_of) = (id.clone(), on_behalf_of.clone());
                async move {
                    let mut call = api.get_customer().id(id);
                    if let Some(account) = on_behalf_of {
                        call = call.x_plugipay_on_behalf_of(account);
                    }
                    call.send().await
                }
            })
            .await?;
        Ok(envelope.data.into())
    }
}

impl Request<ListCustomers> {
    /// Keeps only customers that are not archived. Filtering happens here,
    /// so a page may hold fewer items than its limit.
    pub fn active(mut self) -> Self {
        self.op.keep = Some(ArchiveFilter::Active);
        self
    }

    /// Keeps only archived customers (filtered here, like [`active`](Self::active)).
    pub fn archived(mut self) -> Self {
        self.op.keep = Some(ArchiveFilter::Archived);
        self
    }

    /// Every matching customer, page after page, with the next page fetched
    /// while you work on the current one.
    pub fn stream(self) -> CustomerStream {
        CustomerStream::new(self.pages())
    }

    /// Every page of the list, for work in batches (see [`Pages`]).
    pub fn pages(self) -> Pages {
        Pages::new(self)
    }

    /// The same request, continuing after `cursor`.
    pub(crate) fn with_cursor(mut self, cursor: String) -> Self {
        self.op.params.cursor = Some(cursor);
        self
    }

    /// Sends the call; the same as awaiting the request.
    pub async fn send(self) -> Result<Page<Customer>, Error> {
        let params = self.op.params.clone();
        let limit = params
            .limit
            .map(|limit| {
                validate::list_limit(limit).map_err(Error::invalid)?;
                Ok::<_, Error>(std::num::NonZeroU32::new(limit).expect("checked to be at least 1"))
            })
            .transpose()?;
        let on_behalf_of = self.resolved_on_behalf_of()?;
        let envelope = self
            .run("list_customers", |api| {
                let (params, on_behalf_of) = (params.clone(), on_behalf_of.clone());
                async move {
                    let mut call = api.list_customers();
                    if let Some(limit) = limit {
                        call = call.limit(limit);
                    }
                    if let Some(cursor) = params.cursor {
                        call = call.cursor(cursor);
                    }
                    if let Some(email) = params.email {
                        call = call.email(email);
                    }
                    if let Some(external_id) = params.external_id {
                        call = call.external_id(external_id);
                    }
                    if let Some(created_after) = params.created_after {
                        call = call.created_after(created_after);
                    }
                    if let Some(order) = params.order {
                        call = call.order(types::SortOrder::from(order));
                    }
                    if let Some(account) = on_behalf_of {
                        call = call.x_plugipay_on_behalf_of(account);
                    }
                    call.send().await
                }
            })
            .await?;
        let keep = self.op.keep;
        Ok(Page {
            items: envelope
                .data
                .into_iter()
                .map(Customer::from)
                .filter(|c| keep.is_none_or(|k| k.keeps(c)))
                .collect(),
            cursor: envelope.meta.cursor,
            has_more: envelope.meta.has_more,
            request_id: envelope.meta.request_id,
        })
    }
}

impl Request<UpdateCustomer> {
    /// Sends the call; the same as awaiting the request.
    pub async fn send(self) -> Result<Customer, Error> {
        checked_id(&self.op.id)?;
        let id = self.op.id.clone();
        let body = self
            .op
            .update
            .clone()
            .into_request()
            .map_err(Error::invalid)?;
        let key = self.resolved_idempotency_key()?;
        let on_behalf_of = self.resolved_on_behalf_of()?;
        let envelope = self
            .run("update_customer", |api| {
                let (id, key, body) = (id.clone(), key.clone(), body.clone());
                let on_behalf_of = on_behalf_of.clone();
                async move {
                    let mut call = api.update_customer().id(id).idempotency_key(key).body(body);
                    if let Some(account) = on_behalf_of {
                        call = call.x_plugipay_on_behalf_of(account);
                    }
                    call.send().await
                }
            })
            .await?;
        Ok(envelope.data.into())
    }
}

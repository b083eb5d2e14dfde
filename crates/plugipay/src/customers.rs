//! The customers of a workspace, `client.customers()`: one method per
//! operation, each returning a [`Request`] to await.

use std::collections::BTreeMap;

use crate::changes::{Changes, Checkpoint};
use crate::customer::{CustomerUpdate, ListParams, NewCustomer};
use crate::ops::{
    ArchiveCustomer, Call, CreateCustomer, DeleteCustomer, EnsureCustomer, FindCustomer,
    GetCustomer, ListCustomers, RemoveCustomer, SetMetadata, SyncCustomer, UpdateCustomer,
};
use crate::transport::options::Options;
use crate::transport::request::Request;

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
    /// one, the call fails with
    /// [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown) (around an
    /// [`Error::Decode`](crate::Error::Decode) whose reason says so): never
    /// as a plain failure, since the create was applied.
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

    /// The changes to the book since `since`, oldest first, each with the
    /// checkpoint to store beside it (see [`Checkpoint`]): customers created
    /// or updated (their state then) and deleted (their ids), read from the
    /// events API a page of 100 events at a time — what changed, not the
    /// whole book. A checkpoint whose events the log no longer holds ends
    /// the stream with [`Error::ChangesGap`](crate::Error::ChangesGap):
    /// copy the whole book again from a fresh [`Checkpoint::latest`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use futures_util::TryStreamExt;
    /// use plugipay::{Change, Checkpoint, NewCustomer};
    ///
    /// let since = Checkpoint::latest(&client).await?;
    /// let ada = client.customers().create(NewCustomer::new().name("Ada")).await?;
    /// client.customers().delete(&ada.id).await?;
    ///
    /// let changed: Vec<_> = client.customers().changes(&since).try_collect().await?;
    /// assert!(matches!(&changed[0].change, Change::Upsert(c) if c.id == ada.id));
    /// assert!(matches!(&changed[1].change, Change::Deleted { id, .. } if *id == ada.id));
    /// let next = changed.last().map(|c| c.checkpoint.clone()).unwrap_or(since);
    /// assert_eq!(client.customers().changes(&next).try_collect::<Vec<_>>().await?.len(), 0);
    /// # Ok(()) }
    /// ```
    pub fn changes(&self, since: &Checkpoint) -> Changes {
        let events = self
            .request(Call {
                endpoint: Changes::events_since(since),
            })
            .paginated();
        Changes::new(events, since)
    }

    /// The customer holding your `external_id`, or `None` (one list request
    /// with the `externalId` filter).
    pub fn find(&self, external_id: impl Into<String>) -> Request<FindCustomer> {
        self.request(FindCustomer {
            external_id: external_id.into(),
        })
    }

    /// Makes the customer with your `external_id` hold `record` (a row from
    /// your CRM): creates it when there is none ([`ensure`](Self::ensure),
    /// so never twice); otherwise PATCHes only the fields that differ
    /// ([`difference`](crate::difference): fields `record` leaves out and
    /// metadata keys it does not name stay as they are), or writes nothing.
    /// [`Synced::action`](crate::Synced) says which. Retrying a sync, or
    /// running it again, converges: the second run finds nothing to change.
    /// A change to the metadata is a whole-map write with the same limit
    /// across processes as [`archive`](Self::archive) (within one client it
    /// waits for the other metadata writes to the customer and reads it
    /// again first).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use plugipay::{NewCustomer, SyncAction};
    ///
    /// let customers = client.customers();
    /// let crm_row = NewCustomer::new().email("budi@example.com").name("Budi");
    /// assert_eq!(customers.sync("crm_7", crm_row.clone()).await?.action, SyncAction::Created);
    /// assert_eq!(customers.sync("crm_7", crm_row.clone()).await?.action, SyncAction::Unchanged);
    ///
    /// let renamed = crm_row.name("Budi Santoso");
    /// let synced = customers.sync("crm_7", renamed).await?;
    /// assert_eq!(synced.action, SyncAction::Updated(vec!["name".to_owned()]));
    /// assert_eq!(synced.customer.name.as_deref(), Some("Budi Santoso"));
    /// # Ok(()) }
    /// ```
    pub fn sync(
        &self,
        external_id: impl Into<String>,
        record: NewCustomer,
    ) -> Request<SyncCustomer> {
        self.request(SyncCustomer {
            external_id: external_id.into(),
            record,
            current: None,
        })
    }

    /// Archives a customer (`metadata.archived = "true"`), keeping its other
    /// metadata: the customer is read and its whole map written back, which
    /// is right whether the server merges PATCHed metadata or replaces it.
    /// Archiving an archived customer writes nothing.
    ///
    /// The read and the write are two requests. Metadata writes of one
    /// client (and its clones: `archive`, `unarchive`, `set_metadata`,
    /// `remove`'s archive and `sync`'s metadata) to the same customer wait
    /// for each other, so none is lost within a process. Another process
    /// (or another client) writing the same customer's metadata between the
    /// read and the write can still have its change lost on a server that
    /// replaces the map: the API has no conditional write to prevent it
    /// (see the README's "Metadata" section for the measured race).
    pub fn archive(&self, id: impl Into<String>) -> Request<ArchiveCustomer> {
        self.request(ArchiveCustomer {
            id: id.into(),
            archived: true,
        })
    }

    /// Takes a customer out of the archive: writes `archived = "false"`
    /// (which reads as active) with the rest of its metadata, like
    /// [`archive`](Self::archive). A customer that is not archived is left
    /// as it is.
    pub fn unarchive(&self, id: impl Into<String>) -> Request<ArchiveCustomer> {
        self.request(ArchiveCustomer {
            id: id.into(),
            archived: false,
        })
    }

    /// Sets one metadata key, keeping the others, under either server
    /// semantics: the customer is read and its whole map, with `key` set,
    /// written back (nothing is written when it already holds that value).
    /// Same race as [`archive`](Self::archive).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use plugipay::NewCustomer;
    ///
    /// let customers = client.customers();
    /// let budi = customers.create(NewCustomer::new().metadata("plan", "pro")).await?;
    /// let budi = customers.set_metadata(&budi.id, "tier", "gold").await?;
    /// assert_eq!(budi.metadata["plan"], "pro");
    /// assert_eq!(budi.metadata["tier"], "gold");
    /// # Ok(()) }
    /// ```
    pub fn set_metadata(
        &self,
        id: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Request<SetMetadata> {
        self.request(SetMetadata {
            id: id.into(),
            entries: BTreeMap::from([(key.into(), value.into())]),
        })
    }

    /// Sets several metadata keys at once, keeping the others (one read,
    /// one write), like [`set_metadata`](Self::set_metadata).
    pub fn set_metadata_entries(
        &self,
        id: impl Into<String>,
        entries: BTreeMap<String, String>,
    ) -> Request<SetMetadata> {
        self.request(SetMetadata {
            id: id.into(),
            entries,
        })
    }

    /// Deletes a customer that has no money history. It is then gone from
    /// get and list, and its `externalId` can be used again. A customer
    /// that subscriptions, invoices, checkout sessions or gift cards refer
    /// to cannot be deleted: the call fails with
    /// [`ErrorCode::Conflict`](crate::ErrorCode::Conflict) (use
    /// [`remove`](Self::remove) or [`archive`](Self::archive)). Sent under
    /// an Idempotency-Key like every write, so a retried delete whose first
    /// answer was lost succeeds rather than failing with 404.
    pub fn delete(&self, id: impl Into<String>) -> Request<DeleteCustomer> {
        self.request(DeleteCustomer { id: id.into() })
    }

    /// Deletes the customer when the server allows it, and archives it when
    /// the server refuses because it has money history (409 `conflict`);
    /// [`Removed`](crate::Removed) says which happened.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use plugipay::{NewCustomer, Removed};
    ///
    /// let customers = client.customers();
    /// let trial = customers.create(NewCustomer::new().email("trial@example.com")).await?;
    /// assert_eq!(customers.remove(&trial.id).await?, Removed::Deleted);
    ///
    /// let payer = customers.create(NewCustomer::new().email("payer@example.com")).await?;
    /// sandbox.set_money_history(plugipay_sandbox::TEST_ACCOUNT_ID, &payer.id, true);
    /// match customers.remove(&payer.id).await? {
    ///     Removed::Archived(customer) => assert!(customer.is_archived()),
    ///     Removed::Deleted => unreachable!("it has money history"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, id: impl Into<String>) -> Request<RemoveCustomer> {
        self.request(RemoveCustomer { id: id.into() })
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

//! The Plugipay customers SDK for Rust: typed, signed, and safe under retries.
//!
//! ```no_run
//! use plugipay::{Client, CustomerUpdate, ListParams, NewCustomer};
//!
//! # async fn demo() -> Result<(), plugipay::Error> {
//! // PLUGIPAY_KEY_ID + PLUGIPAY_SECRET (or PLUGIPAY_API_KEY), PLUGIPAY_BASE_URL, …
//! let client = Client::from_env()?;
//! let customers = client.customers();
//!
//! let alice = customers
//!     .create(NewCustomer::new().email("alice@example.com").external_id("user_19823"))
//!     .await?;
//! let alice = customers.update(&alice.id, CustomerUpdate::new().clear_phone()).await?;
//! let page = customers.list(ListParams::new().email("alice@example.com")).await?;
//! assert!(page.items.iter().any(|c| c.id == alice.id));
//! # Ok(()) }
//! ```
//!
//! - Every write carries an `Idempotency-Key` (`idem_<uuid>`, or your own via
//!   [`Request::idempotency_key`]), so sending it again cannot duplicate a customer.
//! - Only what the protocol documents is checked before anything is sent
//!   (an id is one path segment, a list page holds 1 to 100): lengths and
//!   formats are the server's to judge ([`Error::InvalidArgument`]).
//! - Customers are created, read, listed, updated and deleted; [`Customers::remove`]
//!   deletes or, for a customer with money history, archives; metadata
//!   changes ([`Customers::set_metadata`], archive) are right whether the server
//!   merges PATCHed metadata or replaces it.
//! - [`Customers::sync`] makes the customer with your CRM id hold your CRM's
//!   record: created, updated in the fields that differ ([`difference`]), or
//!   left alone.
//! - [`Client::request`] reaches any route, signed, retried and decoded the
//!   same way.
//! - Every failure is an [`Error`]; API errors carry an [`ErrorCode`], the HTTP
//!   status and the request id. A response that is not the API's JSON is an
//!   [`Error::Decode`] that keeps its status and the start of its body.
//! - A call is a loop of attempts, each signed afresh, read whole and judged at
//!   the HTTP level by [`decide`]: connection failures, 429, 5xx (500, 502,
//!   503, 504), answers lost or cut off, and unreadable 2xx answers are retried
//!   (the last four only for GETs and keyed writes), with backoff and
//!   `Retry-After`; [`Request::deadline`] bounds the whole call.
//! - Walks ([`Request::stream`], [`Request::pages`]) end with
//!   [`Error::Paging`] rather than loop or stop short in silence.
//! - With the `raw-api` feature, `Client::api()` hands out the generated
//!   low-level client: signed the same way, otherwise unguarded (no retries,
//!   pacing or bounded reads).
//! - [`webhooks`] checks a customer webhook delivery's signature against the
//!   body's bytes and reads its typed [`Event`].
//!
//! # Inside
//!
//! - `transport/`: the path of one call in reading order — build, pace,
//!   attempt (sign, send, read), judge and retry, decode — shared by every
//!   operation.
//! - `ops/`: one file per operation (create, get, list, update, delete, and
//!   the compound ones: ensure, find, sync, remove, metadata), each saying
//!   what it sends and how it reads the answer; `call.rs` and `raw.rs` run
//!   any spec operation or any route.
//! - Beside them: the client and its builder (`client.rs`), the customer
//!   types (`customer.rs`, `customer_json.rs`), walks (`pagination.rs`,
//!   `partition.rs`), errors (`error.rs`), the archive convention, the
//!   field difference used by sync, per-customer write locks and webhook
//!   verification.
#![warn(missing_docs)]

mod archive;
mod changes;
mod client;
mod customer;
mod customer_json;
mod customers;
mod difference;
mod error;
mod id_cache;
mod locks;
mod ops;
mod pagination;
mod partition;
mod transport;
pub mod webhooks;

pub use archive::{ARCHIVED_KEY, ARCHIVED_VALUE, ArchiveFilter, UNARCHIVED_VALUE};
pub use changes::{Change, Changed, Changes, Checkpoint, Held};
pub use client::{Client, ClientBuilder, DEFAULT_TIMEOUT, env};
pub use customer::{Customer, CustomerUpdate, ListParams, NewCustomer, Page, SortOrder};
pub use customer_json::CustomerJson;
pub use customers::Customers;
pub use difference::{Difference, difference};
pub use error::{ApiError, DecodeError, Error, ErrorCode, PagingError, Report};
pub use id_cache::{CacheFuture, CustomerIdCache, InMemoryCustomerIdCache};
pub use ops::{
    ArchiveCustomer, Call, CallList, CreateCustomer, DeleteCustomer, EnsureCustomer, Ensured,
    FindCustomer, GetCustomer, ListCustomers, ListCustomersJson, Raw, RawList, RemoveCustomer,
    Removed, SetMetadata, SyncAction, SyncCustomer, SyncPlan, Synced, UpdateCustomer,
    escape_path_segment,
};
pub use pagination::{CustomerStream, Items, MAX_EMPTY_PAGES, Pages, Paginated};
pub use partition::{MAX_PARTITIONS, Partitionable, Partitioned};
pub use plugipay_api::auth::Mode;
pub use plugipay_api::patch::Patch;
pub use reqwest::Method;
pub use transport::attempt::MAX_RESPONSE_BYTES;
pub use transport::pacing::{RateBudget, RateClass, RateShare};
pub use transport::request::{Operation, Request, ResponseFuture, Write, new_idempotency_key};
pub use transport::retry::{
    BodyState, Decision, Outcome, RetryPolicy, decide, may_have_applied, worth_repeating,
};
pub use webhooks::{Event, EventType, WebhookError};

/// The generated low-level client crate, documented here in full: the
/// spec's types (`api::types`), every operation as a description
/// (`api::endpoints`, for [`Client::call`]) with its query parameters
/// (`api::params`: the events list's among them), the webhook signature
/// recipe (`api::webhook`), the event type read from either envelope
/// (`api::event`) and the client itself (`Client::api()`, with the `raw-api`
/// feature).
#[doc(inline)]
pub use plugipay_api as api;

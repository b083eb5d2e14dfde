//! The SDK's integration tests, one binary (one link) with a module per
//! concern: the wire format and signing, errors, retries and pacing, paging
//! and partitioned walks, lenient and hostile answers, truthful outcomes,
//! events and webhooks, typed mocks, the raw request path and the spec's
//! fields round-tripped through the sandbox. `common` holds the capturing
//! mock server, an independent HMAC check, fixtures and the spec's paths.

mod common;

mod changes;
mod errors;
mod events;
mod hostile;
mod lenient;
mod mocks;
mod network_faults;
mod pacing;
mod paging;
mod partitioned;
mod patterns;
mod raw;
mod readings;
mod retries;
mod spec_fields;
mod truthful;
mod webhooks;
mod wire;

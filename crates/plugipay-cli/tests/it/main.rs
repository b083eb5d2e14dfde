//! The `plugipay` binary against an in-process sandbox, one test binary with
//! a module per command (and `failures` for what they share). The export, the
//! import round trip and the exit status of a reused Idempotency-Key run
//! under both published readings of Plugipay (`Dialect::ALL`).
//!
//! These tests measure other things than pacing and set up more than the
//! published rate limits allow quickly: their sandboxes run without them
//! (the limits themselves are tested in plugipay-sandbox's `rate_limits` tests).

mod common;

mod api;
mod changes;
mod customers;
mod events;
mod export;
mod export_files;
mod failures;
mod faults;
mod import;
mod mirror;
mod profiles;
mod readings;
mod sandbox_and_demo;

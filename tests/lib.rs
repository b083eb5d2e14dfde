//! Cross-crate tests of plugipay-rs live in this package's test targets
//! (`codegen.rs`, …). The library only carries the README and the pages of
//! `docs/`, so that their Rust examples compile as doc tests.
#![doc = include_str!("../README.md")]

/// The SDK guide (`docs/guide.md`).
#[doc = include_str!("../docs/guide.md")]
pub mod guide {}

/// Errors, retries and idempotency (`docs/errors.md`).
#[doc = include_str!("../docs/errors.md")]
pub mod errors {}

/// The `plugipay` command (`docs/cli.md`).
#[doc = include_str!("../docs/cli.md")]
pub mod cli {}

/// The sandbox (`docs/sandbox.md`).
#[doc = include_str!("../docs/sandbox.md")]
pub mod sandbox {}

/// Where Plugipay's sources disagree (`docs/plugipay-sources.md`).
#[doc = include_str!("../docs/plugipay-sources.md")]
pub mod plugipay_sources {}

/// When the spec changes (`docs/spec-changes.md`).
#[doc = include_str!("../docs/spec-changes.md")]
pub mod spec_changes {}

/// Design, reliability and benchmarks (`docs/design.md`).
#[doc = include_str!("../docs/design.md")]
pub mod design {}

//! Cross-crate tests of plugipay-rs live in this package's test targets
//! (`codegen.rs`, …). The library only carries the README, so that its Rust
//! examples compile as doc tests.
#![doc = include_str!("../README.md")]

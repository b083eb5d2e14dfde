//! Cross-crate tests of plugipay-rs live in this package's test targets
//! (`codegen.rs`, …); the library itself is empty.

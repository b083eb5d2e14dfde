//! The workspace's cross-crate tests, one binary: the generated code against
//! the spec (`codegen`) and the public Rust API of each crate
//! (`public_api`), both as insta snapshots in `tests/snapshots`.

#[path = "codegen.rs"]
mod codegen;
#[path = "public_api.rs"]
mod public_api;

//! Where `ensure` remembers which `cus_` id belongs to which `externalId`,
//! for a deployment whose list cannot filter by `externalId`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// The future a [`CustomerIdCache`] method returns.
pub type CacheFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where `ensure` remembers which `cus_` id belongs to which `externalId`,
/// for a deployment whose list cannot filter by `externalId`. Plug in your
/// own (a database table, Redis); [`InMemoryCustomerIdCache`] keeps it in
/// the process.
pub trait CustomerIdCache: Send + Sync {
    /// The customer id stored for `external_id`, if any.
    fn get<'a>(&'a self, external_id: &'a str) -> CacheFuture<'a, Option<String>>;
    /// Stores `customer_id` for `external_id`.
    fn put<'a>(&'a self, external_id: &'a str, customer_id: &'a str) -> CacheFuture<'a, ()>;
}

/// A [`CustomerIdCache`] in memory, for one process.
#[derive(Debug, Default)]
pub struct InMemoryCustomerIdCache {
    ids: Mutex<HashMap<String, String>>,
}

impl InMemoryCustomerIdCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CustomerIdCache for InMemoryCustomerIdCache {
    fn get<'a>(&'a self, external_id: &'a str) -> CacheFuture<'a, Option<String>> {
        let id = self.ids().get(external_id).cloned();
        Box::pin(std::future::ready(id))
    }

    fn put<'a>(&'a self, external_id: &'a str, customer_id: &'a str) -> CacheFuture<'a, ()> {
        self.ids()
            .insert(external_id.to_owned(), customer_id.to_owned());
        Box::pin(std::future::ready(()))
    }
}

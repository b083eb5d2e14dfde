//! What the book already holds of an import's rows, learned by reads before
//! any write: Plugipay's read bucket is five times its write bucket, so an
//! import must not spend a write to learn that a row's customer exists. One
//! walk of the book finds every row's customer at once; when the book is so
//! large that walking it would cost more requests than looking each row up,
//! the walk stops and the rows it did not reach are looked up one by one.

use std::collections::{HashMap, HashSet};

use futures_util::TryStreamExt;
use plugipay::{Client, Customer, ListParams};

/// Customers per list page on the walk.
const PAGE: u64 = 100;

/// Ranges the walk reads at once: enough to reach the read bucket's rate at
/// a few tens of milliseconds of latency (the client's pacing keeps it
/// under the bucket).
const RANGES: usize = 8;

/// The customers of the book that hold one of the rows' external ids.
pub struct Known {
    by_external_id: HashMap<String, Customer>,
    /// Whether the whole book was read: a row not found is then not there.
    complete: bool,
}

/// Where a row's customer stands, as far as the walk knows.
pub enum Lookup<'a> {
    /// The walk found it.
    Found(&'a Customer),
    /// The walk read the whole book and it was not there.
    Absent,
    /// The walk did not read the whole book: look it up.
    Unknown,
}

impl Known {
    /// Nothing known: every row is looked up.
    pub fn nothing() -> Self {
        Self {
            by_external_id: HashMap::new(),
            complete: false,
        }
    }

    /// Walks the book for the customers holding `wanted` external ids,
    /// stopping once it has read more pages than looking each row up would
    /// cost. A walk that fails leaves the rest to be looked up.
    pub async fn read(client: &Client, wanted: &HashSet<String>) -> Self {
        let budget = wanted.len() as u64 * PAGE;
        let mut known = Self::nothing();
        let mut book = client
            .customers()
            .list(ListParams::new().limit(PAGE as u32))
            .partitioned(RANGES);
        let mut read = 0u64;
        let progress =
            crate::output::progress(None, "customers read (finding the rows' customers)");
        let known = loop {
            match book.try_next().await {
                Ok(Some(customer)) => {
                    read += 1;
                    progress.inc(1);
                    if let Some(id) = customer.external_id.as_deref()
                        && wanted.contains(id)
                    {
                        known.by_external_id.insert(id.to_owned(), customer);
                    }
                    if read > budget {
                        break known;
                    }
                }
                Ok(None) => {
                    known.complete = true;
                    break known;
                }
                Err(error) => {
                    progress.suspend(|| {
                        note!(
                            "note: reading the book failed ({}); each row is looked up instead",
                            crate::terminal::terminal_safe(&error.report().to_string())
                        )
                    });
                    break known;
                }
            }
        };
        progress.finish_and_clear();
        known
    }

    /// Where the customer of `external_id` stands.
    pub fn lookup(&self, external_id: &str) -> Lookup<'_> {
        match self.by_external_id.get(external_id) {
            Some(customer) => Lookup::Found(customer),
            None if self.complete => Lookup::Absent,
            None => Lookup::Unknown,
        }
    }

    /// Whether the whole book was read.
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// How many rows' customers the walk found.
    pub fn found(&self) -> usize {
        self.by_external_id.len()
    }
}

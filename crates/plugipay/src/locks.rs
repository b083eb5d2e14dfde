//! One lock per customer for the read-change-write metadata writes of one
//! client (and its clones): two such writes to the same customer from one
//! process run one after the other, so neither loses the other's keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OwnedMutexGuard;

/// The customers whose metadata a task of this client is writing now.
#[derive(Default)]
pub(crate) struct CustomerLocks {
    /// By (workspace acted for, customer id); an entry lives while a task
    /// holds or waits for its lock.
    held: Mutex<HashMap<Key, Weak<tokio::sync::Mutex<()>>>>,
}

/// A customer: the workspace acted for (none: the key's own) and its id.
type Key = (Option<String>, String);

impl CustomerLocks {
    /// Waits until no other task of this client writes customer `id` of
    /// `workspace`, and holds it until the guard is dropped.
    pub(crate) async fn lock(&self, workspace: Option<&str>, id: &str) -> OwnedMutexGuard<()> {
        let mutex = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            // Locks nobody holds or waits for any more.
            held.retain(|_, lock| lock.strong_count() > 0);
            let key = (workspace.map(str::to_owned), id.to_owned());
            match held.get(&key).and_then(Weak::upgrade) {
                Some(mutex) => mutex,
                None => {
                    let mutex = Arc::new(tokio::sync::Mutex::new(()));
                    held.insert(key, Arc::downgrade(&mutex));
                    mutex
                }
            }
        };
        mutex.lock_owned().await
    }

    /// How many customers are locked or waited for now.
    #[cfg(test)]
    fn len(&self) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.values().filter(|lock| lock.strong_count() > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_writer_per_customer_and_none_kept_after() {
        let locks = Arc::new(CustomerLocks::default());
        let first = locks.lock(None, "cus_1").await;
        // Another customer, or the same id in another workspace, is free.
        let other = locks.lock(None, "cus_2").await;
        let elsewhere = locks.lock(Some("acct_2"), "cus_1").await;
        let waiting = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move { drop(locks.lock(None, "cus_1").await) })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the same customer waits");
        drop(first);
        waiting.await.unwrap();
        drop((other, elsewhere));
        assert_eq!(locks.len(), 0);
    }
}

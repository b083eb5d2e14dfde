//! One lock per customer for the read-change-write metadata writes of one
//! client (and its clones): two such writes to the same customer from one
//! process run one after the other, so neither loses the other's keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OwnedMutexGuard;

use crate::Error;

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
    /// `workspace`, and holds it until the guard is dropped; past
    /// `deadline`, gives up with [`Error::Timeout`] (nothing was sent).
    pub(crate) async fn lock(
        &self,
        workspace: Option<&str>,
        id: &str,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<OwnedMutexGuard<()>, Error> {
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
        match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, mutex.lock_owned())
                .await
                .map_err(|_| Error::Timeout),
            None => Ok(mutex.lock_owned().await),
        }
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
        let first = locks.lock(None, "cus_1", None).await.unwrap();
        // Another customer, or the same id in another workspace, is free.
        let other = locks.lock(None, "cus_2", None).await.unwrap();
        let elsewhere = locks.lock(Some("acct_2"), "cus_1", None).await.unwrap();
        let waiting = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move { drop(locks.lock(None, "cus_1", None).await.unwrap()) })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the same customer waits");
        drop(first);
        waiting.await.unwrap();
        drop((other, elsewhere));
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gives_up_at_its_deadline() {
        let locks = CustomerLocks::default();
        let held = locks.lock(None, "cus_1", None).await.unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        let waited = locks.lock(None, "cus_1", Some(deadline)).await;
        assert!(matches!(waited, Err(Error::Timeout)), "{waited:?}");
        drop(held);
        assert!(locks.lock(None, "cus_1", Some(deadline)).await.is_ok());
    }
}

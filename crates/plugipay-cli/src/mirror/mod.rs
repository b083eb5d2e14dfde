//! `customers mirror TARGET`: a copy of the book in an SQLite file or a
//! Postgres database, kept current by the change feed: the whole book the
//! first time (from a checkpoint taken before the copy), then only what
//! changed.
//!
//! Inside: `store` (what a copy's storage does, and the plan of a batch both
//! targets share), `sqlite` and `postgres` (the two targets); this module
//! runs a mirror: the first copy, catch-ups, `--follow`, `--verify`.
//!
//! The layout, for queries and joins of your own (the same in both):
//!
//! - `plugipay_customers`: one row per customer ever seen. `id` (the key),
//!   `account_id`, `external_id` (indexed), `email`, `name`, `phone`,
//!   `tax_id`, `default_payment_token_id`, `metadata` (a JSON object),
//!   `created_at`, `updated_at`, `json` (the customer as the API last gave
//!   it: every field, the ones without a column included), and
//!   `deleted_at`: set when the customer was deleted. In SQLite the times
//!   are RFC 3339 text (UTC, microseconds: they sort as text) and the JSON
//!   is text; in Postgres they are `timestamptz` and `jsonb`. A deleted
//!   customer's row stays as a tombstone (its other columns as last seen),
//!   so a late or replayed update cannot bring it back; live customers are
//!   `WHERE deleted_at IS NULL`.
//! - `plugipay_mirror`: the copy's state, `key`/`value`: `checkpoint` (where
//!   the next run's change feed starts) and, while the first copy runs,
//!   `copy_from` (the checkpoint taken before it).
//!
//! Every batch of changes is written in one transaction with the checkpoint
//! after it, so a run stopped at any point (Ctrl-C, a crash, SIGKILL)
//! leaves a copy the next run finishes: a copy cut short is walked again
//! (writing a customer twice changes nothing) and its changes are read from
//! the checkpoint taken before it began.

mod postgres;
mod sqlite;
mod store;

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use futures_util::TryStreamExt;
use plugipay::{Change, Checkpoint, Client, ListParams};

use crate::failure::Failure;
use crate::terminal::{count, plural};
use store::{Store, Tally, fingerprint};

/// Changes written per transaction.
const BATCH: usize = 500;

/// What `mirror` was asked to do besides bringing the copy up to date.
#[derive(Clone, Copy, Debug, Default)]
pub struct MirrorMode {
    /// Start over: empty the copy and copy the whole book again.
    pub resync: bool,
    /// Compare the copy with a fresh walk of the book instead of updating it.
    pub verify: bool,
    /// After catching up, keep catching up at this interval until a signal.
    pub follow: Option<std::time::Duration>,
}

/// Runs `plugipay customers mirror TARGET`: a `postgres://` (or
/// `postgresql://`) URL names a Postgres database, anything else an SQLite
/// file.
pub async fn mirror(client: &Client, target: &Path, mode: MirrorMode) -> Result<(), Failure> {
    match target.to_str() {
        Some(url) if postgres::is_url(url) => {
            let store = postgres::Postgres::connect(url).await?;
            run(client, store, mode).await
        }
        _ => run(client, sqlite::Sqlite::open(target)?, mode).await,
    }
}

/// What a run did so far: the counts and the requests it spent.
struct Run {
    started: Instant,
    requests_before: u64,
    copied: u64,
    changes: Tally,
}

async fn run<S: Store>(client: &Client, mut store: S, mode: MirrorMode) -> Result<(), Failure> {
    if mode.verify {
        return verify(client, &mut store).await;
    }
    let mut run = Run {
        started: Instant::now(),
        requests_before: client.requests_sent(),
        copied: 0,
        changes: Tally::default(),
    };
    if mode.resync {
        store.clear().await?;
    }
    let since = match store.state("checkpoint").await? {
        Some(text) => parse(&text, store.name())?,
        None => copy(client, &mut store, &mut run).await?,
    };
    let mut since = catch_up(client, &mut store, since, &mut run).await?;
    if let Some(every) = mode.follow {
        // Until a signal: a catch-up, then a wait, again. A catch-up cut
        // short by the signal loses nothing (its open batch rolls back).
        let mut interrupts = crate::signals::Interrupts::listen()?;
        loop {
            let signal = tokio::select! {
                () = tokio::time::sleep(every) => None,
                signal = interrupts.recv() => Some(signal),
            };
            let signal = match signal {
                Some(signal) => Some(signal),
                None => tokio::select! {
                    next = catch_up(client, &mut store, since.clone(), &mut run) => {
                        match next {
                            Ok(reached) => since = reached,
                            // A follower outlives a passing failure (the
                            // SDK's retries spent): it says so and goes on
                            // from the checkpoint the copy holds.
                            Err(Failure::Sdk(e)) if e.is_retryable() => {
                                report!("plugipay: a catch-up failed, trying again: {}", e.report());
                                if let Some(text) = store.state("checkpoint").await? {
                                    since = parse(&text, store.name())?;
                                }
                            }
                            Err(failure) => return Err(failure),
                        }
                        None
                    }
                    signal = interrupts.recv() => Some(signal),
                },
            };
            if let Some(signal) = signal {
                summary(client, store.name(), &run);
                report!(
                    "plugipay: mirror stopped by {signal}; the copy is consistent (a rerun goes on)"
                );
                return Err(Failure::Interrupted);
            }
        }
    }
    summary(client, store.name(), &run);
    Ok(())
}

/// Applies the changes since `since`, a batch per transaction with the
/// checkpoint after it; returns the checkpoint reached.
async fn catch_up<S: Store>(
    client: &Client,
    store: &mut S,
    mut since: Checkpoint,
    run: &mut Run,
) -> Result<Checkpoint, Failure> {
    let mut changes = client.customers().changes(&since);
    let mut batch: Vec<Change> = Vec::with_capacity(BATCH);
    loop {
        let next = changes.try_next().await;
        let (done, failure) = match next {
            Ok(Some(changed)) => {
                batch.push(changed.change);
                since = changed.checkpoint;
                (false, None)
            }
            Ok(None) => (true, None),
            Err(e) => (true, Some(e)),
        };
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            let state = [("checkpoint", Some(since.to_string()))];
            run.changes += store.apply(&batch, &state).await?;
            batch.clear();
        }
        if let Some(e) = failure {
            if matches!(e, plugipay::Error::ChangesGap { .. }) {
                return Err(Failure::Other(format!(
                    "{}: rerun with --resync to copy the whole book again",
                    e.report()
                )));
            }
            return Err(e.into());
        }
        if done {
            return Ok(since);
        }
    }
}

/// The run's summary on stderr.
fn summary(client: &Client, name: &str, run: &Run) {
    let requests = client.requests_sent().saturating_sub(run.requests_before);
    let changes = &run.changes;
    note!(
        "mirrored into {} in {:.1}s, {}: {}changes: {} created, {} updated, {} deleted, {} unchanged",
        name,
        run.started.elapsed().as_secs_f64(),
        plural(requests, "request", "requests"),
        if run.copied > 0 {
            format!("{} copied; ", plural(run.copied, "customer", "customers"))
        } else {
            String::new()
        },
        count(changes.created),
        count(changes.updated),
        count(changes.deleted),
        count(changes.unchanged),
    );
}

fn parse(text: &str, name: &str) -> Result<Checkpoint, Failure> {
    text.parse().map_err(|e| {
        Failure::Other(format!(
            "{name}: its checkpoint is unreadable ({e}): rerun with --resync"
        ))
    })
}

/// The first copy: a checkpoint before it (kept, so a copy cut short and
/// run again still reads the changes made since the first try), then the
/// whole book, written in batches. Returns the checkpoint the change feed
/// starts from.
async fn copy<S: Store>(
    client: &Client,
    store: &mut S,
    run: &mut Run,
) -> Result<Checkpoint, Failure> {
    let from = match store.state("copy_from").await? {
        Some(text) => parse(&text, store.name())?,
        None => {
            let from = Checkpoint::latest(client).await?;
            store
                .apply(&[], &[("copy_from", Some(from.to_string()))])
                .await?;
            from
        }
    };
    let bar = crate::output::progress(None, "customers copied");
    let mut book = client
        .bulk()
        .customers()
        .list(ListParams::new().limit(100))
        .partitioned(16);
    let mut batch: Vec<Change> = Vec::with_capacity(BATCH);
    let mut copied = Tally::default();
    while let Some(customer) = book.try_next().await? {
        batch.push(Change::Upsert(Box::new(customer)));
        bar.inc(1);
        if batch.len() == BATCH {
            copied += store.apply(&batch, &[]).await?;
            batch.clear();
        }
    }
    let state = [("checkpoint", Some(from.to_string())), ("copy_from", None)];
    copied += store.apply(&batch, &state).await?;
    bar.finish_and_clear();
    run.copied = copied.created + copied.updated + copied.unchanged;
    Ok(from)
}

/// `--verify`: the copy's live customers against a fresh walk of the book;
/// each difference on stdout, a summary on stderr; exit 1 when any.
async fn verify<S: Store>(client: &Client, store: &mut S) -> Result<(), Failure> {
    let mut copy: HashMap<String, u64> = store.live().await?;
    let mut book = client
        .bulk()
        .customers()
        .list(ListParams::new().limit(100))
        .partitioned(16);
    let mut differences = 0u64;
    let mut walked = 0u64;
    let mut say = |line: String| {
        differences += 1;
        println!("{}", crate::terminal::terminal_safe(&line));
    };
    while let Some(customer) = book.try_next().await? {
        walked += 1;
        let json = serde_json::to_value(&customer).unwrap_or_default();
        match copy.remove(&customer.id) {
            None => say(format!("missing {}", customer.id)),
            Some(held) if held != fingerprint(&json) => say(format!("differs {}", customer.id)),
            Some(_) => {}
        }
    }
    for id in copy.keys() {
        say(format!("extra {id} (deleted in the book, not in the copy)"));
    }
    if differences > 0 {
        report!(
            "plugipay: {} between {} and the book ({} walked)",
            plural(differences, "difference", "differences"),
            store.name(),
            count(walked)
        );
        return Err(Failure::Partial);
    }
    note!(
        "{} matches the book: {}",
        store.name(),
        plural(walked, "customer", "customers")
    );
    Ok(())
}

//! `customers mirror FILE`: a copy of the book in an SQLite file, kept
//! current by the change feed: the whole book the first time (from a
//! checkpoint taken before the copy), then only what changed.
//!
//! The layout, for queries and joins of your own:
//!
//! - `plugipay_customers`: one row per customer ever seen. `id` (the key),
//!   `account_id`, `external_id`, `email`, `name`, `phone`, `tax_id`,
//!   `default_payment_token_id`, `metadata` (a JSON object), `created_at`,
//!   `updated_at` (RFC 3339, UTC, microseconds: they sort as text),
//!   `json` (the customer as the API last gave it: every field, the ones
//!   without a column included), and `deleted_at`: set when the customer
//!   was deleted. A deleted customer's row stays as a tombstone (its other
//!   columns as last seen), so a late or replayed update cannot bring it
//!   back; live customers are `WHERE deleted_at IS NULL`.
//! - `plugipay_mirror`: the copy's state, `key`/`value`: `checkpoint` (where
//!   the next run's change feed starts) and, while the first copy runs,
//!   `copy_from` (the checkpoint taken before it).
//!
//! Every batch of changes is written in one transaction with the checkpoint
//! after it, so a run stopped at any point (Ctrl-C, a crash, SIGKILL)
//! leaves a file the next run finishes: a copy cut short is walked again
//! (writing a customer twice changes nothing) and its changes are read from
//! the checkpoint taken before it began.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use plugipay::{Change, Checkpoint, Client, Held, ListParams};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::failure::Failure;
use crate::terminal::{count, plural};

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

/// What a run did, for its summary.
#[derive(Default)]
struct Tally {
    copied: u64,
    created: u64,
    updated: u64,
    deleted: u64,
    unchanged: u64,
}

fn db_failure(path: &Path) -> impl Fn(rusqlite::Error) -> Failure + '_ {
    move |e| Failure::Other(format!("{}: {e}", path.display()))
}

/// An instant as the copy stores it: fixed width, so text order is time
/// order.
fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Runs `plugipay customers mirror FILE`.
pub async fn mirror(client: &Client, path: &Path, mode: MirrorMode) -> Result<(), Failure> {
    let fail = db_failure(path);
    // A new copy holds customers' personal data: readable by its owner
    // only (SQLite gives its journal files the same permissions).
    match crate::files::owner_only_new_file().open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Failure::Other(format!("{}: {e}", path.display()))),
    }
    let mut db = Connection::open(path).map_err(&fail)?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS plugipay_customers (
             id TEXT PRIMARY KEY,
             account_id TEXT,
             external_id TEXT,
             email TEXT,
             name TEXT,
             phone TEXT,
             tax_id TEXT,
             default_payment_token_id TEXT,
             metadata TEXT,
             created_at TEXT,
             updated_at TEXT,
             json TEXT,
             deleted_at TEXT
         );
         CREATE INDEX IF NOT EXISTS plugipay_customers_external_id
             ON plugipay_customers (external_id);
         CREATE TABLE IF NOT EXISTS plugipay_mirror (
             key TEXT PRIMARY KEY,
             value TEXT NOT NULL
         );",
    )
    .map_err(&fail)?;
    if mode.verify {
        return verify(client, &db, path).await;
    }
    let started = Instant::now();
    let mut tally = Tally::default();
    if mode.resync {
        let tx = db.transaction().map_err(&fail)?;
        tx.execute_batch("DELETE FROM plugipay_customers; DELETE FROM plugipay_mirror;")
            .map_err(&fail)?;
        tx.commit().map_err(&fail)?;
    }
    let since = match state(&db, "checkpoint").map_err(&fail)? {
        Some(text) => parse(&text, path)?,
        None => copy(client, &mut db, path, &mut tally).await?,
    };
    let mut since = catch_up(client, &mut db, path, since, &mut tally).await?;
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
                    next = catch_up(client, &mut db, path, since.clone(), &mut tally) => {
                        match next {
                            Ok(reached) => since = reached,
                            // A follower outlives a passing failure (the
                            // SDK's retries spent): it says so and goes on
                            // from the checkpoint the copy holds.
                            Err(Failure::Sdk(e)) if e.is_retryable() => {
                                report!("plugipay: a catch-up failed, trying again: {}", e.report());
                                if let Some(text) = state(&db, "checkpoint").map_err(&fail)? {
                                    since = parse(&text, path)?;
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
                summary(path, started, &tally);
                report!(
                    "plugipay: mirror stopped by {signal}; the copy is consistent (a rerun goes on)"
                );
                return Err(Failure::Interrupted);
            }
        }
    }
    summary(path, started, &tally);
    Ok(())
}

/// Applies the changes since `since`, a batch per transaction with the
/// checkpoint after it; returns the checkpoint reached.
async fn catch_up(
    client: &Client,
    db: &mut Connection,
    path: &Path,
    mut since: Checkpoint,
    tally: &mut Tally,
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
            write_batch(db, path, &batch, Some(&since), tally)?;
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
fn summary(path: &Path, started: Instant, tally: &Tally) {
    note!(
        "mirrored into {} in {:.1}s: {}changes: {} created, {} updated, {} deleted, {} unchanged",
        path.display(),
        started.elapsed().as_secs_f64(),
        if tally.copied > 0 {
            format!("{} copied; ", plural(tally.copied, "customer", "customers"))
        } else {
            String::new()
        },
        count(tally.created),
        count(tally.updated),
        count(tally.deleted),
        count(tally.unchanged),
    );
}

/// The stored state `key`, if any.
fn state(db: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    db.query_row(
        "SELECT value FROM plugipay_mirror WHERE key = ?1",
        [key],
        |row| row.get(0),
    )
    .optional()
}

fn parse(text: &str, path: &Path) -> Result<Checkpoint, Failure> {
    text.parse().map_err(|e| {
        Failure::Other(format!(
            "{}: its checkpoint is unreadable ({e}): rerun with --resync",
            path.display()
        ))
    })
}

/// The first copy: a checkpoint before it (kept, so a copy cut short and
/// run again still reads the changes made since the first try), then the
/// whole book, written in batches. Returns the checkpoint the change feed
/// starts from.
async fn copy(
    client: &Client,
    db: &mut Connection,
    path: &Path,
    tally: &mut Tally,
) -> Result<Checkpoint, Failure> {
    let fail = db_failure(path);
    let from = match state(db, "copy_from").map_err(&fail)? {
        Some(text) => parse(&text, path)?,
        None => {
            let from = Checkpoint::latest(client).await?;
            db.execute(
                "INSERT OR REPLACE INTO plugipay_mirror (key, value) VALUES ('copy_from', ?1)",
                [from.to_string()],
            )
            .map_err(&fail)?;
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
            write_batch(db, path, &batch, None, &mut copied)?;
            batch.clear();
        }
    }
    let tx = db.transaction().map_err(&fail)?;
    write(&tx, &batch, &mut copied).map_err(&fail)?;
    tx.execute(
        "INSERT OR REPLACE INTO plugipay_mirror (key, value) VALUES ('checkpoint', ?1)",
        [from.to_string()],
    )
    .map_err(&fail)?;
    tx.execute("DELETE FROM plugipay_mirror WHERE key = 'copy_from'", [])
        .map_err(&fail)?;
    tx.commit().map_err(&fail)?;
    bar.finish_and_clear();
    tally.copied = copied.created + copied.updated + copied.unchanged;
    Ok(from)
}

/// Writes `changes` and, when given, the checkpoint after them, in one
/// transaction.
fn write_batch(
    db: &mut Connection,
    path: &Path,
    changes: &[Change],
    checkpoint: Option<&Checkpoint>,
    tally: &mut Tally,
) -> Result<(), Failure> {
    let fail = db_failure(path);
    let tx = db.transaction().map_err(&fail)?;
    write(&tx, changes, tally).map_err(&fail)?;
    if let Some(checkpoint) = checkpoint {
        tx.execute(
            "INSERT OR REPLACE INTO plugipay_mirror (key, value) VALUES ('checkpoint', ?1)",
            [checkpoint.to_string()],
        )
        .map_err(&fail)?;
    }
    tx.commit().map_err(&fail)
}

/// Applies each change the SDK's rule says the copy should take
/// ([`Change::supersedes`]), counting what it did.
fn write(tx: &Transaction<'_>, changes: &[Change], tally: &mut Tally) -> rusqlite::Result<()> {
    let mut held_of = tx.prepare_cached(
        "SELECT updated_at, deleted_at IS NOT NULL FROM plugipay_customers WHERE id = ?1",
    )?;
    let mut upsert = tx.prepare_cached(
        "INSERT OR REPLACE INTO plugipay_customers (id, account_id, external_id, email, name,
             phone, tax_id, default_payment_token_id, metadata, created_at, updated_at, json,
             deleted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL)",
    )?;
    let mut tombstone = tx.prepare_cached(
        "INSERT INTO plugipay_customers (id, deleted_at) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at",
    )?;
    for change in changes {
        let held: Option<(Option<String>, bool)> = held_of
            .query_row([change.customer_id()], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let held = match held {
            None => Held::Absent,
            Some((_, true)) => Held::Deleted,
            Some((updated_at, false)) => Held::Present(
                updated_at
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc)),
            ),
        };
        if !change.supersedes(held) || (held == Held::Deleted && is_delete(change)) {
            tally.unchanged += 1;
            continue;
        }
        match change {
            Change::Upsert(customer) => {
                let metadata =
                    serde_json::to_string(&customer.metadata).unwrap_or_else(|_| "{}".into());
                let json = serde_json::to_string(customer).unwrap_or_else(|_| "{}".into());
                upsert.execute(params![
                    customer.id,
                    customer.account_id,
                    customer.external_id,
                    customer.email,
                    customer.name,
                    customer.phone,
                    customer.tax_id,
                    customer.default_payment_token_id,
                    metadata,
                    stamp(customer.created_at),
                    stamp(customer.updated_at),
                    json,
                ])?;
                match held {
                    Held::Absent => tally.created += 1,
                    _ => tally.updated += 1,
                }
            }
            Change::Deleted { id, at } => {
                tombstone.execute(params![id, stamp(*at)])?;
                tally.deleted += 1;
            }
            _ => tally.unchanged += 1,
        }
    }
    Ok(())
}

fn is_delete(change: &Change) -> bool {
    matches!(change, Change::Deleted { .. })
}

/// `--verify`: the copy's live customers against a fresh walk of the book;
/// each difference on stdout, a summary on stderr; exit 1 when any.
async fn verify(client: &Client, db: &Connection, path: &Path) -> Result<(), Failure> {
    let fail = db_failure(path);
    // A hash of each live customer's JSON, not the JSON: a million
    // customers in tens of megabytes.
    let hash = |json: &str| {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        json.hash(&mut hasher);
        hasher.finish()
    };
    let mut copy: HashMap<String, u64> = HashMap::new();
    {
        let mut rows = db
            .prepare("SELECT id, json FROM plugipay_customers WHERE deleted_at IS NULL")
            .map_err(&fail)?;
        let mut rows = rows.query([]).map_err(&fail)?;
        while let Some(row) = rows.next().map_err(&fail)? {
            let json: String = row.get(1).map_err(&fail)?;
            copy.insert(row.get(0).map_err(&fail)?, hash(&json));
        }
    }
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
        let json = serde_json::to_string(&customer).unwrap_or_default();
        match copy.remove(&customer.id) {
            None => say(format!("missing {}", customer.id)),
            Some(held) if held != hash(&json) => say(format!("differs {}", customer.id)),
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
            path.display(),
            count(walked)
        );
        return Err(Failure::Partial);
    }
    note!(
        "{} matches the book: {}",
        path.display(),
        plural(walked, "customer", "customers")
    );
    Ok(())
}

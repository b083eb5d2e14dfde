//! The copy in an SQLite file (built in: nothing to install).

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use plugipay::{Change, Held};
use rusqlite::{Connection, OptionalExtension, params};

use super::store::{Row, Store, Tally, fingerprint_text, plan, stamp};
use crate::failure::Failure;

const SCHEMA: &str = "
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
    );";

/// An open SQLite copy.
pub struct Sqlite {
    db: Connection,
    name: String,
}

impl Sqlite {
    /// Opens the copy at `path`, creating the file (readable by its owner
    /// only: customers' personal data, as exports are) and its tables when
    /// missing.
    pub fn open(path: &Path) -> Result<Sqlite, Failure> {
        let name = path.display().to_string();
        match crate::files::owner_only_new_file().open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Failure::Other(format!("{name}: {e}"))),
        }
        let fail = |e: rusqlite::Error| Failure::Other(format!("{name}: {e}"));
        // SQLite gives its journal files the database file's permissions.
        let db = Connection::open(path).map_err(fail)?;
        db.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(fail)?;
        db.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Sqlite { db, name })
    }

    fn fail(&self) -> impl Fn(rusqlite::Error) -> Failure + '_ {
        move |e| Failure::Other(format!("{}: {e}", self.name))
    }
}

impl Store for Sqlite {
    fn name(&self) -> &str {
        &self.name
    }

    async fn state(&mut self, key: &str) -> Result<Option<String>, Failure> {
        self.db
            .query_row(
                "SELECT value FROM plugipay_mirror WHERE key = ?1",
                [key],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.fail())
    }

    async fn apply(
        &mut self,
        changes: &[Change],
        state: &[(&str, Option<String>)],
    ) -> Result<Tally, Failure> {
        let name = &self.name;
        let fail = |e: rusqlite::Error| Failure::Other(format!("{name}: {e}"));
        let tx = self.db.transaction().map_err(fail)?;
        let tally = write(&tx, changes, state).map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(tally)
    }

    async fn clear(&mut self) -> Result<(), Failure> {
        let name = &self.name;
        let fail = |e: rusqlite::Error| Failure::Other(format!("{name}: {e}"));
        let tx = self.db.transaction().map_err(fail)?;
        tx.execute_batch("DELETE FROM plugipay_customers; DELETE FROM plugipay_mirror;")
            .map_err(fail)?;
        tx.commit().map_err(fail)
    }

    async fn live(&mut self) -> Result<HashMap<String, u64>, Failure> {
        let name = &self.name;
        let fail = |e: rusqlite::Error| Failure::Other(format!("{name}: {e}"));
        let mut live = HashMap::new();
        let mut rows = self
            .db
            .prepare("SELECT id, json FROM plugipay_customers WHERE deleted_at IS NULL")
            .map_err(fail)?;
        let mut rows = rows.query([]).map_err(fail)?;
        while let Some(row) = rows.next().map_err(fail)? {
            let json: Option<String> = row.get(1).map_err(fail)?;
            let id: String = row.get(0).map_err(fail)?;
            live.insert(id, json.as_deref().map_or(u64::MAX, fingerprint_text));
        }
        Ok(live)
    }
}

/// One batch inside its transaction: what the copy holds, the plan, the
/// rows, the state.
fn write(
    tx: &rusqlite::Transaction<'_>,
    changes: &[Change],
    state: &[(&str, Option<String>)],
) -> rusqlite::Result<Tally> {
    let mut held_of = tx.prepare_cached(
        "SELECT updated_at, deleted_at IS NOT NULL FROM plugipay_customers WHERE id = ?1",
    )?;
    let mut held = HashMap::new();
    for change in changes {
        let id = change.customer_id();
        if held.contains_key(id) {
            continue;
        }
        let row: Option<(Option<String>, bool)> = held_of
            .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let state = match row {
            None => Held::Absent,
            Some((_, true)) => Held::Deleted,
            Some((updated_at, false)) => Held::Present(
                updated_at
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc)),
            ),
        };
        held.insert(id, state);
    }
    let (rows, tally) = plan(changes, held);
    let mut upsert = tx.prepare_cached(
        "INSERT OR REPLACE INTO plugipay_customers (id, account_id, external_id, email, name,
             phone, tax_id, default_payment_token_id, metadata, created_at, updated_at, json,
             deleted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    let mut tombstone = tx.prepare_cached(
        "INSERT INTO plugipay_customers (id, deleted_at) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at",
    )?;
    for Row {
        id,
        customer,
        deleted_at,
    } in rows
    {
        let deleted_at = deleted_at.map(stamp);
        match customer {
            Some(customer) => {
                let metadata =
                    serde_json::to_string(&customer.metadata).unwrap_or_else(|_| "{}".into());
                let json = serde_json::to_string(customer).unwrap_or_else(|_| "{}".into());
                upsert.execute(params![
                    id,
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
                    deleted_at,
                ])?;
            }
            None => {
                tombstone.execute(params![id, deleted_at])?;
            }
        }
    }
    for (key, value) in state {
        match value {
            Some(value) => tx.execute(
                "INSERT OR REPLACE INTO plugipay_mirror (key, value) VALUES (?1, ?2)",
                params![key, value],
            )?,
            None => tx.execute("DELETE FROM plugipay_mirror WHERE key = ?1", [key])?,
        };
    }
    Ok(tally)
}

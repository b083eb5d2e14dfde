//! The copy in a Postgres database, named by a `postgres://` URL: the same
//! two tables, with `jsonb` and `timestamptz` columns; each batch is one
//! statement per kind of row (arrays unnested), so a batch costs a few round
//! trips however many customers it holds.
//!
//! TLS as `sslmode` says: `prefer` (the default: TLS when the server offers
//! it), `require` (TLS or no connection), `disable`. Whenever TLS is used
//! the server's certificate is checked against the system's trusted
//! certificates and its name against the host's, so `verify-full` (and
//! `verify-ca`, checked as strictly) are taken as `require`; a certificate
//! the system does not trust fails the connection, never a fallback to
//! plain text. A Unix socket goes without TLS.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use plugipay::{Change, Held};
use tokio_postgres::Config;
use tokio_postgres::config::Host;

use super::store::{Row, Store, Tally, fingerprint_text, plan};
use crate::failure::Failure;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS plugipay_customers (
        id text PRIMARY KEY,
        account_id text,
        external_id text,
        email text,
        name text,
        phone text,
        tax_id text,
        default_payment_token_id text,
        metadata jsonb,
        created_at timestamptz,
        updated_at timestamptz,
        json jsonb,
        deleted_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS plugipay_customers_external_id
        ON plugipay_customers (external_id);
    CREATE TABLE IF NOT EXISTS plugipay_mirror (
        key text PRIMARY KEY,
        value text NOT NULL
    );";

/// Taken (for its transaction) by every write, so two runs into one
/// database take turns batch by batch instead of racing on the same rows.
const LOCK: &str = "SELECT pg_advisory_xact_lock(7262110575461)";

const UPSERT: &str = "
    INSERT INTO plugipay_customers (id, account_id, external_id, email, name, phone, tax_id,
        default_payment_token_id, metadata, created_at, updated_at, json, deleted_at)
    SELECT id, account_id, external_id, email, name, phone, tax_id, default_payment_token_id,
        metadata::jsonb, created_at::timestamptz, updated_at::timestamptz, json::jsonb,
        deleted_at::timestamptz
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
        AS t(id, account_id, external_id, email, name, phone, tax_id, default_payment_token_id,
             metadata, created_at, updated_at, json, deleted_at)
    ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id,
        external_id = excluded.external_id, email = excluded.email, name = excluded.name,
        phone = excluded.phone, tax_id = excluded.tax_id,
        default_payment_token_id = excluded.default_payment_token_id,
        metadata = excluded.metadata, created_at = excluded.created_at,
        updated_at = excluded.updated_at, json = excluded.json, deleted_at = excluded.deleted_at";

const TOMBSTONES: &str = "
    INSERT INTO plugipay_customers (id, deleted_at)
    SELECT id, deleted_at::timestamptz FROM UNNEST($1::text[], $2::text[]) AS t(id, deleted_at)
    ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at";

/// Whether `target` names a Postgres database rather than a file.
pub fn is_url(target: &str) -> bool {
    target.starts_with("postgres://") || target.starts_with("postgresql://")
}

/// An open Postgres copy.
pub struct Postgres {
    client: tokio_postgres::Client,
    name: String,
}

impl Postgres {
    /// Connects to the database `url` names and creates the tables when
    /// missing. The password comes from the URL or `PGPASSWORD`; without a
    /// `connect_timeout` in the URL, connecting gives up after 10 s.
    pub async fn connect(url: &str) -> Result<Postgres, Failure> {
        let mut config: Config = with_verified_modes(url).parse().map_err(|e| {
            Failure::Usage(format!(
                "not a Postgres URL ({}): postgres://USER@HOST:PORT/DATABASE",
                describe(&e)
            ))
        })?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("plugipay customers mirror");
        let name = display_name(&config);
        // A Unix socket goes without TLS (`sslmode` does not apply, as with
        // libpq); the driver would ask a TLS connector for a host name it
        // does not have.
        let local = config
            .get_hosts()
            .iter()
            .all(|host| !matches!(host, Host::Tcp(_)));
        // The connection does its I/O on a task of its own; its end shows
        // in the client's next call as an error.
        let connected = if local {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
            let connected = config.connect(tokio_postgres::NoTls).await;
            connected.map(|(client, connection)| {
                tokio::spawn(connection);
                client
            })
        } else {
            let connected = config.connect(tls()?).await;
            connected.map(|(client, connection)| {
                tokio::spawn(connection);
                client
            })
        };
        let mut client = connected.map_err(|e| {
            let mut text = describe(&e);
            if text.contains("certificate") {
                text += " (the system does not trust the server's certificate: add its \
                         certificate authority to the system's trusted ones, or name it in \
                         SSL_CERT_FILE)";
            }
            Failure::Other(format!("{name}: cannot connect: {text}"))
        })?;
        let tx = client.transaction().await.map_err(|e| fail(&name, e))?;
        tx.batch_execute(LOCK).await.map_err(|e| fail(&name, e))?;
        tx.batch_execute(SCHEMA).await.map_err(|e| fail(&name, e))?;
        tx.commit().await.map_err(|e| fail(&name, e))?;
        Ok(Postgres { client, name })
    }
}

/// `sslmode=verify-full` and `verify-ca` as `require`: the driver knows only
/// `disable`, `prefer` and `require`, and checks every certificate in full.
fn with_verified_modes(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let query: Vec<&str> = query
        .split('&')
        .map(|pair| match pair {
            "sslmode=verify-full" | "sslmode=verify-ca" => "sslmode=require",
            other => other,
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// The TLS connector: rustls with the platform's certificate checks.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, Failure> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|e| Failure::Other(format!("TLS for Postgres: {e}")))?
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// What messages call the database: its URL without the password.
fn display_name(config: &Config) -> String {
    let user = config.get_user().unwrap_or_default();
    let at = if user.is_empty() { "" } else { "@" };
    let database = config.get_dbname().unwrap_or(user);
    let port = |i: usize| {
        let ports = config.get_ports();
        ports.get(i).or(ports.first()).copied().unwrap_or(5432)
    };
    let mut tcp = Vec::new();
    let mut sockets = Vec::new();
    for (i, host) in config.get_hosts().iter().enumerate() {
        match host {
            Host::Tcp(host) => tcp.push(format!("{host}:{}", port(i))),
            #[cfg(unix)]
            Host::Unix(dir) => sockets.push(dir.display().to_string()),
        }
    }
    let mut name = format!("postgres://{user}{at}{}/{database}", tcp.join(","));
    if !sockets.is_empty() {
        name += &format!("?host={}", sockets.join(","));
    }
    name
}

/// A Postgres error with its causes: the driver's own text is only their
/// kind ("db error", "error connecting to server").
fn describe(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

fn fail(name: &str, e: tokio_postgres::Error) -> Failure {
    Failure::Other(format!("{name}: {}", describe(&e)))
}

impl Store for Postgres {
    fn name(&self) -> &str {
        &self.name
    }

    async fn state(&mut self, key: &str) -> Result<Option<String>, Failure> {
        let row = self
            .client
            .query_opt("SELECT value FROM plugipay_mirror WHERE key = $1", &[&key])
            .await
            .map_err(|e| fail(&self.name, e))?;
        row.map(|row| row.try_get(0))
            .transpose()
            .map_err(|e| fail(&self.name, e))
    }

    async fn apply(
        &mut self,
        changes: &[Change],
        state: &[(&str, Option<String>)],
    ) -> Result<Tally, Failure> {
        let name = &self.name;
        let fail = |e| fail(name, e);
        let tx = self.client.transaction().await.map_err(fail)?;
        tx.batch_execute(LOCK).await.map_err(fail)?;
        let ids: Vec<&str> = changes.iter().map(Change::customer_id).collect();
        let wanted: std::collections::HashSet<&str> = ids.iter().copied().collect();
        let mut held = HashMap::new();
        for row in tx
            .query(
                "SELECT id, updated_at, deleted_at IS NOT NULL FROM plugipay_customers
                 WHERE id = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(fail)?
        {
            // try_get: a table of another shape is an error, not a panic.
            let id: String = row.try_get(0).map_err(fail)?;
            let updated_at: Option<DateTime<Utc>> = row.try_get(1).map_err(fail)?;
            let deleted: bool = row.try_get(2).map_err(fail)?;
            // Keyed by the change's own id (a borrow of `changes`).
            if let Some(id) = wanted.get(id.as_str()) {
                let state = if deleted {
                    Held::Deleted
                } else {
                    Held::Present(updated_at.unwrap_or(DateTime::<Utc>::MIN_UTC))
                };
                held.insert(*id, state);
            }
        }
        let (rows, tally) = plan(changes, held);
        let (full, tombstones): (Vec<&Row<'_>>, Vec<&Row<'_>>) =
            rows.iter().partition(|row| row.customer.is_some());
        if !full.is_empty() {
            let mut columns: [Vec<Option<String>>; 13] = Default::default();
            for row in &full {
                let Some(customer) = row.customer else {
                    continue;
                };
                let values = [
                    Some(customer.id.clone()),
                    Some(customer.account_id.clone()),
                    customer.external_id.clone(),
                    customer.email.clone(),
                    customer.name.clone(),
                    customer.phone.clone(),
                    customer.tax_id.clone(),
                    customer.default_payment_token_id.clone(),
                    serde_json::to_string(&customer.metadata).ok(),
                    Some(customer.created_at.to_rfc3339()),
                    Some(customer.updated_at.to_rfc3339()),
                    serde_json::to_string(customer).ok(),
                    row.deleted_at.map(|at| at.to_rfc3339()),
                ];
                for (column, value) in columns.iter_mut().zip(values) {
                    column.push(value);
                }
            }
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = columns
                .iter()
                .map(|c| c as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            tx.execute(UPSERT, &params).await.map_err(fail)?;
        }
        if !tombstones.is_empty() {
            let ids: Vec<&str> = tombstones.iter().map(|row| row.id).collect();
            let at: Vec<Option<String>> = tombstones
                .iter()
                .map(|row| row.deleted_at.map(|at| at.to_rfc3339()))
                .collect();
            tx.execute(TOMBSTONES, &[&ids, &at]).await.map_err(fail)?;
        }
        for (key, value) in state {
            match value {
                Some(value) => tx
                    .execute(
                        "INSERT INTO plugipay_mirror (key, value) VALUES ($1, $2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        &[key, value],
                    )
                    .await
                    .map_err(fail)?,
                None => tx
                    .execute("DELETE FROM plugipay_mirror WHERE key = $1", &[key])
                    .await
                    .map_err(fail)?,
            };
        }
        tx.commit().await.map_err(fail)?;
        Ok(tally)
    }

    async fn clear(&mut self) -> Result<(), Failure> {
        let name = &self.name;
        let tx = self.client.transaction().await.map_err(|e| fail(name, e))?;
        tx.batch_execute(LOCK).await.map_err(|e| fail(name, e))?;
        tx.batch_execute("DELETE FROM plugipay_customers; DELETE FROM plugipay_mirror;")
            .await
            .map_err(|e| fail(name, e))?;
        tx.commit().await.map_err(|e| fail(name, e))
    }

    async fn live(&mut self) -> Result<HashMap<String, u64>, Failure> {
        let name = &self.name;
        let rows = self
            .client
            .query_raw(
                "SELECT id, json::text FROM plugipay_customers WHERE deleted_at IS NULL",
                std::iter::empty::<&str>(),
            )
            .await
            .map_err(|e| fail(name, e))?;
        let mut rows = std::pin::pin!(rows);
        let mut live = HashMap::new();
        // Row by row, as the server sends them: a large copy is never held
        // whole.
        while let Some(row) = rows.try_next().await.map_err(|e| fail(name, e))? {
            let id: String = row.try_get(0).map_err(|e| fail(name, e))?;
            let json: Option<String> = row.try_get(1).map_err(|e| fail(name, e))?;
            live.insert(id, json.as_deref().map_or(u64::MAX, fingerprint_text));
        }
        Ok(live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_are_taken_as_require() {
        assert_eq!(
            with_verified_modes("postgres://h/db?sslmode=verify-full&connect_timeout=3"),
            "postgres://h/db?sslmode=require&connect_timeout=3"
        );
        assert_eq!(
            with_verified_modes("postgres://h/db?sslmode=verify-ca"),
            "postgres://h/db?sslmode=require"
        );
        assert_eq!(with_verified_modes("postgres://h/db"), "postgres://h/db");
        let config: Config = with_verified_modes("postgres://h/db?sslmode=verify-full")
            .parse()
            .unwrap();
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
    }

    /// Messages name the database without its password.
    #[test]
    fn the_name_of_a_database_leaves_its_password_out() {
        let config: Config = "postgres://app:s3cret@db.example:6543/book"
            .parse()
            .unwrap();
        assert_eq!(display_name(&config), "postgres://app@db.example:6543/book");
        let config: Config = "postgresql://localhost".parse().unwrap();
        assert_eq!(display_name(&config), "postgres://localhost:5432/");
        let config: Config = "postgres://app@/book?host=/run/postgresql".parse().unwrap();
        assert_eq!(
            display_name(&config),
            "postgres://app@/book?host=/run/postgresql"
        );
    }
}

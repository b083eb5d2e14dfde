//! `import`: ensures (or syncs) every row of a file by its externalId, so a
//! re-run (after a crash, through faults) finds what the last run created.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use plugipay::{Client, NewCustomer, SyncAction};

use crate::Failure;
use crate::failed_rows::FailedRows;
use crate::output::{progress, terminal_safe};
use crate::rows::{NumberedRow, Row, Rows, count_rows, first_of_each_external_id, rows};

/// A row's external id and the customer to ensure with it.
fn into_customer(mut row: Row) -> Result<(String, NewCustomer), String> {
    let external_id = row
        .external_id
        .take()
        .filter(|id| !id.is_empty())
        .ok_or("externalId is missing")?;
    Ok((external_id, row))
}

/// How many failed rows are reported one by one; the rest are counted.
const MAX_REPORTED_ROWS: u64 = 20;

/// What `import` does with each row.
#[derive(Clone, Copy, Debug)]
pub struct ImportMode {
    /// Also update existing customers whose fields differ from the row.
    pub update: bool,
    /// Only say what would be done; write nothing.
    pub dry_run: bool,
    /// Rows in flight at once.
    pub concurrency: usize,
}

/// How one row went (or, in a dry run, would go).
enum Outcome {
    Created,
    Found,
    Updated,
    Unchanged,
    /// Not done: refused, or never reached the server.
    Failed(String),
    /// Maybe done: a write that may have been applied could not be read
    /// back. Never counted as failed.
    Unknown(String),
}

/// What happens to one row: `ensure` (or `sync` with `update`), or in a dry
/// run a lookup that says on stdout what would be written.
async fn import_row(
    client: Client,
    mode: ImportMode,
    line: u64,
    row: Result<Row, String>,
) -> Outcome {
    // A dry run points out what the server will refuse by the limits
    // Plugipay publishes; a real run leaves them to the server.
    if mode.dry_run
        && let Ok(row) = &row
        && let Some(broken) = past_published_limits(row)
    {
        return Outcome::Failed(broken);
    }
    let (external_id, customer) = match row.and_then(into_customer) {
        Ok(parsed) => parsed,
        Err(reason) => return Outcome::Failed(reason),
    };
    let customers = client.customers();
    let result = match (mode.dry_run, mode.update) {
        (false, false) => match customers.ensure(external_id, customer).await {
            Ok(ensured) if ensured.created => Ok(Outcome::Created),
            Ok(_) => Ok(Outcome::Found),
            // The create was refused because the customer exists: the row
            // is there, though reading it back failed.
            Err(plugipay::Error::Unresolved { .. }) => Ok(Outcome::Found),
            Err(error) => Err(error),
        },
        (false, true) => customers
            .sync(external_id, customer)
            .await
            .map(|s| match s.action {
                SyncAction::Created => Outcome::Created,
                SyncAction::Updated(_) => Outcome::Updated,
                _ => Outcome::Unchanged,
            }),
        (true, _) => plan_row(&client, mode.update, line, &external_id, &customer).await,
    };
    result.unwrap_or_else(|e| match e.is_outcome_unknown() {
        true => Outcome::Unknown(e.report().to_string()),
        false => Outcome::Failed(e.report().to_string()),
    })
}

/// The published limits `row` breaks, in words, if any.
fn past_published_limits(row: &Row) -> Option<String> {
    let json = serde_json::to_value(row).ok()?;
    let broken = plugipay::api::validate::published_limits(&json);
    if broken.is_empty() {
        return None;
    }
    let each: Vec<String> = broken
        .iter()
        .map(|b| format!("{} {}", b.field, b.reason))
        .collect();
    Some(format!(
        "the server will refuse this row (published limits): {}",
        each.join("; ")
    ))
}

/// A dry run of one row: looks the customer up and prints on stdout what a
/// real run would write (nothing for a row that needs nothing).
async fn plan_row(
    client: &Client,
    update: bool,
    line: u64,
    external_id: &str,
    row: &NewCustomer,
) -> Result<Outcome, plugipay::Error> {
    let Some(current) = client.customers().find(external_id).await? else {
        println_safe(&format!("line {line}: create {external_id}"));
        return Ok(Outcome::Created);
    };
    if !update {
        return Ok(Outcome::Found);
    }
    let change = plugipay::difference(&current, row);
    if change.fields.is_empty() {
        return Ok(Outcome::Unchanged);
    }
    let fields = change.fields.join(", ");
    println_safe(&format!(
        "line {line}: update {external_id} ({}): {fields}",
        current.id
    ));
    Ok(Outcome::Updated)
}

/// One line of a dry run's plan on stdout, made safe for a terminal.
fn println_safe(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", terminal_safe(line));
}

/// Ensures (or, with `mode.update`, syncs) every row, `mode.concurrency` at
/// a time; reports rows it could not finish with their line numbers and
/// goes on; fails at the end if any row was not done. Rows not done (failed,
/// or of unknown outcome) are copied to a new file beside the input, ready
/// to be imported again. A dry run writes nothing and prints on stdout one
/// line per row that would be created or updated.
pub async fn import(client: &Client, path: &Path, mode: ImportMode) -> Result<(), Failure> {
    let total = count_rows(path)?;
    let bar = progress(
        total,
        if mode.dry_run {
            "rows checked"
        } else {
            "rows imported"
        },
    );
    let started = Instant::now();
    let Rows { header, rows } = rows(path)?;
    let mut not_done = (!mode.dry_run).then(|| FailedRows::new(path, header));
    let outcomes = futures_util::stream::iter(first_of_each_external_id(rows))
        .map(|NumberedRow { line, source, row }| {
            let client = client.clone();
            async move { (line, source, import_row(client, mode, line, row).await) }
        })
        .buffer_unordered(mode.concurrency);
    let mut tally = Tally::default();
    futures_util::pin_mut!(outcomes);
    while let Some((line, source, outcome)) = outcomes.next().await {
        let (verdict, reason) = match outcome {
            Outcome::Created => (&mut tally.created, None),
            Outcome::Found => (&mut tally.found, None),
            Outcome::Updated => (&mut tally.updated, None),
            Outcome::Unchanged => (&mut tally.unchanged, None),
            Outcome::Failed(reason) => (&mut tally.failed, Some(reason)),
            Outcome::Unknown(reason) => (
                &mut tally.unknown,
                Some(format!("outcome unknown: {reason}")),
            ),
        };
        *verdict += 1;
        if let Some(reason) = reason {
            if let Some(not_done) = &mut not_done {
                not_done.push(&source)?;
            }
            let shown = tally.failed + tally.unknown;
            if shown <= MAX_REPORTED_ROWS {
                let report = terminal_safe(&format!("{}:{line}: {reason}", path.display()));
                bar.suspend(|| note!("{report}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let not_shown = (tally.failed + tally.unknown).saturating_sub(MAX_REPORTED_ROWS);
    if not_shown > 0 {
        note!("… and {not_shown} more rows not done, not shown");
    }
    note!("{}", tally.summary(mode, started.elapsed().as_secs_f64()));
    if let Some(said) = not_done.map(FailedRows::finish).transpose()?.flatten() {
        note!("{}", terminal_safe(&said));
    }
    if tally.failed + tally.unknown > 0 {
        Err(Failure::Partial)
    } else {
        Ok(())
    }
}

/// How many rows went each way.
#[derive(Default)]
struct Tally {
    created: u64,
    found: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    unknown: u64,
}

impl Tally {
    /// The closing line of an import.
    fn summary(&self, mode: ImportMode, seconds: f64) -> String {
        let Tally {
            created,
            found,
            updated,
            unchanged,
            failed,
            unknown,
        } = self;
        let rows = created + found + updated + unchanged + failed + unknown;
        // Only a write can be of unknown outcome: a dry run has none.
        let unknown = format!("{unknown} of unknown outcome");
        match (mode.dry_run, mode.update) {
            (false, false) => format!(
                "imported {rows} rows in {seconds:.1}s: {created} created, {found} found, {failed} failed, \
                 {unknown}"
            ),
            (false, true) => format!(
                "synced {rows} rows in {seconds:.1}s: {created} created, {updated} updated, \
                 {unchanged} unchanged, {failed} failed, {unknown}"
            ),
            (true, false) => format!(
                "dry run, nothing written: {rows} rows: {created} to create, {found} found, {failed} failed"
            ),
            (true, true) => format!(
                "dry run, nothing written: {rows} rows: {created} to create, {updated} to update, \
                 {unchanged} unchanged, {failed} failed"
            ),
        }
    }
}

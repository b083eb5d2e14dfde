//! `import`: ensures (or syncs) every row of a file by its externalId, so a
//! re-run (after a crash, through faults) finds what the last run created.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;

use plugipay::{Client, Customer, NewCustomer, SyncAction, SyncPlan};

use crate::failed_rows::FailedRows;
use crate::failure::Failure;
use crate::known::{Known, Lookup};
use crate::output::progress;
use crate::rows::{NumberedRow, Row, Rows, Skipped, Source, first_of_each_external_id, rows, scan};
use crate::signals::Interrupts;
use crate::terminal::terminal_safe;

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
enum RowOutcome {
    Created,
    Found,
    Updated,
    Unchanged,
    /// Not done: refused, or never reached the server.
    Failed(String),
    /// Maybe done: a write that may have been applied could not be read
    /// back. Never counted as failed.
    Unknown(String),
    /// Still in flight when the import was stopped and the grace ran out:
    /// maybe done.
    Abandoned,
}

/// What happens to one row. Its customer is taken from what the walk of
/// the book found (or looked up by its externalId, a read) before anything
/// is written: a row whose customer exists is found (or, with `update`,
/// left alone or PATCHed in the fields that differ) without a write; one
/// whose customer is absent is created with `ensure`. A dry run says on
/// stdout what would be written.
async fn import_row(
    client: Client,
    known: Arc<Known>,
    mode: ImportMode,
    line: u64,
    row: Result<Row, String>,
) -> RowOutcome {
    // A dry run points out what the server will refuse by the limits
    // Plugipay publishes; a real run leaves them to the server.
    if mode.dry_run
        && let Ok(row) = &row
        && let Some(broken) = past_published_limits(row)
    {
        return RowOutcome::Failed(broken);
    }
    let (external_id, customer) = match row.and_then(into_customer) {
        Ok(parsed) => parsed,
        Err(reason) => return RowOutcome::Failed(reason),
    };
    let current = current(&client, &known, &external_id).await;
    let result = match (mode.dry_run, current) {
        (true, current) => {
            plan_row(&client, mode.update, line, &external_id, &customer, current).await
        }
        (false, Some(Some(_))) if !mode.update => Ok(RowOutcome::Found),
        // The SDK's sync decides from the customer the walk found: nothing
        // written when the row holds nothing new.
        (false, Some(Some(current))) => client
            .customers()
            .sync(external_id, customer)
            .current(current)
            .await
            .map(|synced| synced_outcome(&synced.action)),
        // Absent, or unknown: `ensure` / `sync` create it once, and cope with
        // a customer that exists after all.
        (false, _) if !mode.update => ensure_row(&client, external_id, customer).await,
        (false, _) => client
            .customers()
            .sync(external_id, customer)
            .await
            .map(|synced| synced_outcome(&synced.action)),
    };
    result.unwrap_or_else(|e| match e.is_outcome_unknown() {
        true => RowOutcome::Unknown(e.report().to_string()),
        false => RowOutcome::Failed(e.report().to_string()),
    })
}

/// The row's customer: `Some(Some(..))` found, `Some(None)` not there,
/// `None` when that could not be told (the lookup failed).
async fn current(client: &Client, known: &Known, external_id: &str) -> Option<Option<Customer>> {
    match known.lookup(external_id) {
        Lookup::Found(customer) => Some(Some(customer.clone())),
        Lookup::Absent => Some(None),
        Lookup::Unknown => client.customers().find(external_id).await.ok(),
    }
}

/// Creates the row's customer once (`ensure`: a customer that turns out to
/// exist is found).
async fn ensure_row(
    client: &Client,
    external_id: String,
    customer: NewCustomer,
) -> Result<RowOutcome, plugipay::Error> {
    match client.customers().ensure(external_id, customer).await {
        Ok(ensured) if ensured.created => Ok(RowOutcome::Created),
        Ok(_) => Ok(RowOutcome::Found),
        // The create was refused because the customer exists: the row is
        // there, though reading it back failed.
        Err(plugipay::Error::Unresolved { .. }) => Ok(RowOutcome::Found),
        Err(error) => Err(error),
    }
}

/// What a row's `sync` did, as the import counts it.
fn synced_outcome(action: &SyncAction) -> RowOutcome {
    match action {
        SyncAction::Created => RowOutcome::Created,
        SyncAction::Updated(_) => RowOutcome::Updated,
        _ => RowOutcome::Unchanged,
    }
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

/// A dry run of one row: with the customer as the walk or a lookup found it
/// (looked up again when that failed), prints on stdout what a real run
/// would write (nothing for a row that needs nothing).
async fn plan_row(
    client: &Client,
    update: bool,
    line: u64,
    external_id: &str,
    row: &NewCustomer,
    current: Option<Option<Customer>>,
) -> Result<RowOutcome, plugipay::Error> {
    let current = match current {
        Some(current) => current,
        None => client.customers().find(external_id).await?,
    };
    let Some(current) = current else {
        println_safe(&format!("line {line}: create {external_id}"));
        return Ok(RowOutcome::Created);
    };
    if !update {
        return Ok(RowOutcome::Found);
    }
    // The decision a real run's sync makes.
    let change = match SyncPlan::decide(Some(&current), row) {
        SyncPlan::Update(change) => change,
        _ => return Ok(RowOutcome::Unchanged),
    };
    let changes = describe_changes(&current, row, &change.fields).join(", ");
    println_safe(&format!(
        "line {line}: update {external_id} ({}): {changes}",
        current.id
    ));
    Ok(RowOutcome::Updated)
}

/// Each field of `fields` as `name "old" → "new"` (`(none)` for a field or
/// metadata key the customer does not have); metadata as one entry per key
/// the row changes, `metadata.KEY …`.
fn describe_changes(current: &Customer, row: &NewCustomer, fields: &[String]) -> Vec<String> {
    let as_map = |value: serde_json::Result<serde_json::Value>| match value {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (old, new) = (
        as_map(serde_json::to_value(current)),
        as_map(serde_json::to_value(row)),
    );
    let mut out = Vec::new();
    for field in fields {
        if field == "metadata" {
            for (key, value) in &row.metadata {
                let held = current.metadata.get(key);
                if held != Some(value) {
                    out.push(format!(
                        "metadata.{key} {} → {}",
                        shown(held.map(|v| serde_json::Value::from(v.as_str())).as_ref()),
                        shown(Some(&serde_json::Value::from(value.as_str())))
                    ));
                }
            }
        } else {
            out.push(format!(
                "{field} {} → {}",
                shown(old.get(field)),
                shown(new.get(field))
            ));
        }
    }
    out
}

/// A value in a dry run's plan: JSON (strings quoted, control characters
/// escaped), or `(none)`.
fn shown(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "(none)".to_owned(),
        Some(value) => value.to_string(),
    }
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
    // From here on Ctrl-C (SIGINT, SIGTERM, SIGHUP) stops the import
    // cleanly instead of killing it mid-row.
    let mut interrupts = Interrupts::listen()?;
    // The summary's time is the whole run's, the reading of the book too.
    let started = Instant::now();
    let scan = scan(path)?;
    // What the book holds of the rows, by reads, before any write.
    let known = match &scan {
        Some(scan) if !scan.external_ids.is_empty() => tokio::select! {
            known = Known::read(client, &scan.external_ids) => known,
            signal = interrupts.recv() => {
                report!("import interrupted by {signal} while reading the book: nothing was written; run it again");
                return Err(Failure::Interrupted);
            }
        },
        _ => Known::nothing(),
    };
    if let Some(scan) = &scan {
        let (found, rows) = (known.found(), scan.external_ids.len());
        if known.complete() {
            let rows = crate::terminal::plural(rows as u64, "row's customer", "rows' customers");
            note!("read the book: {found} of the {rows} exist");
        } else {
            note!(
                "read part of the book: {found} of the {} found; \
                 the other rows are looked up one by one",
                crate::terminal::plural(rows as u64, "row's customer", "rows' customers")
            );
        }
    }
    let known = Arc::new(known);
    let bar = progress(
        scan.as_ref().map(|s| s.rows),
        if mode.dry_run {
            "rows checked"
        } else {
            "rows imported"
        },
    );
    let Rows {
        header,
        rows,
        skipped,
    } = rows(path)?;
    let mut not_done = (!mode.dry_run).then(|| FailedRows::new(path, header));
    let mut report = Report {
        path,
        tally: Tally::default(),
        not_done: &mut not_done,
        bar: &bar,
    };
    let mut rows = first_of_each_external_id(rows);
    // Rows run `concurrency` at a time and finish in any order; their
    // reports wait in `finished` to come out in file order. The window
    // bounds how far ahead of the oldest unfinished row the import may
    // run, so memory stays bounded behind a slow row. A row's place in the
    // file stays in `pending` while it runs.
    let window = mode.concurrency.saturating_mul(REORDER_FACTOR);
    let mut in_flight = futures_util::stream::FuturesUnordered::new();
    let mut pending = BTreeMap::<u64, (u64, Source)>::new();
    let mut finished = BTreeMap::<u64, (u64, Source, RowOutcome)>::new();
    let (mut next_started, mut next_reported) = (0u64, 0u64);
    let mut ceiling_shown = false;
    // Once a signal came: which, and until when rows in flight may finish.
    let mut stop: Option<(&'static str, tokio::time::Instant)> = None;
    loop {
        while stop.is_none()
            && in_flight.len() < mode.concurrency
            && pending.len() + finished.len() < window
        {
            let Some(NumberedRow { line, source, row }) = rows.next() else {
                break;
            };
            let (client, known, seq) = (client.clone(), Arc::clone(&known), next_started);
            next_started += 1;
            pending.insert(seq, (line, source));
            in_flight.push(async move { (seq, import_row(client, known, mode, line, row).await) });
        }
        if in_flight.is_empty() {
            break;
        }
        let grace = async {
            match stop {
                Some((_, until)) => tokio::time::sleep_until(until).await,
                None => std::future::pending().await,
            }
        };
        let (seq, outcome) = tokio::select! {
            next = in_flight.next() => next.expect("rows in flight"),
            signal = interrupts.recv() => {
                if stop.is_some() {
                    // A second signal: no more waiting.
                    break;
                }
                let waiting = in_flight.len();
                bar.suspend(|| note!(
                    "{signal}: stopping; no new rows are sent, the {waiting} in flight get up to \
                     {}s to finish (again to stop now)",
                    GRACE.as_secs()
                ));
                stop = Some((signal, tokio::time::Instant::now() + GRACE));
                continue;
            }
            () = grace => break,
        };
        let (line, source) = pending.remove(&seq).expect("a started row");
        finished.insert(seq, (line, source, outcome));
        while let Some((line, source, outcome)) = finished.remove(&next_reported) {
            report.row(line, &source, outcome);
            next_reported += 1;
        }
        // The rate this import allows itself, once the server has said
        // its limit.
        if !ceiling_shown
            && let Some(rate) = crate::output::bulk_rate(client, plugipay::RateClass::Write)
        {
            bar.set_message(format!("rows (writes {rate})"));
            ceiling_shown = true;
        }
    }
    // Stopped by a signal: rows still in flight are abandoned (a write may
    // have been applied), and with the rows never started they are copied
    // out to be imported again, in file order.
    drop(in_flight);
    for (seq, (line, source)) in std::mem::take(&mut pending) {
        finished.insert(seq, (line, source, RowOutcome::Abandoned));
    }
    for (_, (line, source, outcome)) in std::mem::take(&mut finished) {
        report.row(line, &source, outcome);
    }
    if stop.is_some() {
        if path == Path::new("-") && std::io::stdin().is_terminal() {
            report!("the rows not yet typed on standard input were not read");
        } else {
            for NumberedRow { source, .. } in rows {
                report.not_started(&source);
            }
        }
    }
    let tally = report.tally;
    bar.finish_and_clear();
    note_skipped(&skipped);
    let not_shown =
        (tally.failed + tally.unknown + tally.abandoned).saturating_sub(MAX_REPORTED_ROWS);
    if not_shown > 0 {
        report!("… and {not_shown} more rows not done, not shown");
    }
    let mut summary = tally.summary(mode, started.elapsed().as_secs_f64());
    if !mode.dry_run
        && let Some(rate) = crate::output::bulk_rate(client, plugipay::RateClass::Write)
    {
        summary.push_str(&format!("; writes {rate}"));
    }
    // With --quiet the summary still shows when some rows were not done.
    if tally.failed + tally.unknown + tally.abandoned + tally.not_started > 0 {
        report!("{summary}");
    } else {
        note!("{summary}");
    }
    if let Some(Ok(Some(said)) | Err(said)) = not_done.map(FailedRows::finish) {
        report!("{}", terminal_safe(&said));
    }
    if let Some((signal, _)) = stop {
        report!(
            "import interrupted by {signal}: {} rows abandoned in flight, {} not started; \
             a rerun is safe (rows already imported are found, not created again)",
            tally.abandoned,
            tally.not_started
        );
        return Err(Failure::Interrupted);
    }
    if tally.failed + tally.unknown > 0 {
        Err(Failure::Partial)
    } else {
        Ok(())
    }
}

/// How far past the oldest unfinished row an import may run, in rows per
/// row in flight: finished rows wait at most this many to be reported in
/// file order.
const REORDER_FACTOR: usize = 16;

/// How long rows in flight may finish once a signal stops an import.
const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Says once which keys of the file's rows were left out, as the create
/// request does not take them (an export's answer-only fields).
fn note_skipped(skipped: &Skipped) {
    let skipped = skipped.lock().unwrap_or_else(|p| p.into_inner());
    if skipped.is_empty() {
        return;
    }
    let keys: Vec<&str> = skipped.iter().map(String::as_str).collect();
    note!(
        "{}",
        terminal_safe(&format!(
            "note: skipped keys a new customer does not take (as in an export): {}",
            keys.join(", ")
        ))
    );
}

/// Where each row's outcome goes, in file order: the counts, the report of
/// a row not done (the first few) and its copy in the rows-not-done file.
struct Report<'a> {
    path: &'a Path,
    tally: Tally,
    not_done: &'a mut Option<FailedRows>,
    bar: &'a crate::output::Progress,
}

impl Report<'_> {
    /// Counts one row's outcome; a row not done is reported by its line
    /// and copied out.
    fn row(&mut self, line: u64, source: &Source, outcome: RowOutcome) {
        let tally = &mut self.tally;
        let (verdict, reason) = match outcome {
            RowOutcome::Created => (&mut tally.created, None),
            RowOutcome::Found => (&mut tally.found, None),
            RowOutcome::Updated => (&mut tally.updated, None),
            RowOutcome::Unchanged => (&mut tally.unchanged, None),
            RowOutcome::Failed(reason) => (&mut tally.failed, Some(reason)),
            RowOutcome::Unknown(reason) => (
                &mut tally.unknown,
                Some(format!("outcome unknown: {reason}")),
            ),
            RowOutcome::Abandoned => (
                &mut tally.abandoned,
                Some("stopped in flight: its write may have been applied".to_owned()),
            ),
        };
        *verdict += 1;
        if let Some(reason) = reason {
            if let Some(not_done) = self.not_done.as_mut() {
                not_done.push(source);
            }
            if tally.failed + tally.unknown + tally.abandoned <= MAX_REPORTED_ROWS {
                let report = terminal_safe(&format!("{}:{line}: {reason}", self.path.display()));
                self.bar.suspend(|| report!("{report}"));
            }
        }
        self.bar.inc(1);
    }

    /// Counts a row the import stopped before starting, and copies it out.
    fn not_started(&mut self, source: &Source) {
        self.tally.not_started += 1;
        if let Some(not_done) = self.not_done.as_mut() {
            not_done.push(source);
        }
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
    /// Stopped in flight by a signal.
    abandoned: u64,
    /// Never started: the import was stopped first.
    not_started: u64,
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
            abandoned,
            not_started: _,
        } = self;
        // Rows abandoned in flight may have been written: unknown too.
        let unknown = unknown + abandoned;
        let rows = crate::terminal::plural(
            created + found + updated + unchanged + failed + unknown,
            "row",
            "rows",
        );
        // Only a write can be of unknown outcome: a dry run has none.
        let unknown = format!("{unknown} of unknown outcome");
        match (mode.dry_run, mode.update) {
            (false, false) => format!(
                "imported {rows} in {seconds:.1} s: {created} created, {found} found, {failed} failed, \
                 {unknown}"
            ),
            (false, true) => format!(
                "synced {rows} in {seconds:.1} s: {created} created, {updated} updated, \
                 {unchanged} unchanged, {failed} failed, {unknown}"
            ),
            (true, false) => format!(
                "dry run, nothing written: {rows}: {created} to create, {found} found, {failed} failed"
            ),
            (true, true) => format!(
                "dry run, nothing written: {rows}: {created} to create, {updated} to update, \
                 {unchanged} unchanged, {failed} failed"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planned_update_shows_old_and_new_values() {
        let current: Customer = serde_json::from_value(serde_json::json!({
            "id": "cus_1", "accountId": "acct_1", "createdAt": "2024-01-01T00:00:00Z",
            "updatedAt": "2024-01-01T00:00:00Z",
            "defaultPaymentTokenId": null, "name": "Budi", "email": "b@example.com",
            "metadata": {"src": "crm", "tier": "silver"}
        }))
        .unwrap();
        let mut row = NewCustomer::new()
            .name("Budi S\u{1b}[2J")
            .email("b@example.com")
            .metadata("src", "crm")
            .metadata("tier", "gold")
            .metadata("new", "x");
        row.phone = Some("0812".into());
        let change = plugipay::difference(&current, &row);
        let shown = describe_changes(&current, &row, &change.fields).join(", ");
        assert_eq!(
            shown,
            r#"name "Budi" → "Budi S\u001b[2J", phone (none) → "0812", metadata.new (none) → "x", metadata.tier "silver" → "gold""#
        );
        assert!(!terminal_safe(&shown).chars().any(char::is_control));
    }
}

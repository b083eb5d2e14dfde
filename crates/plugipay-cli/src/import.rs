//! `import`: ensures (or syncs) every row of a file by its externalId, so a
//! re-run (after a crash, through faults) finds what the last run created.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use plugipay::{Client, NewCustomer, SyncAction};

use crate::Failure;
use crate::output::{progress, terminal_safe};

/// One row of an import file: the spec's create request (`NewCustomer`,
/// generated, unknown fields refused), which must carry an `externalId`.
type Row = NewCustomer;

/// A row's external id and the customer to ensure with it.
fn into_customer(mut row: Row) -> Result<(String, NewCustomer), String> {
    let external_id = row
        .external_id
        .take()
        .filter(|id| !id.is_empty())
        .ok_or("externalId is missing")?;
    Ok((external_id, row))
}

/// Prints the JSON Schema of one import row (JSON lines; a CSV row has the
/// same fields as columns, metadata as `metadata.KEY`).
pub fn print_row_schema() -> Result<(), Failure> {
    let mut schema = schemars::schema_for!(Row);
    // An import row is a create request that must name its externalId.
    schema.schema.metadata().title = Some("plugipay import row".to_owned());
    schema
        .schema
        .object()
        .required
        .insert("externalId".to_owned());
    let text = serde_json::to_string_pretty(&schema)
        .map_err(|e| Failure::Other(format!("cannot print the schema: {e}")))?;
    println!("{text}");
    Ok(())
}

/// A CSV record as a row: each column is a field of the row by its JSON
/// name (`externalId`, `email`, …; snake_case is accepted too), and
/// `metadata.KEY` columns fill the metadata; empty cells are left out. The
/// fields come from the spec, so a column for a field the spec adds needs
/// no change here.
fn csv_row(headers: &csv::StringRecord, record: &csv::StringRecord) -> Result<Row, String> {
    let mut fields = serde_json::Map::new();
    let mut metadata = serde_json::Map::new();
    for (header, value) in headers.iter().zip(record.iter()) {
        if value.is_empty() {
            continue;
        }
        // Excel starts a UTF-8 CSV with a byte-order mark.
        let header = header.trim().trim_start_matches('\u{feff}');
        match header.strip_prefix("metadata.") {
            Some(key) => {
                metadata.insert(key.to_owned(), value.into());
            }
            None => {
                fields.insert(camel(header), value.into());
            }
        }
    }
    if !metadata.is_empty() {
        fields.insert("metadata".to_owned(), metadata.into());
    }
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| {
        let message = e.to_string();
        match message.strip_prefix("unknown field `") {
            Some(rest) => format!(
                "unknown column {:?}",
                rest.split('`').next().unwrap_or(rest)
            ),
            None => message,
        }
    })
}

/// `external_id` → `externalId` (a camelCase name is left as it is).
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A row of a file with its line number, or why the line is not a row.
type NumberedRow = (u64, Result<Row, String>);

/// How many failed rows are reported one by one; the rest are counted.
const MAX_REPORTED_ROWS: u64 = 20;

/// Where rows come from: the file at `path`, or standard input for `-`. A
/// directory, or a file that looks binary (a NUL byte early on), is refused
/// with one line rather than read as rows.
fn open_input(path: &Path) -> Result<Box<dyn std::io::Read + Send>, Failure> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin()));
    }
    let cannot = |e: std::io::Error| Failure::Other(format!("cannot open {}: {e}", path.display()));
    if std::fs::metadata(path).map_err(cannot)?.is_dir() {
        return Err(Failure::Other(format!(
            "{} is a directory, not a file of rows",
            path.display()
        )));
    }
    let mut file = File::open(path).map_err(cannot)?;
    let mut head = [0u8; 8192];
    let read = std::io::Read::read(&mut file, &mut head).map_err(cannot)?;
    if head[..read].contains(&0) {
        return Err(Failure::Other(format!(
            "{} looks binary (it holds NUL bytes): expected JSON lines or CSV text",
            path.display()
        )));
    }
    std::io::Seek::rewind(&mut file).map_err(cannot)?;
    Ok(Box::new(file))
}

fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// The rows of a file (or of stdin) with their line numbers, read lazily. A
/// UTF-8 byte-order mark is skipped; a read error ends the rows after being
/// reported once.
fn rows(path: &Path) -> Result<Box<dyn Iterator<Item = NumberedRow> + Send>, Failure> {
    let input = open_input(path)?;
    if is_csv(path) {
        // The csv crate's own line numbers drift on CRLF files: count the
        // newlines before each record's first byte instead.
        let newlines = std::sync::Arc::new(std::sync::Mutex::new(NewlineOffsets::default()));
        let tap = NewlineTap {
            inner: input,
            read: 0,
            newlines: std::sync::Arc::clone(&newlines),
        };
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(tap);
        let headers = reader
            .headers()
            .map_err(|e| {
                Failure::Other(format!(
                    "{}: cannot read the header row: {e}",
                    path.display()
                ))
            })?
            .clone();
        let mut failed = false;
        return Ok(Box::new(reader.into_records().map_while(move |record| {
            if failed {
                return None;
            }
            Some(match record {
                Ok(record) => {
                    let byte = record.position().map_or(0, |p| p.byte());
                    let line = lock(&newlines).line_at(byte);
                    (line, csv_row(&headers, &record))
                }
                Err(e) => {
                    // An I/O error would repeat forever: report it, then stop.
                    failed = matches!(e.kind(), csv::ErrorKind::Io(_));
                    let byte = e.position().map_or(0, |p| p.byte());
                    let line = lock(&newlines).line_at(byte);
                    (line, Err(format!("unreadable CSV: {e}")))
                }
            })
        })));
    }
    let mut reader = BufReader::new(input);
    let mut number = 0u64;
    let mut done = false;
    let mut buf = Vec::new();
    let lines = std::iter::from_fn(move || {
        loop {
            if done {
                return None;
            }
            buf.clear();
            number += 1;
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    done = true;
                    return Some((number, Err(format!("cannot read: {e}"))));
                }
            }
            let mut line = buf.as_slice();
            if number == 1 {
                line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            }
            let Ok(text) = std::str::from_utf8(line) else {
                return Some((number, Err("not UTF-8 text".to_owned())));
            };
            if text.trim().is_empty() {
                continue;
            }
            let row = serde_json::from_str::<Row>(text.trim_end_matches(['\r', '\n']))
                .map_err(|e| format!("not a customer row: {e}"));
            return Some((number, row));
        }
    });
    Ok(Box::new(lines))
}

/// Where the newlines of a file are, from the last record on: enough to
/// turn a record's byte offset into its line, in bounded memory (offsets
/// behind the records already numbered are dropped).
#[derive(Default)]
struct NewlineOffsets {
    /// Offsets of `\n` bytes not yet passed by a record.
    ahead: std::collections::VecDeque<u64>,
    /// How many `\n` lie before the last record numbered.
    passed: u64,
}

impl NewlineOffsets {
    /// The line (from 1) of the byte at `offset`; offsets must not go back.
    fn line_at(&mut self, offset: u64) -> u64 {
        // `<=`: after a CRLF the csv reader starts the next record at the `\n`.
        while self.ahead.front().is_some_and(|&n| n <= offset) {
            self.ahead.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

/// A reader that notes where the newlines are as bytes pass through it.
struct NewlineTap<R> {
    inner: R,
    read: u64,
    newlines: std::sync::Arc<std::sync::Mutex<NewlineOffsets>>,
}

impl<R: std::io::Read> std::io::Read for NewlineTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut newlines = lock(&self.newlines);
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, b)| **b == b'\n') {
            newlines.ahead.push_back(self.read + i as u64);
        }
        self.read += n as u64;
        Ok(n)
    }
}

fn lock(newlines: &std::sync::Mutex<NewlineOffsets>) -> std::sync::MutexGuard<'_, NewlineOffsets> {
    newlines
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Refuses a row whose externalId an earlier row of the same file has: the
/// two would silently become one customer with the first row's data.
fn first_of_each_external_id(
    rows: impl Iterator<Item = NumberedRow>,
) -> impl Iterator<Item = NumberedRow> {
    let mut seen = std::collections::HashMap::<String, u64>::new();
    rows.map(move |(line, row)| {
        let row = row.and_then(|row| match row.external_id.as_deref() {
            Some(id) if !id.is_empty() => match seen.get(id) {
                Some(first) => Err(format!(
                    "externalId {id:?} repeats line {first}: one row per customer"
                )),
                None => {
                    seen.insert(id.to_owned(), line);
                    Ok(row)
                }
            },
            _ => Ok(row),
        });
        (line, row)
    })
}

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
    Failed(u64, String),
}

/// What happens to one row: `ensure` (or `sync` with `update`), or in a dry
/// run a lookup that says on stdout what would be written.
async fn import_row(
    client: Client,
    mode: ImportMode,
    line: u64,
    row: Result<Row, String>,
) -> Outcome {
    let (external_id, customer) = match row.and_then(into_customer) {
        Ok(parsed) => parsed,
        Err(reason) => return Outcome::Failed(line, reason),
    };
    let customers = client.customers();
    let result = match (mode.dry_run, mode.update) {
        (false, false) => customers.ensure(external_id, customer).await.map(|e| {
            if e.created {
                Outcome::Created
            } else {
                Outcome::Found
            }
        }),
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
    result.unwrap_or_else(|e| Outcome::Failed(line, e.report().to_string()))
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
/// a time; reports bad rows with their line numbers and goes on; fails at
/// the end if any row failed. A dry run writes nothing and prints on stdout
/// one line per row that would be created or updated.
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
    let outcomes = futures_util::stream::iter(first_of_each_external_id(rows(path)?))
        .map(|(line, row)| import_row(client.clone(), mode, line, row))
        .buffer_unordered(mode.concurrency);
    let mut tally = Tally::default();
    futures_util::pin_mut!(outcomes);
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Outcome::Created => tally.created += 1,
            Outcome::Found => tally.found += 1,
            Outcome::Updated => tally.updated += 1,
            Outcome::Unchanged => tally.unchanged += 1,
            Outcome::Failed(line, reason) => {
                tally.failed += 1;
                if tally.failed <= MAX_REPORTED_ROWS {
                    let report = terminal_safe(&format!("{}:{line}: {reason}", path.display()));
                    bar.suspend(|| note!("{report}"));
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if tally.failed > MAX_REPORTED_ROWS {
        note!(
            "… and {} more failed rows not shown",
            tally.failed - MAX_REPORTED_ROWS
        );
    }
    note!("{}", tally.summary(mode, started.elapsed().as_secs_f64()));
    if tally.failed > 0 {
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
        } = self;
        let rows = created + found + updated + unchanged + failed;
        match (mode.dry_run, mode.update) {
            (false, false) => format!(
                "imported {rows} rows in {seconds:.1}s: {created} created, {found} found, {failed} failed"
            ),
            (false, true) => format!(
                "synced {rows} rows in {seconds:.1}s: {created} created, {updated} updated, \
                 {unchanged} unchanged, {failed} failed"
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

/// The number of rows, for the progress bar (a quick pass over the file;
/// unknown for stdin).
fn count_rows(path: &Path) -> Result<Option<u64>, Failure> {
    if path == Path::new("-") {
        return Ok(None);
    }
    let lines = BufReader::new(open_input(path)?)
        .split(b'\n')
        .map_while(Result::ok)
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count() as u64;
    Ok(Some(if is_csv(path) {
        lines.saturating_sub(1)
    } else {
        lines
    }))
}

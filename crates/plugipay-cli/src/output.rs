//! How results reach the terminal: customers on stdout as JSON lines, CSV
//! or ids (`--output`), errors as one line, notes and progress bars on
//! stderr (progress only on a terminal, neither with `--quiet`).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Seek, Write};
use std::sync::OnceLock;

use indicatif::{ProgressBar, ProgressStyle};
use plugipay::Customer;
use serde_json::Value;

use crate::failure::Failure;
use crate::files::owner_only_new_file;
use crate::terminal::{
    count, flush, json_terminal_safe, per_second, quiet, terminal_safe, text_line, write_failure,
};

/// `--output`: how customers are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object a line (the server's JSON, for export).
    Json,
    /// A header row, then one customer a row.
    Csv,
    /// One customer id a line.
    Ids,
    /// `--json`: one JSON document, `{"data": …}`.
    #[value(skip)]
    Document,
}

/// `--output`: how customers are printed.
static FORMAT: OnceLock<Format> = OnceLock::new();

/// Sets `--output` for the whole process (once, from `main`).
pub fn set_format(format: Format) {
    let _ = FORMAT.set(format);
}

/// `--columns`: the CSV columns named up front, when given.
static COLUMNS: OnceLock<Vec<String>> = OnceLock::new();

/// Sets `--columns` for the whole process (once, from `main`): each a
/// customer field or `metadata.KEY`; anything else is refused, with a
/// suggestion for a near miss.
pub fn set_columns(columns: &[String]) -> Result<(), String> {
    if columns.is_empty() {
        // The field list comes from the spec's schema: not worth building
        // for the commands that name no column.
        return Ok(());
    }
    let fields = crate::fields::customer_fields();
    let mut unknown = Vec::new();
    let mut chosen = Vec::new();
    for column in columns {
        let column = column.trim();
        if column.is_empty() {
            continue;
        }
        let ok = column
            .strip_prefix("metadata.")
            .is_some_and(|key| !key.is_empty())
            || (fields.contains(column) && column != "metadata");
        if ok {
            chosen.push(column.to_owned());
        } else {
            unknown.push(match crate::fields::closest_field(column, fields) {
                Some(field) => format!("{column:?} (did you mean {field}?)"),
                None => format!("{column:?}"),
            });
        }
    }
    if !unknown.is_empty() {
        let valid: Vec<&str> = fields
            .iter()
            .map(String::as_str)
            .filter(|f| *f != "metadata")
            .collect();
        return Err(format!(
            "--columns: unknown column{} {}: a column is one of {} or metadata.KEY",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            valid.join(", ")
        ));
    }
    if !chosen.is_empty() {
        let _ = COLUMNS.set(chosen);
    }
    Ok(())
}

/// The CSV columns named with `--columns`, if any.
pub fn columns() -> Option<&'static [String]> {
    COLUMNS.get().map(Vec::as_slice)
}

/// Says, before a list's CSV that cannot stream, that its rows come at the
/// end, and how to have them as they come.
pub fn note_csv_waits() {
    if format() == Format::Csv && columns().is_none() {
        note!(
            "the CSV rows come once every customer is read (their metadata.KEY columns are known \
             then); --columns id,email,metadata.plan,… writes them as they come"
        );
    }
}

/// How customers are printed (`--output`, JSON lines unless told).
pub fn format() -> Format {
    FORMAT.get().copied().unwrap_or(Format::Json)
}

/// After one page printed as asked: how to get the next one, or, when the
/// answer may say more follow without a way to get them, that the rest
/// cannot be fetched (never silence). `noun` is the items' plural.
pub fn page_end<T>(page: &plugipay::Page<T>, noun: &str) {
    match page.next_cursor() {
        Ok(Some(cursor)) => {
            let cursor = terminal_safe(cursor);
            note!("more {noun} follow: --cursor {cursor} (or --all)");
        }
        Ok(None) => {}
        Err(e) => report!("more {noun} may follow, but the page gave no way to fetch them: {e}"),
    }
}

/// What this run's bulk work allows itself of the workspace's `class`
/// limit, once the server has said its limits (or when it caps itself by a
/// rate): `at most 16/s (80% of the 20/s write limit)`.
pub fn bulk_rate(client: &plugipay::Client, class: plugipay::RateClass) -> Option<String> {
    let noun = match class {
        plugipay::RateClass::Read => "read",
        plugipay::RateClass::Write => "write",
    };
    let share = client.bulk_share();
    let budget = client
        .rate_budgets()
        .into_iter()
        .find(|b| b.class == class && b.on_behalf_of.as_deref() == client.on_behalf_of());
    match (budget, share) {
        (Some(b), share) if share.is_whole() => {
            Some(format!("the whole {}/s {noun} limit", b.limit))
        }
        (Some(b), share) => {
            // What bulk work drew, or (before its first bulk request) what
            // the share allows of the limit.
            let limit = f64::from(b.limit);
            let allowed = b.bulk_per_second.unwrap_or(match share {
                plugipay::RateShare::Fraction(f) => f * limit,
                plugipay::RateShare::PerSecond(r) => r.min(limit),
            });
            Some(format!(
                "at most {}/s ({share} of the {}/s {noun} limit)",
                rate(allowed),
                b.limit
            ))
        }
        (None, plugipay::RateShare::PerSecond(per_second)) => Some(format!(
            "at most {}/s (no {noun} limit reported)",
            rate(per_second)
        )),
        (None, _) => None,
    }
}

/// A rate as a note shows it: whole numbers plain, others to one decimal.
fn rate(per_second: f64) -> String {
    if per_second.fract().abs() < 0.05 {
        format!("{per_second:.0}")
    } else {
        format!("{per_second:.1}")
    }
}

/// Prints one customer on stdout, as `--output` (or `--json`) says.
pub fn print_customer(customer: &Customer) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let terminal = std::io::IsTerminal::is_terminal(&stdout);
    if format() == Format::Document {
        let text = serde_json::to_string(customer)
            .map_err(|e| Failure::Other(format!("cannot encode a customer: {e}")))?;
        return data_document(&mut stdout.lock(), &text, terminal);
    }
    let mut sink = Sink::new(stdout.lock(), format(), terminal)?;
    sink.customer(customer)?;
    sink.finish()
}

/// `--json` of one item: `{"data": <its JSON>}` on one line (made harmless
/// for a `terminal`).
pub fn data_document(out: &mut impl Write, json: &str, terminal: bool) -> Result<(), Failure> {
    let json = if terminal {
        json_terminal_safe(json)
    } else {
        json.into()
    };
    text_line(out, &format!("{{\"data\":{json}}}"))?;
    flush(out)
}

/// `--json` of a list: `{"data":[` before the first item, `,` between
/// items, as they come, and `]}` only when [`close`](Self::close)d: a walk
/// that fails leaves a document no JSON reader accepts.
#[derive(Debug, Default)]
pub struct DataArray {
    items: u64,
}

impl DataArray {
    /// Writes one item's JSON (one line, made harmless for a `terminal`).
    pub fn item(
        &mut self,
        out: &mut impl Write,
        json: &str,
        terminal: bool,
    ) -> Result<(), Failure> {
        let json = if terminal {
            json_terminal_safe(json)
        } else {
            json.into()
        };
        let before: &[u8] = if self.items == 0 {
            b"{\"data\":[\n"
        } else {
            b",\n"
        };
        self.items += 1;
        out.write_all(before)
            .and_then(|()| out.write_all(json.as_bytes()))
            .map_err(write_failure)
    }

    /// Ends the document: the list is whole.
    pub fn close(self, out: &mut impl Write) -> Result<(), Failure> {
        let end: &[u8] = if self.items == 0 {
            b"{\"data\":[]}\n"
        } else {
            b"\n]}\n"
        };
        out.write_all(end).map_err(write_failure)
    }
}

/// Where customers go, as `--output` says: JSON lines as they come, ids as
/// they come, or CSV, which needs every customer's metadata keys for its
/// header row, so its rows wait in a temporary file (memory stays flat)
/// and are written out by [`Sink::finish`]. On a terminal, server text is
/// made harmless: JSON lines get their control and invisible characters
/// as `\uXXXX` escapes (the same JSON), CSV cells and ids are escaped (an
/// id always: no id holds such a character).
pub struct Sink<W: Write> {
    out: W,
    format: Format,
    /// Whether `out` is a terminal.
    terminal: bool,
    /// CSV only, without `--columns`: the customers so far, one JSON line
    /// each, and their metadata keys.
    spool: Option<(BufWriter<File>, BTreeSet<String>)>,
    /// CSV with `--columns`: rows written as they come (the header first).
    streaming: bool,
    /// `--json` only: the document's array so far.
    array: DataArray,
}

impl<W: Write> Sink<W> {
    /// A sink writing to `out` (a terminal or not) in `format`.
    pub fn new(out: W, format: Format, terminal: bool) -> Result<Self, Failure> {
        let (spool, streaming) = match (format, columns()) {
            (Format::Csv, Some(_)) => (None, true),
            (Format::Csv, None) => (
                Some((BufWriter::new(spool_file()?), BTreeSet::new())),
                false,
            ),
            (Format::Json | Format::Ids | Format::Document, _) => (None, false),
        };
        let mut sink = Self {
            out,
            format,
            terminal,
            spool,
            streaming,
            array: DataArray::default(),
        };
        if let (true, Some(columns)) = (streaming, columns()) {
            sink.csv_record(columns)?;
        }
        Ok(sink)
    }

    /// One customer, typed.
    pub fn customer(&mut self, customer: &Customer) -> Result<(), Failure> {
        if self.format == Format::Json && !self.terminal {
            // Encoded straight into the output: no text of its own to check.
            serde_json::to_writer(&mut self.out, customer).map_err(|e| {
                if e.is_io() {
                    write_failure(e.into())
                } else {
                    Failure::Other(format!("cannot encode a customer: {e}"))
                }
            })?;
            return self.out.write_all(b"\n").map_err(write_failure);
        }
        let text = serde_json::to_string(customer)
            .map_err(|e| Failure::Other(format!("cannot encode a customer: {e}")))?;
        self.customer_json(&text)
    }

    /// One customer as the server sent its JSON (written through as it is
    /// for JSON lines).
    pub fn customer_json(&mut self, text: &str) -> Result<(), Failure> {
        match (self.format, &mut self.spool) {
            (Format::Json, _) if self.terminal => {
                text_line(&mut self.out, &json_terminal_safe(text))
            }
            (Format::Json, _) => text_line(&mut self.out, text),
            (Format::Document, _) => self.array.item(&mut self.out, text, self.terminal),
            (Format::Ids, _) => {
                let customer = parsed(text)?;
                let id = customer.get("id").and_then(Value::as_str).ok_or_else(|| {
                    Failure::Other("a customer without a string id cannot be printed".into())
                })?;
                text_line(&mut self.out, &terminal_safe(id))
            }
            (Format::Csv, _) if self.streaming => {
                let customer = Value::Object(parsed(text)?);
                let terminal = self.terminal;
                let columns = columns().unwrap_or_default();
                let record: Vec<String> = columns
                    .iter()
                    .map(|column| {
                        let value = match column.strip_prefix("metadata.") {
                            Some(key) => &customer["metadata"][key],
                            None => &customer[column.as_str()],
                        };
                        csv_cell(value, terminal)
                    })
                    .collect();
                self.csv_record(&record)
            }
            (Format::Csv, Some((spool, keys))) => {
                let customer = parsed(text)?;
                if let Some(Value::Object(metadata)) = customer.get("metadata") {
                    keys.extend(metadata.keys().cloned());
                }
                // One line per customer, whatever whitespace it came with.
                let line = serde_json::to_string(&customer)
                    .map_err(|e| Failure::Other(format!("cannot encode a customer: {e}")))?;
                spool
                    .write_all(line.as_bytes())
                    .and_then(|()| spool.write_all(b"\n"))
                    .map_err(spool_failure)
            }
            (Format::Csv, None) => unreachable!("a CSV sink has its spool"),
        }
    }

    /// Writes one CSV record to `out` at once (a streaming CSV).
    fn csv_record(&mut self, record: &[String]) -> Result<(), Failure> {
        let mut csv = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        csv.write_record(record).map_err(csv_failure)?;
        let line = csv
            .into_inner()
            .map_err(|e| Failure::Other(format!("cannot write a CSV row: {}", e.error())))?;
        self.out.write_all(&line).map_err(write_failure)
    }

    /// Writes what is waiting (CSV: the header row, then every customer;
    /// `--json`: the document's end) and flushes.
    pub fn finish(mut self) -> Result<(), Failure> {
        if self.format == Format::Document {
            std::mem::take(&mut self.array).close(&mut self.out)?;
        }
        if let Some((spool, keys)) = self.spool.take() {
            let mut file = spool
                .into_inner()
                .map_err(|e| spool_failure(e.into_error()))?;
            file.rewind().map_err(spool_failure)?;
            let fields = csv_fields();
            let mut csv = csv::Writer::from_writer(&mut self.out);
            let header = fields
                .iter()
                .cloned()
                .chain(keys.iter().map(|k| format!("metadata.{k}")));
            csv.write_record(header.collect::<Vec<_>>())
                .map_err(csv_failure)?;
            let terminal = self.terminal;
            for line in BufReader::new(file).lines() {
                // A `Value`: a field the customer lacks indexes as null.
                let customer = Value::Object(parsed(&line.map_err(spool_failure)?)?);
                let cell = |value: &Value| csv_cell(value, terminal);
                let record = fields
                    .iter()
                    .map(|f| cell(&customer[f.as_str()]))
                    .chain(keys.iter().map(|k| cell(&customer["metadata"][k.as_str()])));
                csv.write_record(record.collect::<Vec<_>>())
                    .map_err(csv_failure)?;
            }
            csv.flush().map_err(write_failure)?;
        }
        flush(&mut self.out)
    }
}

/// One CSV cell: a string as it is, null empty, anything else its JSON;
/// made harmless for a `terminal`.
fn csv_cell(value: &Value, terminal: bool) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if terminal { terminal_safe(&text) } else { text }
}

/// The CSV columns before the `metadata.KEY` ones: a customer's fields
/// from its schema, `id` and `externalId` first.
fn csv_fields() -> Vec<String> {
    let first = ["id", "externalId", "email", "name", "phone"];
    let fields = crate::fields::customer_fields();
    let mut columns: Vec<String> = first
        .iter()
        .filter(|f| fields.contains(**f))
        .map(|f| (*f).to_owned())
        .collect();
    columns.extend(
        fields
            .iter()
            .filter(|f| !first.contains(&f.as_str()) && f.as_str() != "metadata")
            .cloned(),
    );
    columns
}

/// A nameless temporary file for CSV rows (removed as soon as it is open
/// where the system allows; readable by its owner only).
fn spool_file() -> Result<File, Failure> {
    let dir = std::env::temp_dir();
    let mut options = owner_only_new_file();
    options.read(true);
    let path = dir.join(format!(
        "plugipay-csv-{}-{:x}.jsonl",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    let file = options.open(&path).map_err(|e| {
        Failure::Other(format!(
            "cannot create a temporary file in {} for the CSV rows: {e}",
            dir.display()
        ))
    })?;
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

fn spool_failure(e: std::io::Error) -> Failure {
    Failure::Other(format!("cannot keep the CSV rows in a temporary file: {e}"))
}

fn csv_failure(e: csv::Error) -> Failure {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => write_failure(e),
        other => Failure::Other(format!("cannot write CSV: {other:?}")),
    }
}

/// A customer's JSON text, read; text that is not a JSON object is an
/// error, never a row of empty cells.
fn parsed(text: &str) -> Result<serde_json::Map<String, Value>, Failure> {
    match serde_json::from_str(text) {
        Ok(Value::Object(customer)) => Ok(customer),
        Ok(_) => Err(Failure::Other(
            "a customer that is not a JSON object".into(),
        )),
        Err(e) => Err(Failure::Other(format!("a customer that is not JSON: {e}"))),
    }
}

/// How often a run whose stderr is not a terminal says how far it got.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The progress of a long run on stderr: a bar on a terminal; otherwise a
/// line every ten seconds (`plugipay: 1,200 of 600,000 rows imported (120/s,
/// 10 s)`), so a log shows the run is alive; nothing with `--quiet`.
pub struct Progress {
    bar: ProgressBar,
    /// Lines instead of a bar: the timer that says when the next is due.
    lines: Option<LineTimer>,
    total: Option<u64>,
    started: std::time::Instant,
    /// Done so far.
    done: std::sync::atomic::AtomicU64,
}

/// A flag raised every period by a thread of its own, so that an item
/// (an export writes tens of thousands a second) only loads a flag instead
/// of reading the clock. The thread ends when the timer is dropped.
struct LineTimer {
    due: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Dropped with the timer, which wakes the thread to end.
    _stop: std::sync::mpsc::Sender<()>,
}

impl LineTimer {
    /// A timer first due `every` from now, then every `every` after.
    /// `None` if the thread cannot be started (no lines then).
    fn start(every: std::time::Duration) -> Option<Self> {
        use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
        use std::sync::mpsc::RecvTimeoutError;
        let due = std::sync::Arc::new(AtomicBool::new(false));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let raised = std::sync::Arc::clone(&due);
        std::thread::Builder::new()
            .name("progress-lines".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    raised.store(true, Relaxed);
                }
            })
            .ok()?;
        Some(Self { due, _stop: stop })
    }

    /// Whether a line is due, lowering the flag: one caller of many wins it.
    fn take(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.due.load(Relaxed) && self.due.swap(false, Relaxed)
    }
}

impl Progress {
    /// Progress of `what` (`rows imported`), out of `total` when known.
    pub fn new(total: Option<u64>, what: &str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = if quiet() || !terminal {
            ProgressBar::hidden()
        } else {
            let template = match total {
                Some(_) => "{bar:40} {pos}/{len} {msg} ({rate}, {eta} left)",
                None => "{spinner} {pos} {msg} ({rate})",
            };
            let style = ProgressStyle::with_template(template)
                .expect("a valid template")
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ =
                            w.write_str(&per_second(state.pos(), state.elapsed().as_secs_f64()));
                    },
                );
            let bar = match total {
                Some(total) => ProgressBar::new(total),
                None => ProgressBar::new_spinner(),
            }
            .with_style(style);
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        };
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_message(what.to_owned());
        let lines = if !quiet() && !terminal {
            LineTimer::start(PROGRESS_EVERY)
        } else {
            None
        };
        Self {
            bar,
            lines,
            total,
            started: std::time::Instant::now(),
            done: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `n` more done.
    pub fn inc(&self, n: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let done = self.done.fetch_add(n, Relaxed) + n;
        let Some(timer) = &self.lines else {
            // A bar someone watches moves at every item; a hidden one is
            // not worth a lock per item.
            if !self.bar.is_hidden() {
                self.bar.set_position(done);
            }
            return;
        };
        // Lines: a flag the timer raises, no lock and no clock per item.
        if !timer.take() {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64();
        let of = self
            .total
            .map(|t| format!(" of {}", count(t)))
            .unwrap_or_default();
        report!(
            "plugipay: {}{of} {} ({}, {secs:.0} s)",
            count(done),
            self.bar.message(),
            per_second(done, secs)
        );
    }

    /// Changes what the progress is of (a bar's message, a line's words).
    pub fn set_message(&self, what: String) {
        self.bar.set_message(what);
    }

    /// Writes a note without the bar in the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar.
    pub fn finish_and_clear(&self) {
        self.bar
            .set_position(self.done.load(std::sync::atomic::Ordering::Relaxed));
        self.bar.finish_and_clear();
    }
}

/// Progress of `what` (see [`Progress`]).
pub fn progress(len: Option<u64>, what: &str) -> Progress {
    Progress::new(len, what)
}

#[cfg(test)]
mod progress_tests {
    use super::LineTimer;
    use std::time::Duration;

    /// The timer is not due before its period, and once due a single
    /// caller takes the line.
    #[test]
    fn a_progress_line_is_due_once_per_period() {
        let hourly = LineTimer::start(Duration::from_secs(3600)).expect("a timer thread");
        assert!(!hourly.take(), "not due before its period");

        let quick = LineTimer::start(Duration::from_millis(1)).expect("a timer thread");
        // Waits for the thread to raise the flag (it does, every period).
        while !quick.due.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::yield_now();
        }
        assert!(quick.take(), "due once the period has passed");
    }
}

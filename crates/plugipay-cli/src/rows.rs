//! The rows of an import file: JSON lines or CSV with a header row, each
//! numbered by its line and read as the spec's create request.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::{Arc, Mutex};

use plugipay::NewCustomer;

use crate::failure::Failure;
use crate::fields::{closest_field, customer_fields, row_fields};

/// One row of an import file: the spec's create request (`NewCustomer`,
/// generated), which must carry an `externalId`. A JSON line's keys that the
/// request does not take (an export's `id`, `createdAt`, …) are left out.
pub type Row = NewCustomer;

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
    let mut stdout = std::io::stdout().lock();
    crate::terminal::text_line(&mut stdout, &text)?;
    crate::terminal::flush(&mut stdout)
}

/// The keys of rows left out because the create request does not take them
/// (an export's `id`, `accountId`, `createdAt`, …), shared by the reader
/// and whoever reports them, once per file.
pub type Skipped = Arc<Mutex<BTreeSet<String>>>;

/// A JSON line as a row: keys only a customer answer has are left out (and
/// noted in `skipped`), and so are `null` values, so a line of `export` is
/// a row; a key neither takes refuses the row.
fn json_row(text: &str, skipped: &Skipped) -> Result<Row, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a customer row: {e}"))?;
    let serde_json::Value::Object(mut fields) = value else {
        return Err("not a customer row: expected a JSON object".to_owned());
    };
    let (known, answers) = (row_fields(), customer_fields());
    // A key only a customer answer has (an export's `id`, `createdAt`, …)
    // is left out; any other key the row does not take refuses the row
    // (its data would be lost), which is then copied out with the rows not
    // done.
    let unknown: Vec<String> = fields
        .keys()
        .filter(|key| !known.contains(*key) && !answers.contains(*key))
        .map(|key| match closest_field(key, known) {
            Some(field) => format!("{key:?} (did you mean {field}?)"),
            None => format!("{key:?}"),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "not a customer row: unknown field{} {} (`plugipay customers import --schema` shows \
             the row's fields)",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", ")
        ));
    }
    fields.retain(|key, value| {
        if !known.contains(key) {
            lock(skipped).insert(key.clone());
            return false;
        }
        !value.is_null()
    });
    serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| format!("not a customer row: {e}"))
}

/// Locks a mutex, a poisoned one included (what it guards stays usable).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a CSV column holds.
#[derive(Clone, Debug)]
enum Column {
    /// A field of the row, by its JSON name.
    Field(String),
    /// A metadata entry, by its key.
    Metadata(String),
    /// A field only answers carry (an export's `id`, `createdAt`, …): left out.
    Skipped,
}

/// The header row read once against the row's schema: each column is a
/// field of the row by its JSON name (`externalId`, `email`, …; snake_case
/// is accepted too), `metadata.KEY`, or a field only a customer answer has
/// (left out, and named in `skipped`). Any other column refuses the whole
/// file, naming every such column and listing the valid ones.
fn csv_columns(headers: &csv::StringRecord, skipped: &Skipped) -> Result<Vec<Column>, String> {
    let (fields, answers) = (row_fields(), customer_fields());
    let mut unknown = Vec::new();
    let columns = headers
        .iter()
        .map(|header| {
            // Excel starts a UTF-8 CSV with a byte-order mark.
            let header = header.trim().trim_start_matches('\u{feff}');
            if let Some(key) = header.strip_prefix("metadata.") {
                return Column::Metadata(key.to_owned());
            }
            let name = camel(header);
            if fields.contains(&name) {
                Column::Field(name)
            } else {
                if answers.contains(&name) {
                    lock(skipped).insert(header.to_owned());
                } else {
                    unknown.push(match closest_field(header, fields) {
                        Some(field) => format!("{header:?} (did you mean {field}?)"),
                        None => format!("{header:?}"),
                    });
                }
                Column::Skipped
            }
        })
        .collect();
    if unknown.is_empty() {
        return Ok(columns);
    }
    let valid: Vec<&str> = fields.iter().map(String::as_str).collect();
    Err(format!(
        "unknown column{} {} in the header row: a column is one of {} or metadata.KEY \
         (`plugipay customers import --schema` shows the row's fields)",
        if unknown.len() == 1 { "" } else { "s" },
        unknown.join(", "),
        valid.join(", ")
    ))
}

/// A CSV record as a row, by the columns of its header row; empty cells
/// are left out. The fields come from the spec, so a column for a field
/// the spec adds needs no change here.
fn csv_row(columns: &[Column], record: &csv::StringRecord) -> Result<Row, String> {
    let mut fields = serde_json::Map::new();
    let mut metadata = serde_json::Map::new();
    for (column, value) in columns.iter().zip(record.iter()) {
        if value.is_empty() {
            continue;
        }
        match column {
            Column::Metadata(key) => {
                metadata.insert(key.clone(), value.into());
            }
            Column::Field(name) => {
                fields.insert(name.clone(), value.into());
            }
            Column::Skipped => {}
        }
    }
    if !metadata.is_empty() {
        fields.insert("metadata".to_owned(), metadata.into());
    }
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| e.to_string())
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

/// What a row was in its file, to copy it out unchanged (the rows an
/// import could not finish are written out to be imported again).
#[derive(Clone, Debug)]
pub enum Source {
    /// A JSON line, without its line ending.
    Line(Vec<u8>),
    /// A CSV record.
    Record(csv::StringRecord),
    /// Nothing readable to copy (a CSV syntax or read error).
    Unreadable,
}

/// A row of a file: its line number, what it was in the file, and the row
/// read from it or why it is not one.
#[derive(Debug)]
pub struct NumberedRow {
    /// The line it starts on, from 1.
    pub line: u64,
    /// The row as it was in the file.
    pub source: Source,
    /// The row, or why it is not one.
    pub row: Result<Row, String>,
}

/// The rows of a file, read lazily, with its CSV header row when it is CSV.
pub struct Rows {
    /// The header row of a CSV file.
    pub header: Option<csv::StringRecord>,
    /// The rows, in file order.
    pub rows: Box<dyn Iterator<Item = NumberedRow> + Send>,
    /// Keys left out of the rows read so far, as the create request does
    /// not take them.
    pub skipped: Skipped,
}

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

/// Whether `path` names a CSV file (by its extension).
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// The rows of a file (or of stdin) with their line numbers, read lazily. A
/// UTF-8 byte-order mark is skipped; a read error ends the rows after being
/// reported once.
pub fn rows(path: &Path) -> Result<Rows, Failure> {
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
        let skipped = Skipped::default();
        let columns = csv_columns(&headers, &skipped)
            .map_err(|e| Failure::Other(format!("{}: {e}", path.display())))?;
        let mut failed = false;
        let header = Some(headers.clone());
        let rows = reader.into_records().map_while(move |record| {
            if failed {
                return None;
            }
            Some(match record {
                Ok(record) => {
                    let byte = record.position().map_or(0, |p| p.byte());
                    let line = lock(&newlines).line_at(byte);
                    let row = csv_row(&columns, &record);
                    NumberedRow {
                        line,
                        source: Source::Record(record),
                        row,
                    }
                }
                Err(e) => {
                    // An I/O error would repeat forever: report it, then stop.
                    failed = matches!(e.kind(), csv::ErrorKind::Io(_));
                    let byte = e.position().map_or(0, |p| p.byte());
                    let line = lock(&newlines).line_at(byte);
                    NumberedRow {
                        line,
                        source: Source::Unreadable,
                        row: Err(format!("unreadable CSV: {e}")),
                    }
                }
            })
        });
        let rows = Box::new(rows);
        return Ok(Rows {
            header,
            rows,
            skipped,
        });
    }
    let skipped = Skipped::default();
    let skipping = Arc::clone(&skipped);
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
                    return Some(NumberedRow {
                        line: number,
                        source: Source::Unreadable,
                        row: Err(format!("cannot read: {e}")),
                    });
                }
            }
            let mut line = buf.as_slice();
            if number == 1 {
                line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            }
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let source = Source::Line(line.to_vec());
            let Ok(text) = std::str::from_utf8(line) else {
                let row = Err("not UTF-8 text".to_owned());
                return Some(NumberedRow {
                    line: number,
                    source,
                    row,
                });
            };
            if text.trim().is_empty() {
                continue;
            }
            let row = json_row(text, &skipping);
            return Some(NumberedRow {
                line: number,
                source,
                row,
            });
        }
    });
    Ok(Rows {
        header: None,
        rows: Box::new(lines),
        skipped,
    })
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

/// Refuses a row whose externalId an earlier row of the same file has: the
/// two would silently become one customer with the first row's data.
pub fn first_of_each_external_id(
    rows: impl Iterator<Item = NumberedRow>,
) -> impl Iterator<Item = NumberedRow> {
    let mut seen = std::collections::HashMap::<String, u64>::new();
    rows.map(move |NumberedRow { line, source, row }| {
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
        NumberedRow { line, source, row }
    })
}

/// What a first pass over a file finds: how many rows (for the progress
/// bar) and the external ids they name (for the walk of the book).
pub struct Scan {
    /// Rows, good or bad.
    pub rows: u64,
    /// The external ids of the good rows.
    pub external_ids: HashSet<String>,
}

/// A first pass over the file at `path`; `None` for standard input, which
/// cannot be read twice.
pub fn scan(path: &Path) -> Result<Option<Scan>, Failure> {
    if path == Path::new("-") {
        return Ok(None);
    }
    let mut scan = Scan {
        rows: 0,
        external_ids: HashSet::new(),
    };
    for row in rows(path)?.rows {
        scan.rows += 1;
        if let Ok(Some(id)) = row.row.map(|r| r.external_id) {
            scan.external_ids.insert(id);
        }
    }
    Ok(Some(scan))
}

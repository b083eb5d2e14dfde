//! `export`: every customer out as JSON lines, to stdout or to `--out FILE`.
//!
//! What `--out` names decides how it is written, and is checked before any
//! request is sent:
//! - a regular file, or a name not yet taken: the book goes to a temporary
//!   file of its own beside it (created exclusively, readable by its owner
//!   only), which is synced and renamed over the name only once the whole
//!   book is in. A failed or interrupted export removes it and leaves the
//!   previous file as it was; two exports to one name each write a whole
//!   file, and the last to finish wins. A replaced file keeps its
//!   permissions; a new one is readable by its owner only.
//! - a symbolic link: followed, and the file it leads to is replaced as
//!   above (or created); the link stays a link.
//! - a FIFO, a character or block device, or a file this process already
//!   has open (`/dev/stdout`, `/dev/fd/N`): written through as the book
//!   arrives, with no temporary file.
//! - a directory, or anything else: refused.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::TryStreamExt;
use plugipay::{Client, ListParams};

use crate::failure::Failure;
use crate::files::{TempFile, parent_dir, sync_dir};
use crate::output::{Sink, progress};
use crate::signals::Interrupts;

/// Writes every customer as JSON lines to `out` (stdout when `None`):
/// `parallel` creation-time ranges at once, or with 1 a single walk, newest
/// first. Memory stays flat: customers are written as pages arrive.
pub async fn export(client: &Client, out: Option<PathBuf>, parallel: usize) -> Result<(), Failure> {
    let (count, seconds) = match &out {
        None => {
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
            let mut interrupts = Interrupts::listen()?;
            let written = AtomicU64::new(0);
            let mut writer = BufWriter::new(std::io::stdout().lock());
            let walked = tokio::select! {
                walked = write_book(client, &mut writer, parallel, terminal, &written) => walked,
                signal = interrupts.recv() => {
                    // What is on stdout stays; say how far it got.
                    let _ = writer.flush();
                    let written = written.load(Ordering::Relaxed);
                    let what = if crate::output::format() == crate::output::Format::Csv
                        && crate::output::columns().is_none()
                    {
                        "no CSV row was written (they come at the end)".to_owned()
                    } else {
                        format!(
                            "{} written: not the whole book",
                            crate::terminal::plural(written, "customer was", "customers were")
                        )
                    };
                    report!("error: export interrupted by {signal}: {what}");
                    return Err(Failure::Interrupted);
                }
            };
            walked?
        }
        Some(out) => match Target::of(out)? {
            Target::Stream => stream_to(client, out, parallel).await?,
            Target::File { path, existing } => {
                replace(client, out, &path, existing, parallel).await?
            }
        },
    };
    let rate = crate::output::bulk_rate(client, plugipay::RateClass::Read)
        .map(|rate| format!("; reads {rate}"))
        .unwrap_or_default();
    note!(
        "exported {count} customers in {seconds:.1}s{}{rate}",
        out.map(|p| format!(" to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// Where `--out` leads, once checked.
#[derive(Debug)]
enum Target {
    /// A FIFO, a device, or a file this process already has open: written
    /// through, in place.
    Stream,
    /// A file to replace whole: `path` is `--out` with its symbolic links
    /// followed; `existing` is the regular file there now, if any.
    File {
        path: PathBuf,
        existing: Option<std::fs::Metadata>,
    },
}

impl Target {
    /// Checks what `out` names, before anything is fetched: each refusal
    /// says what to give instead.
    fn of(out: &Path) -> Result<Target, Failure> {
        let shown = out.display();
        if out.as_os_str().is_empty() {
            return Err(Failure::Other("--out needs a file name".into()));
        }
        if ends_with_separator(out) {
            return Err(Failure::Other(format!(
                "--out {shown} names a directory: give a file name, such as {shown}customers.jsonl"
            )));
        }
        let Some(path) = follow_links(out)? else {
            return Ok(Target::Stream);
        };
        let at = if path == out {
            format!("{shown}")
        } else {
            format!("{shown} (a link to {})", path.display())
        };
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Target::File {
                path,
                existing: Some(meta),
            }),
            Ok(meta) if meta.is_dir() => Err(Failure::Other(format!(
                "--out {at} is a directory: give a file name in it, such as {}",
                path.join("customers.jsonl").display()
            ))),
            Ok(meta) if is_stream(&meta) => Ok(Target::Stream),
            Ok(_) => Err(Failure::Other(format!(
                "--out {at} is not a regular file, a FIFO or a device: give a file name"
            ))),
            // Nothing there yet (or a file where a directory should be):
            // the directory it would go in says which.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                let dir = parent_dir(&path);
                match std::fs::metadata(dir) {
                    Ok(meta) if meta.is_dir() => Ok(Target::File {
                        path,
                        existing: None,
                    }),
                    Ok(_) => Err(Failure::Other(format!(
                        "cannot write --out {at}: {} is not a directory",
                        dir.display()
                    ))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        Err(Failure::Other(format!(
                            "cannot write --out {at}: the directory {dir} does not exist; create it first (mkdir -p {dir}) or choose another file",
                            dir = dir.display()
                        )))
                    }
                    Err(e) => Err(Failure::Other(format!(
                        "cannot write --out {at}: cannot reach {}: {e}",
                        dir.display()
                    ))),
                }
            }
            Err(e) => Err(Failure::Other(format!("cannot write --out {at}: {e}"))),
        }
    }
}

/// `out` with its symbolic links followed to the path they end at (which
/// may not exist yet), or `None` when a link leads to a file descriptor of
/// this process (`/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`): that file
/// is already open, and is written through rather than replaced.
fn follow_links(out: &Path) -> Result<Option<PathBuf>, Failure> {
    let mut path = out.to_path_buf();
    // As many links as Linux follows in one path.
    for _ in 0..40 {
        if names_open_file(&path) {
            return Ok(None);
        }
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&path).map_err(|e| {
                    Failure::Other(format!("cannot follow the link {}: {e}", path.display()))
                })?;
                // A relative link is relative to the directory holding it.
                path = match path.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(Some(path)),
        }
    }
    Err(Failure::Other(format!(
        "--out {}: too many levels of symbolic links",
        out.display()
    )))
}

/// Whether `path` names a descriptor this process has open: `/dev/stdin`,
/// `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`,
/// `/proc/thread-self/fd/N` or `/proc/PID/fd/N`.
fn names_open_file(path: &Path) -> bool {
    let parts: Vec<_> = path
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let name = |i: usize| match parts.get(i) {
        Some(Component::Normal(s)) => s.to_str(),
        _ => None,
    };
    if parts.first() != Some(&Component::RootDir) {
        return false;
    }
    match (name(1), name(2), name(3), parts.len()) {
        (Some("dev"), Some("stdin" | "stdout" | "stderr"), _, 3) => true,
        (Some("dev"), Some("fd"), Some(_), 4) => true,
        (Some("proc"), Some(owner), Some("fd"), 5) => {
            owner == "self" || owner == "thread-self" || owner.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// Whether `path` ends with a path separator (`out/`): it names a
/// directory, whether or not one is there.
fn ends_with_separator(path: &Path) -> bool {
    let text = path.as_os_str().to_string_lossy();
    text.ends_with('/') || (cfg!(windows) && text.ends_with('\\'))
}

/// A FIFO or a character or block device.
#[cfg(unix)]
fn is_stream(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    kind.is_fifo() || kind.is_char_device() || kind.is_block_device()
}

/// A FIFO or a character or block device (none outside unix).
#[cfg(not(unix))]
fn is_stream(_meta: &std::fs::Metadata) -> bool {
    false
}

/// Writes the book straight into `out` (a FIFO, a device, an open file).
/// Opening a FIFO waits for its reader; a reader that leaves before the end
/// is an error, since the book it got is incomplete.
async fn stream_to(client: &Client, out: &Path, parallel: usize) -> Result<(u64, f64), Failure> {
    let file = OpenOptions::new()
        .append(true)
        .open(out)
        .map_err(|e| Failure::Other(format!("cannot open --out {}: {e}", out.display())))?;
    let terminal = std::io::IsTerminal::is_terminal(&file);
    let mut writer = BufWriter::new(Named { file, name: out });
    match write_book(client, &mut writer, parallel, terminal, &AtomicU64::new(0)).await {
        Err(Failure::Closed) => Err(Failure::Other(format!(
            "the reader of {} went away before the export ended: what it read is incomplete",
            out.display()
        ))),
        done => done,
    }
}

/// Writes the book to a temporary file beside `path` and renames it over
/// `path` once all of it is in and synced. `existing` is the regular file
/// at `path` now, whose permissions (and owner, where allowed) the new one
/// takes. SIGINT, SIGTERM or SIGHUP during the walk removes the temporary
/// file and ends the process with status 130.
async fn replace(
    client: &Client,
    out: &Path,
    path: &Path,
    existing: Option<std::fs::Metadata>,
    parallel: usize,
) -> Result<(u64, f64), Failure> {
    // Listening before the temporary file exists: no moment where a signal
    // would end the process with the file left behind.
    let mut interrupts = Interrupts::listen()?;
    let (temp, file) = TempFile::beside(path)?;
    let mut writer = BufWriter::new(Named { file, name: out });
    let written = AtomicU64::new(0);
    let walked = tokio::select! {
        walked = write_book(client, &mut writer, parallel, false, &written) => Ok(walked),
        signal = interrupts.recv() => Err(signal),
    };
    let counted = match walked {
        Ok(counted) => counted?,
        Err(signal) => {
            drop(writer);
            drop(temp);
            let kept = if existing.is_some() {
                format!("{} is as it was", out.display())
            } else {
                format!("{} was not created", out.display())
            };
            report!("error: export interrupted by {signal}: {kept}");
            // The runtime's other work is only this export's walk.
            std::process::exit(i32::from(crate::exit::INTERRUPTED));
        }
    };
    let file = writer
        .into_inner()
        .map_err(|e| Failure::Other(format!("cannot write {}: {}", out.display(), e.error())))?
        .file;
    let cannot_finish =
        |e: std::io::Error| Failure::Other(format!("cannot finish {}: {e}", out.display()));
    if let Some(existing) = &existing {
        // Owner first: a change of owner may clear set-id bits.
        keep_owner(&file, existing);
        file.set_permissions(existing.permissions())
            .map_err(cannot_finish)?;
    }
    file.sync_all().map_err(cannot_finish)?;
    drop(file);
    temp.rename_to(path).map_err(|e| {
        Failure::Other(format!(
            "cannot move the export into {}: {e}",
            path.display()
        ))
    })?;
    sync_dir(parent_dir(path));
    Ok(counted)
}

/// Gives `file` the owner and group of the file it replaces, where this
/// process may (root, or a group it belongs to); otherwise it stays the
/// process's own.
#[cfg(unix)]
fn keep_owner(file: &File, existing: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    let _ = std::os::unix::fs::fchown(file, Some(existing.uid()), Some(existing.gid()))
        .or_else(|_| std::os::unix::fs::fchown(file, None, Some(existing.gid())));
}

/// Owners are left alone outside unix.
#[cfg(not(unix))]
fn keep_owner(_file: &File, _existing: &std::fs::Metadata) {}

/// A file whose write errors name `--out` as the user gave it (not the
/// temporary file's name).
struct Named<'a> {
    file: File,
    name: &'a Path,
}

impl Named<'_> {
    fn name_error(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(e.kind(), format!("{}: {e}", self.name.display()))
    }
}

impl Write for Named<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf).map_err(|e| self.name_error(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush().map_err(|e| self.name_error(e))
    }
}

/// Writes every customer to `writer` (a terminal or not), counting them in
/// `written` as they go, and flushes it: how many, and the seconds it took.
async fn write_book(
    client: &Client,
    writer: &mut impl Write,
    parallel: usize,
    terminal: bool,
    written: &AtomicU64,
) -> Result<(u64, f64), Failure> {
    crate::output::note_csv_waits();
    let bar = progress(None, "customers exported");
    let started = Instant::now();
    // Customers are copied through as the server sent them: no typed record
    // is built or encoded again, and fields the SDK does not know survive.
    let list = client
        .customers()
        .list(ListParams::new().limit(100))
        .json_items();
    let mut stream: std::pin::Pin<Box<dyn futures_util::Stream<Item = _> + Send>> = if parallel > 1
    {
        Box::pin(list.partitioned(parallel))
    } else {
        Box::pin(list.stream())
    };
    let mut count = 0u64;
    let mut sink = Sink::new(&mut *writer, crate::output::format(), terminal)?;
    let mut rate_shown = false;
    while let Some(customer) = stream.try_next().await? {
        sink.customer_json(customer.json())?;
        count += 1;
        written.store(count, Ordering::Relaxed);
        bar.inc(1);
        // The rate this export allows itself, once the server has said
        // its limit: looked for at the first customer and every page's worth
        // after (a server that says none is not asked about per customer).
        if !rate_shown
            && count % 100 == 1
            && let Some(rate) = crate::output::bulk_rate(client, plugipay::RateClass::Read)
        {
            bar.set_message(format!("customers exported (reads {rate})"));
            rate_shown = true;
        }
    }
    sink.finish()?;
    bar.finish_and_clear();
    Ok((count, started.elapsed().as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_of_this_process_are_recognised() {
        for open in [
            "/dev/stdout",
            "/dev/stderr",
            "/dev/fd/1",
            "/proc/self/fd/1",
            "/proc/thread-self/fd/3",
            "/proc/1234/fd/1",
        ] {
            assert!(names_open_file(Path::new(open)), "{open}");
        }
        for other in [
            "/dev/null",
            "/dev/stdout/x",
            "dev/stdout",
            "/proc/self/fdinfo/1",
            "/proc/abc/fd/1",
            "book.jsonl",
        ] {
            assert!(!names_open_file(Path::new(other)), "{other}");
        }
    }

    #[test]
    fn a_bare_name_is_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("book.jsonl")), Path::new("."));
        assert_eq!(parent_dir(Path::new("a/book.jsonl")), Path::new("a"));
        assert!(ends_with_separator(Path::new("out/")));
        assert!(!ends_with_separator(Path::new("out")));
    }
}

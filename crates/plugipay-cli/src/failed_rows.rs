//! The rows an import could not finish, copied out as they were in its file
//! (JSON lines, or CSV under the same header) to a new file beside it, ready
//! to be imported again. A file that cannot be written never stops the
//! import: the rows it misses are counted and said at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::rows::{Source, is_csv};

/// Where the rows go, opened when the first one comes.
pub struct FailedRows {
    input: PathBuf,
    header: Option<csv::StringRecord>,
    out: Option<(PathBuf, Writer)>,
    /// Rows written.
    written: u64,
    /// Rows that could not be copied (nothing readable in the file).
    uncopied: u64,
    /// Why the file could not be written, once it could not; rows are then
    /// counted in `lost` instead.
    broken: Option<String>,
    /// Rows not copied because the file could not be written.
    lost: u64,
}

enum Writer {
    Lines(BufWriter<File>),
    Csv(Box<csv::Writer<File>>),
}

impl FailedRows {
    /// Rows of the file at `input` (`-`: standard input), with its CSV
    /// `header` if it is CSV.
    pub fn new(input: &Path, header: Option<csv::StringRecord>) -> Self {
        Self {
            input: input.to_owned(),
            header,
            out: None,
            written: 0,
            uncopied: 0,
            broken: None,
            lost: 0,
        }
    }

    /// Copies one row out; a row the file cannot take is counted, and once
    /// one could not be written the file is not tried again.
    pub fn push(&mut self, source: &Source) {
        if matches!(source, Source::Unreadable) {
            self.uncopied += 1;
            return;
        }
        if self.broken.is_none()
            && let Err(e) = self.write(source)
        {
            self.broken = Some(e);
        }
        if self.broken.is_some() {
            self.lost += 1;
        }
    }

    /// Writes one row, opening the file first if it is the first.
    fn write(&mut self, source: &Source) -> Result<(), String> {
        if self.out.is_none() {
            self.out = Some(self.open()?);
        }
        let Some((path, writer)) = &mut self.out else {
            unreachable!("opened above");
        };
        let written = match (writer, source) {
            (Writer::Lines(out), Source::Line(line)) => out
                .write_all(line)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| e.to_string()),
            (Writer::Csv(out), Source::Record(record)) => {
                out.write_record(record).map_err(|e| e.to_string())
            }
            // A file is either JSON lines or CSV.
            _ => Err("a row of another format".to_owned()),
        };
        written.map_err(|e| cannot_write(path, &e))?;
        self.written += 1;
        Ok(())
    }

    /// Flushes the file; the sentence that says where the rows are, if any
    /// were written, and how many could not be copied. `Err` (with the
    /// sentence) when the file could not be written in full.
    pub fn finish(mut self) -> Result<Option<String>, String> {
        if let Some((path, writer)) = &mut self.out
            && self.broken.is_none()
        {
            let flushed = match writer {
                Writer::Lines(out) => out.flush(),
                Writer::Csv(out) => out.flush(),
            };
            if let Err(e) = flushed {
                self.broken = Some(cannot_write(path, &e.to_string()));
            }
        }
        let mut said = Vec::new();
        match (&self.broken, &self.out) {
            (Some(broken), out) => said.push(format!(
                "{broken}; the {} not done {} not all in a file{}: import the whole \
                 file again (rows already imported are found, not created again)",
                crate::terminal::plural(self.written + self.lost, "row", "rows"),
                if self.written + self.lost == 1 {
                    "is"
                } else {
                    "are"
                },
                out.as_ref().map_or(String::new(), |(path, _)| format!(
                    " ({} holds only some of them)",
                    path.display()
                ))
            )),
            (None, Some((path, _))) => said.push(format!(
                "the {} not done {} in {}: import that file to finish \
                 (running an import again is safe)",
                crate::terminal::plural(self.written, "row", "rows"),
                if self.written == 1 { "is" } else { "are" },
                path.display()
            )),
            (None, None) => {}
        }
        if self.uncopied > 0 {
            said.push(format!(
                "{} could not be copied out (see their lines above)",
                crate::terminal::plural(self.uncopied, "unreadable row", "unreadable rows")
            ));
        }
        let said = (!said.is_empty()).then(|| said.join("; "));
        match (self.broken, said) {
            (Some(_), Some(said)) => Err(said),
            (_, said) => Ok(said),
        }
    }

    /// Creates a new file beside the input: `NAME.failed.EXT`, or
    /// `NAME.failed-2.EXT` and so on when that exists (an earlier run's is
    /// never overwritten). Standard input's go to `import.failed.jsonl`
    /// in the current directory.
    fn open(&self) -> Result<(PathBuf, Writer), String> {
        let csv = self.header.is_some() && is_csv(&self.input);
        let (dir, stem, ext) = if self.input == Path::new("-") {
            (PathBuf::from("."), "import".to_owned(), "jsonl".to_owned())
        } else {
            let dir = self.input.parent().map(Path::to_owned).unwrap_or_default();
            let stem = self.input.file_stem().unwrap_or_default();
            let ext = self.input.extension().unwrap_or_default();
            let ext = match ext.to_string_lossy() {
                e if e.is_empty() => "jsonl".to_owned(),
                e => e.into_owned(),
            };
            (dir, stem.to_string_lossy().into_owned(), ext)
        };
        for n in 1..=1000 {
            let suffix = if n == 1 {
                ".failed".to_owned()
            } else {
                format!(".failed-{n}")
            };
            let path = dir.join(format!("{stem}{suffix}.{ext}"));
            let file = match crate::files::owner_only_new_file().open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(cannot_write(&path, &e.to_string())),
            };
            let writer = if csv {
                let mut out = csv::Writer::from_writer(file);
                if let Some(header) = &self.header {
                    out.write_record(header)
                        .map_err(|e| cannot_write(&path, &e.to_string()))?;
                }
                Writer::Csv(Box::new(out))
            } else {
                Writer::Lines(BufWriter::new(file))
            };
            return Ok((path, writer));
        }
        Err(format!(
            "cannot write the rows not done: {} holds 1000 files of earlier runs' rows",
            dir.display()
        ))
    }
}

fn cannot_write(path: &Path, e: &str) -> String {
    format!("cannot write the rows not done to {}: {e}", path.display())
}

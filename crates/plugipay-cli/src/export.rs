//! `export`: every customer out as JSON lines, to stdout or to a file that
//! replaces its destination only once the whole book is in.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use futures_util::TryStreamExt;
use plugipay::{Client, ListParams};

use crate::Failure;
use crate::output::{flush, progress, text_line};

/// Writes every customer as JSON lines to `out` (stdout when `None`):
/// `parallel` creation-time ranges at once, or with 1 a single walk, newest
/// first. Memory stays flat: customers are written as pages arrive.
pub async fn export(client: &Client, out: Option<PathBuf>, parallel: usize) -> Result<(), Failure> {
    // A file is written beside its destination and moved over it only when
    // the whole book is in: a failed export leaves yesterday's file alone.
    let partial = out.as_ref().map(|path| {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        path.with_file_name(name)
    });
    let writer: Box<dyn Write> = match &partial {
        Some(path) => Box::new(
            File::create(path)
                .map_err(|e| Failure::Other(format!("cannot create {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let result = write_book(client, writer, parallel).await;
    let count = match (result, &partial, &out) {
        (Ok(count), Some(partial), Some(path)) => {
            std::fs::rename(partial, path).map_err(|e| {
                Failure::Other(format!("cannot move the export to {}: {e}", path.display()))
            })?;
            count
        }
        (Ok(count), _, _) => count,
        (Err(failure), partial, _) => {
            if let Some(partial) = partial {
                let _ = std::fs::remove_file(partial);
            }
            return Err(failure);
        }
    };
    note!(
        "exported {} customers in {:.1}s{}",
        count.0,
        count.1,
        out.map(|p| format!(" to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// Writes every customer to `writer`: how many, and the seconds it took.
async fn write_book(
    client: &Client,
    writer: Box<dyn Write>,
    parallel: usize,
) -> Result<(u64, f64), Failure> {
    let mut writer = BufWriter::new(writer);
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
    while let Some(customer) = stream.try_next().await? {
        text_line(&mut writer, customer.json())?;
        count += 1;
        bar.inc(1);
    }
    flush(&mut writer)?;
    bar.finish_and_clear();
    Ok((count, started.elapsed().as_secs_f64()))
}

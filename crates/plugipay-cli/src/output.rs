//! How results reach the terminal: customers as JSON lines on stdout, errors
//! as one line, progress bars only on a terminal.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use plugipay::{Customer, Error};

use crate::Failure;

/// One customer as one line of JSON.
pub fn json_line(out: &mut impl Write, customer: &Customer) -> Result<(), Failure> {
    serde_json::to_writer(&mut *out, customer).map_err(|e| Failure::Other(e.to_string()))?;
    writeln!(out).map_err(|e| Failure::Other(format!("cannot write: {e}")))
}

/// Prints one customer on stdout.
pub fn print_customer(customer: &Customer) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    json_line(&mut stdout, customer)
}

/// An error in one line: the code and status, the message, the request id.
pub fn describe(error: &Error) -> String {
    match error {
        Error::Api(api) => {
            let mut line = format!("{} ({}): {}", api.code, api.status.as_u16(), api.message);
            if let Some(field) = &api.field {
                line.push_str(&format!(" [field {field}]"));
            }
            if let Some(id) = &api.request_id {
                line.push_str(&format!(" [request {id}]"));
            }
            line
        }
        other => other.to_string(),
    }
}

/// A progress bar on stderr when stderr is a terminal, hidden otherwise.
pub fn progress(len: Option<u64>, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({per_sec}, {eta} left)")
                .expect("a valid template"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} {msg} ({per_sec})")
                .expect("a valid template"),
        ),
    };
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

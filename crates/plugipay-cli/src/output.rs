//! How results reach the terminal: customers as JSON lines on stdout, errors
//! as one line, progress bars only on a terminal.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use plugipay::Customer;

use crate::Failure;

/// A failed write: a reader that went away (`… | head`) ends the command
/// quietly; anything else is an error.
fn write_failure(e: std::io::Error) -> Failure {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => Failure::Closed,
        _ => Failure::Other(format!("cannot write: {e}")),
    }
}

/// One customer as one line of JSON.
pub fn json_line(out: &mut impl Write, customer: &Customer) -> Result<(), Failure> {
    serde_json::to_writer(&mut *out, customer).map_err(|e| write_failure(e.into()))?;
    writeln!(out).map_err(write_failure)
}

/// One line of text (a customer's JSON as the server sent it).
pub fn text_line(out: &mut impl Write, text: &str) -> Result<(), Failure> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .map_err(write_failure)
}

/// Flushes buffered output.
pub fn flush(out: &mut impl Write) -> Result<(), Failure> {
    out.flush().map_err(write_failure)
}

/// Prints one customer on stdout.
pub fn print_customer(customer: &Customer) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    json_line(&mut stdout, customer)
}

/// `text` made safe for a terminal, on one line: control characters (ESC,
/// CR, newlines, …) and other invisible format characters are shown as
/// escapes, so a server's message cannot move the cursor, recolour the
/// screen or forge a second line.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let invisible = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || invisible {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let hostile = "gone\u{1b}[2J\r\nerror: forged line\u{202e}txt.exe";
        let safe = terminal_safe(hostile);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe}");
        assert!(!safe.contains('\u{202e}'), "{safe}");
        assert_eq!(safe.lines().count(), 1);
        assert!(safe.starts_with("gone\\u{1b}[2J\\r\\n"), "{safe}");
        assert_eq!(terminal_safe("café 👍"), "café 👍");
    }
}

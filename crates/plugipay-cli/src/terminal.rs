//! Text for a terminal: stderr's notes and errors (the `note!` and
//! `report!` macros, `--quiet`), server text made harmless, lines and
//! flushes on stdout, and numbers worded for people.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::failure::Failure;

/// Writes a note (what was done, what to do next) on stderr, unless
/// `--quiet`; goes on if stderr is closed (`eprintln!` would panic).
macro_rules! note {
    ($($arg:tt)*) => {{
        if !crate::terminal::quiet() {
            report!($($arg)*);
        }
    }};
}

/// Writes an error (or what a failure left to do) on stderr, even with
/// `--quiet`; goes on if stderr is closed. Each line is made terminal-safe
/// (server text may be in it).
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let safe: Vec<String> = text.split('\n').map(crate::terminal::terminal_safe).collect();
        let _ = writeln!(std::io::stderr().lock(), "{}", safe.join("\n"));
    }};
}

/// `--quiet`: no notes and no progress on stderr.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets `--quiet` for the whole process (once, from `main`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether notes and progress are off (`--quiet`).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A failed write: a reader that went away (`… | head`) ends the command
/// quietly; anything else is an error.
pub fn write_failure(e: std::io::Error) -> Failure {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => Failure::Closed,
        _ => Failure::Other(format!("cannot write: {e}")),
    }
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

/// `text` made safe for a terminal, on one line: control characters (ESC,
/// CR, newlines, …) and other invisible format characters are shown as
/// escapes, so a server's message cannot move the cursor, recolour the
/// screen or forge a second line.
pub fn terminal_safe(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() || is_invisible(c)) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_invisible(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Valid JSON text with every control or invisible character (DEL, C1,
/// direction and zero-width marks; raw ones below U+0020 cannot occur in
/// JSON) written as a `\uXXXX` escape: the same JSON, harmless on a
/// terminal. Such characters can only sit inside strings, where the escape
/// means the same character.
pub fn json_terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || is_invisible(c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_control() || is_invisible(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A character that changes how text around it shows without showing
/// itself (zero-width and direction marks).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A count with thousands separated (`1,200`).
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` and its noun, singular or plural (`1 row`, `2 rows`).
pub fn plural(n: u64, singular: &str, plural: &str) -> String {
    format!("{} {}", count(n), if n == 1 { singular } else { plural })
}

/// A rate as a progress line shows it: whole numbers from 10 a second up,
/// one decimal below.
pub fn per_second(n: u64, secs: f64) -> String {
    let rate = if secs > 0.0 { n as f64 / secs } else { 0.0 };
    if rate >= 10.0 {
        format!("{}/s", count(rate.round() as u64))
    } else {
        format!("{rate:.1}/s")
    }
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

    #[test]
    fn json_for_a_terminal_is_the_same_json_without_what_drives_it() {
        // Raw DEL, C1 CSI and a direction mark are valid inside JSON strings.
        let text = "{\"name\":\"a\u{7f}b\u{9b}2Jc\u{202e}d\",\"x\":\"caf\u{e9} 👍\"}";
        let safe = json_terminal_safe(text);
        assert!(
            !safe.chars().any(|c| c.is_control() || is_invisible(c)),
            "{safe}"
        );
        let same: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(
            same,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        assert!(safe.contains("\\u009b"), "{safe}");
        assert!(matches!(
            json_terminal_safe("{\"x\":1}"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}

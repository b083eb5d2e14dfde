//! `-v` / `PLUGIPAY_LOG`: the SDK's events on stderr, one line each,
//! `plugipay: <what happened>` — an attempt (method, target, status, time,
//! attempt number, request id, rate budget left), a retry and its wait, a
//! wait for the rate budget, the bulk share learned, the clock offset
//! learned; with `-vv`, also each request's and answer's headers (the
//! `Authorization` value without its signature or key). The SDK puts no
//! secret in an event.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::LOG_ENV;

/// Writes an event as `plugipay: <message>`, terminal-safe.
struct OneLine;

/// The `message` of an event.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_owned();
        }
    }
}

impl<S, N> FormatEvent<S, N> for OneLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut message = Message::default();
        event.record(&mut message);
        writeln!(
            writer,
            "plugipay: {}",
            crate::terminal::terminal_safe(&message.0)
        )
    }
}

/// Starts logging at `-v` (`verbose` 1: each attempt, retry and wait), `-vv`
/// (2: and the headers), or as `PLUGIPAY_LOG` says when no `-v` is given
/// (`off`, `error`, `warn`, `info`, `debug` as `-v`, `trace` as `-vv`).
pub fn start(verbose: u8) -> Result<(), String> {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt as _;
    let level = match verbose {
        0 => match std::env::var(LOG_ENV) {
            Ok(level) => level.trim().parse::<LevelFilter>().map_err(|_| {
                format!(
                    "{LOG_ENV}={level:?} is not a log level: off, error, warn, info, debug or trace"
                )
            })?,
            Err(_) => return Ok(()),
        },
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let subscriber = tracing_subscriber::fmt()
        .event_format(OneLine)
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .finish()
        // The SDK's events only, not the HTTP stack's connection chatter.
        .with(tracing_subscriber::filter::Targets::new().with_target("plugipay", level));
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| format!("cannot start logging: {e}"))
}

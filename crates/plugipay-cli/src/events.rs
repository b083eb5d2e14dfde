//! `plugipay events …` and `plugipay webhooks verify`: what happened to the
//! customers (the events API, one page or every page), and checking a saved
//! webhook delivery against its endpoint's secret.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::TryStreamExt;
use plugipay::Client;
use plugipay::api::endpoints::{GetEvent, ListEvents};
use plugipay::api::params::ListEventsParams;
use plugipay::webhooks::Event;
use plugipay::webhooks::Verifier;

use crate::cli::{EventsCommand, VerifyArgs};
use crate::failure::Failure;
use crate::output::{DataArray, Format, data_document, format};
use crate::terminal::{flush, json_terminal_safe, terminal_safe, text_line};

/// Where events go, as `--output` and `--json` say: a JSON line or an id
/// each, or one `{"data": [...]}` document closed by
/// [`finish`](Self::finish); made harmless for a terminal.
struct EventsOut<W: Write> {
    out: W,
    terminal: bool,
    array: DataArray,
}

impl<W: Write> EventsOut<W> {
    fn new(out: W, terminal: bool) -> Self {
        Self {
            out,
            terminal,
            array: DataArray::default(),
        }
    }

    fn event(&mut self, event: &Event) -> Result<(), Failure> {
        let json = || {
            serde_json::to_string(event)
                .map_err(|e| Failure::Other(format!("cannot print the event: {e}")))
        };
        let text = match format() {
            Format::Ids => terminal_safe(&event.id),
            // Refused before the call (`events`).
            Format::Csv => return Err(no_csv()),
            Format::Document => return self.array.item(&mut self.out, &json()?, self.terminal),
            Format::Json if self.terminal => json_terminal_safe(&json()?).into_owned(),
            Format::Json => json()?,
        };
        text_line(&mut self.out, &text)
    }

    /// Ends the output: the list is whole (`--json` closes its document).
    fn finish(mut self) -> Result<(), Failure> {
        if format() == Format::Document {
            self.array.close(&mut self.out)?;
        }
        flush(&mut self.out)
    }
}

/// `--output csv` on events: a CSV row is a customer's.
fn no_csv() -> Failure {
    Failure::Usage("events have no CSV form: --output json (the default) or ids".into())
}

/// Refuses what `plugipay events …` cannot do whatever the server says
/// (`--output csv`): checked before connecting, so it is always exit 2.
pub fn check_invocation() -> Result<(), Failure> {
    if format() == Format::Csv {
        return Err(no_csv());
    }
    Ok(())
}

/// Runs `plugipay events …`.
pub async fn events(client: &Client, command: EventsCommand) -> Result<(), Failure> {
    check_invocation()?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match command {
        EventsCommand::Get { id } => {
            let event = client.call(GetEvent { id }).await?;
            if format() == Format::Document {
                let json = serde_json::to_string(&event)
                    .map_err(|e| Failure::Other(format!("cannot print the event: {e}")))?;
                return data_document(&mut stdout, &json, terminal);
            }
            let mut out = EventsOut::new(&mut stdout, terminal);
            out.event(&event)?;
            out.finish()?;
        }
        EventsCommand::List {
            query,
            all,
            parallel,
        } => {
            if all && query.cursor.is_some() {
                return Err(Failure::Usage(
                    "--cursor starts one page; --all walks every page from the first: give one"
                        .into(),
                ));
            }
            let mut query: ListEventsParams = query
                .to_params()
                .map_err(|e| Failure::Usage(format!("the flags do not make a request: {e}")))?;
            query.limit = query.limit.or(all.then_some(100));
            let request = client.call(ListEvents { query });
            let mut out = EventsOut::new(&mut stdout, terminal);
            if all {
                let request = request.paginated();
                let mut events: std::pin::Pin<Box<dyn futures_util::Stream<Item = _> + Send>> =
                    if parallel > 1 {
                        Box::pin(request.partitioned(usize::from(parallel)))
                    } else {
                        Box::pin(request.stream())
                    };
                let mut printed = 0u64;
                loop {
                    match events.try_next().await {
                        Ok(Some(event)) => {
                            out.event(&event)?;
                            printed += 1;
                        }
                        Ok(None) => break,
                        // An argument refused before the network: no walk began.
                        Err(e @ plugipay::Error::InvalidArgument { .. }) => return Err(e.into()),
                        Err(e) => {
                            // What is on stdout stays, but it is not the log.
                            let _ = out.out.flush();
                            let noun = if printed == 1 { "event" } else { "events" };
                            report!(
                                "the walk stopped after {printed} {noun}: \
                                 what was printed is not the whole log"
                            );
                            return Err(e.into());
                        }
                    }
                }
            } else {
                let page = request.paginated().await?;
                for event in &page.items {
                    out.event(event)?;
                }
                crate::output::page_end(&page, "events");
            }
            out.finish()?;
        }
    }
    flush(&mut stdout)
}

/// Runs `plugipay webhooks verify`: checks a saved delivery's body (a file,
/// or `-` for stdin) against its signature header and the endpoint's
/// secret, and prints the event.
pub fn verify(args: VerifyArgs) -> Result<(), Failure> {
    // The invocation first: a missing secret or clock is no judgement of
    // the delivery.
    let secret = match args.webhook_secret {
        Some(secret) => secret,
        None => match std::env::var(SECRET_ENV) {
            Ok(secret) => secret,
            Err(std::env::VarError::NotPresent) => String::new(),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Failure::Usage(format!("{SECRET_ENV} is not UTF-8 text")));
            }
        },
    };
    if secret.is_empty() {
        return Err(Failure::Usage(format!(
            "no endpoint secret: give --webhook-secret or set {SECRET_ENV}"
        )));
    }
    let now = match args.at {
        Some(at) => Some(
            chrono::DateTime::from_timestamp(at, 0)
                .ok_or_else(|| Failure::Usage(format!("--at {at} is not a Unix time")))?,
        ),
        None => None,
    };
    let body = read_body(&args.body)?;
    let verifier = Verifier::new(secret).tolerance(Duration::from_secs(args.tolerance));
    let event = match now {
        Some(now) => verifier.verify_at(args.signature.as_str(), &body, now),
        None => verifier.verify(args.signature.as_str(), &body),
    }
    .map_err(|e| {
        Failure::Other(format!(
            "the delivery does not verify: {e} ({}){}",
            e.code(),
            verify_hint(e.code())
        ))
    })?;
    note!("signature valid: event {} ({})", event.id, event.event_type);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let json = event.raw.to_string();
    let json = if terminal {
        json_terminal_safe(&json)
    } else {
        json.as_str().into()
    };
    let mut stdout = std::io::stdout().lock();
    text_line(&mut stdout, &json)?;
    flush(&mut stdout)
}

/// What usually causes a verification failure of kind `code`, as the end
/// of its error line.
fn verify_hint(code: &str) -> &'static str {
    match code {
        "signature_invalid" => {
            "; the usual causes: the wrong secret (each endpoint has its own whsec_…; test and \
             live differ), a body that is not the bytes as received (pretty-printed, re-serialised \
             JSON, or a changed line ending), or a header from another delivery"
        }
        "signature_stale" => {
            "; the delivery is older than --tolerance allows: a saved one needs --at with the time \
             it was received (its t= value), or this machine's clock is off"
        }
        "signature_missing" | "signature_malformed" => {
            "; give the X-Plugipay-Signature header's whole value: --signature 't=…,v1=…'"
        }
        _ => "",
    }
}

/// The variable `webhooks verify` reads the endpoint secret from when no
/// `--webhook-secret` is given (so it need not be on the command line).
pub const SECRET_ENV: &str = "PLUGIPAY_WEBHOOK_SECRET";

fn read_body(path: &PathBuf) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut body)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut body))
    };
    read.map_err(|e| Failure::Other(format!("cannot read {}: {e}", path.display())))?;
    Ok(body)
}

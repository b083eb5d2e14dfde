//! `plugipay`: the Plugipay customers API from a shell.
//!
//! A command's path through the files: `cli.rs` parses it (with the spec's
//! flags from the generated `spec_args.rs`), `settings.rs` and `config.rs`
//! find the connection, `commands.rs` (customers, sandbox), `import.rs`,
//! `export.rs`, `events.rs`, `api.rs` and `demo.rs` run it on the SDK,
//! `output.rs` prints what it got, and a [`failure::Failure`] ends it with
//! the exit status `exit.rs` lists. Beside them: `terminal.rs` (safe text
//! on stderr), `log.rs` (`-v`), `rows.rs`, `known.rs` and `failed_rows.rs`
//! (an import's rows in, what the book holds, the rows left over),
//! `fields.rs` (a customer's fields by the spec), `times.rs` (time flags),
//! `files.rs` (files written safely) and `signals.rs` (Ctrl-C).
//!
//! One folder: `mirror/` keeps a copy of the book in SQLite or Postgres
//! (`customers mirror`): the run in `mod.rs`, the `Store` both targets
//! implement in `store.rs`, and a file per target.

#[macro_use]
mod terminal;

mod api;
mod cli;
mod commands;
mod config;
mod demo;
mod events;
mod exit;
mod export;
mod failed_rows;
mod failure;
mod fields;
mod files;
mod import;
mod known;
mod log;
mod mirror;
mod output;
mod rows;
mod settings;
mod signals;
mod times;
#[rustfmt::skip]
#[allow(
    clippy::all,
    clippy::pedantic,
    reason = "generated from the spec by cargo xtask generate; change the spec or xtask instead"
)]
mod spec_args;

use std::process::ExitCode;

use plugipay::Client;

use crate::cli::{Cli, Command, Connection};
use crate::failure::Failure;

/// The client the connection settings describe: the SDK's builder filled
/// from the environment, each flag given overriding its variable, the
/// profile's file filling in the rest; the builder alone judges the result.
fn connect(c: &Connection) -> Result<Client, Failure> {
    let given = config::Given::read(c)?;
    let config::Resolved {
        builder,
        credentials_given,
        mode,
    } = config::builder(&given)?;
    // No credential of any kind is its own exit status (3); credentials
    // given but incomplete or malformed are an ordinary error.
    let client = builder.build().map_err(|e| match e {
        plugipay::Error::Config(message) if !credentials_given => Failure::NoCredentials(format!(
            "{message}, or keep them in a profile (`plugipay config set keyId …`)"
        )),
        e => Failure::Sdk(e),
    })?;
    config::check_mode(mode, &client)?;
    Ok(client)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        // The import row's schema needs no connection.
        Command::Customers(cli::CustomersCommand::Import { schema: true, .. }) => {
            rows::print_row_schema()
        }
        Command::Customers(cli::CustomersCommand::Import {
            file: Some(file), ..
        }) if cli.connection.secret_stdin && file.as_os_str() == "-" => Err(Failure::Usage(
            "--secret-stdin and `import -` both read standard input: give the secret another way \
             (PLUGIPAY_SECRET, the profile's file) or import from a file"
                .into(),
        )),
        Command::Customers(command) => {
            commands::customers(&connect(&cli.connection)?, command).await
        }
        Command::Events(command) => {
            events::check_invocation()?;
            events::events(&connect(&cli.connection)?, command).await
        }
        Command::Webhooks(cli::WebhooksCommand::Verify(args)) => events::verify(args),
        Command::Completions { shell } => completions(shell),
        Command::Config(command) => config::config(&cli.connection, command),
        Command::Api(args) => api::api(&connect(&cli.connection)?, args).await,
        Command::Sandbox(args) => commands::sandbox(args).await,
        Command::Demo(args) => demo::run(args).await,
    }
}

/// `plugipay completions SHELL`: the shell's completion script on stdout.
fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    use clap::CommandFactory as _;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "plugipay", &mut script);
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, &script).map_err(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe => Failure::Closed,
        _ => Failure::Other(format!("cannot write: {e}")),
    })?;
    terminal::flush(&mut out)
}

/// The exit status of a failed call: 64 for an Idempotency-Key used before
/// with other parameters (as Plugipay's own CLI), 2 for an argument the SDK
/// refused before the network (a bad invocation), 1 for anything else.
fn exit_code(error: &plugipay::Error) -> ExitCode {
    if matches!(error, plugipay::Error::InvalidArgument { .. }) {
        return ExitCode::from(exit::USAGE);
    }
    match error.code() {
        Some(plugipay::ErrorCode::IdempotencyMismatch) => {
            ExitCode::from(exit::IDEMPOTENCY_MISMATCH)
        }
        _ => ExitCode::from(exit::ERROR),
    }
}

/// What to check after a common failure, if it is one.
fn hint(error: &plugipay::Error) -> Option<&'static str> {
    if matches!(error.code(), Some(plugipay::ErrorCode::SignatureInvalid)) {
        return Some(
            "check the secret (--secret, PLUGIPAY_SECRET, the profile's file: plugipay config show): it is not the key id's",
        );
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return Some(
                "nothing listens there: is the sandbox running? is --base-url (PLUGIPAY_BASE_URL) right?",
            );
        }
        cause = e.source();
    }
    None
}

/// The command line, parsed as `Cli::parse` would (a usage error or `--help`
/// exits here), for less start-up work:
/// - the first parse drops the help texts of the root's flags: clap copies
///   every global flag into each subcommand it passes, help text included,
///   and a parse that succeeds never shows help. Anything but a success
///   (an error, `--help`, `--version`) is parsed again with the full
///   command, so what is printed is what `Cli::parse` prints;
/// - the command tree clap builds to parse it (every subcommand, each with
///   its own copy of the global flags) is left for the process's exit to
///   reclaim: freeing it piece by piece was a sixth of a one-call command's
///   start-up.
fn parse_command_line() -> Cli {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut lean = Cli::command().mut_args(|arg| arg.help(None).long_help(None));
    if let Ok(mut matches) = lean.try_get_matches_from_mut(&args)
        && let Ok(cli) = Cli::from_arg_matches_mut(&mut matches)
    {
        std::mem::forget(matches);
        std::mem::forget(lean);
        return cli;
    }
    let mut command = Cli::command();
    let cli = match command.try_get_matches_from_mut(&args) {
        Ok(mut matches) => {
            Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command))
        }
        Err(e) => Err(e),
    };
    cli.unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    let cli = parse_command_line();
    terminal::set_quiet(cli.output.quiet);
    output::set_format(cli.output.format());
    if let Err(message) = output::set_columns(&cli.output.columns) {
        report!("error: {}", terminal::terminal_safe(&message));
        return ExitCode::from(exit::USAGE);
    }
    if let Err(message) = log::start(cli.output.verbose) {
        report!("error: {}", terminal::terminal_safe(&message));
        return ExitCode::from(exit::USAGE);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            report!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(Failure::Partial) => ExitCode::from(exit::ERROR),
        Err(Failure::Interrupted) => ExitCode::from(exit::INTERRUPTED),
        Err(Failure::Closed) => ExitCode::from(exit::OK),
        Err(Failure::NoCredentials(message)) => {
            report!("error: {}", terminal::terminal_safe(&message));
            ExitCode::from(exit::NO_CREDENTIALS)
        }
        // Server text (and file names) may hold control characters.
        Err(Failure::Sdk(e)) => {
            let hint = hint(&e)
                .map(|h| format!(" (hint: {h})"))
                .unwrap_or_default();
            report!(
                "error: {}{hint}",
                terminal::terminal_safe(&e.report().to_string())
            );
            exit_code(&e)
        }
        Err(Failure::Other(message)) => {
            report!("error: {}", terminal::terminal_safe(&message));
            ExitCode::from(exit::ERROR)
        }
        Err(Failure::Usage(message)) => {
            report!("error: {}", terminal::terminal_safe(&message));
            ExitCode::from(exit::USAGE)
        }
    }
}

//! The command line: global connection settings and the subcommands.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use plugipay::env;
use plugipay_sandbox::SandboxArgs;

use crate::output::Format;
use crate::settings::{rate_share, redacted, seconds};
use crate::spec_args::{
    CreateCustomerBody, ListCustomersQuery, ListEventsQuery, UpdateCustomerBody,
};

/// The Plugipay customers API from your shell.
#[derive(Debug, Parser)]
#[command(
    name = "plugipay",
    version,
    propagate_version = true,
    after_help = crate::exit::HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: Connection,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Where and as whom to connect. Each flag overrides its environment
/// variable, which the SDK reads ([`plugipay::ClientBuilder::from_env`]): the
/// variables are not clap's, so usage lines on errors never list them.
/// Its `Debug` never shows the secret or the API key.
#[derive(Args)]
#[command(next_help_heading = "Connection (every command)")]
pub struct Connection {
    #[arg(long, global = true, help = with_env(
        "HMAC key id (ak_live_… / ak_test_…, or pk_live_… / pk_test_… as the API keys page mints them).",
        env::KEY_ID,
    ))]
    pub key_id: Option<String>,

    #[arg(long, global = true, help = with_env(
        "HMAC secret. Other users can see a command line's arguments (ps): \
         prefer --secret-stdin, the variable or the profile's file.",
        env::SECRET,
    ))]
    pub secret: Option<String>,

    /// Read the HMAC secret from the first line of standard input (keeps it
    /// out of the process list and the shell's history).
    #[arg(long, global = true, conflicts_with = "secret")]
    pub secret_stdin: bool,

    #[arg(long, global = true, help = with_env(
        "Dashboard API key (pk_live_… / pk_test_…), instead of an HMAC pair; or the pair itself as <keyId>:<secret>.",
        env::API_KEY,
    ))]
    pub api_key: Option<String>,

    #[arg(long, global = true, help = with_env(
        "Base URL of the API [default: https://plugipay.com].",
        env::BASE_URL,
    ))]
    pub base_url: Option<String>,

    #[arg(long, global = true, help = with_env(
        "Act for this merchant workspace (platform keys).",
        env::ON_BEHALF_OF,
    ))]
    pub on_behalf_of: Option<String>,

    #[arg(long, value_name = "NAME", global = true, help = with_env(
        "Use the profile NAME: its settings are in config-NAME.json beside \
         config.json (see `plugipay config --help`) [default: default].",
        crate::settings::PROFILE_ENV,
    ))]
    pub profile: Option<String>,

    /// Retries of a failed call (network errors, cut or unreadable answers,
    /// timeouts, 429, 5xx) [default: 2].
    #[arg(long, value_name = "N", global = true)]
    pub max_retries: Option<u32>,

    /// Timeout of each attempt, in seconds [default: 30].
    #[arg(long, value_name = "SECS", global = true, value_parser = seconds)]
    pub timeout: Option<Duration>,

    /// Time a whole call may take, retries and waits included, in seconds [default: none].
    #[arg(long, value_name = "SECS", global = true, value_parser = seconds)]
    pub deadline: Option<Duration>,

    /// How much of the workspace's rate limits bulk work may use (import,
    /// sync, export, --all walks): a share (0.8 or 80%) of each limit, or a
    /// rate (15/s); the rest is left to the apps that share the workspace.
    /// 1 runs at the ceiling. Single commands use the whole budget
    /// [default: 80%].
    #[arg(long, value_name = "SHARE", global = true, value_parser = rate_share)]
    pub rate_share: Option<plugipay::RateShare>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("key_id", &self.key_id)
            .field("secret", &redacted(&self.secret))
            .field("secret_stdin", &self.secret_stdin)
            .field("api_key", &redacted(&self.api_key))
            .field("base_url", &self.base_url)
            .field("on_behalf_of", &self.on_behalf_of)
            .field("profile", &self.profile)
            .field("max_retries", &self.max_retries)
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("rate_share", &self.rate_share)
            .finish()
    }
}

/// What goes to stdout and stderr.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output (every command)")]
pub struct OutputArgs {
    /// How customers are printed (get, list, export and the other commands
    /// that print customers): json, one JSON object a line; csv, a header
    /// row (the customer's fields, then metadata.KEY columns, as import
    /// reads) and one customer a row; ids, one id a line.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Format::Json, global = true)]
    pub output: Format,

    /// Print one JSON document, `{"data": …}` (a list's items in an array),
    /// as Plugipay's own CLI does, instead of --output's forms. A list
    /// walk that fails leaves the document unclosed, so no JSON reader
    /// takes part of a list for all of it.
    #[arg(long, global = true, conflicts_with = "output")]
    pub json: bool,

    /// With --output csv: the columns, in order (customer fields and
    /// metadata.KEY, comma-separated), written as customers arrive. Without
    /// it a list's CSV waits until every customer is read, to learn their
    /// metadata.KEY columns.
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',', global = true)]
    pub columns: Vec<String>,

    /// No notes or progress on stderr; errors are still shown.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Show each call on stderr, a line per event: every attempt (method,
    /// target, status, time, attempt, request id, rate budget left), each
    /// retry and its wait, each wait for the rate budget; -vv adds each
    /// request's and answer's headers. Secrets are never shown.
    #[arg(short, long, action = clap::ArgAction::Count, global = true,
          help = with_env("Show each call's attempts, retries and waits on stderr, a line each (-vv: and headers).", LOG_ENV))]
    pub verbose: u8,
}

/// The variable that sets the log level when `-v` is not given: `off`,
/// `error`, `warn`, `info`, `debug` (as `-v`) or `trace` (as `-vv`).
pub const LOG_ENV: &str = "PLUGIPAY_LOG";

impl OutputArgs {
    /// The format chosen: `--json`'s document, or `--output`'s.
    pub fn format(&self) -> Format {
        if self.json {
            Format::Document
        } else {
            self.output
        }
    }
}

/// A flag's help naming the environment variable it overrides (never its value).
fn with_env(help: &str, variable: &str) -> String {
    format!("{help} [env: {variable}]")
}

/// What to do. Each subcommand's arguments are built only when the command
/// line names it (`defer`): building every subcommand's flags, and clap's
/// copies of the global flags in each, was most of a one-call command's
/// start-up.
///
/// So the `Args` structs these commands flatten keep their rustdoc in
/// `#[doc = concat!(…)]`, which clap does not read: clap takes a literal doc
/// comment on such a struct for the command's about, and once the command is
/// built on demand it would replace the variant's.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Create, read, update, delete, list, ensure, archive, export and import customers.
    #[command(subcommand, after_long_help = examples::CUSTOMERS)]
    Customers(CustomersCommand),
    /// What happened to the customers: the events API (for catching up
    /// after missed webhook deliveries).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Webhook deliveries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// The profile's settings: ~/.plugipay/config.json, or config-NAME.json
    /// with --profile NAME (see --help).
    #[command(subcommand, long_about = CONFIG_HELP)]
    Config(ConfigCommand),
    /// Print a completion script for your shell on stdout.
    ///
    /// bash: `plugipay completions bash > ~/.local/share/bash-completion/completions/plugipay`;
    /// zsh: `plugipay completions zsh > "${fpath[1]}/_plugipay"`;
    /// fish: `plugipay completions fish > ~/.config/fish/completions/plugipay.fish`;
    /// PowerShell: `plugipay completions powershell | Out-String | Invoke-Expression`
    /// (in your profile); elvish: `eval (plugipay completions elvish | slurp)`.
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Call any operation of the spec by its operationId, its parameters
    /// checked as the spec documents them (`plugipay api` lists them).
    Api(ApiArgs),
    /// Run a local Plugipay sandbox (prints `listening on http://…` when ready).
    Sandbox(SandboxArgs),
    /// Tell the customers API's story end to end, on an embedded sandbox.
    Demo(DemoArgs),
}

/// `plugipay config`'s long help: the file, its keys and precedence.
const CONFIG_HELP: &str = "\
The profile's settings.

Settings are read from a flag, else its environment variable, else the
profile's file, else the default. The default profile's file is
~/.plugipay/config.json; --profile NAME (or PLUGIPAY_PROFILE) uses
~/.plugipay/config-NAME.json instead. PLUGIPAY_CONFIG_DIR names another
directory than ~/.plugipay.

The file is a JSON object:
  {\"keyId\": \"ak_test_…\", \"secret\": \"sk_test_…\",
   \"baseUrl\": \"https://plugipay.com\", \"onBehalfOf\": \"acct_…\",
   \"maxRetries\": 2, \"timeout\": 30, \"deadline\": 120, \"rateShare\": \"80%\"}
or {\"apiKey\": \"pk_test_…\"} (or \"<keyId>:<secret>\") instead of keyId and
secret. Other keys are kept and ignored. The file fills in only what flags
and variables leave out, and never mixes credential kinds with them.

The file Plugipay's own CLI writes works as it is: \"token\" is read as
apiKey, \"api_url\" as baseUrl (ours win where a file has both);
\"default_mode\" (or PLUGIPAY_MODE), test or live, must agree with the
key's prefix (exit 2 if not); \"default_account\" (or PLUGIPAY_ACCOUNT_ID)
is shown but never sent: the key decides the workspace, and a platform key
acts for another one with onBehalfOf.
`config set` writes it readable by you only (0600, in a 0700 directory),
replacing it whole only once the new one is written.";

/// `plugipay config …`. Its `Debug` never shows a value being set (it
/// may be a secret).
#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Set one setting in the profile's file (created if needed). VALUE `-`
    /// reads it from standard input (for a secret: arguments are visible to
    /// other users).
    Set {
        /// keyId, secret, apiKey (or token), baseUrl (or api_url),
        /// onBehalfOf, maxRetries, timeout, deadline, rateShare,
        /// default_mode or default_account.
        #[arg(value_parser = crate::settings::parse_key)]
        key: crate::settings::Setting,
        /// The value (`-`: one line from standard input).
        value: String,
    },
    /// Remove one setting from the profile's file.
    Unset {
        /// The setting's name, as for `set`.
        #[arg(value_parser = crate::settings::parse_key)]
        key: crate::settings::Setting,
    },
    /// Print each setting as it would be used and where it comes from
    /// (flag, variable, file, default); secrets are never printed.
    Show,
    /// Print the profile's file name.
    Path,
}

impl std::fmt::Debug for ConfigCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Set { key, .. } => f
                .debug_struct("Set")
                .field("key", key)
                .field("value", &"<redacted>")
                .finish(),
            Self::Unset { key } => f.debug_struct("Unset").field("key", key).finish(),
            Self::Show => f.write_str("Show"),
            Self::Path => f.write_str("Path"),
        }
    }
}

/// `plugipay events …`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List events as JSON lines, newest first unless --order asc.
    List {
        /// The events list's query parameters (from the spec).
        #[command(flatten)]
        query: ListEventsQuery,
        /// Every page, not only the first (pages of 100 unless --limit).
        #[arg(long)]
        all: bool,
        /// With --all: time ranges walked at once (lines then come in no
        /// overall order, and --order desc is refused); 1 walks one cursor.
        #[arg(long, value_name = "N", default_value_t = 1, requires = "all",
              value_parser = clap::value_parser!(u16).range(1..=plugipay::MAX_PARTITIONS as i64))]
        parallel: u16,
    },
    /// Print one event as JSON.
    Get {
        /// The event id (evt_…).
        id: String,
    },
}

/// `plugipay webhooks …`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Check a saved delivery (its body, and its X-Plugipay-Signature
    /// header) against the endpoint's secret; print the event when it
    /// verifies, exit 1 saying why when it does not.
    Verify(VerifyArgs),
}

/// `plugipay webhooks verify`. Its `Debug` never shows the secret.
#[derive(Args)]
pub struct VerifyArgs {
    /// The delivery's body, byte for byte as received (`-`: stdin).
    pub body: PathBuf,
    /// The X-Plugipay-Signature header's value (`t=…,v1=…`).
    #[arg(long, value_name = "HEADER")]
    pub signature: String,
    /// The endpoint's secret (whsec_…) [env: PLUGIPAY_WEBHOOK_SECRET]; the
    /// variable keeps it off the command line. (Not --secret: that is the
    /// API's HMAC secret, a global flag.)
    #[arg(long, value_name = "SECRET")]
    pub webhook_secret: Option<String>,
    /// Seconds a timestamp may be from the clock.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub tolerance: u64,
    /// Check as if the clock read this Unix time (for an old saved delivery).
    #[arg(long, value_name = "UNIX")]
    pub at: Option<i64>,
}

impl std::fmt::Debug for VerifyArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyArgs")
            .field("body", &self.body)
            .field("signature", &self.signature)
            .field("webhook_secret", &redacted(&self.webhook_secret))
            .field("tolerance", &self.tolerance)
            .field("at", &self.at)
            .finish()
    }
}

// Rustdoc only (`concat!`): see `Command`.
#[doc = concat!("`plugipay api`.")]
#[derive(Debug, Args)]
// Here rather than on the variant, so the table is written only when
// `plugipay api` is built (the variant's attributes apply at every start).
#[command(after_long_help = operations_help(plugipay::api::endpoints::OPERATIONS))]
pub struct ApiArgs {
    /// The operation: its operationId (`get_customer`, `list_customers`, …).
    pub operation: Option<String>,
    /// A path or query parameter, NAME=VALUE (`id=cus_…`, `limit=10`);
    /// repeatable. Checked against the spec before anything is sent.
    #[arg(value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The JSON body of an operation that takes one: the JSON itself,
    /// @FILE, or - for standard input.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub body: Option<String>,
    /// Every page of a list operation, not only the first.
    #[arg(long)]
    pub all: bool,
    /// A write's Idempotency-Key (default: a fresh one); the same key with
    /// other parameters is refused (exit status 64).
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
}

// Rustdoc only (`concat!`): see `Command`.
#[doc = concat!("`plugipay demo`.")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Customers to seed the sandbox's book with, for the walk at the end.
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    pub seed_customers: usize,
}

/// `plugipay customers …` (deferred as [`Command`] is).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum CustomersCommand {
    /// Create a customer; prints it as JSON.
    #[command(after_long_help = examples::CREATE)]
    Create {
        /// The customer's fields (from the spec's create request).
        #[command(flatten)]
        body: CreateCustomerBody,
        #[command(flatten)]
        key: WriteKey,
    },
    /// Print one customer as JSON.
    Get {
        /// The customer id (cus_…).
        id: String,
    },
    /// Change some fields of a customer; prints it as JSON. `--metadata`
    /// keys are added to the customer's current metadata (read first, then
    /// written back whole).
    #[command(after_long_help = examples::UPDATE)]
    Update {
        /// The customer id (cus_…).
        id: String,
        /// The fields to change or clear (from the spec's update request).
        #[command(flatten)]
        body: UpdateCustomerBody,
        #[command(flatten)]
        key: WriteKey,
    },
    /// List customers as JSON lines, one customer a line.
    #[command(after_long_help = examples::LIST)]
    List(ListArgs),
    /// Print the customer with this external id, creating it if there is none.
    Ensure {
        /// The customer's fields (`--external-id` required).
        #[command(flatten)]
        body: CreateCustomerBody,
        #[command(flatten)]
        required: ExternalIdRequired,
    },
    /// Delete a customer with no money history (refused with a conflict
    /// error for one that has it: use `remove` or `archive`).
    Delete {
        /// The customer id (cus_…).
        id: String,
        #[command(flatten)]
        key: WriteKey,
    },
    /// Delete a customer, or archive it when it has money history; says which.
    Remove {
        /// The customer id (cus_…).
        id: String,
    },
    /// Archive a customer (metadata.archived = "true").
    Archive {
        /// The customer id (cus_…).
        id: String,
    },
    /// Take a customer out of the archive (metadata.archived = "false").
    Unarchive {
        /// The customer id (cus_…).
        id: String,
    },
    /// Write the whole book as JSON lines, each customer once.
    #[command(after_long_help = examples::EXPORT)]
    Export {
        /// Write to this file instead of stdout; it is replaced only once the
        /// whole book is in (see --help).
        ///
        /// The book goes to a private temporary file beside FILE, renamed over
        /// FILE only once complete: a failed or interrupted export (Ctrl-C,
        /// SIGTERM: exit status 130) removes it and leaves the old FILE as it
        /// was. A replaced file keeps its permissions; a new one is readable
        /// by you only. A symbolic link is followed and the file it leads to
        /// replaced (the link stays). A FIFO or a device (/dev/null,
        /// /dev/stdout) is written through as the book arrives. A directory,
        /// or a directory that does not exist, is refused before anything is
        /// fetched.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Creation-time ranges walked at once (lines then come in no overall
        /// order); 1 walks one cursor, newest first.
        #[arg(long, value_name = "N", default_value_t = 16,
              value_parser = clap::value_parser!(u16).range(1..=plugipay::MAX_PARTITIONS as i64))]
        parallel: u16,
    },
    /// Print what changed in the book since a checkpoint, as JSON lines,
    /// read from the events log (what changed, not the whole book).
    ///
    /// Each line is a change with the checkpoint to resume from after it:
    /// {"change":"upsert","customer":{…},"checkpoint":"…"} for a customer
    /// created or updated (its state then), {"change":"deleted","id":"cus_…",
    /// "at":"…","checkpoint":"…"} for one deleted. Store the last checkpoint
    /// with what you applied and pass it to --since next time; stderr says
    /// it too. A checkpoint the events log no longer holds fails (exit 1)
    /// rather than skip changes: copy the book again (export) from --since
    /// latest taken before the copy.
    Changes {
        /// Where to start: a checkpoint a previous run printed, `latest`
        /// (after the newest event now: prints nothing, says the checkpoint)
        /// or `start` (every change the log still keeps).
        #[arg(long, value_name = "CHECKPOINT", default_value = "start")]
        since: String,
    },
    /// Keep a copy of the book in an SQLite file or a Postgres database: the
    /// whole book the first time, then only what changed (the events log),
    /// each batch in one transaction with its checkpoint.
    ///
    /// Table plugipay_customers: one row per customer (id, account_id,
    /// external_id, email, name, phone, tax_id, default_payment_token_id,
    /// metadata as JSON, created_at, updated_at, json: the whole customer);
    /// a deleted customer keeps its row with deleted_at set (live customers:
    /// WHERE deleted_at IS NULL). In Postgres the times are timestamptz and
    /// the JSON jsonb. Table plugipay_mirror holds the checkpoint. A run
    /// stopped at any point leaves a copy the next run finishes. When the
    /// events log no longer holds the checkpoint, the run fails (exit 1):
    /// --resync copies the whole book again. The summary says what changed
    /// and the requests spent.
    Mirror {
        /// An SQLite file (created when missing, readable by you only), or a
        /// Postgres URL: postgres://USER@HOST:PORT/DATABASE (the password in
        /// the URL or PGPASSWORD; a Unix socket as ?host=/run/postgresql;
        /// TLS when the server offers it, ?sslmode=require to insist,
        /// certificates checked against the system's trusted ones).
        #[arg(value_name = "FILE|URL")]
        target: PathBuf,
        /// Empty the copy and copy the whole book again.
        #[arg(long, conflicts_with = "verify")]
        resync: bool,
        /// Compare the copy with a fresh walk of the book: each difference on
        /// stdout, exit 1 when there is any.
        #[arg(long)]
        verify: bool,
        /// After catching up, keep the copy current: read the changes again
        /// every --every seconds until Ctrl-C or SIGTERM (exit 130; the copy
        /// stays consistent).
        #[arg(long, conflicts_with = "verify")]
        follow: bool,
        /// Seconds between two catch-ups with --follow.
        #[arg(long, value_name = "SECONDS", default_value = "5", requires = "follow",
              value_parser = crate::settings::seconds)]
        every: std::time::Duration,
    },
    /// Ensure every row of a JSON-lines or CSV file (keyed by externalId);
    /// with --update, also bring existing customers in line with their rows.
    #[command(after_long_help = examples::IMPORT)]
    Import {
        /// The file: `.csv` with a header row, anything else JSON lines; `-`
        /// reads JSON lines from standard input.
        #[arg(required_unless_present = "schema")]
        file: Option<PathBuf>,
        /// Print the JSON Schema of one import row (a JSON line) and exit.
        #[arg(long, conflicts_with = "file")]
        schema: bool,
        /// Rows in flight at once.
        #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        /// Sync from your CRM: also update existing customers whose fields
        /// differ from their rows (only those fields; metadata keys the row
        /// does not name are kept). Reports created / updated / unchanged.
        #[arg(long)]
        update: bool,
        /// Write nothing: print on stdout each row that would be created or
        /// updated (with the fields that differ), then the counts.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Typical invocations, shown at the end of `--help` (not `-h`).
mod examples {
    /// `plugipay customers --help`.
    pub const CUSTOMERS: &str = "\
Examples:
  plugipay customers create --email alice@example.com --name \"Alice Tan\" --external-id user_19823
  plugipay customers get cus_01HXAB7K3M9N2P5QRS8TVWXY3Z
  plugipay customers list --email alice@example.com
  plugipay customers ensure --external-id crm_88012 --email finance@bigcorp.id
  plugipay customers export --out book.jsonl
  plugipay customers import crm.csv --update --dry-run";

    /// `plugipay customers create --help`.
    pub const CREATE: &str = "\
Examples:
  plugipay customers create --email alice@example.com --name \"Alice Tan\" --metadata plan=pro
  plugipay customers create --external-id user_19823 --default-payment-token-id pt_01HX…
  # Safe to run again after a failure: the same key is applied at most once.
  plugipay customers create --external-id user_19823 --idempotency-key signup-19823";

    /// `plugipay customers update --help`.
    pub const UPDATE: &str = "\
Examples:
  plugipay customers update cus_01HX… --name \"Alice T. Wijaya\" --clear-phone
  plugipay customers update cus_01HX… --metadata tier=gold   # other keys are kept";

    /// `plugipay customers list --help`.
    pub const LIST: &str = "\
Examples:
  plugipay customers list --limit 10                  # one page; stderr gives the next --cursor
  plugipay customers list --all --active --order asc  # the whole book, archived skipped
  plugipay customers list --all --output csv > book.csv";

    /// `plugipay customers export --help`.
    pub const EXPORT: &str = "\
Examples:
  plugipay customers export --out book.jsonl
  plugipay customers export --output csv > book.csv
  plugipay --on-behalf-of acct_… customers export --parallel 4 --out merchant.jsonl";

    /// `plugipay customers import --help`.
    pub const IMPORT: &str = "\
Examples:
  plugipay customers import crm.csv                      # create the rows not there yet
  plugipay customers import crm.csv --update --dry-run   # what a sync would change, old → new
  plugipay customers import crm.csv --update             # create, and update what differs
  plugipay customers export --out book.jsonl && plugipay --profile other customers import book.jsonl
  plugipay customers import --schema                     # one row's JSON Schema";
}

// Rustdoc only (`concat!`): see `Command`.
#[doc = concat!(
    "Makes `--external-id` required once the fields are added (a deferred ",
    "command's variant attributes apply before its fields exist)."
)]
#[derive(Debug, Args)]
#[command(mut_arg("external_id", |arg| arg.required(true)))]
pub struct ExternalIdRequired {}

// Rustdoc only (`concat!`): see `Command`.
#[doc = concat!("The Idempotency-Key of one write.")]
#[derive(Debug, Args)]
pub struct WriteKey {
    /// The write's Idempotency-Key (default: a fresh one). Run the same
    /// command again with the same key after a failure and the write is
    /// applied at most once; the same key with other fields is refused
    /// (exit status 64).
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
}

// Rustdoc only (`concat!`): see `Command`.
#[doc = concat!("`plugipay customers list`: the spec's list filters (generated), and the walk.")]
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The list operation's query parameters.
    #[command(flatten)]
    pub query: ListCustomersQuery,
    /// Every page, not only the first (pages of 100 unless --limit).
    #[arg(long)]
    pub all: bool,
    /// Skip archived customers.
    #[arg(long, conflicts_with = "archived")]
    pub active: bool,
    /// Only archived customers.
    #[arg(long)]
    pub archived: bool,
}

/// The operations `plugipay api` knows, for its help: one line each.
pub fn operations_help(table: &[plugipay::api::endpoint::OperationInfo]) -> String {
    let mut text = String::from("Operations (from the spec):\n");
    for op in table {
        let mut params: Vec<String> = op.path_params.iter().map(|p| format!("{p}=…")).collect();
        params.extend(op.query.iter().map(|q| format!("[{}=…]", q.name)));
        if op.body {
            params.push("--body JSON".into());
        }
        text.push_str(&format!(
            "  {:<18} {} {}  {}\n      {}\n",
            op.id,
            op.method,
            op.path,
            op.summary,
            params.join(" ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Building a deferred command on demand keeps the about its parent
    /// lists: no `Args` struct's doc comment takes its place (see
    /// `WriteKey`), and every command's flags exist once built.
    #[test]
    fn commands_built_on_demand_keep_their_about() {
        fn compare(unbuilt: &clap::Command, built: &clap::Command, path: &str, seen: &mut usize) {
            *seen += 1;
            assert_eq!(
                unbuilt.get_about().map(ToString::to_string),
                built.get_about().map(ToString::to_string),
                "about of `{path}`"
            );
            assert_eq!(
                unbuilt.get_long_about().map(ToString::to_string),
                built.get_long_about().map(ToString::to_string),
                "long about of `{path}`"
            );
            for sub in unbuilt.get_subcommands() {
                let name = sub.get_name();
                let other = built
                    .find_subcommand(name)
                    .unwrap_or_else(|| panic!("`{path} {name}` once built"));
                compare(sub, other, &format!("{path} {name}"), seen);
            }
        }
        use clap::CommandFactory as _;
        let unbuilt = Cli::command();
        let mut built = Cli::command();
        built.build();
        let mut seen = 0;
        compare(&unbuilt, &built, "plugipay", &mut seen);
        assert!(seen > 10, "the root and its subcommands: {seen}");
        let customers = built.find_subcommand("customers").expect("customers");
        assert!(
            customers.get_subcommands().count() > 10,
            "the customer commands exist once built"
        );
        let ensure = customers.find_subcommand("ensure").expect("ensure");
        let external_id = ensure
            .get_arguments()
            .find(|a| a.get_id() == "external_id")
            .expect("--external-id");
        assert!(external_id.is_required_set(), "ensure needs --external-id");
    }

    #[test]
    fn secrets_given_as_flags_never_show_in_debug() {
        let cli = Cli::try_parse_from([
            "plugipay",
            "--secret",
            "sk_test_hidden1",
            "--api-key",
            "pk_test_hidden2",
            "webhooks",
            "verify",
            "body.json",
            "--signature",
            "t=1,v1=00",
            "--webhook-secret",
            "whsec_hidden3",
        ]);
        let shown = format!("{:?}", cli.expect("parses"));
        for hidden in ["hidden1", "hidden2", "hidden3"] {
            assert!(!shown.contains(hidden), "{hidden} in {shown}");
        }
        assert!(shown.contains("<redacted>"));

        let set = Cli::try_parse_from(["plugipay", "config", "set", "secret", "sk_test_hidden4"]);
        let shown = format!("{:?}", set.expect("parses"));
        assert!(!shown.contains("hidden4"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}

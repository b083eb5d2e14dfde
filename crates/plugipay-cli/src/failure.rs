//! The failure a command ends with, which `main` turns into its message
//! and exit status.

/// A failure to report: one line on stderr, then a non-zero exit.
#[derive(Debug)]
pub enum Failure {
    /// A call failed.
    Sdk(plugipay::Error),
    /// Anything else (files, settings), already worded.
    Other(String),
    /// The work ran but some of it failed; its own report was printed.
    Partial,
    /// Whoever read stdout stopped reading (`… | head`): nothing more to say.
    Closed,
    /// Stopped by a signal; what was done and what is left was printed.
    Interrupted,
    /// No credentials at all (no flag, no variable): what to set, worded.
    NoCredentials(String),
    /// A bad invocation clap could not see (a missing secret, a value out of
    /// range), worded: exit status 2, as clap's own usage errors.
    Usage(String),
}

impl From<plugipay::Error> for Failure {
    fn from(e: plugipay::Error) -> Self {
        Failure::Sdk(e)
    }
}

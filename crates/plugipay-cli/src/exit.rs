//! The exit statuses of `plugipay`, as Plugipay's own CLI documents them.

/// Success.
pub const OK: u8 = 0;
/// An error (a call or a file failed, or some rows of an import were not done).
pub const ERROR: u8 = 1;
/// A bad invocation: an unknown flag, a missing argument, a bad value
/// (clap's own status for usage errors, and ours for what clap cannot see).
pub const USAGE: u8 = 2;
/// No credentials configured: no key id and secret, and no API key.
pub const NO_CREDENTIALS: u8 = 3;
/// An Idempotency-Key used before with other parameters.
pub const IDEMPOTENCY_MISMATCH: u8 = 64;
/// Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as a shell reports Ctrl-C).
pub const INTERRUPTED: u8 = 130;

/// The statuses as `--help` lists them.
pub const HELP: &str = "\
Exit status:
  0    ok
  1    error (a call failed, or some rows of an import were not done)
  2    bad invocation (unknown flag, missing or bad argument, a value
       refused before the network)
  3    no credentials configured
  64   Idempotency-Key reused with other parameters
  130  interrupted (Ctrl-C, SIGTERM): a rerun is safe";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_lists_every_status() {
        for code in [
            OK,
            ERROR,
            USAGE,
            NO_CREDENTIALS,
            IDEMPOTENCY_MISMATCH,
            INTERRUPTED,
        ] {
            assert!(HELP.contains(&format!("\n  {code} ")), "{code}");
        }
    }
}

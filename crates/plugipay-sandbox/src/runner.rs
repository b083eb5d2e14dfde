//! The sandbox as a foreground program, shared by the `plugipay-sandbox`
//! binary and `plugipay sandbox`: start, announce, serve until Ctrl-C.

use std::fmt;
use std::io::Write;
use std::net::SocketAddr;

use crate::Sandbox;
use crate::args::SandboxArgs;
use crate::config::{
    PLATFORM_KEY_ID, PLATFORM_SECRET, TEST_ACCOUNT_ID, TEST_API_KEY, TEST_KEY_ID, TEST_SECRET,
};

/// Why a sandbox could not run.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The address could not be bound.
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What binding it answered.
        source: std::io::Error,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Listen { source, .. } => Some(source),
        }
    }
}

/// Runs a sandbox in the foreground: starts it as `args` say, prints
/// `listening on http://HOST:PORT` on stdout once it accepts connections
/// (flushed: the readiness line scripts wait for), the default credentials
/// on stderr, and serves until Ctrl-C. Closed stdout or stderr is no error.
pub async fn run(args: SandboxArgs) -> Result<(), RunError> {
    let sandbox = Sandbox::start(args.config())
        .await
        .map_err(|source| RunError::Listen {
            addr: args.addr,
            source,
        })?;
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "listening on {}", sandbox.base_url());
        let _ = stdout.flush();
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "credentials: key id {TEST_KEY_ID} / secret {TEST_SECRET}, or Bearer {TEST_API_KEY} \
         (workspace {TEST_ACCOUNT_ID}); platform key {PLATFORM_KEY_ID} / {PLATFORM_SECRET}"
    );
    tokio::select! {
        _ = sandbox.serve_forever() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

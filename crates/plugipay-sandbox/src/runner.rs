//! The sandbox as a foreground program, shared by the `plugipay-sandbox`
//! binary and `plugipay sandbox`: start, announce, serve until Ctrl-C.

use std::fmt;
use std::io::Write;
use std::net::SocketAddr;

use crate::Sandbox;
use crate::args::SandboxArgs;
use crate::config::{
    LIVE_API_KEY, LIVE_KEY_ID, LIVE_SECRET, PLATFORM_KEY_ID, PLATFORM_SECRET, Secret,
    TEST_ACCOUNT_ID, TEST_API_KEY, TEST_KEY_ID, TEST_SECRET,
};
use crate::process::LISTENING_PREFIX;

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
    /// The configuration cannot be served: a key whose prefix names no
    /// mode, a webhook URL that is not one (see [`SandboxConfig::validate`](crate::SandboxConfig::validate)).
    Config(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Listen { addr, source } if source.kind() == std::io::ErrorKind::AddrInUse => {
                write!(
                    f,
                    "cannot listen on {addr}: something already listens there (another \
                     sandbox?); stop it, or give --addr another port (--addr 127.0.0.1:0 picks \
                     a free one)"
                )
            }
            RunError::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            RunError::Config(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Listen { source, .. } => Some(source),
            RunError::Config(_) => None,
        }
    }
}

/// Runs a sandbox in the foreground: starts it as `args` say, prints
/// `listening on http://HOST:PORT` on stdout once it accepts connections
/// (flushed: the readiness line scripts wait for), the default credentials
/// on stderr (the live ones too with `--live`, and the key ids of the
/// `--key`s, not their secrets), and serves until Ctrl-C. Closed stdout or
/// stderr is no error.
pub async fn run(args: SandboxArgs) -> Result<(), RunError> {
    let config = args.config();
    config.validate().map_err(RunError::Config)?;
    let sandbox = Sandbox::start(config)
        .await
        .map_err(|source| RunError::Listen {
            addr: args.addr,
            source,
        })?;
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{LISTENING_PREFIX}{}", sandbox.base_url());
        let _ = stdout.flush();
    }
    let mut line = format!(
        "credentials: key id {TEST_KEY_ID} / secret {TEST_SECRET}, or Bearer {TEST_API_KEY} \
         (workspace {TEST_ACCOUNT_ID}); platform key {PLATFORM_KEY_ID} / {PLATFORM_SECRET}"
    );
    if args.live {
        line.push_str(&format!(
            "; live: key id {LIVE_KEY_ID} / secret {LIVE_SECRET}, or Bearer {LIVE_API_KEY} \
             (workspace {TEST_ACCOUNT_ID})"
        ));
    }
    for key in &args.keys {
        let mode = key.mode().map_or("?", |m| m.as_str());
        match &key.secret {
            Secret::Hmac { key_id, .. } => line.push_str(&format!(
                "; {mode} key id {key_id} (workspace {})",
                key.account_id
            )),
            // A Bearer key is its own secret: named by its prefix only.
            Secret::Bearer(_) => line.push_str(&format!(
                "; a {mode} Bearer key (workspace {})",
                key.account_id
            )),
        }
    }
    for url in &args.webhooks {
        let url = shown_url(url);
        // The public default is said, so a local receiver can be set up
        // from this line; a secret of the user's own is never printed.
        if args.webhook_secret.is_default() {
            line.push_str(&format!(
                "; events delivered to {url}, signed with {}",
                args.webhook_secret.expose()
            ));
        } else {
            line.push_str(&format!(
                "; events delivered to {url}, signed with the secret given \
                 (--webhook-secret or PLUGIPAY_WEBHOOK_SECRET)"
            ));
        }
    }
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    tokio::select! {
        _ = sandbox.serve_forever() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// A webhook URL as the startup line shows it: without user, password,
/// query or fragment, where a receiver's own token may sit; not a URL at
/// all, only said to be one.
fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut url) => {
            let hidden = !url.username().is_empty()
                || url.password().is_some()
                || url.query().is_some()
                || url.fragment().is_some();
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            if hidden {
                format!("{url} (credentials and query not shown)")
            } else {
                url.to_string()
            }
        }
        Err(_) => "a URL that does not parse".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn webhook_urls_are_shown_without_their_secrets() {
        assert_eq!(
            shown_url("http://127.0.0.1:9/hook"),
            "http://127.0.0.1:9/hook"
        );
        let shown = shown_url("https://user:pa55@example.test/hook?token=t0ken#f");
        assert!(shown.starts_with("https://example.test/hook"), "{shown}");
        for secret in ["user", "pa55", "t0ken"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(shown_url("not a url \x1b[2J"), "a URL that does not parse");
    }
}

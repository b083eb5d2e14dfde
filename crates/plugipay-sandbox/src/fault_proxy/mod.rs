//! A seeded, loopback-only HTTP/1.1 proxy that injects network faults.
//!
//! Put a [`FaultProxy`] between an HTTP client and a server on this machine
//! (typically a [`Sandbox`](crate::Sandbox)) and a share of the requests
//! meets one of the eight [`FaultKind`]s: error answers that never reach
//! the server, answers that are lost, cut or truncated after the server
//! acted, and delays on either side of the server. The dice are seeded, so
//! a sequence of requests meets the same faults on every run.
//!
//! ```
//! use plugipay_sandbox::{FaultKind, FaultProxy, ProxyFaults, Sandbox, SandboxConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let sandbox = Sandbox::start(SandboxConfig::new().seed_customers(3)).await?;
//! let faults = ProxyFaults {
//!     rate: 0.3,
//!     kinds: vec![FaultKind::ServiceUnavailable, FaultKind::DropAfterForward],
//!     seed: 7,
//!     ..ProxyFaults::default()
//! };
//! let proxy = FaultProxy::start(sandbox.base_url(), faults).await?;
//! // Point the client under test at `proxy.base_url()` instead of the sandbox.
//! assert!(proxy.base_url().starts_with("http://127.0.0.1:"));
//! # Ok(()) }
//! ```
//!
//! What it speaks: HTTP/1.1 (and 1.0) requests framed by `Content-Length`,
//! several in sequence on one keep-alive connection. Requests with a
//! `Transfer-Encoding` are refused with `501` and the connection closed;
//! malformed heads get `400`, heads over 64 KiB `431`, bodies over 16 MiB
//! `413`. Each forwarded request goes to the upstream on a fresh connection
//! with its `Connection` header replaced by `Connection: close` and every
//! other byte unchanged (so signatures over headers and body stay valid).
//! Upgrades (`101`) are not supported.
//!
//! Inside: `plan` draws each request's fault, `relay` accepts, forwards
//! and plays the fault out, and `http` parses and renders HTTP/1.1 without
//! touching a socket.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use relay::Shared;

mod http;
mod plan;
mod relay;

/// A fault the proxy can inject into one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// Answer `503` with a JSON error envelope (code `service_unavailable`);
    /// the request is not forwarded.
    ServiceUnavailable,
    /// Answer `429` with `Retry-After: <retry_after_secs>` and a JSON error
    /// envelope (code `rate_limited`); the request is not forwarded.
    RateLimited,
    /// Answer `500` with an HTML body (`text/html`), as a load balancer or
    /// web server in front of the API might; the request is not forwarded.
    HtmlError,
    /// Forward the request, read the upstream's whole answer, then close the
    /// client connection without answering: the server acted, the client
    /// never learns how.
    DropAfterForward,
    /// Wait [`ProxyFaults::delay`], then forward and answer normally. The
    /// request is forwarded even if the client gave up meanwhile (it reaches
    /// the server late, as a slow network would deliver it).
    DelayBeforeForward,
    /// Forward, then wait [`ProxyFaults::delay`] before answering.
    DelayAfterForward,
    /// Forward; answer with the upstream's status and headers, with the
    /// `Content-Length` of the whole body, but only the first half of the
    /// body, then close the connection (the client sees a cut-off body).
    CutBody,
    /// Forward; answer with the first half of the body and a
    /// `Content-Length` that matches it: the framing is valid, the JSON is
    /// not. The connection stays open.
    TruncatedJson,
}

impl FaultKind {
    /// Every fault kind, in declaration order.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::ServiceUnavailable,
        FaultKind::RateLimited,
        FaultKind::HtmlError,
        FaultKind::DropAfterForward,
        FaultKind::DelayBeforeForward,
        FaultKind::DelayAfterForward,
        FaultKind::CutBody,
        FaultKind::TruncatedJson,
    ];

    /// The kind's place in [`FaultKind::ALL`].
    fn index(self) -> usize {
        self as usize
    }
}

/// Which faults a [`FaultProxy`] injects, how often, and the seed of its
/// dice.
///
/// For each request, one draw decides whether it meets a fault (with
/// probability [`rate`](Self::rate)) and, if so, a second draw picks the
/// kind uniformly from [`kinds`](Self::kinds).
#[derive(Clone, Debug)]
pub struct ProxyFaults {
    /// The probability that a request meets a fault: `0.0` never, `1.0`
    /// always. Values above `1.0` act as `1.0`; values below `0.0` and NaN
    /// act as `0.0`.
    pub rate: f64,
    /// The kinds drawn from, uniformly (a kind listed twice is drawn twice as
    /// often). Empty means no faults. Default: all eight.
    pub kinds: Vec<FaultKind>,
    /// How long the two delay kinds wait. Default: 2.5 s.
    pub delay: Duration,
    /// The `Retry-After` seconds of [`FaultKind::RateLimited`]. Default: 0.
    pub retry_after_secs: u64,
    /// The seed of the dice: the same seed and the same sequence of requests
    /// give the same faults. Default: 0.
    pub seed: u64,
}

impl Default for ProxyFaults {
    /// No faults (`rate` 0.0), all eight kinds, a 2.5 s delay,
    /// `Retry-After: 0` and seed 0.
    fn default() -> Self {
        Self {
            rate: 0.0,
            kinds: FaultKind::ALL.to_vec(),
            delay: Duration::from_millis(2500),
            retry_after_secs: 0,
            seed: 0,
        }
    }
}

/// A running fault-injecting proxy in front of a loopback HTTP server.
///
/// It listens on `127.0.0.1` on a port of its own; dropping it stops the
/// accept loop and closes every connection it holds.
pub struct FaultProxy {
    base_url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on `127.0.0.1:0` and forwards to `upstream`, a base URL such
    /// as `http://127.0.0.1:PORT` (a trailing `/` is allowed, a path is not).
    ///
    /// The upstream must be on this machine: an IPv4 or IPv6 loopback
    /// address, or `localhost` (taken as `127.0.0.1`, without a lookup).
    /// Any other host, a scheme other than `http`, or a URL with a path,
    /// query or user info is refused with an error of kind
    /// [`io::ErrorKind::InvalidInput`]. The proxy accepts connections as
    /// soon as this returns.
    pub async fn start(upstream: &str, faults: ProxyFaults) -> io::Result<FaultProxy> {
        let upstream_addr = parse_upstream(upstream)?;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(upstream_addr, faults));
        let task = tokio::spawn(relay::accept_loop(listener, Arc::clone(&shared)));
        Ok(FaultProxy {
            base_url: format!("http://{addr}"),
            shared,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, to pass to the client as its base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Replaces the faults in force and reseeds the dice with
    /// `faults.seed`; it takes effect from the next request to arrive
    /// (requests already under way keep the fault they drew).
    pub fn set_faults(&self, faults: ProxyFaults) {
        self.shared.planner.set(faults);
    }

    /// How many times each fault kind was applied, for all eight kinds
    /// (zero for kinds never drawn). A fault counts when it is drawn for a
    /// request, even if the client left or the upstream could not be
    /// reached before it could play out in full.
    pub fn counts(&self) -> BTreeMap<FaultKind, u64> {
        FaultKind::ALL
            .iter()
            .map(|&kind| (kind, self.shared.planner.count(kind)))
            .collect()
    }

    /// Waits until no request is held to be forwarded late or is on its way
    /// to the upstream: every request the proxy forwards has then been
    /// answered by the upstream (a client that gave up on a delayed request
    /// does not stop it from arriving; this waits for it).
    pub async fn settled(&self) {
        self.shared.settled().await;
    }

    /// How many answers of each status the upstream gave to the requests
    /// the proxy forwarded (whatever the proxy then did with them): with no
    /// faults, a count of what a client was answered — how many 429s, say.
    pub fn upstream_statuses(&self) -> BTreeMap<u16, u64> {
        self.shared.statuses()
    }

    /// How many requests were received in all: every request read in full
    /// and put to the dice, whether it met a fault or not. Requests refused
    /// as malformed (`400`, `413`, `431`, `501`) are not counted.
    pub fn requests(&self) -> u64 {
        self.shared.planner.requests()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every
        // connection task.
        self.task.abort();
    }
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("base_url", &self.base_url)
            .field("upstream", &self.shared.upstream)
            .field("requests", &self.requests())
            .finish()
    }
}

/// Checks that `upstream` is `http://` on a loopback host and returns its
/// socket address.
fn parse_upstream(upstream: &str) -> io::Result<SocketAddr> {
    let invalid = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fault proxy upstream {upstream:?}: {why}"),
        )
    };
    let scheme_len = "http://".len();
    let rest = match upstream.get(..scheme_len) {
        Some(scheme) if scheme.eq_ignore_ascii_case("http://") => &upstream[scheme_len..],
        _ => return Err(invalid("only http:// upstreams are supported")),
    };
    let authority = match rest.split_once('/') {
        Some((authority, "")) => authority,
        Some(_) => return Err(invalid("a base path is not supported")),
        None => rest,
    };
    if authority.contains(['?', '#', '@']) {
        return Err(invalid("a query, fragment or user info is not supported"));
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| invalid("an unclosed '[' in the host"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| invalid("junk after the host"))?,
            ),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => 80,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| invalid("the port is not a number from 1 to 65535"))?,
    };
    let ip = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse::<IpAddr>()
            .map_err(|_| invalid("the host is not a loopback address"))?
    };
    if !ip.to_canonical().is_loopback() {
        return Err(invalid("the host is not a loopback address"));
    }
    Ok(SocketAddr::new(ip, port))
}

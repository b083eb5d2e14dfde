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

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::rng::SplitMix64;

/// The largest request head read (request line and headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The largest request body read.
const MAX_REQUEST_BODY_BYTES: u64 = 16 << 20;
/// The largest upstream response read.
const MAX_RESPONSE_BYTES: usize = 64 << 20;
/// How much is read from a socket at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// The message of the proxy's own JSON error envelopes.
const INJECTED_MESSAGE: &str = "injected by the fault proxy";
/// The body of [`FaultKind::HtmlError`].
const HTML_ERROR_BODY: &str = "<html><body>Internal Server Error</body></html>";

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
        let shared = Arc::new(Shared {
            upstream: upstream_addr,
            dice: Mutex::new(Dice::new(faults)),
            counts: Default::default(),
            requests: AtomicU64::new(0),
            forwarding: AtomicU64::new(0),
            quiet: tokio::sync::Notify::new(),
            statuses: Mutex::default(),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
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
        *self.shared.dice() = Dice::new(faults);
    }

    /// How many times each fault kind was applied, for all eight kinds
    /// (zero for kinds never drawn). A fault counts when it is drawn for a
    /// request, even if the client left or the upstream could not be
    /// reached before it could play out in full.
    pub fn counts(&self) -> BTreeMap<FaultKind, u64> {
        FaultKind::ALL
            .iter()
            .map(|&kind| {
                let n = self.shared.counts[kind.index()].load(Ordering::Relaxed);
                (kind, n)
            })
            .collect()
    }

    /// Waits until no request is held to be forwarded late or is on its way
    /// to the upstream: every request the proxy forwards has then been
    /// answered by the upstream (a client that gave up on a delayed request
    /// does not stop it from arriving; this waits for it).
    pub async fn settled(&self) {
        loop {
            let quiet = self.shared.quiet.notified();
            if self.shared.forwarding.load(Ordering::SeqCst) == 0 {
                return;
            }
            quiet.await;
        }
    }

    /// How many answers of each status the upstream gave to the requests
    /// the proxy forwarded (whatever the proxy then did with them): with no
    /// faults, a count of what a client was answered — how many 429s, say.
    pub fn upstream_statuses(&self) -> BTreeMap<u16, u64> {
        self.shared
            .statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many requests were received in all: every request read in full
    /// and put to the dice, whether it met a fault or not. Requests refused
    /// as malformed (`400`, `413`, `431`, `501`) are not counted.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
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

/// The faults in force and the dice they are drawn with.
struct Dice {
    faults: ProxyFaults,
    rng: SplitMix64,
}

impl Dice {
    fn new(faults: ProxyFaults) -> Self {
        let rng = SplitMix64::new(faults.seed);
        Self { faults, rng }
    }

    /// The fault a request meets, if any.
    fn roll(&mut self) -> Option<FaultKind> {
        let kinds = &self.faults.kinds;
        if kinds.is_empty() || !self.rng.chance(self.faults.rate) {
            return None;
        }
        let pick = self.rng.next_u64() % kinds.len() as u64;
        Some(kinds[pick as usize])
    }
}

/// What the accept loop and every connection share.
struct Shared {
    upstream: SocketAddr,
    dice: Mutex<Dice>,
    counts: [AtomicU64; 8],
    requests: AtomicU64,
    /// Requests held to be forwarded, or on their way to the upstream and
    /// back.
    forwarding: AtomicU64,
    /// Notified whenever `forwarding` drops to zero.
    quiet: tokio::sync::Notify,
    /// How many answers of each status the upstream gave.
    statuses: Mutex<BTreeMap<u16, u64>>,
}

/// Counts one request as being forwarded while it lives.
struct Forwarding<'a>(&'a Shared);

impl<'a> Forwarding<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared.forwarding.fetch_add(1, Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for Forwarding<'_> {
    fn drop(&mut self) {
        if self.0.forwarding.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.quiet.notify_waiters();
        }
    }
}

/// What happens to one request, decided when it has been read.
struct Plan {
    /// The request's number, from 1.
    number: u64,
    fault: Option<FaultKind>,
    delay: Duration,
    retry_after_secs: u64,
}

impl Shared {
    fn dice(&self) -> MutexGuard<'_, Dice> {
        self.dice.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Numbers the request, rolls its fault and counts both.
    fn plan(&self) -> Plan {
        let mut dice = self.dice();
        // Under the lock, so numbers follow the order of the draws.
        let number = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let fault = dice.roll();
        if let Some(kind) = fault {
            self.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
        }
        Plan {
            number,
            fault,
            delay: dice.faults.delay,
            retry_after_secs: dice.faults.retry_after_secs,
        }
    }
}

/// Accepts connections until the task is aborted; aborting it also ends
/// every connection it serves.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                while connections.try_join_next().is_some() {}
                connections.spawn(serve_client(stream, Arc::clone(&shared)));
            }
            // Out of file descriptors and the like: wait a little rather
            // than spin, and let running connections finish.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Serves the requests of one client connection, in sequence, until the
/// client closes it, an I/O error occurs, or a fault or refusal closes it.
async fn serve_client(mut client: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    loop {
        let head_len = match read_head(&mut client, &mut buf).await {
            HeadRead::Complete(len) => len,
            HeadRead::Closed => return,
            HeadRead::TooLarge => {
                let reply = Refusal::HeadTooLarge.response();
                let _ = client.write_all(&reply).await;
                close(client).await;
                return;
            }
        };
        let head: Vec<u8> = buf.drain(..head_len).collect();
        let request = match parse_request(&head) {
            Ok(request) => request,
            Err(refusal) => {
                let _ = client.write_all(&refusal.response()).await;
                close(client).await;
                return;
            }
        };
        // Bounded by MAX_REQUEST_BODY_BYTES, so it fits.
        let body_len = request.content_length as usize;
        if request.expect_continue
            && buf.len() < body_len
            && client
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .is_err()
        {
            return;
        }
        let Some(body) = read_body(&mut client, &mut buf, body_len).await else {
            return;
        };
        let plan = shared.plan();
        match answer(&mut client, &shared, &request, &body, &plan).await {
            Ok(true) => {}
            Ok(false) => {
                close(client).await;
                return;
            }
            Err(_) => return,
        }
    }
}

/// Sends what was written and closes the connection (a FIN, not a reset).
async fn close(mut client: TcpStream) {
    let _ = client.shutdown().await;
}

/// The outcome of reading a request head.
enum HeadRead {
    /// `buf[..len]` is the head, up to and including its blank line.
    Complete(usize),
    /// The client closed the connection (or it failed) before a whole head.
    Closed,
    /// The head is over [`MAX_HEAD_BYTES`].
    TooLarge,
}

/// Reads until `buf` starts with a whole request head. Bytes after the head
/// (a body, a pipelined request) stay in `buf`.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> HeadRead {
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    let mut scanned = 0;
    loop {
        // Empty lines before a request line are to be ignored.
        while buf.starts_with(b"\r\n") {
            buf.drain(..2);
            scanned = 0;
        }
        if let Some(at) = find(&buf[scanned..], b"\r\n\r\n") {
            let len = scanned + at + 4;
            return if len > MAX_HEAD_BYTES {
                HeadRead::TooLarge
            } else {
                HeadRead::Complete(len)
            };
        }
        if buf.len() > MAX_HEAD_BYTES {
            return HeadRead::TooLarge;
        }
        // The end marker may straddle two reads.
        scanned = buf.len().saturating_sub(3);
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return HeadRead::Closed,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Reads until `buf` holds `len` body bytes and takes them; `None` if the
/// client closed the connection first.
async fn read_body(stream: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> Option<Vec<u8>> {
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    while buf.len() < len {
        let want = (len - buf.len()).min(chunk.len());
        match stream.read(&mut chunk[..want]).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some(buf.drain(..len).collect())
}

/// A request head, parsed.
#[derive(Debug)]
struct RequestHead {
    /// A `HEAD` request: its answers carry no body.
    is_head: bool,
    /// The head to send upstream: the original with `Connection: close` in
    /// place of any `Connection` header.
    forward: Vec<u8>,
    content_length: u64,
    /// The connection is to close after this request's answer.
    close_after: bool,
    /// The client waits for `100 Continue` before sending the body.
    expect_continue: bool,
}

/// Why a request is refused (the connection then closes).
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    BadRequest,
    BodyTooLarge,
    HeadTooLarge,
    TransferEncoding,
}

impl Refusal {
    fn response(&self) -> Vec<u8> {
        let (status, body) = match self {
            Refusal::BadRequest => (400, "malformed request\n"),
            Refusal::BodyTooLarge => (413, "request body too large for the fault proxy\n"),
            Refusal::HeadTooLarge => (431, "request head too large for the fault proxy\n"),
            Refusal::TransferEncoding => (
                501,
                "the fault proxy does not support Transfer-Encoding in requests\n",
            ),
        };
        simple_response(
            status,
            "text/plain; charset=utf-8",
            &[],
            body.as_bytes(),
            false,
            true,
        )
    }
}

/// Parses a request head (including its blank line).
fn parse_request(head: &[u8]) -> Result<RequestHead, Refusal> {
    let text = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    let mut lines = crlf_lines(text);
    let request_line = lines.next().ok_or(Refusal::BadRequest)?;
    let request_line_text = std::str::from_utf8(request_line).map_err(|_| Refusal::BadRequest)?;
    let mut parts = request_line_text.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::BadRequest);
    };
    if !is_token(method.as_bytes())
        || target.is_empty()
        || target.bytes().any(|b| b.is_ascii_control())
    {
        return Err(Refusal::BadRequest);
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(Refusal::BadRequest),
    };

    let mut forward = Vec::with_capacity(head.len() + 32);
    forward.extend_from_slice(request_line);
    forward.extend_from_slice(b"\r\n");
    let mut content_length = None;
    let (mut close, mut keep_alive, mut expect_continue) = (false, false, false);
    for line in lines {
        let (name, value) = split_header(line).ok_or(Refusal::BadRequest)?;
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_content_length(value).ok_or(Refusal::BadRequest)?;
            if content_length.is_some_and(|m| m != n) {
                return Err(Refusal::BadRequest);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Refusal::TransferEncoding);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&b| b == b',') {
                let option = trim_ows(option);
                close |= option.eq_ignore_ascii_case(b"close");
                keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
            // Replaced by `Connection: close` below.
            continue;
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
        }
        forward.extend_from_slice(line);
        forward.extend_from_slice(b"\r\n");
    }
    forward.extend_from_slice(b"Connection: close\r\n\r\n");
    let content_length = content_length.unwrap_or(0);
    if content_length > MAX_REQUEST_BODY_BYTES {
        return Err(Refusal::BodyTooLarge);
    }
    Ok(RequestHead {
        is_head: method == "HEAD",
        forward,
        content_length,
        close_after: close || (http10 && !keep_alive),
        expect_continue: expect_continue && !http10,
    })
}

/// Answers one request as its plan says. `Ok(true)`: the connection stays
/// open for the next request; `Ok(false)`: close it; `Err`: the client is
/// gone.
async fn answer(
    client: &mut TcpStream,
    shared: &Shared,
    request: &RequestHead,
    body: &[u8],
    plan: &Plan,
) -> io::Result<bool> {
    let keep_alive = !request.close_after;
    let close = request.close_after;
    let omit_body = request.is_head;
    let envelope = |code: &str| {
        format!(
            r#"{{"data":null,"error":{{"code":"{code}","message":"{INJECTED_MESSAGE}"}},"meta":{{"requestId":"req_proxy_{}"}}}}"#,
            plan.number
        )
    };
    // Faults that answer without forwarding (the body has been read).
    let injected = match plan.fault {
        Some(FaultKind::ServiceUnavailable) => Some(simple_response(
            503,
            "application/json",
            &[],
            envelope("service_unavailable").as_bytes(),
            omit_body,
            close,
        )),
        Some(FaultKind::RateLimited) => Some(simple_response(
            429,
            "application/json",
            &[("Retry-After", plan.retry_after_secs.to_string())],
            envelope("rate_limited").as_bytes(),
            omit_body,
            close,
        )),
        Some(FaultKind::HtmlError) => Some(simple_response(
            500,
            "text/html; charset=utf-8",
            &[],
            HTML_ERROR_BODY.as_bytes(),
            omit_body,
            close,
        )),
        _ => None,
    };
    if let Some(reply) = injected {
        client.write_all(&reply).await?;
        return Ok(keep_alive);
    }

    let forwarding = Forwarding::new(shared);
    if plan.fault == Some(FaultKind::DelayBeforeForward) {
        tokio::time::sleep(plan.delay).await;
    }
    let forwarded = forward(shared.upstream, &request.forward, body, request.is_head).await;
    drop(forwarding);
    let response = match forwarded {
        Upstream::Answer(response) => {
            *shared
                .statuses
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(response.status)
                .or_default() += 1;
            response
        }
        Upstream::HungUp => return Ok(false),
        Upstream::Unreachable => {
            let reply = bad_gateway(
                "the fault proxy could not reach the upstream\n",
                omit_body,
                close,
            );
            client.write_all(&reply).await?;
            return Ok(keep_alive);
        }
        Upstream::Malformed => {
            let reply = bad_gateway(
                "the upstream sent a response the fault proxy cannot relay\n",
                omit_body,
                close,
            );
            client.write_all(&reply).await?;
            return Ok(keep_alive);
        }
    };

    let full = response.body.len();
    let half = full / 2;
    let reply = match plan.fault {
        Some(FaultKind::DropAfterForward) => return Ok(false),
        Some(FaultKind::DelayAfterForward) => {
            tokio::time::sleep(plan.delay).await;
            response.render(&response.body, full, close)
        }
        Some(FaultKind::CutBody) => {
            // The whole body's length, half the body, then the close.
            client
                .write_all(&response.render(&response.body[..half], full, false))
                .await?;
            return Ok(false);
        }
        Some(FaultKind::TruncatedJson) => response.render(&response.body[..half], half, close),
        _ => response.render(&response.body, full, close),
    };
    client.write_all(&reply).await?;
    Ok(keep_alive)
}

/// What came back from the upstream.
enum Upstream {
    /// A whole response.
    Answer(UpstreamResponse),
    /// Nothing, or a response cut short: the upstream hung up (the proxy
    /// hangs up on the client in turn).
    HungUp,
    /// The connection was refused or failed to open.
    Unreachable,
    /// Bytes that are not an HTTP/1.x response the proxy can relay.
    Malformed,
}

/// A response from the upstream, ready to re-emit with framing of the
/// proxy's own.
#[derive(Debug)]
struct UpstreamResponse {
    /// Its status.
    status: u16,
    /// The status line and the end-to-end headers, each ending in CRLF:
    /// without `Content-Length`, `Transfer-Encoding`, `Connection` and
    /// `Keep-Alive`.
    head: Vec<u8>,
    /// The body, de-chunked.
    body: Vec<u8>,
    /// A response without a body by definition (to `HEAD`, `204`, `304`):
    /// its `Content-Length`, if any, describes another response and is kept.
    bodiless: bool,
    /// The upstream's `Content-Length`, if it sent one.
    declared_length: Option<u64>,
}

impl UpstreamResponse {
    /// The response with `body` and `Content-Length: content_length`, and
    /// `Connection: close` if `close`.
    fn render(&self, body: &[u8], content_length: usize, close: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.head.len() + body.len() + 64);
        out.extend_from_slice(&self.head);
        if self.bodiless {
            if let Some(n) = self.declared_length {
                out.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes());
            }
        } else {
            out.extend_from_slice(format!("Content-Length: {content_length}\r\n").as_bytes());
        }
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !self.bodiless {
            out.extend_from_slice(body);
        }
        out
    }
}

/// Sends one request to the upstream on a fresh connection and reads the
/// answer to the end of the connection.
async fn forward(upstream: SocketAddr, head: &[u8], body: &[u8], is_head: bool) -> Upstream {
    let Ok(mut stream) = TcpStream::connect(upstream).await else {
        return Upstream::Unreachable;
    };
    let _ = stream.set_nodelay(true);
    let mut request = Vec::with_capacity(head.len() + body.len());
    request.extend_from_slice(head);
    request.extend_from_slice(body);
    // If the write fails, the upstream may still have answered (say, an
    // early error before reading the body): read whatever it sent.
    let _ = stream.write_all(&request).await;
    let mut raw = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                raw.extend_from_slice(&chunk[..n]);
                if raw.len() > MAX_RESPONSE_BYTES {
                    return Upstream::Malformed;
                }
            }
        }
    }
    parse_response(&raw, is_head)
}

/// Parses everything the upstream sent, skipping interim (`1xx`) responses.
fn parse_response(raw: &[u8], is_head: bool) -> Upstream {
    let mut rest = raw;
    loop {
        let Some(at) = find(rest, b"\r\n\r\n") else {
            return Upstream::HungUp;
        };
        let (head, after) = (&rest[..at], &rest[at + 4..]);
        let mut lines = crlf_lines(head);
        let Some(status_line) = lines.next() else {
            return Upstream::Malformed;
        };
        let Some(status) = parse_status(status_line) else {
            return Upstream::Malformed;
        };
        if status == 101 {
            return Upstream::Malformed;
        }
        if (100..200).contains(&status) {
            rest = after;
            continue;
        }

        let mut kept = Vec::with_capacity(head.len() + 2);
        kept.extend_from_slice(status_line);
        kept.extend_from_slice(b"\r\n");
        let mut declared_length = None;
        let (mut chunked, mut other_coding) = (false, false);
        for line in lines {
            let Some((name, value)) = split_header(line) else {
                return Upstream::Malformed;
            };
            if name.eq_ignore_ascii_case(b"content-length") {
                let Some(n) = parse_content_length(value) else {
                    return Upstream::Malformed;
                };
                if declared_length.is_some_and(|m| m != n) {
                    return Upstream::Malformed;
                }
                declared_length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                let last = value.rsplit(|&b| b == b',').next().map(trim_ows);
                if last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")) {
                    chunked = true;
                } else {
                    other_coding = true;
                }
            } else if !name.eq_ignore_ascii_case(b"connection")
                && !name.eq_ignore_ascii_case(b"keep-alive")
            {
                kept.extend_from_slice(line);
                kept.extend_from_slice(b"\r\n");
            }
        }

        let bodiless = is_head || status == 204 || status == 304;
        let body = if bodiless {
            Vec::new()
        } else if other_coding {
            // A transfer coding the proxy cannot undo (gzip and the like).
            return Upstream::Malformed;
        } else if chunked {
            match dechunk(after) {
                Dechunked::Body(body) => body,
                Dechunked::Incomplete => return Upstream::HungUp,
                Dechunked::Malformed => return Upstream::Malformed,
            }
        } else if let Some(n) = declared_length {
            match usize::try_from(n) {
                Ok(n) if n <= after.len() => after[..n].to_vec(),
                _ => return Upstream::HungUp,
            }
        } else {
            // Delimited by the end of the connection.
            after.to_vec()
        };
        return Upstream::Answer(UpstreamResponse {
            status,
            head: kept,
            body,
            bodiless,
            declared_length,
        });
    }
}

/// The status code of a status line such as `HTTP/1.1 200 OK`.
fn parse_status(line: &[u8]) -> Option<u16> {
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let (minor, rest) = rest.split_first()?;
    if !minor.is_ascii_digit() {
        return None;
    }
    let rest = rest.strip_prefix(b" ")?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) || !matches!(rest.get(3), None | Some(b' ')) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// The result of decoding a chunked body.
#[derive(Debug, PartialEq, Eq)]
enum Dechunked {
    Body(Vec<u8>),
    Incomplete,
    Malformed,
}

/// Decodes a chunked body (trailers, if any, are dropped).
fn dechunk(mut data: &[u8]) -> Dechunked {
    let mut body = Vec::new();
    loop {
        let Some(eol) = find(data, b"\r\n") else {
            return Dechunked::Incomplete;
        };
        let size_field = data[..eol]
            .split(|&b| b == b';')
            .next()
            .map(trim_ows)
            .unwrap_or_default();
        let Some(size) = parse_hex(size_field) else {
            return Dechunked::Malformed;
        };
        data = &data[eol + 2..];
        if size == 0 {
            // Trailers follow up to a blank line; the body is complete.
            return Dechunked::Body(body);
        }
        let Some(chunk_end) = size.checked_add(2) else {
            return Dechunked::Malformed;
        };
        if data.len() < chunk_end {
            return Dechunked::Incomplete;
        }
        if &data[size..chunk_end] != b"\r\n" {
            return Dechunked::Malformed;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[chunk_end..];
    }
}

/// A chunk size: hex digits, without overflow.
fn parse_hex(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| {
        let digit = (d as char).to_digit(16)?;
        n.checked_mul(16)?.checked_add(digit as usize)
    })
}

/// A `Content-Length` value: decimal digits only.
fn parse_content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Splits a header line into its name and its trimmed value; `None` for a
/// line that is not a well-formed header (no colon, an empty or spaced
/// name, a folded line, a stray CR or LF).
fn split_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if line.iter().any(|&b| b == b'\r' || b == b'\n') {
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    if !is_token(name) {
        return None;
    }
    Some((name, trim_ows(&line[colon + 1..])))
}

/// Whether `bytes` is a non-empty HTTP token (method, header name).
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `bytes` without leading and trailing spaces and tabs.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The lines of `bytes`, split at CRLF.
fn crlf_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let current = rest?;
        match find(current, b"\r\n") {
            Some(at) => {
                rest = Some(&current[at + 2..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A `502 Bad Gateway` with a short text body.
fn bad_gateway(message: &str, omit_body: bool, close: bool) -> Vec<u8> {
    simple_response(
        502,
        "text/plain; charset=utf-8",
        &[],
        message.as_bytes(),
        omit_body,
        close,
    )
}

/// A whole response of the proxy's own. With `omit_body` (an answer to
/// `HEAD`) the headers describe the body but it is not sent.
fn simple_response(
    status: u16,
    content_type: &str,
    extra_headers: &[(&str, String)],
    body: &[u8],
    omit_body: bool,
    close: bool,
) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if !omit_body {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    use hmac::{Hmac, Mac};
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::{Sandbox, SandboxConfig, TEST_ACCOUNT_ID, TEST_KEY_ID, TEST_SECRET};

    const LIST: &str = "/api/v1/customers";

    fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            // A safety net against a hung test, not an assertion.
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap()
    }

    async fn sandbox() -> Sandbox {
        Sandbox::start(SandboxConfig::new().seed_customers(3))
            .await
            .unwrap()
    }

    fn only(kind: FaultKind) -> ProxyFaults {
        ProxyFaults {
            rate: 1.0,
            kinds: vec![kind],
            delay: Duration::from_millis(200),
            retry_after_secs: 7,
            seed: 1,
        }
    }

    async fn list(client: &reqwest::Client, base: &str) -> reqwest::Result<reqwest::Response> {
        client
            .get(format!("{base}{LIST}"))
            .header("Authorization", "Bearer pk_test_sandbox")
            .send()
            .await
    }

    async fn create(
        client: &reqwest::Client,
        base: &str,
        key: &str,
    ) -> reqwest::Result<reqwest::Response> {
        client
            .post(format!("{base}{LIST}"))
            .header("Authorization", "Bearer pk_test_sandbox")
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .body(r#"{"email":"ada@example.com","name":"Ada"}"#)
            .send()
            .await
    }

    /// The envelope without what differs between two answers to one request.
    fn without_request_meta(mut body: Value) -> Value {
        if let Some(meta) = body["meta"].as_object_mut() {
            meta.remove("requestId");
            meta.remove("timestamp");
        }
        body
    }

    async fn json(resp: reqwest::Response) -> Value {
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn rate_zero_passes_requests_through_unchanged() {
        let sandbox = sandbox().await;
        let proxy = FaultProxy::start(sandbox.base_url(), ProxyFaults::default())
            .await
            .unwrap();
        let client = http();
        let direct = list(&client, sandbox.base_url()).await.unwrap();
        assert_eq!(direct.status(), 200);
        let direct = json(direct).await;
        assert_eq!(direct["data"].as_array().map(Vec::len), Some(3));
        // Several requests on one keep-alive connection.
        for _ in 0..5 {
            let proxied = list(&client, proxy.base_url()).await.unwrap();
            assert_eq!(proxied.status(), 200);
            assert_eq!(
                proxied.headers()["content-type"],
                "application/json",
                "{:?}",
                proxied.headers()
            );
            let proxied = json(proxied).await;
            assert_eq!(
                without_request_meta(proxied),
                without_request_meta(direct.clone())
            );
        }
        assert_eq!(proxy.requests(), 5);
        assert_eq!(proxy.counts().len(), 8);
        assert!(proxy.counts().values().all(|&n| n == 0));
    }

    #[tokio::test]
    async fn signed_writes_pass_through_byte_for_byte() {
        let sandbox = sandbox().await;
        let proxy = FaultProxy::start(sandbox.base_url(), ProxyFaults::default())
            .await
            .unwrap();
        let body = r#"{"email":"grace@example.com","name":"Grace"}"#;
        let key = "idem_fault_proxy_signed";
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let to_sign = format!(
            "POST\n{LIST}\n{ts}\n{}\n{key}",
            hex::encode(Sha256::digest(body.as_bytes()))
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(TEST_SECRET.as_bytes()).unwrap();
        mac.update(to_sign.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let resp = http()
            .post(format!("{}{LIST}", proxy.base_url()))
            .header(
                "Authorization",
                format!("Plugipay-HMAC-SHA256 keyId={TEST_KEY_ID}, scope=*, signature={signature}"),
            )
            .header("X-Plugipay-Timestamp", ts.to_string())
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .header("Connection", "keep-alive")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let created = json(resp).await;
        assert_eq!(created["data"]["email"], "grace@example.com");
        assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 4);
    }

    #[tokio::test]
    async fn error_faults_answer_without_forwarding() {
        let sandbox = sandbox().await;
        let proxy = FaultProxy::start(sandbox.base_url(), only(FaultKind::ServiceUnavailable))
            .await
            .unwrap();
        let client = http();

        let resp = create(&client, proxy.base_url(), "idem_503").await.unwrap();
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body = json(resp).await;
        assert_eq!(body["data"], Value::Null);
        assert_eq!(body["error"]["code"], "service_unavailable");
        assert_eq!(body["error"]["message"], INJECTED_MESSAGE);
        assert_eq!(body["meta"]["requestId"], "req_proxy_1");

        proxy.set_faults(only(FaultKind::RateLimited));
        let resp = create(&client, proxy.base_url(), "idem_429").await.unwrap();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "7");
        let body = json(resp).await;
        assert_eq!(body["error"]["code"], "rate_limited");
        assert_eq!(body["meta"]["requestId"], "req_proxy_2");

        proxy.set_faults(only(FaultKind::HtmlError));
        let resp = create(&client, proxy.base_url(), "idem_500").await.unwrap();
        assert_eq!(resp.status(), 500);
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert_eq!(resp.text().await.unwrap(), HTML_ERROR_BODY);

        // None reached the sandbox, and the connection is still usable.
        assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 3);
        proxy.set_faults(ProxyFaults::default());
        let resp = create(&client, proxy.base_url(), "idem_ok").await.unwrap();
        assert_eq!(resp.status(), 201);
        assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 4);

        assert_eq!(proxy.requests(), 4);
        let counts = proxy.counts();
        assert_eq!(counts[&FaultKind::ServiceUnavailable], 1);
        assert_eq!(counts[&FaultKind::RateLimited], 1);
        assert_eq!(counts[&FaultKind::HtmlError], 1);
        assert_eq!(counts.values().sum::<u64>(), 3);
    }

    #[tokio::test]
    async fn drop_after_forward_acts_then_hangs_up() {
        let sandbox = sandbox().await;
        let proxy = FaultProxy::start(sandbox.base_url(), only(FaultKind::DropAfterForward))
            .await
            .unwrap();
        match create(&http(), proxy.base_url(), "idem_drop").await {
            Err(_) => {}
            Ok(resp) => assert!(
                resp.bytes().await.is_err(),
                "expected no answer, got a whole one"
            ),
        }
        // The proxy read the sandbox's answer before hanging up.
        assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 4);
        assert_eq!(proxy.counts()[&FaultKind::DropAfterForward], 1);
    }

    #[tokio::test]
    async fn cut_body_fails_the_body_read() {
        let sandbox = sandbox().await;
        let proxy = FaultProxy::start(sandbox.base_url(), only(FaultKind::CutBody))
            .await
            .unwrap();
        let resp = list(&http(), proxy.base_url()).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.bytes().await.is_err());
        assert_eq!(proxy.counts()[&FaultKind::CutBody], 1);
    }

    #[tokio::test]
    async fn truncated_json_is_well_framed_but_not_json() {
        let sandbox = sandbox().await;
        let proxy = FaultProxy::start(sandbox.base_url(), only(FaultKind::TruncatedJson))
            .await
            .unwrap();
        let client = http();
        let direct = list(&client, sandbox.base_url())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let resp = list(&client, proxy.base_url()).await.unwrap();
        assert_eq!(resp.status(), 200);
        let truncated = resp.bytes().await.unwrap();
        assert!(truncated.len() < direct.len(), "{truncated:?}");
        assert!(serde_json::from_slice::<Value>(&truncated).is_err());
        // The framing was right, so the connection carries on.
        proxy.set_faults(ProxyFaults::default());
        let resp = list(&client, proxy.base_url()).await.unwrap();
        assert_eq!(json(resp).await["data"].as_array().map(Vec::len), Some(3));
    }

    #[tokio::test]
    async fn delays_hold_the_answer_back() {
        let sandbox = sandbox().await;
        for kind in [FaultKind::DelayBeforeForward, FaultKind::DelayAfterForward] {
            let proxy = FaultProxy::start(sandbox.base_url(), only(kind))
                .await
                .unwrap();
            let started = Instant::now();
            let resp = list(&http(), proxy.base_url()).await.unwrap();
            assert_eq!(resp.status(), 200);
            let body = json(resp).await;
            assert!(started.elapsed() >= Duration::from_millis(200), "{kind:?}");
            assert_eq!(body["data"].as_array().map(Vec::len), Some(3));
            assert_eq!(proxy.counts()[&kind], 1);
        }
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_faults() {
        let sandbox = sandbox().await;
        let faults = ProxyFaults {
            rate: 0.5,
            kinds: vec![
                FaultKind::ServiceUnavailable,
                FaultKind::RateLimited,
                FaultKind::HtmlError,
                FaultKind::TruncatedJson,
            ],
            seed: 42,
            ..ProxyFaults::default()
        };
        // What a client sees of each of 40 requests.
        async fn run(client: &reqwest::Client, proxy: &FaultProxy) -> Vec<(u16, bool)> {
            let mut seen = Vec::new();
            for _ in 0..40 {
                let resp = list(client, proxy.base_url()).await.unwrap();
                let status = resp.status().as_u16();
                let body = resp.bytes().await.unwrap();
                seen.push((status, serde_json::from_slice::<Value>(&body).is_ok()));
            }
            seen
        }
        let client = http();
        let a = FaultProxy::start(sandbox.base_url(), faults.clone())
            .await
            .unwrap();
        let b = FaultProxy::start(sandbox.base_url(), faults.clone())
            .await
            .unwrap();
        let seen_a = run(&client, &a).await;
        let seen_b = run(&client, &b).await;
        assert_eq!(seen_a, seen_b);
        assert_eq!(a.counts(), b.counts());
        let faulted: u64 = a.counts().values().sum();
        assert!((1..40).contains(&faulted), "{:?}", a.counts());
        assert_eq!(
            seen_a.iter().filter(|&&(s, ok)| s == 200 && ok).count() as u64,
            40 - faulted
        );

        // Reseeding replays the sequence; another seed draws another one.
        a.set_faults(faults.clone());
        assert_eq!(run(&client, &a).await, seen_a);
        b.set_faults(ProxyFaults { seed: 43, ..faults });
        assert_ne!(run(&client, &b).await, seen_a);
        assert_eq!(a.requests(), 80);
    }

    #[test]
    fn dice_follow_rate_and_kinds() {
        let mut never = Dice::new(ProxyFaults::default());
        assert!((0..1000).all(|_| never.roll().is_none()));
        let mut empty = Dice::new(ProxyFaults {
            rate: 1.0,
            kinds: Vec::new(),
            ..ProxyFaults::default()
        });
        assert!((0..1000).all(|_| empty.roll().is_none()));
        let mut always = Dice::new(ProxyFaults {
            rate: 1.0,
            ..ProxyFaults::default()
        });
        let drawn: Vec<_> = (0..1000).filter_map(|_| always.roll()).collect();
        assert_eq!(drawn.len(), 1000);
        assert!(FaultKind::ALL.iter().all(|k| drawn.contains(k)));
        let rolls = |seed| {
            let mut dice = Dice::new(ProxyFaults {
                rate: 0.3,
                seed,
                ..ProxyFaults::default()
            });
            (0..1000).map(|_| dice.roll()).collect::<Vec<_>>()
        };
        assert_eq!(rolls(9), rolls(9));
        let faulted = rolls(9).iter().filter(|r| r.is_some()).count();
        assert!((200..400).contains(&faulted), "{faulted}");
    }

    #[tokio::test]
    async fn only_loopback_upstreams_are_accepted() {
        for upstream in [
            "http://10.1.2.3:8080",
            "http://192.168.0.1",
            "http://example.com:80",
            "http://0.0.0.0:8080",
            "https://127.0.0.1:8080",
            "127.0.0.1:8080",
            "http://127.0.0.1:8080/api",
            "http://user@127.0.0.1:8080",
            "http://127.0.0.1:0",
            "http://127.0.0.1:http",
            "http://[::1",
        ] {
            let err = FaultProxy::start(upstream, ProxyFaults::default())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{upstream}");
        }
        for upstream in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.5.6.7:8080",
            "http://localhost:8080",
            "HTTP://LOCALHOST",
            "http://[::1]:8080",
        ] {
            let proxy = FaultProxy::start(upstream, ProxyFaults::default()).await;
            assert!(proxy.is_ok(), "{upstream}: {proxy:?}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_upstream_gets_a_502() {
        // A port that was just free: nothing listens there any more.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let proxy = FaultProxy::start(&format!("http://127.0.0.1:{port}"), ProxyFaults::default())
            .await
            .unwrap();
        let resp = list(&http(), proxy.base_url()).await.unwrap();
        assert_eq!(resp.status(), 502);
        assert!(!resp.text().await.unwrap().is_empty());
    }

    /// Writes raw bytes to the proxy and reads until it closes.
    async fn raw_exchange(proxy: &FaultProxy, request: &[u8]) -> String {
        let addr = proxy.base_url().trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn bad_requests_are_refused_and_closed() {
        let sandbox = sandbox().await;
        let proxy = FaultProxy::start(sandbox.base_url(), ProxyFaults::default())
            .await
            .unwrap();
        let chunked = b"POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        let answer = raw_exchange(&proxy, chunked).await;
        assert!(answer.starts_with("HTTP/1.1 501 "), "{answer}");
        let answer = raw_exchange(&proxy, b"nonsense\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        let answer = raw_exchange(&proxy, b"GET / HTTP/1.1\r\n bad: fold\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        let answer = raw_exchange(
            &proxy,
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        huge.resize(MAX_HEAD_BYTES + 10, b'a');
        huge.extend_from_slice(b"\r\n\r\n");
        let answer = raw_exchange(&proxy, &huge).await;
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        assert_eq!(proxy.requests(), 0);
    }

    #[tokio::test]
    async fn pipelined_requests_are_answered_in_order_then_closed() {
        let sandbox = sandbox().await;
        let proxy = FaultProxy::start(sandbox.base_url(), ProxyFaults::default())
            .await
            .unwrap();
        let one = format!(
            "GET {LIST} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pk_test_sandbox\r\n\r\n"
        );
        let last = format!(
            "GET {LIST}/cus_missing HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pk_test_sandbox\r\nConnection: close\r\n\r\n"
        );
        let answer = raw_exchange(&proxy, format!("\r\n{one}{one}{last}").as_bytes()).await;
        assert_eq!(answer.matches("HTTP/1.1 200 ").count(), 2, "{answer}");
        let last_status = answer.rfind("HTTP/1.1 ").unwrap();
        assert!(
            answer[last_status..].starts_with("HTTP/1.1 404 "),
            "{answer}"
        );
        assert!(answer[last_status..].contains("\r\nConnection: close\r\n"));
        assert_eq!(proxy.requests(), 3);
    }

    #[test]
    fn response_parsing_and_framing() {
        let chunked = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nX-Keep: yes\r\n\r\n4;ext=1\r\nabcd\r\n2\r\nef\r\n0\r\nTrailer: t\r\n\r\n";
        let Upstream::Answer(resp) = parse_response(chunked, false) else {
            panic!("not parsed");
        };
        assert_eq!(resp.body, b"abcdef");
        assert_eq!(
            String::from_utf8(resp.render(&resp.body, 6, false)).unwrap(),
            "HTTP/1.1 200 OK\r\nX-Keep: yes\r\nContent-Length: 6\r\n\r\nabcdef"
        );
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        let Upstream::Answer(resp) = parse_response(head, true) else {
            panic!("not parsed");
        };
        assert_eq!(
            String::from_utf8(resp.render(&[], 0, true)).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
        );
        assert!(matches!(parse_response(head, false), Upstream::HungUp));
        assert!(matches!(parse_response(b"", false), Upstream::HungUp));
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Le", false),
            Upstream::HungUp
        ));
        assert!(matches!(
            parse_response(b"SMTP ready\r\n\r\n", false),
            Upstream::Malformed
        ));
        assert!(matches!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                false
            ),
            Upstream::Malformed
        ));
        assert_eq!(dechunk(b"ffffffffffffffffff\r\n"), Dechunked::Malformed);
        assert_eq!(dechunk(b"5\r\nab"), Dechunked::Incomplete);
    }
}

//! The fault proxy at work: accepting client connections, reading their
//! requests, forwarding them to the upstream, and playing each request's
//! fault out.

use plugipay_api::wire::{Envelope, ErrorBody, Meta};
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::http::{
    MAX_HEAD_BYTES, Parsed, Refusal, RequestHead, UpstreamResponse, bad_gateway, find,
    parse_request, parse_response, simple_response,
};
use super::plan::{Plan, Planner};
use super::{FaultKind, ProxyFaults};

/// The largest upstream response read.
const MAX_RESPONSE_BYTES: usize = 64 << 20;
/// How much is read from a socket at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// The message of the proxy's own JSON error envelopes.
const INJECTED_MESSAGE: &str = "injected by the fault proxy";
/// The body of [`FaultKind::HtmlError`].
const HTML_ERROR_BODY: &str = "<html><body>Internal Server Error</body></html>";

/// What the accept loop and every connection share.
pub(super) struct Shared {
    /// Where requests are forwarded.
    pub upstream: SocketAddr,
    /// What each request meets.
    pub planner: Planner,
    /// Requests held to be forwarded, or on their way to the upstream and
    /// back.
    forwarding: AtomicU64,
    /// Notified whenever `forwarding` drops to zero.
    quiet: tokio::sync::Notify,
    /// How many answers of each status the upstream gave.
    statuses: Mutex<BTreeMap<u16, u64>>,
}

impl Shared {
    /// The state of a proxy to `upstream` drawing `faults`.
    pub fn new(upstream: SocketAddr, faults: ProxyFaults) -> Self {
        Self {
            upstream,
            planner: Planner::new(faults),
            forwarding: AtomicU64::new(0),
            quiet: tokio::sync::Notify::new(),
            statuses: Mutex::default(),
        }
    }

    fn statuses_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u16, u64>> {
        self.statuses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many answers of each status the upstream gave.
    pub fn statuses(&self) -> BTreeMap<u16, u64> {
        self.statuses_lock().clone()
    }

    /// Waits until no request is held or on its way to the upstream.
    pub async fn settled(&self) {
        loop {
            let quiet = self.quiet.notified();
            if self.forwarding.load(Ordering::SeqCst) == 0 {
                return;
            }
            quiet.await;
        }
    }
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

/// Accepts connections until the task is aborted; aborting it also ends
/// every connection it serves.
pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
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
        let plan = shared.planner.plan();
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
        let envelope = Envelope::<()> {
            data: None,
            error: Some(ErrorBody {
                code: Some(code.to_owned()),
                message: Some(INJECTED_MESSAGE.to_owned()),
                ..ErrorBody::default()
            }),
            meta: Some(Meta {
                request_id: Some(format!("req_proxy_{}", plan.number)),
                ..Meta::default()
            }),
            other: serde_json::Map::new(),
        };
        serde_json::to_string(&envelope).unwrap_or_default()
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
            *shared.statuses_lock().entry(response.status).or_default() += 1;
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
    match parse_response(&raw, is_head) {
        Parsed::Response(response) => Upstream::Answer(response),
        Parsed::Incomplete => Upstream::HungUp,
        Parsed::Malformed => Upstream::Malformed,
    }
}

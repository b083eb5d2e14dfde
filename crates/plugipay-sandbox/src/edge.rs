//! The HTTP edge: turns TCP connections into whole requests and puts the
//! answers (or a hang-up) back on the wire, while keeping hostile or broken
//! clients from starving the process — a cap on connections served at once,
//! read timeouts for headers, bodies and idle keep-alives, a cap on body
//! size, and a backoff when `accept` fails (out of descriptors). When it is
//! out of connection slots or descriptors, it sheds the oldest connection
//! that is not running a request (one still sending its headers, or idle
//! between requests), so a flood of half-open clients cannot keep real
//! requests waiting for the read timeout.
//!
//! It knows nothing of the API: every request, malformed or not, is handed
//! to the one handler it serves (`routes::handle`), which answers it.
//!
//! # Why plain hyper, not axum
//!
//! The sandbox must answer *every* request with the wire protocol's error
//! envelope and exact status — bad JSON, a malformed query string, an
//! unknown path, a method a path does not take — and in the live API's
//! order: an unknown path is 404 before authentication, a wrong method is
//! 405 only after it, and a body is parsed only after its HMAC signature,
//! which covers the raw bytes and the raw request target, has been checked.
//! axum's router answers 404/405 itself (before any handler, with its own
//! bodies), and its `Json`, `Query` and `Path` extractors reject with their
//! own plain-text bodies and consume the raw bytes the signature needs; each
//! would have to be wrapped to restore the envelope and the order, leaving
//! axum as a `fallback` around hand-written routing, as it was. Fault
//! injection also needs the connection itself (to hang up after a commit),
//! which lives here, below any router. So the edge uses hyper directly and
//! the routes module is a small `match` on (method, resource).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::envelope::Response;

/// The largest request body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// The most of a body read before the request is known to fail anyway,
/// only to tell which answer it gets (see `routes::handle`).
pub(crate) const DOOMED_BODY_BYTES: usize = 16 << 10;

/// The most body bytes held at once by all requests together: a body that
/// would take more is refused (429) rather than read, so clients that pass
/// the header checks (a public key id, a fresh timestamp, any signature) and
/// then send large bodies slowly cannot grow the process past this.
pub(crate) const BODY_BYTES_IN_FLIGHT: usize = 64 << 20;

/// The longest wait between two failed `accept`s.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How many connections are served at once, and how long a client may take
/// to send a request (headers, then body) or idle between requests.
pub(crate) struct ConnectionLimits {
    pub max_connections: usize,
    pub read_timeout: Duration,
}

/// A request whose headers have arrived; its body is read on demand.
pub(crate) struct Request {
    pub parts: Parts,
    pub body: Body,
}

/// A request body not yet read.
pub(crate) struct Body {
    incoming: Incoming,
    read_timeout: Duration,
    /// Permits for [`BODY_BYTES_IN_FLIGHT`] bytes, shared by all requests.
    in_flight: Arc<Semaphore>,
}

/// A body read whole; its bytes count against [`BODY_BYTES_IN_FLIGHT`]
/// until it is dropped.
pub(crate) struct BodyBytes {
    bytes: Vec<u8>,
    _held: Option<OwnedSemaphorePermit>,
}

impl std::ops::Deref for BodyBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Why a body was not read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BodyError {
    /// Over the bound it was read with, cut off, or slower than the read
    /// timeout.
    Refused {
        /// The bound.
        max: usize,
    },
    /// The bodies being read hold [`BODY_BYTES_IN_FLIGHT`] already.
    Busy,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Refused { max } => write!(
                f,
                "the body is over {max} bytes, was cut off, or was too slow"
            ),
            BodyError::Busy => f.write_str(
                "the sandbox is holding as many request bodies as it allows; retry shortly",
            ),
        }
    }
}

impl Body {
    /// The whole body, at most `max` bytes, within the read timeout. A body
    /// that declares more (`Content-Length`) is refused before any of it is
    /// read. A body not read at all is dropped with the request: the
    /// connection then closes after the answer, unless what was sent had
    /// already arrived.
    pub async fn read(self, max: usize) -> Result<BodyBytes, BodyError> {
        let collecting = collect(self.incoming, max, self.in_flight);
        tokio::time::timeout(self.read_timeout, collecting)
            .await
            .map_err(|_| BodyError::Refused { max })?
    }
}

async fn collect(
    mut body: Incoming,
    max: usize,
    in_flight: Arc<Semaphore>,
) -> Result<BodyBytes, BodyError> {
    use hyper::body::Body as _;
    let refused = BodyError::Refused { max };
    let declared = body.size_hint().lower();
    if declared > max as u64 {
        return Err(refused);
    }
    // Room for the declared length: pages are resident only once written.
    let mut bytes = Vec::with_capacity(declared as usize);
    let mut held: Option<OwnedSemaphorePermit> = None;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(data) = frame.map_err(|_| refused)?.into_data() else {
            continue; // trailers
        };
        if bytes.len() + data.len() > max {
            return Err(refused);
        }
        // Counted as it arrives: a client pays for what it sends.
        let permits = u32::try_from(data.len()).map_err(|_| refused)?;
        let permit = Arc::clone(&in_flight)
            .try_acquire_many_owned(permits)
            .map_err(|_| BodyError::Busy)?;
        match &mut held {
            Some(held) => held.merge(permit),
            None => held = Some(permit),
        }
        bytes.extend_from_slice(&data);
    }
    Ok(BodyBytes { bytes, _held: held })
}

/// The connections not running a request now, oldest first, each with the
/// signal that closes it.
#[derive(Default)]
struct Waiting(Mutex<BTreeMap<u64, Arc<Notify>>>);

impl Waiting {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Notify>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes the oldest connection not running a request; `false` when
    /// every connection is running one.
    fn shed_oldest(&self) -> bool {
        let oldest = self.lock().pop_first();
        oldest.map(|(_, close)| close.notify_one()).is_some()
    }
}

/// Takes a connection off the waiting list for as long as it lives.
struct Listed(Arc<Waiting>, u64);

impl Drop for Listed {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}

/// What the handler makes of a request.
pub(crate) enum Delivery {
    /// Send this response.
    Respond(Response),
    /// Close the connection without a response (an injected fault).
    HangUp,
}

/// Accepts connections until the task is aborted; aborting it also ends
/// every connection it serves. At most `limits.max_connections` are served
/// at once; a client slower than `limits.read_timeout` to send its headers
/// is disconnected. Every request goes to `handler`.
pub(crate) async fn serve<H, F>(listener: TcpListener, limits: ConnectionLimits, handler: H)
where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Delivery> + Send + 'static,
{
    let mut connections = JoinSet::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let waiting = Arc::new(Waiting::default());
    let in_flight = Arc::new(Semaphore::new(BODY_BYTES_IN_FLIGHT));
    let mut backoff = Duration::from_millis(1);
    for id in 0u64.. {
        // Wait for a free slot before accepting: excess clients queue in the
        // kernel's backlog instead of holding descriptors here. With none
        // free, one held by a client not running a request is freed.
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => Ok(slot),
            Err(_) => {
                waiting.shed_oldest();
                Arc::clone(&slots).acquire_owned().await
            }
        };
        let Ok(slot) = slot else {
            return;
        };
        let stream = loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    backoff = Duration::from_millis(1);
                    break stream;
                }
                Err(_) => {
                    // Out of file descriptors and the like: free one held
                    // by a client not running a request, or else back off
                    // rather than spin, and let running requests finish.
                    if waiting.shed_oldest() {
                        backoff = Duration::from_millis(1);
                    } else {
                        backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                    }
                    tokio::time::sleep(backoff).await;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        while connections.try_join_next().is_some() {}
        let handler = handler.clone();
        let read_timeout = limits.read_timeout;
        let waiting = Arc::clone(&waiting);
        let in_flight = Arc::clone(&in_flight);
        connections.spawn(async move {
            let _slot = slot;
            // Closes the connection: an injected hang-up, or shedding.
            let hangup = Arc::new(Notify::new());
            waiting.lock().insert(id, Arc::clone(&hangup));
            let _listed = Listed(Arc::clone(&waiting), id);
            let on_request = Arc::clone(&hangup);
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (handler, hangup) = (handler.clone(), Arc::clone(&on_request));
                let waiting = Arc::clone(&waiting);
                let in_flight = Arc::clone(&in_flight);
                async move {
                    // Running a request: not to be shed until it is answered.
                    let running = waiting.lock().remove(&id).is_some();
                    let (parts, incoming) = req.into_parts();
                    let body = Body {
                        incoming,
                        read_timeout,
                        in_flight,
                    };
                    match handler(Request { parts, body }).await {
                        Delivery::Respond(response) => {
                            if running {
                                waiting.lock().insert(id, Arc::clone(&hangup));
                            }
                            Ok::<_, Infallible>(response)
                        }
                        Delivery::HangUp => {
                            hangup.notify_one();
                            std::future::pending().await
                        }
                    }
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(read_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                // Dropping the connection closes the socket mid-request.
                _ = hangup.notified() => {}
            }
        });
    }
}

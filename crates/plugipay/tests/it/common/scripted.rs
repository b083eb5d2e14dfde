//! A tiny HTTP server that answers from a script, in order, and records what
//! it received: for sequences httpmock cannot express (503, 503, 201) and for
//! answers held back until the test releases them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::Notify;

/// One scripted answer.
#[derive(Clone, Default)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// Held back until this is notified.
    pub gate: Option<Arc<Notify>>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::raw(status, body.to_string())
    }

    /// Any bytes at all, sent as `application/json`.
    pub fn raw(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: body.into(),
            ..Self::default()
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn gated(mut self, gate: Arc<Notify>) -> Self {
        self.gate = Some(gate);
        self
    }
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub target: String,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

/// The HMAC signature of a recorded request, checked from first principles
/// with the test key of `common`.
pub fn assert_signed(req: &Received) {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let ts = req.header("x-plugipay-timestamp").unwrap();
    let mut to_sign = format!(
        "{}\n{}\n{ts}\n{}",
        req.method,
        req.target,
        hex::encode(Sha256::digest(&req.body))
    );
    if let Some(key) = req.header("idempotency-key") {
        to_sign = format!("{to_sign}\n{key}");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(super::SECRET.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    assert!(
        req.header("authorization")
            .unwrap()
            .ends_with(&format!("signature={expected}"))
    );
}

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
    /// Notified on every request received.
    arrived: Notify,
}

/// The running server; stops when dropped.
pub struct Scripted {
    pub base_url: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    /// Serves `script` on a free loopback port; once the script is spent,
    /// every request gets a 599.
    pub async fn start(script: Vec<Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            script: Mutex::new(script.into()),
            ..State::default()
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req: hyper::Request<Incoming>| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            base_url,
            state,
            task,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests have arrived.
    pub async fn wait_for_requests(&self, n: usize) {
        loop {
            let arrived = self.state.arrived.notified();
            if self.state.received.lock().unwrap().len() >= n {
                return;
            }
            arrived.await;
        }
    }
}

async fn answer(state: &State, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let reply = state.script.lock().unwrap().pop_front();
    state.received.lock().unwrap().push(Received {
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map(|pq| pq.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
    });
    state.arrived.notify_waiters();
    let reply = reply.unwrap_or_else(|| Reply {
        status: 599,
        body: b"script spent".to_vec(),
        ..Reply::default()
    });
    if let Some(gate) = &reply.gate {
        gate.notified().await;
    }
    let mut response = hyper::Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status).unwrap();
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

//! The HTTP side: accepts connections, runs each request through faults →
//! route → authenticate → operation, and answers with the envelope. A write
//! checks its idempotency key, changes the store and records its response
//! under one lock, so two requests with one key never both execute.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use plugipay_api::auth::IDEMPOTENCY_KEY_HEADER;
use plugipay_api::patch::UpdateCustomerRequest;
use plugipay_api::types::CreateCustomerRequest;
use plugipay_api::validate;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::auth::{Keys, Principal};
use crate::config::{Limits, Scope};
use crate::cursor::CursorCodec;
use crate::failure::Failure;
use crate::faults::{Fate, FaultDice};
use crate::ids;
use crate::store::{Fingerprint, ListQuery, Store};
use plugipay_api::types::SortOrder;

/// The largest request body accepted.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Everything a request may touch.
pub(crate) struct App {
    pub keys: Keys,
    pub store: Mutex<Store>,
    pub cursors: CursorCodec,
    pub dice: FaultDice,
    pub limits: Limits,
    /// How long a request body may take to arrive.
    pub read_timeout: std::time::Duration,
}

/// How many connections are served at once, and how long a client may take
/// to send a request.
pub(crate) struct ConnectionLimits {
    pub max_connections: usize,
    pub read_timeout: std::time::Duration,
}

impl App {
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Closes the connection a request came on, without a response.
#[derive(Clone)]
struct Hangup(Arc<Notify>);

/// Accepts connections until the task is aborted; aborting it also ends
/// every connection it serves. At most `limits.max_connections` are served
/// at once; a client slower than `limits.read_timeout` to send its headers
/// is disconnected.
pub(crate) async fn serve(listener: TcpListener, app: Arc<App>, limits: ConnectionLimits) {
    let router = Router::new().fallback(handle).with_state(app);
    let mut connections = JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut backoff = std::time::Duration::from_millis(1);
    loop {
        // Wait for a free slot before accepting: excess clients queue in the
        // kernel's backlog instead of holding descriptors here.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => {
                backoff = std::time::Duration::from_millis(1);
                accepted
            }
            Err(_) => {
                // Out of file descriptors and the like: back off (up to
                // 100 ms) rather than spin, and let running requests finish.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_millis(100));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        while connections.try_join_next().is_some() {}
        let router = router.clone();
        let read_timeout = limits.read_timeout;
        connections.spawn(async move {
            let _slot = slot;
            let hangup = Arc::new(Notify::new());
            let on_request = hangup.clone();
            let service =
                tower::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(Hangup(on_request.clone()));
                    router.clone().oneshot(req.map(Body::new))
                });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(read_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::select! {
                _ = connection => {}
                // Dropping the connection closes the socket mid-request.
                _ = hangup.notified() => {}
            }
        });
    }
}

/// What a request gets back.
struct Reply {
    status: u16,
    body: String,
    replayed: bool,
    hang_up: bool,
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Result<Response, Infallible> {
    let request_id = ids::request_id();
    let (parts, body) = req.into_parts();
    let latency = app.dice.faults().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Fate::Fail(failure, retry_after) = app.dice.roll() {
        return Ok(error_response(&failure, &request_id, retry_after));
    }
    let body = tokio::time::timeout(app.read_timeout, axum::body::to_bytes(body, MAX_BODY_BYTES));
    let body = match body.await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) | Err(_) => {
            let failure = Failure::validation(
                "body",
                format!("the body is over {MAX_BODY_BYTES} bytes, was cut off, or was too slow"),
            );
            return Ok(error_response(&failure, &request_id, None));
        }
    };
    let reply = match route(&app, &parts, &body, &request_id) {
        Ok(reply) => reply,
        Err(failure) => return Ok(error_response(&failure, &request_id, None)),
    };
    if reply.hang_up
        && let Some(hangup) = parts.extensions.get::<Hangup>()
    {
        hangup.0.notify_one();
        std::future::pending::<()>().await;
    }
    let mut response = json_response(reply.status, reply.body, &request_id);
    if reply.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Which customer resource a path names.
enum Resource {
    Collection,
    Item(String),
}

fn resource(path: &str) -> Option<Resource> {
    let rest = path.strip_prefix("/api/v1/customers")?;
    if rest.is_empty() {
        return Some(Resource::Collection);
    }
    let segment = rest.strip_prefix('/')?;
    if segment.is_empty() || segment.contains('/') {
        return None;
    }
    let id = percent_decode(segment)?;
    Some(Resource::Item(id))
}

/// Decodes `%XX` escapes; `None` for a malformed escape or invalid UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn route(app: &App, parts: &Parts, body: &[u8], request_id: &str) -> Result<Reply, Failure> {
    let path = parts.uri.path();
    let target = parts.uri.path_and_query().map_or(path, |pq| pq.as_str());
    let resource =
        resource(path).ok_or_else(|| Failure::new(404, "not_found", format!("no route {path}")))?;
    let method = &parts.method;
    let principal =
        app.keys
            .authenticate(method.as_str(), target, &parts.headers, body, now_secs())?;
    match (method.as_str(), resource) {
        ("POST", Resource::Collection) => {
            principal.require(Scope::Create)?;
            write(app, &principal, parts, body, request_id, |store, value| {
                refuse_nulls(value)?;
                let req: CreateCustomerRequest = decode_body(value)?;
                app.limits.check_create(&req)?;
                store
                    .create(&principal.account_id, req)
                    .map(|c| (201, json!(c)))
            })
        }
        ("GET", Resource::Collection) => {
            principal.require(Scope::Read)?;
            list(app, &principal, parts, request_id)
        }
        ("GET", Resource::Item(id)) => {
            principal.require(Scope::Read)?;
            let customer = app.store().get(&principal.account_id, &id)?;
            Ok(ok_reply(200, json!(customer), request_id))
        }
        ("PATCH", Resource::Item(id)) => {
            principal.require(Scope::Update)?;
            write(app, &principal, parts, body, request_id, |store, value| {
                let req: UpdateCustomerRequest = decode_body(value)?;
                app.limits.check_update(&req)?;
                store
                    .update(&principal.account_id, &id, req)
                    .map(|c| (200, json!(c)))
            })
        }
        ("DELETE", Resource::Item(id)) => {
            principal.require(Scope::Delete)?;
            write(app, &principal, parts, body, request_id, |store, _| {
                store
                    .delete(&principal.account_id, &id)
                    .map(|()| (204, Value::Null))
            })
        }
        _ => Err(Failure::new(
            405,
            "method_not_allowed",
            format!("{method} is not supported on {path}"),
        )),
    }
}

/// A create body has no nullable fields: `null` is refused, not read as absent.
fn refuse_nulls(value: &Value) -> Result<(), Failure> {
    let null = value
        .as_object()
        .and_then(|fields| fields.iter().find(|(_, v)| v.is_null()));
    match null {
        Some((field, _)) => Err(Failure::validation(
            field.clone(),
            format!("{field} must not be null here; leave it out instead"),
        )),
        None => Ok(()),
    }
}

/// A request body read as the spec's type: wrong types and unknown fields
/// are refused with the field named (the sandbox's limits come after, from
/// its configuration).
fn decode_body<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, Failure> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        let field = if path == "." {
            // Unknown fields are reported at the object: name them from the message.
            message
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
                .unwrap_or("body")
                .to_owned()
        } else {
            path
        };
        Failure::validation(&field, format!("invalid {field}: {message}"))
    })
}

/// A create, update or delete: idempotency, the change and its record,
/// atomically.
fn write(
    app: &App,
    principal: &Principal,
    parts: &Parts,
    body: &[u8],
    request_id: &str,
    apply: impl FnOnce(&mut Store, &Value) -> Result<(u16, Value), Failure>,
) -> Result<Reply, Failure> {
    let key = parts
        .headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            Failure::validation("Idempotency-Key", "writes need an Idempotency-Key header")
        })?;
    app.limits.check_idempotency_key(key)?;
    // No body (a delete) is read as JSON null.
    let value: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| Failure::validation("body", format!("the body is not JSON: {e}")))?
    };
    let fingerprint = Fingerprint {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        body: value,
    };
    let account = &principal.account_id;
    let mut store = app.store();
    if let Some(recorded) = store.recorded(account, key) {
        if recorded.fingerprint != fingerprint {
            return Err(Failure::new(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            ));
        }
        return Ok(Reply {
            status: recorded.status,
            body: recorded.body.clone(),
            replayed: true,
            hang_up: false,
        });
    }
    let reply = match apply(&mut store, &fingerprint.body) {
        Ok((status, data)) => Reply {
            hang_up: app.dice.drop_after_commit(),
            ..ok_reply(status, data, request_id)
        },
        // Refused before anything ran: not recorded, the caller may fix and resend.
        Err(failure) if failure.status == 400 => return Err(failure),
        // Nothing there: running it again answers the same, so nothing is
        // kept (a flood of writes to missing ids must not grow memory).
        Err(failure) if failure.status == 404 => return Err(failure),
        Err(failure) => Reply {
            status: failure.status,
            body: error_body(&failure, request_id),
            replayed: false,
            hang_up: false,
        },
    };
    store.record(account, key, fingerprint, reply.status, reply.body.clone());
    Ok(reply)
}

fn list(
    app: &App,
    principal: &Principal,
    parts: &Parts,
    request_id: &str,
) -> Result<Reply, Failure> {
    let mut limit = plugipay_api::limits::LIST_CUSTOMERS_LIMIT_DEFAULT;
    let mut cursor = None;
    let mut order = SortOrder::Desc; // the spec's default
    let (mut email, mut external_id, mut created_after) = (None, None, None);
    let pairs = parts.uri.query().map(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map_err(|_| Failure::validation("query", "the query string is malformed"))
    });
    for (name, value) in pairs.transpose()?.unwrap_or_default() {
        match name.as_str() {
            "limit" => {
                let n: u32 = value.parse().map_err(|_| {
                    Failure::validation("limit", format!("limit {value:?} is not a whole number"))
                })?;
                validate::list_limit(n).map_err(Failure::invalid)?;
                limit = n as usize;
            }
            "cursor" => cursor = Some(value),
            "email" => email = Some(value),
            "externalId" => external_id = Some(value),
            "createdAfter" => {
                let t = chrono::DateTime::parse_from_rfc3339(&value).map_err(|_| {
                    Failure::validation(
                        "createdAfter",
                        format!("createdAfter {value:?} is not an ISO-8601 instant"),
                    )
                })?;
                created_after = Some(t.with_timezone(&chrono::Utc));
            }
            "order" => {
                order = value.parse().map_err(|_| {
                    Failure::validation("order", format!("order {value:?} is not asc or desc"))
                })?;
            }
            // Unknown parameters are ignored, as by the live API.
            _ => {}
        }
    }
    let filters = format!("{order:?}|{email:?}|{external_id:?}|{created_after:?}");
    let account = &principal.account_id;
    let after_id = cursor
        .map(|c| app.cursors.decode(account, &filters, &c))
        .transpose()?;
    let query = ListQuery {
        limit,
        after_id,
        order,
        email,
        external_id,
        created_after,
    };
    let page = app.store().list(account, &query);
    let next = page
        .next_after
        .map(|id| app.cursors.encode(account, &filters, &id));
    let body = json!({
        "data": page.items,
        "error": null,
        "meta": {
            "requestId": request_id,
            "timestamp": timestamp(),
            "cursor": next,
            "hasMore": next.is_some(),
        }
    });
    Ok(Reply {
        status: 200,
        body: body.to_string(),
        replayed: false,
        hang_up: false,
    })
}

fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A success: the envelope around `data`, or no body at all for a 204.
fn ok_reply(status: u16, data: Value, request_id: &str) -> Reply {
    if status == 204 {
        return Reply {
            status,
            body: String::new(),
            replayed: false,
            hang_up: false,
        };
    }
    let body = json!({
        "data": data,
        "error": null,
        "meta": {"requestId": request_id, "timestamp": timestamp()}
    });
    Reply {
        status,
        body: body.to_string(),
        replayed: false,
        hang_up: false,
    }
}

fn error_body(failure: &Failure, request_id: &str) -> String {
    json!({
        "data": null,
        "error": {
            "code": failure.code,
            "message": failure.message,
        },
        "meta": {"requestId": request_id, "timestamp": timestamp()}
    })
    .to_string()
}

fn json_response(status: u16, body: String, request_id: &str) -> Response {
    let empty = body.is_empty();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if !empty {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", id);
    }
    response
}

fn error_response(failure: &Failure, request_id: &str, retry_after: Option<u64>) -> Response {
    let mut response = json_response(failure.status, error_body(failure, request_id), request_id);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_resources() {
        assert!(matches!(
            resource("/api/v1/customers"),
            Some(Resource::Collection)
        ));
        assert!(
            matches!(resource("/api/v1/customers/a%2Fb%20c"), Some(Resource::Item(id)) if id == "a/b c")
        );
        assert!(resource("/api/v1/customers/").is_none());
        assert!(resource("/api/v1/customers/a/b").is_none());
        assert!(resource("/api/v1/customersX").is_none());
        assert!(resource("/api/v1/customers/%zz").is_none());
        assert!(resource("/other").is_none());
    }
}

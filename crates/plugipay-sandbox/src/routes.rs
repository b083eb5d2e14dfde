//! Routing: runs each request through faults → path → authentication →
//! method → operation, and answers with the envelope. The table is a
//! `match` on (method, resource); see the [edge](crate::edge) for why
//! there is no router framework.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::http::{HeaderValue, request::Parts};
use plugipay_api::patch::UpdateCustomerRequest;
use plugipay_api::types::CreateCustomerRequest;
use serde_json::{Value, json};

use crate::auth::Keys;
use crate::config::{Limits, Scope};
use crate::cursor::CursorCodec;
use crate::decode::{decode_body, refuse_nulls};
use crate::edge::{Outcome, Request};
use crate::envelope::{error_response, json_response, success_body};
use crate::failure::Failure;
use crate::faults::{Fate, FaultDice};
use crate::store::Store;
use crate::{ids, list, writes};

/// Everything a request may touch.
pub(crate) struct App {
    pub keys: Keys,
    pub store: Mutex<Store>,
    pub cursors: CursorCodec,
    pub dice: FaultDice,
    pub limits: Limits,
}

impl App {
    /// The store, locked (a panic elsewhere does not poison it for good).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What an operation answers.
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    /// Replayed from an idempotency record.
    pub replayed: bool,
    /// Applied, but answered by closing the connection (an injected fault).
    pub hang_up: bool,
}

impl Reply {
    /// A success: the envelope around `data`, or no body at all for a 204.
    pub fn ok(status: u16, data: Value, request_id: &str) -> Reply {
        let body = if status == 204 {
            String::new()
        } else {
            success_body(data, request_id)
        };
        Reply {
            status,
            body,
            replayed: false,
            hang_up: false,
        }
    }
}

/// Answers one request.
pub(crate) async fn handle(app: Arc<App>, req: Request) -> Outcome {
    let request_id = ids::request_id();
    let latency = app.dice.faults().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Fate::Fail(failure, retry_after) = app.dice.roll() {
        return Outcome::Respond(error_response(&failure, &request_id, retry_after));
    }
    let body = match req.body.read().await {
        Ok(body) => body,
        Err(e) => {
            let failure = Failure::validation("body", e.to_string());
            return Outcome::Respond(error_response(&failure, &request_id, None));
        }
    };
    let reply = match route(&app, &req.parts, &body, &request_id) {
        Ok(reply) => reply,
        Err(failure) => return Outcome::Respond(error_response(&failure, &request_id, None)),
    };
    if reply.hang_up {
        return Outcome::HangUp;
    }
    let mut response = json_response(reply.status, reply.body, &request_id);
    if reply.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Outcome::Respond(response)
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

/// An unknown path is 404 before authentication; a method the path does not
/// take is 405 after it.
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
            writes::write(app, &principal, parts, body, request_id, |store, value| {
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
            list::list(app, &principal, parts.uri.query(), request_id)
        }
        ("GET", Resource::Item(id)) => {
            principal.require(Scope::Read)?;
            let customer = app.store().get(&principal.account_id, &id)?;
            Ok(Reply::ok(200, json!(customer), request_id))
        }
        ("PATCH", Resource::Item(id)) => {
            principal.require(Scope::Update)?;
            writes::write(app, &principal, parts, body, request_id, |store, value| {
                let req: UpdateCustomerRequest = decode_body(value)?;
                app.limits.check_update(&req)?;
                store
                    .update(&principal.account_id, &id, req)
                    .map(|c| (200, json!(c)))
            })
        }
        ("DELETE", Resource::Item(id)) => {
            principal.require(Scope::Delete)?;
            writes::write(app, &principal, parts, body, request_id, |store, _| {
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

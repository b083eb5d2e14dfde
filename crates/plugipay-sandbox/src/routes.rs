//! Routing: runs each request through faults → path → authentication from
//! the headers → the body → the signature → rate limit → workspace, method
//! and scope → operation, and answers with the envelope. The route table
//! is the spec's, generated (`plugipay_api::endpoints::route`), so a path
//! changed in the spec is served with no hand edit; see the
//! [edge](crate::edge) for why there is no router framework.

use std::sync::Arc;

use hyper::http::{HeaderValue, request::Parts};
use plugipay_api::endpoint::Unrouted;
use plugipay_api::endpoints::{Route, route};
use plugipay_api::patch::UpdateCustomerRequest;
use plugipay_api::types::CreateCustomerRequest;
use serde_json::{Value, json};

use crate::app::{App, Reply};
use crate::auth::Principal;
use crate::config::Scope;
use crate::edge::{BodyError, DOOMED_BODY_BYTES, Delivery, MAX_BODY_BYTES, Request};
use crate::failure::Failure;
use crate::rates::{Class, Draw, Snapshot};
use crate::request_body::{decode_body, refuse_nulls};
use crate::workspace::WorkspaceId;
use crate::{events_api, ids, list, writes};

/// Answers one request, in the live API's order: an unknown path is 404
/// before authentication; then the headers are judged (401s) before any of
/// the body is read; then the signature over the body (401
/// `signature_invalid`); then the rate limit (429); then the workspace the
/// key acts on (403/400), the method (405) and the key's scope (403).
///
/// Only a request whose headers pass has its body read whole (up to
/// [`MAX_BODY_BYTES`]). One whose headers already decide a failure past the
/// signature (a wrong method, a missing scope, a workspace the key may not
/// act on) has at most [`DOOMED_BODY_BYTES`] read, only to check its
/// signature and answer as for a small body; past that, it gets that
/// failure unread. A request refused by its headers alone has none read.
/// While the bodies being read hold
/// [`BODY_BYTES_IN_FLIGHT`](crate::edge::BODY_BYTES_IN_FLIGHT) in all, a
/// request whose body would need more is answered 429 `rate_limited`.
///
/// Rate limits ([`RateBuckets`]): a request is counted once it is
/// authenticated — a Bearer request by its headers, so before its body is
/// read; an HMAC one by its signature, which covers the body — and draws
/// one token from its workspace's bucket for its class; with none left it
/// is answered 429 `rate_limited` with `Retry-After`, and nothing else is
/// judged. Every answer to a counted request carries
/// `X-RateLimit-Limit/-Remaining/-Reset`, whatever its status (a replay
/// too); an answer given before then (404 for an unknown
/// path, 401s, a body refused unread) carries none and draws nothing. A 429
/// of the sandbox's own protections (bodies in flight, the idempotency
/// budget) gives the token back: only work done takes a token.
pub(crate) async fn handle(app: Arc<App>, req: Request) -> Delivery {
    let request_id = ids::request_id();
    let latency = app.dice.faults().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut charge = None;
    let served = serve(&app, req, &request_id, &mut charge).await;
    let mut response = match served {
        Ok(reply) if reply.hang_up => return Delivery::HangUp,
        Ok(reply) => {
            let mut response = app.voice.response(reply.status, reply.body, &request_id);
            if reply.replayed {
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            response
        }
        Err(failure) => {
            let retry_after = charge.as_ref().and_then(|c: &Charge| c.retry_after);
            if failure.status == 429
                && let Some(charge) = charge.as_mut().filter(|c| c.retry_after.is_none())
                && let Some(snapshot) = app.rates.refund(&charge.workspace, charge.class)
            {
                charge.snapshot = snapshot;
            }
            app.voice.error_response(&failure, &request_id, retry_after)
        }
    };
    if let Some(charge) = &charge {
        charge.snapshot.apply(response.headers_mut());
    }
    Delivery::Respond(response)
}

/// The token a request drew from its bucket (or was refused).
struct Charge {
    workspace: WorkspaceId,
    class: Class,
    /// The bucket, as the answer reports it.
    snapshot: Snapshot,
    /// `Some`: refused, answered 429 with this `Retry-After`.
    retry_after: Option<u64>,
}

/// Draws a token for an authenticated request into `charge`; a 429
/// `rate_limited` when its bucket is empty.
fn draw(
    app: &App,
    workspace: WorkspaceId,
    class: Class,
    charge: &mut Option<Charge>,
) -> Result<(), Failure> {
    let (snapshot, retry_after) = match app.rates.draw(&workspace, class) {
        Draw::Unlimited => return Ok(()),
        Draw::Granted(snapshot) => (snapshot, None),
        Draw::Refused(snapshot, retry_after) => (snapshot, Some(retry_after)),
    };
    *charge = Some(Charge {
        workspace,
        class,
        snapshot,
        retry_after,
    });
    match retry_after {
        None => Ok(()),
        Some(secs) => Err(Failure::new(
            429,
            "rate_limited",
            format!(
                "this workspace's {} limit of {} requests per second is used up; retry in {secs} s",
                match class {
                    Class::Reads => "read",
                    Class::Writes => "write",
                },
                snapshot.limit
            ),
        )),
    }
}

/// Authenticates a request, reading its body only as far as its headers
/// allow, draws its token, and runs its operation.
async fn serve(
    app: &App,
    req: Request,
    request_id: &str,
    charge: &mut Option<Charge>,
) -> Result<Reply, Failure> {
    let parts = &req.parts;
    let path = parts.uri.path();
    let target = parts.uri.path_and_query().map_or(path, |pq| pq.as_str());
    // The spec's route table (generated): an unknown path is 404 before
    // authentication, a method the path does not take 405 after it.
    let routed = route(parts.method.as_str(), path);
    if routed == Err(Unrouted::NotFound) {
        return Err(Failure::new(404, "not_found", format!("no route {path}")));
    }
    let admission = app
        .keys
        .admit(&parts.headers, app.voice.clock.unix_secs())?;
    let method = &parts.method;
    let class = Class::of(method);
    // A Bearer request is authenticated by its headers: counted now,
    // before any of its body is read.
    if !admission.needs_body() {
        draw(app, admission.rate_workspace(), class, charge)?;
    }
    // What the headers decide past the signature.
    let planned = admission.check_acting().and_then(|()| {
        let route = routed.map_err(|_| {
            Failure::new(
                405,
                "method_not_allowed",
                format!("{method} is not supported on {path}"),
            )
        })?;
        admission.require(scope(&route))?;
        Ok(route)
    });
    let body = match (&planned, admission.needs_body()) {
        (Ok(_), _) => Some(req.body.read(MAX_BODY_BYTES).await.map_err(|e| match e {
            BodyError::Busy => Failure::new(429, "rate_limited", e.to_string()),
            BodyError::Refused { .. } => Failure::malformed(format!("body: {e}")),
        })?),
        // Refused whatever the body: none of it is read.
        (Err(_), false) => None,
        (Err(failure), true) => match req.body.read(DOOMED_BODY_BYTES).await {
            Ok(body) => Some(body),
            Err(_) => return Err(failure.clone()),
        },
    };
    let body: &[u8] = body.as_deref().unwrap_or_default();
    admission.verify(method.as_str(), target, &parts.headers, body)?;
    // An HMAC request is authenticated once its signature holds.
    if admission.needs_body() {
        draw(app, admission.rate_workspace(), class, charge)?;
    }
    let principal = admission.principal()?;
    run(app, &principal, planned?, parts, body, request_id)
}

/// The scope an operation needs. The published pattern has no update or
/// delete scope of its own: both ask for `:write` (delete's scope is
/// unpublished).
fn scope(route: &Route) -> Scope {
    match route {
        Route::CreateCustomer => Scope::Create,
        Route::ListCustomers | Route::GetCustomer { .. } => Scope::Read,
        Route::UpdateCustomer { .. } | Route::DeleteCustomer { .. } => Scope::Write,
        Route::ListEvents | Route::GetEvent { .. } => Scope::EventRead,
    }
}

/// Runs an authenticated operation.
fn run(
    app: &App,
    principal: &Principal,
    route: Route,
    parts: &Parts,
    body: &[u8],
    request_id: &str,
) -> Result<Reply, Failure> {
    let account = &principal.workspace;
    match route {
        Route::CreateCustomer => {
            writes::write(app, principal, parts, body, request_id, |store, value| {
                refuse_nulls(value)?;
                let req: CreateCustomerRequest = decode_body(value)?;
                app.limits.check_create(&req)?;
                store.create(account, req).map(|c| (201, json!(c)))
            })
        }
        Route::ListEvents => events_api::list(app, principal, parts.uri.query(), request_id),
        Route::GetEvent { id } => events_api::get(app, principal, &id, request_id),
        Route::ListCustomers => list::list(app, principal, parts.uri.query(), request_id),
        Route::GetCustomer { id } => {
            let customer = app.store().get(account, &id)?;
            Ok(Reply::ok(&app.voice, 200, json!(customer), request_id))
        }
        Route::UpdateCustomer { id } => {
            writes::write(app, principal, parts, body, request_id, |store, value| {
                let req: UpdateCustomerRequest = decode_body(value)?;
                app.limits.check_update(&req)?;
                store.update(account, &id, req).map(|c| (200, json!(c)))
            })
        }
        Route::DeleteCustomer { id } => {
            writes::write(app, principal, parts, body, request_id, |store, _| {
                store.delete(account, &id).map(|()| (204, Value::Null))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_operations_by_the_spec() {
        use plugipay_api::endpoint::Endpoint;
        use plugipay_api::endpoints::{GetCustomer, ListCustomers};
        // Paths from the descriptors, so the test follows a moved path.
        let list = ListCustomers::PATH;
        let one = |segment: &str| GetCustomer::PATH.replace("{id}", segment);
        assert_eq!(route("GET", list), Ok(Route::ListCustomers));
        assert_eq!(
            route("PATCH", &one("a%2Fb%20c")),
            Ok(Route::UpdateCustomer { id: "a/b c".into() })
        );
        assert_eq!(route("PUT", list), Err(Unrouted::MethodNotAllowed));
        for path in [
            one(""),
            one("a/b"),
            format!("{list}X"),
            one("%zz"),
            "/other".to_owned(),
        ] {
            assert_eq!(route("GET", &path), Err(Unrouted::NotFound), "{path}");
        }
    }
}

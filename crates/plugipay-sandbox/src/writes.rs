//! A create, update or delete: checks its idempotency key, applies the
//! change and records the answer under one lock, so two requests with one
//! key never both execute. A write runs only when its answer can be
//! recorded within its workspace's budget (429 `rate_limited` otherwise),
//! so a write is never applied without the record that stops it being
//! applied again.

use hyper::http::request::Parts;
use plugipay_api::auth::IDEMPOTENCY_KEY_HEADER;
use serde_json::Value;

use crate::app::{App, Reply};
use crate::auth::Principal;
use crate::failure::Failure;
use crate::idempotency::{Difference, Fingerprint};
use crate::store::Store;

/// Runs `apply` on the store with the body as JSON (`null` when empty), or
/// replays the answer recorded under the request's Idempotency-Key.
pub(crate) fn write(
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
            .map_err(|e| Failure::malformed(format!("the body is not JSON: {e}")))?
    };
    let fingerprint = Fingerprint::new(parts.method.as_str(), parts.uri.path(), &value);
    let account = &principal.workspace;
    let mut store = app.store();
    if let Some(recorded) = store.recorded(account, key) {
        if let Some(difference) = recorded.fingerprint.difference(&fingerprint) {
            return Err(mismatch(difference));
        }
        return Ok(Reply {
            status: recorded.status,
            body: recorded.body.clone(),
            replayed: true,
            hang_up: false,
        });
    }
    // Its answer will be recorded (most are): only while the other
    // workspaces leave this one's whole record budget free, so that
    // recording it never drops another workspace's records.
    if !store.admits_write(account) {
        return Err(Failure::new(
            429,
            "rate_limited",
            "the sandbox's idempotency records are full: the other workspaces' records \
             leave this workspace less than its budget; retry when older records expire",
        ));
    }
    let reply = match apply(&mut store, &value) {
        Ok((status, data)) => Reply {
            hang_up: app.dice.drop_after_commit(),
            ..Reply::ok(&app.voice, status, data, request_id)
        },
        // Refused before anything ran: not recorded, the caller may fix and resend.
        Err(failure) if failure.status == 400 => return Err(failure),
        // Nothing there: running it again answers the same, so nothing is
        // kept (a flood of writes to missing ids must not grow memory).
        Err(failure) if failure.status == 404 => return Err(failure),
        Err(failure) => Reply {
            status: failure.status,
            body: app.voice.error_body(&failure, request_id),
            replayed: false,
            hang_up: false,
        },
    };
    store.record(account, key, fingerprint, reply.status, reply.body.clone());
    Ok(reply)
}

/// The answer to a key reused with another request: 409
/// `idempotency_mismatch`, as Plugipay publishes it, naming in
/// `error.field` the first top-level body field (by name) that differs.
/// Another method or path names no field: neither is a body field, and
/// the message says which it was.
fn mismatch(difference: Difference) -> Failure {
    let conflict = |message: String| Failure::new(409, "idempotency_mismatch", message);
    match difference {
        Difference::Target => conflict(
            "this Idempotency-Key was used with another method or path; send this request \
             with a new key"
                .into(),
        ),
        Difference::Field(field) => {
            let shown: String = field.chars().take(64).collect();
            conflict(format!(
                "this Idempotency-Key was used with a different `{shown}`; send the same \
                 request again, or this one with a new key"
            ))
            .with_field(field)
        }
        Difference::Body => conflict(
            "this Idempotency-Key was used with a different body; send the same request \
             again, or this one with a new key"
                .into(),
        ),
    }
}

//! The events API: one page of a workspace's events (its query read as the
//! spec's `ListEventsParams`), or one event by id.

use plugipay_api::params::ListEventsParams;
use plugipay_api::types::SortOrder;
use plugipay_api::validate;

use crate::app::{App, Reply};
use crate::auth::Principal;
use crate::envelope::page_body;
use crate::events::EventQuery;
use crate::failure::Failure;

/// One page of the caller's events, as `query` (the raw query string) asks.
pub(crate) fn list(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
    request_id: &str,
) -> Result<Reply, Failure> {
    let params: ListEventsParams = match query {
        None => ListEventsParams::default(),
        Some(q) => serde_urlencoded::from_str(q).map_err(|e| {
            Failure::malformed(format!(
                "the query string is not this list's parameters: {e}"
            ))
        })?,
    };
    let limit = match params.limit {
        Some(n) => {
            validate::list_limit(n).map_err(Failure::invalid)?;
            n as usize
        }
        None => plugipay_api::limits::LIST_EVENTS_LIMIT_DEFAULT,
    };
    let order = params.order.unwrap_or(SortOrder::Desc);
    let workspace = &principal.workspace;
    // A cursor is bound to its filters and its world.
    let binding = format!(
        "events|{}|{order:?}|{:?}|{:?}|{:?}",
        workspace.mode, params.type_, params.occurred_after, params.occurred_before
    );
    let account = &workspace.account;
    let after_id = params
        .cursor
        .as_ref()
        .map(|c| app.cursors.decode(account, &binding, c))
        .transpose()?;
    let query = EventQuery {
        limit,
        after_id,
        order,
        kind: params.type_,
        after: params.occurred_after,
        before: params.occurred_before,
    };
    let (events, next) = app.store().events().page(workspace, &query);
    let next = next.map(|id| app.cursors.encode(account, &binding, &id));
    Ok(Reply {
        status: 200,
        body: page_body(serde_json::Value::Array(events), next, request_id),
        replayed: false,
        hang_up: false,
    })
}

/// The caller's event `id`; 404 when there is none in this workspace and
/// mode.
pub(crate) fn get(
    app: &App,
    principal: &Principal,
    id: &str,
    request_id: &str,
) -> Result<Reply, Failure> {
    let store = app.store();
    let event = store
        .events()
        .get(&principal.workspace, id)
        .ok_or_else(|| Failure::new(404, "not_found", format!("no event {id:?}")))?;
    Ok(Reply::ok(200, event.json.clone(), request_id))
}

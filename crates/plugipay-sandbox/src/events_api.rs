//! The events API: one page of a workspace's events (its query read as the
//! spec's `ListEventsParams`), or one event by id.

use plugipay_api::endpoint::Endpoint as _;
use plugipay_api::endpoints::ListEvents;

use crate::app::{App, Reply};
use crate::auth::Principal;
use crate::events::EventQuery;
use crate::failure::Failure;
use crate::paging::Paging;

/// One page of the caller's events, as `query` (the raw query string) asks.
pub(crate) fn list(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
    request_id: &str,
) -> Result<Reply, Failure> {
    // The ranges the spec gives the parameters: the operation's own check.
    let op = ListEvents {
        query: crate::query::read(query)?,
    };
    op.check().map_err(Failure::invalid)?;
    let params = op.query;
    let workspace = &principal.workspace;
    let paging = Paging::read(
        app,
        workspace,
        (
            params.limit,
            plugipay_api::limits::LIST_EVENTS_LIMIT_DEFAULT,
        ),
        params.order,
        params.cursor.as_ref(),
        &format!(
            "events|{:?}|{:?}|{:?}",
            params.type_, params.occurred_after, params.occurred_before
        ),
    )?;
    let query = EventQuery {
        limit: paging.limit,
        after_id: paging.after_id.clone(),
        order: paging.order,
        kind: params.type_,
        after: params.occurred_after,
        before: params.occurred_before,
    };
    let (events, next) = app.store().events().page(workspace, &query);
    Ok(paging.reply(serde_json::Value::Array(events), next, request_id))
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
    Ok(Reply::ok(&app.voice, 200, event.json.clone(), request_id))
}

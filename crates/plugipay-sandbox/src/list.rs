//! The list operation: reads the query string as the spec's list
//! parameters (the generated `ListCustomersParams`), checks the cursor
//! against them and serves one page. Parameters other than the page size,
//! the cursor, the order and `createdAfter` filter by equality on the
//! customer field of the same name, so a filter the spec adds is served
//! with no hand edit.

use plugipay_api::endpoint::Endpoint as _;
use plugipay_api::endpoints::ListCustomers;
use serde_json::Value;

use crate::app::{App, Reply};
use crate::auth::Principal;
use crate::failure::Failure;
use crate::paging::Paging;
use crate::store::ListQuery;

/// The parameters that are not field filters.
const PAGING: [&str; 4] = ["limit", "cursor", "order", "createdAfter"];

/// One page of the caller's customers, as `query` (the raw query string) asks.
pub(crate) fn list(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
    request_id: &str,
) -> Result<Reply, Failure> {
    // The ranges the spec gives the parameters: the operation's own check.
    let op = ListCustomers {
        query: crate::query::read(query)?,
    };
    op.check().map_err(Failure::invalid)?;
    let params = op.query;
    // Every parameter but the paging ones is a filter on the field of its
    // name.
    let Ok(Value::Object(mut filters)) = serde_json::to_value(&params) else {
        return Err(Failure::malformed("the query string is malformed"));
    };
    filters.retain(|name, value| !PAGING.contains(&name.as_str()) && !value.is_null());
    let created_after = params.created_after;
    let workspace = &principal.workspace;
    let paging = Paging::read(
        app,
        workspace,
        (
            params.limit,
            plugipay_api::limits::LIST_CUSTOMERS_LIMIT_DEFAULT,
        ),
        params.order,
        params.cursor.as_ref(),
        &format!("{created_after:?}|{}", Value::Object(filters.clone())),
    )?;
    let query = ListQuery {
        limit: paging.limit,
        after_id: paging.after_id.clone(),
        order: paging.order,
        filters,
        created_after,
    };
    let page = app.store().list(workspace, &query);
    Ok(paging.reply(serde_json::json!(page.items), page.next_after, request_id))
}

//! The list operation: reads the query string into a validated
//! [`ListQuery`], checks the cursor against it and serves one page.

use plugipay_api::types::SortOrder;
use plugipay_api::validate;

use crate::auth::Principal;
use crate::envelope::page_body;
use crate::failure::Failure;
use crate::routes::{App, Reply};
use crate::store::ListQuery;

/// One page of the caller's customers, as `query` (the raw query string) asks.
pub(crate) fn list(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
    request_id: &str,
) -> Result<Reply, Failure> {
    let mut limit = plugipay_api::limits::LIST_CUSTOMERS_LIMIT_DEFAULT;
    let mut cursor = None;
    let mut order = SortOrder::Desc; // the spec's default
    let (mut email, mut external_id, mut created_after) = (None, None, None);
    let pairs = query.map(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map_err(|_| Failure::malformed("the query string is malformed"))
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
    let workspace = &principal.workspace;
    // A cursor is bound to its filters and to its world: the mode is one of
    // the "filters", the workspace the codec's own binding.
    let filters = format!(
        "{}|{order:?}|{email:?}|{external_id:?}|{created_after:?}",
        workspace.mode
    );
    let account = &workspace.account;
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
    let page = app.store().list(workspace, &query);
    let next = page
        .next_after
        .map(|id| app.cursors.encode(account, &filters, &id));
    Ok(Reply {
        status: 200,
        body: page_body(serde_json::json!(page.items), next, request_id),
        replayed: false,
        hang_up: false,
    })
}

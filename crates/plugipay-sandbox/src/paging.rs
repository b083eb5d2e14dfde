//! What every list's paging shares: the page size (1 to 100, the spec's
//! default when absent), the order (newest first by default), and the
//! cursor, bound to the filters and the world it was issued for, so a page
//! answers with the next cursor the same way for customers and events.

use plugipay_api::types::SortOrder;
use serde_json::Value;

use crate::app::{App, Reply};
use crate::failure::Failure;
use crate::workspace::WorkspaceId;

/// A list request's paging, checked.
pub(crate) struct Paging<'a> {
    /// Items on the page.
    pub limit: usize,
    /// Newest or oldest first.
    pub order: SortOrder,
    /// The id the page continues after, decoded from the cursor.
    pub after_id: Option<String>,
    app: &'a App,
    account: &'a str,
    binding: String,
}

impl<'a> Paging<'a> {
    /// Reads a list's paging parameters in `workspace`: `limit` (or
    /// `default`; its range is the operation's generated check's, run
    /// before), `order`, and a `cursor` that must have been issued for the
    /// same `filters` (any text that differs when the filters do).
    pub fn read(
        app: &'a App,
        workspace: &'a WorkspaceId,
        (limit, default): (Option<u32>, usize),
        order: Option<SortOrder>,
        cursor: Option<&String>,
        filters: &str,
    ) -> Result<Self, Failure> {
        let limit = limit.map_or(default, |n| n as usize);
        let order = order.unwrap_or(SortOrder::Desc); // the spec's default
        // A cursor is bound to its filters, its order and its world (the
        // mode here, the workspace by the codec itself).
        let binding = format!("{}|{order:?}|{filters}", workspace.mode);
        let account = workspace.account.as_str();
        let after_id = cursor
            .map(|c| app.cursors.decode(account, &binding, c))
            .transpose()?;
        Ok(Self {
            limit,
            order,
            after_id,
            app,
            account,
            binding,
        })
    }

    /// The answer: `items`, and a cursor to the page after `next_after`
    /// when more follow.
    pub fn reply(&self, items: Value, next_after: Option<String>, request_id: &str) -> Reply {
        let next = next_after.map(|id| self.app.cursors.encode(self.account, &self.binding, &id));
        Reply {
            status: 200,
            body: self
                .app
                .voice
                .page_body(items, next, self.limit, request_id),
            replayed: false,
            hang_up: false,
        }
    }
}

//! The event log: every customer created, updated or deleted through the
//! API, per workspace and mode, as the events API serves it — newest kept,
//! at most [`MAX_EVENTS_PER_WORKSPACE`] per workspace and
//! [`MAX_EVENT_BYTES`] in all (the oldest go first).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use plugipay_api::types::{Customer, SortOrder};
use serde_json::{Map, Value, json};

use crate::deliveries::Outbox;
use crate::dialect::{Dialect, EventParts};
use crate::ids::IdGenerator;
use crate::workspace::WorkspaceId;

/// The most events a workspace keeps.
pub const MAX_EVENTS_PER_WORKSPACE: usize = 100_000;

/// The most bytes (of events as served) all workspaces keep together;
/// past it the oldest events go, whichever workspace they are in.
pub const MAX_EVENT_BYTES: usize = 256 << 20;

/// What happened to a customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Happened {
    /// It was created.
    Created,
    /// It was updated.
    Updated,
    /// It was deleted (the event carries it as it was).
    Deleted,
}

impl Happened {
    /// The event type, as the official SDKs spell it.
    pub fn event_type(self) -> &'static str {
        match self {
            Happened::Created => "plugipay.customer.created.v1",
            Happened::Updated => "plugipay.customer.updated.v1",
            Happened::Deleted => "plugipay.customer.deleted.v1",
        }
    }
}

/// One recorded event.
#[derive(Clone, Debug)]
pub struct Event {
    /// `evt_…`, increasing with time.
    pub id: String,
    /// Its type (`plugipay.customer.created.v1`, …).
    pub kind: &'static str,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The event as served.
    pub json: Value,
    /// Its size as served, in bytes (counted against [`MAX_EVENT_BYTES`]).
    pub bytes: usize,
}

/// A page of events, as asked.
pub struct EventQuery {
    /// Page size.
    pub limit: usize,
    /// Continue after this event id.
    pub after_id: Option<String>,
    /// Newest or oldest first.
    pub order: SortOrder,
    /// Only this type (either spelling).
    pub kind: Option<String>,
    /// Only events at or after this instant (Plugipay documents the window
    /// as half-open: `[occurredAfter, occurredBefore)`).
    pub after: Option<DateTime<Utc>>,
    /// Only events before this instant.
    pub before: Option<DateTime<Utc>>,
}

/// Every workspace's events.
pub struct EventLog {
    by_workspace: HashMap<WorkspaceId, VecDeque<Event>>,
    /// One entry per event kept, oldest first: the workspace whose oldest
    /// event goes when the log is over [`MAX_EVENT_BYTES`].
    order: VecDeque<WorkspaceId>,
    /// The bytes of every event kept.
    bytes: usize,
    ids: IdGenerator,
    /// Where events go to be delivered to webhook endpoints, if any.
    outbox: Option<Outbox>,
    /// The reading events are served in.
    dialect: Dialect,
    /// The most events a workspace keeps.
    keep: usize,
}

/// The fields of `before` whose values `after` changed, with their values
/// before (`updatedAt` aside: it changes on every update).
fn changed_fields(before: &Value, after: &Value) -> Map<String, Value> {
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return Map::new();
    };
    before
        .iter()
        .filter(|(key, value)| {
            key.as_str() != "updatedAt" && after.get(key.as_str()) != Some(value)
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// `customer.created` and `plugipay.customer.created.v1` name one type.
fn same_type(asked: &str, kind: &str) -> bool {
    let short = kind
        .strip_prefix("plugipay.")
        .and_then(|k| k.strip_suffix(".v1"));
    asked.eq_ignore_ascii_case(kind) || short.is_some_and(|s| asked.eq_ignore_ascii_case(s))
}

impl EventLog {
    /// An empty log whose ids draw on `seed`, serving events in `dialect`.
    pub fn new(seed: u64, dialect: Dialect) -> Self {
        Self {
            by_workspace: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            ids: IdGenerator::new(seed),
            outbox: None,
            dialect,
            keep: MAX_EVENTS_PER_WORKSPACE,
        }
    }

    /// Keeps at most `n` (at least 1) events per workspace from now on.
    pub(crate) fn keep_at_most(&mut self, n: usize) {
        self.keep = n.max(1);
    }

    /// Sends every event recorded from now on to `outbox` as well.
    pub(crate) fn deliver_to(&mut self, outbox: Outbox) {
        self.outbox = Some(outbox);
    }

    /// Records that `customer` of `workspace` `happened` at `now` (by the
    /// server's clock); an update also gives the customer as it was before.
    pub fn record(
        &mut self,
        workspace: &WorkspaceId,
        happened: Happened,
        customer: &Customer,
        before: Option<&Customer>,
        now: DateTime<Utc>,
    ) {
        let (id, at) = self.ids.next_event_id(now);
        let object = json!(customer);
        let previous = before.map(|before| changed_fields(&json!(before), &object));
        let json = self.dialect.event(&EventParts {
            id: &id,
            kind: happened.event_type(),
            account: &workspace.account,
            at,
            object: &object,
            object_id: &customer.id,
            previous: previous.as_ref(),
        });
        if let Some(outbox) = &self.outbox {
            outbox.send(workspace, &json);
        }
        let bytes = json.to_string().len();
        let log = self.by_workspace.entry(workspace.clone()).or_default();
        if log.len() >= self.keep {
            // One out, one in: the workspace's entries in `order` still
            // count its events.
            if let Some(old) = log.pop_front() {
                self.bytes -= old.bytes;
            }
        } else {
            self.order.push_back(workspace.clone());
        }
        log.push_back(Event {
            id,
            kind: happened.event_type(),
            at,
            json,
            bytes,
        });
        self.bytes += bytes;
        self.evict_past(MAX_EVENT_BYTES);
    }

    /// Drops the oldest events until all kept take at most `budget` bytes;
    /// a workspace left without events is forgotten.
    fn evict_past(&mut self, budget: usize) {
        while self.bytes > budget {
            let Some(workspace) = self.order.pop_front() else {
                return;
            };
            let Some(log) = self.by_workspace.get_mut(&workspace) else {
                continue;
            };
            if let Some(old) = log.pop_front() {
                self.bytes -= old.bytes;
            }
            if log.is_empty() {
                self.by_workspace.remove(&workspace);
            }
        }
    }

    /// The event `id` of `workspace`.
    pub fn get(&self, workspace: &WorkspaceId, id: &str) -> Option<&Event> {
        let log = self.by_workspace.get(workspace)?;
        // Ids increase along the log.
        let at = log.binary_search_by(|e| e.id.as_str().cmp(id)).ok()?;
        log.get(at)
    }

    /// One page of `workspace`'s events and the id to continue after, when
    /// more follow.
    pub fn page(&self, workspace: &WorkspaceId, q: &EventQuery) -> (Vec<Value>, Option<String>) {
        let Some(log) = self.by_workspace.get(workspace) else {
            return (Vec::new(), None);
        };
        let keeps = |e: &&Event| {
            q.kind.as_deref().is_none_or(|k| same_type(k, e.kind))
                && q.after.is_none_or(|t| e.at >= t)
                && q.before.is_none_or(|t| e.at < t)
                && q.after_id.as_deref().is_none_or(|after| match q.order {
                    SortOrder::Asc => e.id.as_str() > after,
                    SortOrder::Desc => e.id.as_str() < after,
                })
        };
        // Ids, and the times they hold, increase along the log: a cursor's
        // place and the time bounds are found by binary search, so a walk
        // of the whole log (or of a range of it) reads each event about once.
        let (mut start, mut end) = match (q.order, q.after_id.as_deref()) {
            (SortOrder::Asc, Some(after)) => {
                (log.partition_point(|e| e.id.as_str() <= after), log.len())
            }
            (SortOrder::Desc, Some(after)) => (0, log.partition_point(|e| e.id.as_str() < after)),
            (_, None) => (0, log.len()),
        };
        if let Some(after) = q.after {
            start = start.max(log.partition_point(|e| e.at < after));
        }
        if let Some(before) = q.before {
            end = end.min(log.partition_point(|e| e.at < before));
        }
        let end = end.max(start);
        let window = log.range(start..end);
        let mut events: Vec<&Event> = match q.order {
            SortOrder::Asc => window.filter(keeps).take(q.limit + 1).collect(),
            SortOrder::Desc => window.rev().filter(keeps).take(q.limit + 1).collect(),
        };
        let more = events.len() > q.limit;
        events.truncate(q.limit);
        let next = more.then(|| events.last().map(|e| e.id.clone())).flatten();
        (events.into_iter().map(|e| e.json.clone()).collect(), next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_filter_takes_either_spelling_in_any_case() {
        let kind = "plugipay.customer.created.v1";
        for asked in [
            kind,
            "customer.created",
            "Customer.Created",
            "PLUGIPAY.CUSTOMER.CREATED.V1",
        ] {
            assert!(same_type(asked, kind), "{asked}");
        }
        for asked in [
            "customer",
            "customer.created.v1",
            "plugipay.customer.created",
            "customer.updated",
            "",
        ] {
            assert!(!same_type(asked, kind), "{asked}");
        }
    }
    use crate::workspace::Mode;

    fn customer(id: &str) -> Customer {
        serde_json::from_value(json!({
            "id": id, "accountId": "acct_1", "createdAt": "2026-11-30T00:00:00Z",
            "updatedAt": "2026-11-30T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn events_are_recorded_found_and_paged_by_type() {
        let ws = WorkspaceId {
            account: "acct_1".into(),
            mode: Mode::Test,
        };
        let mut log = EventLog::new(1, Dialect::Sdk);
        log.record(&ws, Happened::Created, &customer("cus_1"), None, Utc::now());
        log.record(&ws, Happened::Updated, &customer("cus_1"), None, Utc::now());
        log.record(&ws, Happened::Deleted, &customer("cus_1"), None, Utc::now());
        let query = |kind: Option<&str>, order, after_id: Option<String>| EventQuery {
            limit: 2,
            after_id,
            order,
            kind: kind.map(str::to_owned),
            after: None,
            before: None,
        };
        let (first, next) = log.page(&ws, &query(None, SortOrder::Asc, None));
        assert_eq!(first.len(), 2);
        assert_eq!(first[0]["type"], "plugipay.customer.created.v1");
        let (rest, end) = log.page(&ws, &query(None, SortOrder::Asc, next));
        assert_eq!((rest.len(), end), (1, None));
        assert_eq!(rest[0]["type"], "plugipay.customer.deleted.v1");
        let (updated, _) = log.page(&ws, &query(Some("CUSTOMER.UPDATED"), SortOrder::Desc, None));
        assert_eq!(updated.len(), 1);
        let id = first[1]["id"].as_str().unwrap();
        assert_eq!(log.get(&ws, id).unwrap().json["id"], id);
        assert!(log.get(&ws, "evt_missing").is_none());
    }

    #[test]
    fn a_walk_either_way_sees_each_event_once_and_in_order() {
        let ws = |account: &str| WorkspaceId {
            account: account.into(),
            mode: Mode::Test,
        };
        let mut log = EventLog::new(7, Dialect::Sdk);
        for i in 0..25 {
            log.record(
                &ws("acct_1"),
                Happened::Updated,
                &customer(&format!("cus_{i}")),
                None,
                Utc::now(),
            );
            log.record(
                &ws("acct_2"),
                Happened::Updated,
                &customer("cus_x"),
                None,
                Utc::now(),
            );
        }
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let mut seen = Vec::new();
            let mut after_id = None;
            loop {
                let q = EventQuery {
                    limit: 4,
                    after_id,
                    order,
                    kind: None,
                    after: None,
                    before: None,
                };
                let (page, next) = log.page(&ws("acct_1"), &q);
                seen.extend(page.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
                match next {
                    Some(next) => after_id = Some(next),
                    None => break,
                }
            }
            let mut sorted = seen.clone();
            sorted.sort();
            if order == SortOrder::Desc {
                sorted.reverse();
            }
            assert_eq!(seen, sorted, "{order:?}: in order");
            sorted.dedup();
            assert_eq!((seen.len(), sorted.len()), (25, 25), "{order:?}: each once");
        }
    }

    #[test]
    fn past_the_byte_budget_the_oldest_events_go_and_empty_workspaces_with_them() {
        let ws = |account: &str| WorkspaceId {
            account: account.into(),
            mode: Mode::Test,
        };
        let mut log = EventLog::new(3, Dialect::Sdk);
        log.record(
            &ws("acct_old"),
            Happened::Created,
            &customer("cus_1"),
            None,
            Utc::now(),
        );
        for i in 0..4 {
            log.record(
                &ws("acct_new"),
                Happened::Updated,
                &customer(&format!("cus_{i}")),
                None,
                Utc::now(),
            );
        }
        let each = log.bytes / 5;
        log.evict_past(each * 3 + each / 2);
        assert!(
            !log.by_workspace.contains_key(&ws("acct_old")),
            "emptied, forgotten"
        );
        assert_eq!(log.by_workspace[&ws("acct_new")].len(), 3);
        assert_eq!(log.order.len(), 3);
        let kept: usize = log.by_workspace.values().flatten().map(|e| e.bytes).sum();
        assert_eq!(log.bytes, kept);
    }
}

//! The in-memory customer book of every workspace, test and live worlds
//! apart (each keyed by [`WorkspaceId`]): customers ordered by id
//! (ids are monotonic ULIDs, so id order is creation order), indexes by
//! `externalId` and email, the customers marked as having money history,
//! and the recorded results of idempotent writes (see [`crate::idempotency`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound;

use chrono::{DateTime, SubsecRound, Utc};
use plugipay_api::patch::{Patch, UpdateCustomerRequest};
use plugipay_api::types::CreateCustomerRequest;

use serde_json::json;

use crate::clock::Clock;
use crate::config::{Limits, MetadataMode};
use crate::envelope::Voice;
use crate::events::{EventLog, Happened};
use crate::failure::Failure;
use crate::idempotency::{Fingerprint, Recorded, Records};
use crate::ids::IdGenerator;
use crate::rules;
use crate::workspace::WorkspaceId;

/// The metadata key that gives a customer money history in the sandbox:
/// set it to `"true"` and delete answers 409 `conflict`, as the live API
/// does for a customer that subscriptions, invoices, checkout sessions or
/// gift cards refer to. A sandbox convention; Plugipay itself knows nothing
/// of this key.
pub const MONEY_HISTORY_KEY: &str = "sandbox_money_history";

/// A customer as the sandbox stores and serves it: the spec's type, every
/// field present when serialised (`null` when unset).
pub use plugipay_api::types::Customer;
use plugipay_api::types::SortOrder;

/// A list query, already validated.
#[derive(Clone, Debug)]
pub struct ListQuery {
    pub limit: usize,
    pub after_id: Option<String>,
    pub order: SortOrder,
    /// Field (wire name) → the value a customer must hold there.
    pub filters: serde_json::Map<String, serde_json::Value>,
    pub created_after: Option<DateTime<Utc>>,
}

/// Whether `customer` (as served) holds every filter's value in the field
/// of the filter's name.
fn holds(
    customer: &serde_json::Value,
    filters: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    filters
        .iter()
        .all(|(field, wanted)| customer.get(field) == Some(wanted))
}

/// One page of a list.
pub struct ListPage {
    pub items: Vec<Customer>,
    /// The id to continue after, when more follow.
    pub next_after: Option<String>,
}

#[derive(Default)]
struct Workspace {
    customers: BTreeMap<String, Customer>,
    by_external_id: HashMap<String, String>,
    by_email: HashMap<String, BTreeSet<String>>,
    money_history: HashSet<String>,
}

impl Workspace {
    fn index(&mut self, c: &Customer) {
        if let Some(ext) = &c.external_id {
            self.by_external_id.insert(ext.clone(), c.id.clone());
        }
        if let Some(email) = &c.email {
            self.by_email
                .entry(email.clone())
                .or_default()
                .insert(c.id.clone());
        }
    }

    fn unindex(&mut self, c: &Customer) {
        if let Some(ext) = &c.external_id {
            self.by_external_id.remove(ext);
        }
        if let Some(email) = &c.email
            && let Some(ids) = self.by_email.get_mut(email)
        {
            ids.remove(&c.id);
            if ids.is_empty() {
                self.by_email.remove(email);
            }
        }
    }

    fn external_id_taken(&self, external_id: &str, by_other_than: Option<&str>) -> bool {
        self.by_external_id
            .get(external_id)
            .is_some_and(|owner| Some(owner.as_str()) != by_other_than)
    }
}

/// Every workspace's customers. Not synchronised: the server holds it behind
/// one lock, so each operation (idempotency check, change and record
/// included) is atomic.
pub struct Store {
    workspaces: HashMap<WorkspaceId, Workspace>,
    ids: IdGenerator,
    metadata_mode: MetadataMode,
    limits: Limits,
    records: Records,
    events: EventLog,
    /// The server's clock: customers' times.
    clock: Clock,
}

fn conflict(external_id: &str) -> Failure {
    Failure::new(
        409,
        "conflict",
        format!(
            "a customer with externalId {external_id:?} already exists in this workspace \
             and mode"
        ),
    )
}

/// A value's JSON fields (a struct serialises to an object).
fn to_object(value: &impl serde::Serialize) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(fields)) => fields,
        _ => serde_json::Map::new(),
    }
}

/// The customer these fields make; a field of the wrong type is the
/// request's fault.
fn into_customer(fields: serde_json::Map<String, serde_json::Value>) -> Result<Customer, Failure> {
    serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| Failure::malformed(format!("the fields do not make a customer: {e}")))
}

fn not_found(id: &str) -> Failure {
    Failure::new(
        404,
        "not_found",
        format!("no customer {id:?} in this workspace"),
    )
}

impl Store {
    /// An empty store whose ids draw randomness from `seed`, applying
    /// PATCHed metadata the `metadata_mode` way within `limits`, and keeping
    /// at most `idempotency_budget` bytes of idempotency records in all and
    /// `workspace_budget` in any one workspace.
    pub fn new(
        seed: u64,
        metadata_mode: MetadataMode,
        limits: Limits,
        idempotency_budget: usize,
        workspace_budget: usize,
        voice: Voice,
    ) -> Self {
        Self {
            workspaces: HashMap::new(),
            ids: IdGenerator::new(seed),
            metadata_mode,
            limits,
            records: Records::new(idempotency_budget, workspace_budget),
            events: EventLog::new(seed ^ 0x5eed_e7e7, voice.dialect),
            clock: voice.clock,
        }
    }

    /// The event log of the customers' changes.
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// The event log, to change where it delivers.
    pub(crate) fn events_mut(&mut self) -> &mut EventLog {
        &mut self.events
    }

    /// A workspace's book, if it has one: only a customer created there
    /// makes one, so reads, refused writes and writes to missing customers
    /// of unknown workspaces hold no memory.
    fn workspace_mut(
        &mut self,
        account_id: &WorkspaceId,
        id: &str,
    ) -> Result<&mut Workspace, Failure> {
        self.workspaces
            .get_mut(account_id)
            .ok_or_else(|| not_found(id))
    }

    /// How many workspaces hold customers or idempotency records (a
    /// workspace's test and live worlds counting apart).
    pub fn workspace_count(&self) -> usize {
        let records_only = self
            .records
            .accounts()
            .filter(|ws| !self.workspaces.contains_key(*ws))
            .count();
        self.workspaces.len() + records_only
    }

    /// Whether a write in `account_id` may run now: its answer must be
    /// recordable without dropping another workspace's records (see
    /// [`Records::admits`]).
    pub fn admits_write(&mut self, account_id: &WorkspaceId) -> bool {
        self.records.admits(account_id)
    }

    /// The recorded response of `key` in `account_id`, if still fresh.
    pub fn recorded(&self, account_id: &WorkspaceId, key: &str) -> Option<&Recorded> {
        self.records.get(account_id, key)
    }

    /// Remembers the response of a write under its idempotency key, within
    /// the byte budget: expired records and then the oldest ones make room.
    pub fn record(
        &mut self,
        account_id: &WorkspaceId,
        key: &str,
        fingerprint: Fingerprint,
        status: u16,
        body: String,
    ) {
        self.records
            .insert(account_id, key, fingerprint, status, body);
    }

    /// The bytes the idempotency records hold, as counted against the budget.
    pub fn idempotency_bytes(&self) -> usize {
        self.records.bytes()
    }

    /// Creates a customer; 409 when the externalId is taken.
    pub fn create(
        &mut self,
        account_id: &WorkspaceId,
        req: CreateCustomerRequest,
    ) -> Result<Customer, Failure> {
        let now = self.clock.now();
        let customer = self.create_at(account_id, req, now)?;
        self.events
            .record(account_id, Happened::Created, &customer, None, now);
        Ok(customer)
    }

    /// Creates a customer as if at `now` (ids stay in creation order: a
    /// time before the newest customer's gets that customer's millisecond).
    fn create_at(
        &mut self,
        account_id: &WorkspaceId,
        req: CreateCustomerRequest,
        now: DateTime<Utc>,
    ) -> Result<Customer, Failure> {
        if let Some(ext) = &req.external_id
            && self
                .workspaces
                .get(account_id)
                .is_some_and(|ws| ws.external_id_taken(ext, None))
        {
            return Err(conflict(ext));
        }
        let (id, created_at) = self.ids.next_customer_id(now);
        // Every field of the request the customer also has is copied by
        // name, so a field added to both in the spec needs no code here.
        let mut fields = to_object(&req);
        fields.insert("id".into(), json!(id));
        fields.insert(
            "arn".into(),
            json!(format!("arn:plugipay:{}:customer/{id}", account_id.account)),
        );
        fields.insert("accountId".into(), json!(account_id.account));
        fields.insert("createdAt".into(), json!(created_at));
        fields.insert("updatedAt".into(), json!(created_at));
        let customer = into_customer(fields)?;
        let ws = self.workspaces.entry(account_id.clone()).or_default();
        ws.index(&customer);
        ws.customers.insert(customer.id.clone(), customer.clone());
        Ok(customer)
    }

    /// Creates `n` generated customers (for demos and benchmarks), their
    /// creation times spread evenly over the `span` that ends now, or, when
    /// `span` is zero, each created at the moment it is made.
    pub fn seed(&mut self, account_id: &WorkspaceId, n: usize, span: std::time::Duration) {
        if span.is_zero() {
            let clock = self.clock;
            self.seed_at(account_id, std::iter::repeat_with(|| clock.now()).take(n));
            return;
        }
        let now = self.clock.now();
        let span_ms = i64::try_from(span.as_millis()).unwrap_or(i64::MAX);
        let start = now
            .checked_sub_signed(chrono::TimeDelta::milliseconds(span_ms))
            .unwrap_or(now);
        let times = (1..=n as i128).map(|i| {
            let offset = (i128::from(span_ms) * i / n as i128) as i64;
            start + chrono::TimeDelta::milliseconds(offset)
        });
        self.seed_at(account_id, times);
    }

    /// Creates a generated customer at each of `times` (which must not go
    /// back: ids follow creation order, so an earlier time gets the newest
    /// customer's millisecond). Returns how many were created.
    pub fn seed_at(
        &mut self,
        account_id: &WorkspaceId,
        times: impl IntoIterator<Item = DateTime<Utc>>,
    ) -> usize {
        let first = self.count(account_id) + 1;
        let mut created = 0;
        for (i, at) in (first..).zip(times) {
            let req = CreateCustomerRequest {
                email: Some(format!("customer{i}@example.test")),
                name: Some(format!("Seed Customer {i}")),
                external_id: Some(format!("seed_{i:07}")),
                ..Default::default()
            };
            // Seeds never collide: their external ids are unique.
            created += usize::from(self.create_at(account_id, req, at).is_ok());
        }
        created
    }

    /// One customer; 404 when absent from this workspace.
    pub fn get(&self, account_id: &WorkspaceId, id: &str) -> Result<Customer, Failure> {
        self.workspaces
            .get(account_id)
            .and_then(|ws| ws.customers.get(id))
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    /// Applies a patch: absent fields stay, null clears, metadata is
    /// replaced or merged as the store's [`MetadataMode`] says.
    pub fn update(
        &mut self,
        account_id: &WorkspaceId,
        id: &str,
        patch: UpdateCustomerRequest,
    ) -> Result<Customer, Failure> {
        let (mode, limits, clock) = (self.metadata_mode, self.limits.clone(), self.clock);
        let ws = self.workspace_mut(account_id, id)?;
        let old = ws.customers.get(id).cloned().ok_or_else(|| not_found(id))?;
        // Every field the patch names is set (or cleared with null) by
        // name; metadata follows the store's mode.
        let mut fields = to_object(&old);
        let metadata = patch.metadata.clone();
        for (field, value) in to_object(&patch) {
            if field != "metadata" {
                fields.insert(field, value);
            }
        }
        let mut new = into_customer(fields)?;
        match metadata {
            Patch::Absent => {}
            Patch::Null => new.metadata.clear(),
            Patch::Set(changes) => {
                match mode {
                    MetadataMode::Merge => rules::merge(&mut new.metadata, changes),
                    MetadataMode::Replace => {
                        new.metadata = changes
                            .into_iter()
                            .map(|(key, value)| value.map(|v| (key, v)).ok_or(()))
                            .collect::<Result<_, ()>>()
                            .map_err(|()| {
                                Failure::validation(
                                    "metadata",
                                    "metadata values must be strings: this server replaces \
                                     the metadata map whole (send the map without the key \
                                     to remove it)",
                                )
                            })?;
                    }
                }
                limits.check_metadata_keys(new.metadata.len())?;
            }
        }
        if let Some(ext) = &new.external_id
            && ws.external_id_taken(ext, Some(id))
        {
            return Err(conflict(ext));
        }
        // updatedAt moves on every applied update, even within one
        // millisecond (the precision it is served with).
        let at = clock.now();
        let now = at.trunc_subsecs(3);
        new.updated_at = if now > old.updated_at {
            now
        } else {
            old.updated_at + chrono::Duration::milliseconds(1)
        };
        ws.unindex(&old);
        ws.index(&new);
        ws.customers.insert(id.to_owned(), new.clone());
        self.events
            .record(account_id, Happened::Updated, &new, Some(&old), at);
        Ok(new)
    }

    /// One page of a list, served from the indexes: the cost is that of the
    /// page, not of the book.
    pub fn list(&self, account_id: &WorkspaceId, q: &ListQuery) -> ListPage {
        let Some(ws) = self.workspaces.get(account_id) else {
            return ListPage {
                items: Vec::new(),
                next_after: None,
            };
        };
        // The candidate ids, in id (= creation) order: from an index when a
        // filter has one, or every customer in the range.
        let text = |field: &str| q.filters.get(field).and_then(serde_json::Value::as_str);
        let single;
        let ids: Box<dyn DoubleEndedIterator<Item = &String>> =
            match (text("externalId"), text("email")) {
                (Some(ext), _) => {
                    single = ws.by_external_id.get(ext);
                    Box::new(single.into_iter())
                }
                (None, Some(email)) => match ws.by_email.get(email) {
                    Some(ids) => Box::new(range(ids, q)),
                    None => Box::new(std::iter::empty()),
                },
                (None, None) => Box::new(range_keys(&ws.customers, q)),
            };
        let ids: Box<dyn Iterator<Item = &String>> = match q.order {
            SortOrder::Asc => ids,
            SortOrder::Desc => Box::new(ids.rev()),
        };
        let mut items = Vec::with_capacity(q.limit + 1);
        for id in ids {
            let Some(c) = ws.customers.get(id) else {
                continue;
            };
            if let Some(after) = &q.after_id {
                let past = match q.order {
                    SortOrder::Asc => c.id > *after,
                    SortOrder::Desc => c.id < *after,
                };
                if !past {
                    continue;
                }
            }
            if q.created_after.is_some_and(|t| c.created_at <= t) {
                continue;
            }
            if !q.filters.is_empty() && !holds(&serde_json::json!(c), &q.filters) {
                continue;
            }
            items.push(c.clone());
            if items.len() > q.limit {
                break;
            }
        }
        let has_more = items.len() > q.limit;
        items.truncate(q.limit);
        let next_after = has_more
            .then(|| items.last().map(|c| c.id.clone()))
            .flatten();
        ListPage { items, next_after }
    }

    /// Deletes a customer: 404 when absent, 409 when it has money history.
    /// Its `externalId` is free again.
    pub fn delete(&mut self, account_id: &WorkspaceId, id: &str) -> Result<(), Failure> {
        let ws = self.workspace_mut(account_id, id)?;
        let customer = ws.customers.get(id).ok_or_else(|| not_found(id))?;
        let marked = customer.metadata.get(MONEY_HISTORY_KEY).map(String::as_str) == Some("true");
        if marked || ws.money_history.contains(id) {
            return Err(Failure::new(
                409,
                "conflict",
                format!(
                    "customer {id:?} has money history (subscriptions, invoices, checkout \
                     sessions or gift cards) and cannot be deleted; archive it instead"
                ),
            ));
        }
        let customer = ws.customers.remove(id).expect("looked up above");
        ws.unindex(&customer);
        // A workspace whose last customer is gone holds nothing more.
        if ws.customers.is_empty() {
            self.workspaces.remove(account_id);
        }
        let now = self.clock.now();
        self.events
            .record(account_id, Happened::Deleted, &customer, None, now);
        Ok(())
    }

    /// Gives a customer money history (or takes it away); `false` when there
    /// is no such customer.
    pub fn set_money_history(&mut self, account_id: &WorkspaceId, id: &str, held: bool) -> bool {
        let Some(ws) = self.workspaces.get_mut(account_id) else {
            return false;
        };
        if !ws.customers.contains_key(id) {
            return false;
        }
        if held {
            ws.money_history.insert(id.to_owned());
        } else {
            ws.money_history.remove(id);
        }
        true
    }

    /// Every customer of a workspace, oldest first (for tests and tools).
    pub fn all(&self, account_id: &WorkspaceId) -> Vec<Customer> {
        self.workspaces
            .get(account_id)
            .map(|ws| ws.customers.values().cloned().collect())
            .unwrap_or_default()
    }

    /// How many customers a workspace has.
    pub fn count(&self, account_id: &WorkspaceId) -> usize {
        self.workspaces
            .get(account_id)
            .map_or(0, |ws| ws.customers.len())
    }
}

/// The id bounds a query implies: past the cursor, and from `createdAfter` on.
fn bounds(q: &ListQuery) -> (Bound<String>, Bound<String>) {
    let mut lower = q.created_after.map_or(Bound::Unbounded, |t| {
        Bound::Included(IdGenerator::lowest_id_after(t))
    });
    let mut upper = Bound::Unbounded;
    if let Some(after) = &q.after_id {
        match q.order {
            SortOrder::Asc => {
                if !matches!(&lower, Bound::Included(l) if l > after) {
                    lower = Bound::Excluded(after.clone());
                }
            }
            SortOrder::Desc => upper = Bound::Excluded(after.clone()),
        }
    }
    (lower, upper)
}

fn range<'a>(
    ids: &'a BTreeSet<String>,
    q: &ListQuery,
) -> impl DoubleEndedIterator<Item = &'a String> {
    ids.range(bounds(q))
}

fn range_keys<'a>(
    map: &'a BTreeMap<String, Customer>,
    q: &ListQuery,
) -> impl DoubleEndedIterator<Item = &'a String> {
    map.range(bounds(q)).map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_field_filters_by_its_wire_name() {
        // A filter the spec adds (say `phone`) needs no code here: the
        // customer's field of that name must hold the value.
        let customer = serde_json::json!({"id": "cus_1", "phone": "+62 1", "taxId": null});
        let filter = |pairs: serde_json::Value| {
            let serde_json::Value::Object(map) = pairs else {
                unreachable!()
            };
            holds(&customer, &map)
        };
        assert!(filter(serde_json::json!({})));
        assert!(filter(serde_json::json!({"phone": "+62 1"})));
        assert!(!filter(serde_json::json!({"phone": "+62 2"})));
        assert!(!filter(serde_json::json!({"taxId": "T"})));
        assert!(!filter(serde_json::json!({"loyalty": "gold"})));
    }

    fn fingerprint(n: usize) -> Fingerprint {
        Fingerprint::new("POST", "/api/v1/customers", &serde_json::json!({ "n": n }))
    }

    #[test]
    fn purging_keeps_every_fresh_record() {
        const PURGE_AT: usize = 1024;
        let mut store = Store::new(
            1,
            MetadataMode::Merge,
            Limits::default(),
            64 << 20,
            64 << 20,
            Voice::default(),
        );
        let acct = WorkspaceId::test("acct");
        for n in 0..PURGE_AT * 4 + 1 {
            store.record(&acct, &format!("k{n}"), fingerprint(n), 201, String::new());
        }
        for n in [0, PURGE_AT, PURGE_AT * 4] {
            let rec = store
                .recorded(&acct, &format!("k{n}"))
                .expect("a fresh record survives");
            assert_eq!(rec.fingerprint, fingerprint(n));
        }
    }
}

//! What a copy's storage does (the [`Store`] both targets implement), and
//! the plan of a batch they share: which row each change leaves, by the
//! SDK's replay rule applied to what the copy holds.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use plugipay::{Change, Customer, Held};

use crate::failure::Failure;

/// Where a copy is kept: an SQLite file or a Postgres database. Each
/// method is one transaction.
pub trait Store {
    /// What the summary and messages call the copy (a Postgres URL without
    /// its password).
    fn name(&self) -> &str;

    /// The state stored under `key` in `plugipay_mirror`.
    async fn state(&mut self, key: &str) -> Result<Option<String>, Failure>;

    /// In one transaction: reads what the copy holds of the changes'
    /// customers, writes the rows [`plan`] makes of `changes`, then sets
    /// (`Some`) or removes (`None`) each state key. Returns what it did.
    async fn apply(
        &mut self,
        changes: &[Change],
        state: &[(&str, Option<String>)],
    ) -> Result<Tally, Failure>;

    /// Empties the copy and its state.
    async fn clear(&mut self) -> Result<(), Failure>;

    /// Each live (not deleted) customer's id and the [`fingerprint`] of its
    /// stored JSON.
    async fn live(&mut self) -> Result<HashMap<String, u64>, Failure>;
}

/// What a run did, for its summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub created: u64,
    pub updated: u64,
    pub deleted: u64,
    pub unchanged: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.created += other.created;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.unchanged += other.unchanged;
    }
}

/// The row a batch leaves for one customer: its latest state (when a
/// change in the batch gave one) and when it was deleted (when it was).
#[derive(Debug, PartialEq)]
pub struct Row<'a> {
    pub id: &'a str,
    /// Written with every column; `None`: only `deleted_at` is set, the
    /// other columns stay as the copy last saw them.
    pub customer: Option<&'a Customer>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The rows `changes` leave, one per customer in the order first changed,
/// given what the copy `held` of them before (absent when not listed): a
/// change the copy should not take ([`Change::supersedes`]) counts as
/// unchanged, as does deleting a customer already deleted.
pub fn plan<'a>(changes: &'a [Change], mut held: HashMap<&'a str, Held>) -> (Vec<Row<'a>>, Tally) {
    let mut rows: Vec<Row<'a>> = Vec::new();
    let mut at: HashMap<&'a str, usize> = HashMap::new();
    let mut tally = Tally::default();
    for change in changes {
        let id = change.customer_id();
        let before = held.get(id).copied().unwrap_or(Held::Absent);
        let repeat_delete = before == Held::Deleted && matches!(change, Change::Deleted { .. });
        if !change.supersedes(before) || repeat_delete {
            tally.unchanged += 1;
            continue;
        }
        let slot = *at.entry(id).or_insert_with(|| {
            rows.push(Row {
                id,
                customer: None,
                deleted_at: None,
            });
            rows.len() - 1
        });
        match change {
            Change::Upsert(customer) => {
                rows[slot].customer = Some(customer);
                rows[slot].deleted_at = None;
                held.insert(id, Held::Present(customer.updated_at));
                match before {
                    Held::Absent => tally.created += 1,
                    _ => tally.updated += 1,
                }
            }
            Change::Deleted { at, .. } => {
                rows[slot].deleted_at = Some(*at);
                held.insert(id, Held::Deleted);
                tally.deleted += 1;
            }
            _ => tally.unchanged += 1,
        }
    }
    (rows, tally)
}

/// A customer's JSON reduced to a number that two equal documents share
/// whatever their key order and spacing (Postgres's `jsonb` reorders
/// keys): what `--verify` compares, a million customers in megabytes.
pub fn fingerprint(json: &serde_json::Value) -> u64 {
    fn feed(value: &serde_json::Value, hasher: &mut impl Hasher) {
        use serde_json::Value;
        match value {
            Value::Null => 0u8.hash(hasher),
            Value::Bool(b) => (1u8, b).hash(hasher),
            Value::Number(n) => (2u8, n.to_string()).hash(hasher),
            Value::String(s) => (3u8, s).hash(hasher),
            Value::Array(items) => {
                (4u8, items.len()).hash(hasher);
                items.iter().for_each(|item| feed(item, hasher));
            }
            Value::Object(map) => {
                (5u8, map.len()).hash(hasher);
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for key in keys {
                    key.hash(hasher);
                    feed(&map[key], hasher);
                }
            }
        }
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    feed(json, &mut hasher);
    hasher.finish()
}

/// [`fingerprint`] of stored JSON text; text that is not JSON gets one no
/// customer has (`--verify` then reports a difference).
pub fn fingerprint_text(text: &str) -> u64 {
    serde_json::from_str(text).map_or(u64::MAX, |json| fingerprint(&json))
}

/// An instant as the SQLite copy stores it: fixed width, so text order is
/// time order.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(id: &str, updated_secs: i64) -> Customer {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "accountId": "acc_1",
            "metadata": {},
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": DateTime::from_timestamp(updated_secs, 0).unwrap().to_rfc3339(),
        }))
        .unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// Two updates and a delete of one customer in a batch leave one row
    /// (its last state, deleted), counted change by change; a late update
    /// cannot bring it back, a replayed delete changes nothing.
    #[test]
    fn a_batch_leaves_one_row_per_customer_by_the_replay_rule() {
        let changes = vec![
            Change::Upsert(Box::new(customer("cus_a", 10))),
            Change::Upsert(Box::new(customer("cus_b", 10))),
            Change::Upsert(Box::new(customer("cus_a", 20))),
            Change::Deleted {
                id: "cus_a".into(),
                at: at(30),
            },
            Change::Upsert(Box::new(customer("cus_a", 25))),
            Change::Deleted {
                id: "cus_c".into(),
                at: at(30),
            },
            Change::Deleted {
                id: "cus_c".into(),
                at: at(31),
            },
            Change::Upsert(Box::new(customer("cus_b", 5))),
        ];
        let held = HashMap::from([("cus_b", Held::Present(at(1)))]);
        let (rows, tally) = plan(&changes, held);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].id, "cus_a");
        assert_eq!(rows[0].customer.unwrap().updated_at, at(20));
        assert_eq!(rows[0].deleted_at, Some(at(30)));
        assert_eq!(rows[1].id, "cus_b");
        assert_eq!(rows[1].customer.unwrap().updated_at, at(10));
        assert_eq!(rows[1].deleted_at, None);
        assert_eq!(
            rows[2],
            Row {
                id: "cus_c",
                customer: None,
                deleted_at: Some(at(30))
            }
        );
        assert_eq!(
            tally,
            Tally {
                created: 1,
                updated: 2,
                deleted: 2,
                unchanged: 3,
            }
        );
    }

    #[test]
    fn equal_documents_share_a_fingerprint_whatever_their_key_order() {
        let a = fingerprint_text(r#"{"a":1,"b":{"x":"1","y":[1,2]},"c":null}"#);
        let b = fingerprint_text(r#"{"c": null, "b": {"y": [1, 2], "x": "1"}, "a": 1}"#);
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint_text(r#"{"a":1,"b":{"x":"1","y":[2,1]},"c":null}"#)
        );
        assert_ne!(
            a,
            fingerprint_text(r#"{"a":"1","b":{"x":"1","y":[1,2]},"c":null}"#)
        );
        assert_eq!(fingerprint_text("not json"), u64::MAX);
    }
}

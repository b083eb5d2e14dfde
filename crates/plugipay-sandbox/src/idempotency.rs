//! The recorded answers of idempotent writes, by workspace (and mode) and
//! key: each fresh for [`IDEMPOTENCY_TTL`], each workspace's within its own
//! byte budget and all of them within a total one.
//!
//! Workspaces are kept apart: a workspace makes room for a new record only
//! by dropping its own oldest records, never another's, and a write is
//! [admitted](Records::admits) only while the other workspaces leave its
//! whole budget free, so the record of an admitted write always fits. A
//! flood of writes in one workspace therefore cannot make another's key
//! unknown again (and its request execute twice). A workspace's test and
//! live worlds are separate workspaces here.
//!
//! A record keeps digests of its request, not the request itself, so its
//! size does not follow the request's: a digest of the method and path, one
//! of the whole body, and a short one per top-level body field (at most
//! [`MAX_FIELD_DIGESTS`] of them, with names of at most
//! [`MAX_FIELD_NAME_BYTES`]), which name the field that differs when a key
//! is reused with another request. Only the workspace id, the key (both
//! bounded), those field digests and the recorded answer count. A key whose
//! record was dropped — expired, or evicted by its own workspace's newer
//! records — is unknown again: its request executes again, like one with a
//! fresh key.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::workspace::WorkspaceId;

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What each record costs beyond its text: the map entries and order entry
/// holding it, its digests, status and time (an allowance, not a measure).
const RECORD_OVERHEAD_BYTES: usize = 256;

/// Bytes kept of each top-level field's digest: enough to tell which field
/// differs (whether the request is the same is decided by the whole body's
/// 32-byte digest).
const FIELD_DIGEST_BYTES: usize = 8;

/// The most top-level fields a record keeps a digest of; a body with more
/// keeps none (a reuse with another body then names no field). Every body
/// the API accepts has far fewer.
pub const MAX_FIELD_DIGESTS: usize = 16;

/// The longest field name a record keeps a digest under; a body with a
/// longer one keeps no field digests.
pub const MAX_FIELD_NAME_BYTES: usize = 64;

/// What each kept field digest costs beyond its name (the allowance of its
/// slot).
const FIELD_OVERHEAD_BYTES: usize = 16;

/// A request's identity for idempotency: the same key may only replay the
/// same method, path and (semantically equal) JSON body. Its size is
/// bounded whatever the request's (see the [module](self)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// SHA-256 of the method and path.
    target: [u8; 32],
    /// SHA-256 of the body.
    body: [u8; 32],
    /// A short digest of each top-level field of an object body, by name
    /// (sorted); `None` for another body, or one with too many fields or
    /// too long a name.
    fields: Option<Box<[FieldDigest]>>,
}

/// A top-level body field's name and the first bytes of its value's digest.
type FieldDigest = (Box<str>, [u8; FIELD_DIGEST_BYTES]);

/// How a request differs from the one a key was first used with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// Another method or path.
    Target,
    /// The same method and path; this top-level body field differs (is
    /// set to something else, or is present in only one of the two). The
    /// first such field by name.
    Field(String),
    /// The same method and path; the bodies differ, but no one field can
    /// be named (not objects, or too many fields to keep digests of).
    Body,
}

impl Fingerprint {
    /// The fingerprint of `method path` with `body`; objects' key order and
    /// the body's white space do not matter.
    pub fn new(method: &str, path: &str, body: &Value) -> Self {
        let mut target = Sha256::new();
        feed_str(&mut target, method);
        feed_str(&mut target, path);
        let mut whole = Sha256::new();
        feed_value(&mut whole, body);
        let fields = body.as_object().and_then(|object| {
            let keep = object.len() <= MAX_FIELD_DIGESTS
                && object.keys().all(|name| name.len() <= MAX_FIELD_NAME_BYTES);
            keep.then(|| {
                let mut fields: Vec<FieldDigest> = object
                    .iter()
                    .map(|(name, value)| {
                        let mut hasher = Sha256::new();
                        feed_value(&mut hasher, value);
                        let digest = hasher.finalize();
                        let mut short = [0; FIELD_DIGEST_BYTES];
                        short.copy_from_slice(&digest[..FIELD_DIGEST_BYTES]);
                        (Box::from(name.as_str()), short)
                    })
                    .collect();
                fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                fields.into_boxed_slice()
            })
        });
        Self {
            target: target.finalize().into(),
            body: whole.finalize().into(),
            fields,
        }
    }

    /// The bytes its field digests hold (counted in a record's cost; the
    /// fixed part is in the record's allowance). At most
    /// [`MAX_FIELD_DIGESTS`] × ([`MAX_FIELD_NAME_BYTES`] + 24).
    pub fn field_bytes(&self) -> usize {
        self.fields.as_deref().map_or(0, |fields| {
            fields
                .iter()
                .map(|(name, _)| name.len() + FIELD_DIGEST_BYTES + FIELD_OVERHEAD_BYTES)
                .sum()
        })
    }

    /// How `other` differs from this request; `None` when it is the same
    /// request.
    pub fn difference(&self, other: &Fingerprint) -> Option<Difference> {
        if self.target != other.target {
            return Some(Difference::Target);
        }
        if self.body == other.body {
            return None;
        }
        let (Some(mine), Some(theirs)) = (&self.fields, &other.fields) else {
            return Some(Difference::Body);
        };
        // Both sorted by name: walk them together to the first difference.
        let (mut i, mut j) = (0, 0);
        while i < mine.len() || j < theirs.len() {
            match (mine.get(i), theirs.get(j)) {
                (Some(a), Some(b)) if a.0 == b.0 => {
                    if a.1 != b.1 {
                        return Some(Difference::Field(a.0.to_string()));
                    }
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) => {
                    let first = if a.0 < b.0 { &a.0 } else { &b.0 };
                    return Some(Difference::Field(first.to_string()));
                }
                (Some(a), None) => return Some(Difference::Field(a.0.to_string())),
                (None, Some(b)) => return Some(Difference::Field(b.0.to_string())),
                (None, None) => break,
            }
        }
        // Every field's short digest agrees while the bodies differ.
        Some(Difference::Body)
    }
}

fn feed_str(hasher: &mut Sha256, s: &str) {
    // Length-prefixed, so no two sequences of strings feed the same bytes.
    hasher.update((s.len() as u64).to_le_bytes());
    hasher.update(s.as_bytes());
}

fn feed_value(hasher: &mut Sha256, value: &Value) {
    match value {
        Value::Null => hasher.update(b"n"),
        Value::Bool(b) => hasher.update(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            hasher.update(b"#");
            feed_str(hasher, &n.to_string());
        }
        Value::String(s) => {
            hasher.update(b"s");
            feed_str(hasher, s);
        }
        Value::Array(items) => {
            hasher.update(b"[");
            hasher.update((items.len() as u64).to_le_bytes());
            items.iter().for_each(|item| feed_value(hasher, item));
        }
        Value::Object(fields) => {
            hasher.update(b"{");
            hasher.update((fields.len() as u64).to_le_bytes());
            let mut fields: Vec<_> = fields.iter().collect();
            fields.sort_unstable_by_key(|(name, _)| name.as_str());
            for (name, value) in fields {
                feed_str(hasher, name);
                feed_value(hasher, value);
            }
        }
    }
}

/// A response recorded under an idempotency key.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The request it answered.
    pub fingerprint: Fingerprint,
    /// Its status.
    pub status: u16,
    /// Its body, as sent.
    pub body: String,
    at: Instant,
}

struct Entry {
    seq: u64,
    bytes: usize,
    record: Recorded,
}

/// One workspace's records.
#[derive(Default)]
struct Workspace {
    by_key: HashMap<String, Entry>,
    /// The keys by insertion order: the first is the oldest.
    order: BTreeMap<u64, String>,
    bytes: usize,
}

/// Every workspace's records, each workspace within its own byte budget
/// and all of them within a total one.
pub struct Records {
    by_account: HashMap<WorkspaceId, Workspace>,
    /// Every record's (workspace, key) by insertion order, for expiry: the
    /// first is the oldest anywhere.
    order: BTreeMap<u64, (WorkspaceId, String)>,
    next_seq: u64,
    bytes: usize,
    budget: usize,
    workspace_budget: usize,
}

/// What a record of `body` under `key` in `account` counts against the
/// budgets: its texts as often as they are held, its field digests, and
/// the fixed allowance.
fn cost(account: &WorkspaceId, key: &str, fingerprint: &Fingerprint, body: &str) -> usize {
    2 * account.account.len()
        + 3 * key.len()
        + fingerprint.field_bytes()
        + body.len()
        + RECORD_OVERHEAD_BYTES
}

impl Records {
    /// No records yet; together they will hold at most `budget` bytes, and
    /// one workspace's at most `workspace_budget` (or `budget`, if less).
    pub fn new(budget: usize, workspace_budget: usize) -> Self {
        Self {
            by_account: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            bytes: 0,
            budget,
            workspace_budget: workspace_budget.min(budget),
        }
    }

    /// The bytes the records hold now, as counted against the budget.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The bytes the records of `account` hold now.
    pub fn account_bytes(&self, account: &WorkspaceId) -> usize {
        self.by_account.get(account).map_or(0, |ws| ws.bytes)
    }

    /// The workspaces holding records.
    pub fn accounts(&self) -> impl Iterator<Item = &WorkspaceId> {
        self.by_account.keys()
    }

    /// How many records are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The record of `key` in `account`, if still fresh.
    pub fn get(&self, account: &WorkspaceId, key: &str) -> Option<&Recorded> {
        let entry = self.by_account.get(account)?.by_key.get(key)?;
        (entry.record.at.elapsed() < IDEMPOTENCY_TTL).then_some(&entry.record)
    }

    /// Whether a write in `account` may run: only while the other
    /// workspaces' records leave this workspace's whole budget free, so
    /// that its answer can be recorded by dropping, at most, this
    /// workspace's own oldest records. Expired records are dropped first.
    pub fn admits(&mut self, account: &WorkspaceId) -> bool {
        self.expire();
        let others = self.bytes - self.account_bytes(account);
        others + self.workspace_budget <= self.budget
    }

    /// Records the answer to a write. Expired records go first, then this
    /// workspace's own oldest until it fits its budget and the total; an
    /// answer bigger than a workspace's budget is not kept at all, nor one
    /// that does not fit even so (never the case for a write
    /// [admitted](Self::admits) just before).
    pub fn insert(
        &mut self,
        account: &WorkspaceId,
        key: &str,
        fingerprint: Fingerprint,
        status: u16,
        body: String,
    ) {
        self.expire();
        self.remove(account, key);
        let bytes = cost(account, key, &fingerprint, &body);
        if bytes > self.workspace_budget {
            return;
        }
        while (self.account_bytes(account) + bytes > self.workspace_budget
            || self.bytes + bytes > self.budget)
            && self.evict_oldest_of(account)
        {}
        if self.bytes + bytes > self.budget {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, (account.clone(), key.to_owned()));
        let entry = Entry {
            seq,
            bytes,
            record: Recorded {
                fingerprint,
                status,
                body,
                at: Instant::now(),
            },
        };
        let ws = self.by_account.entry(account.clone()).or_default();
        ws.order.insert(seq, key.to_owned());
        ws.by_key.insert(key.to_owned(), entry);
        ws.bytes += bytes;
        self.bytes += bytes;
    }

    /// Drops the expired records, which are the oldest anywhere.
    fn expire(&mut self) {
        while let Some((&seq, (account, key))) = self.order.iter().next() {
            let expired = self
                .by_account
                .get(account)
                .and_then(|ws| ws.by_key.get(key))
                .is_none_or(|entry| entry.record.at.elapsed() >= IDEMPOTENCY_TTL);
            if !expired {
                break;
            }
            let (account, key) = (account.clone(), key.clone());
            self.remove(&account, &key);
            // Gone with the record, unless the two orders disagreed.
            self.order.remove(&seq);
        }
    }

    /// Drops the oldest record of `account`; `false` when it has none.
    fn evict_oldest_of(&mut self, account: &WorkspaceId) -> bool {
        let oldest = self
            .by_account
            .get(account)
            .and_then(|ws| ws.order.values().next())
            .cloned();
        match oldest {
            Some(key) => {
                self.remove(account, &key);
                true
            }
            None => false,
        }
    }

    /// Drops the record of `key` in `account`, if any, and the workspace's
    /// entry with its last record.
    fn remove(&mut self, account: &WorkspaceId, key: &str) {
        let Some(ws) = self.by_account.get_mut(account) else {
            return;
        };
        if let Some(entry) = ws.by_key.remove(key) {
            ws.order.remove(&entry.seq);
            ws.bytes -= entry.bytes;
            self.order.remove(&entry.seq);
            self.bytes -= entry.bytes;
        }
        if ws.by_key.is_empty() {
            self.by_account.remove(account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ws(account: &str) -> WorkspaceId {
        WorkspaceId::test(account)
    }

    fn fingerprint(n: usize) -> Fingerprint {
        Fingerprint::new("POST", "/api/v1/customers", &json!({ "n": n }))
    }

    #[test]
    fn fingerprints_ignore_spelling_but_not_content() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":{"c":[1,"x"]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{ "b": {"c": [1, "x"]}, "a": 1 }"#).unwrap();
        let path = "/api/v1/customers";
        assert_eq!(
            Fingerprint::new("POST", path, &a),
            Fingerprint::new("POST", path, &b)
        );
        assert_ne!(
            Fingerprint::new("POST", path, &a),
            Fingerprint::new("PATCH", path, &a)
        );
        assert_ne!(
            Fingerprint::new("POST", path, &json!("1")),
            Fingerprint::new("POST", path, &json!(1))
        );
        assert_ne!(
            Fingerprint::new("POST", "/a", &json!(["b"])),
            Fingerprint::new("POST", "/ab", &json!([""]))
        );
    }

    #[test]
    fn the_budget_is_never_exceeded_and_the_oldest_go_first() {
        let body = "x".repeat(1000);
        let one = cost(&ws("acct"), "k0000", &fingerprint(0), &body);
        let budget = one * 10 + one / 2;
        let mut records = Records::new(budget, budget);
        for n in 0..100 {
            records.insert(
                &ws("acct"),
                &format!("k{n:04}"),
                fingerprint(n),
                201,
                body.clone(),
            );
            assert!(records.bytes() <= budget, "{} > {budget}", records.bytes());
        }
        assert_eq!(records.len(), 10);
        assert_eq!(records.bytes(), one * 10);
        // The newest ten are kept, the older ones are gone.
        for n in 0..90 {
            assert!(
                records.get(&ws("acct"), &format!("k{n:04}")).is_none(),
                "{n}"
            );
        }
        for n in 90..100 {
            let rec = records.get(&ws("acct"), &format!("k{n:04}")).unwrap();
            assert_eq!(rec.fingerprint, fingerprint(n));
        }
        // Another workspace never makes room by evicting these: it is not
        // admitted, and a record it tries anyway is not kept.
        assert!(!records.admits(&ws("acct2")));
        records.insert(&ws("acct2"), "k0000", fingerprint(0), 201, body.clone());
        assert!(records.get(&ws("acct2"), "k0000").is_none());
        assert!(records.get(&ws("acct"), "k0090").is_some());
        assert!(records.admits(&ws("acct")));
        assert!(records.bytes() <= budget);
    }

    #[test]
    fn each_workspace_evicts_only_its_own_records() {
        let body = "x".repeat(1000);
        let one = cost(&ws("acct_a"), "k0000", &fingerprint(0), &body);
        let (total, each) = (one * 40, one * 10);
        let mut records = Records::new(total, each);
        records.insert(&ws("acct_b"), "kept", fingerprint(0), 200, body.clone());
        for n in 0..1000 {
            assert!(records.admits(&ws("acct_a")), "{n}");
            records.insert(
                &ws("acct_a"),
                &format!("k{n:04}"),
                fingerprint(n),
                201,
                body.clone(),
            );
            assert!(records.account_bytes(&ws("acct_a")) <= each);
            assert!(records.bytes() <= total);
        }
        // acct_a kept its newest ten; acct_b's record was never touched.
        assert_eq!(records.account_bytes(&ws("acct_a")), one * 10);
        assert!(records.get(&ws("acct_a"), "k0990").is_some());
        assert!(records.get(&ws("acct_a"), "k0989").is_none());
        assert_eq!(records.get(&ws("acct_b"), "kept").unwrap().status, 200);
    }

    #[test]
    fn writes_are_admitted_only_while_the_others_leave_a_whole_budget() {
        let body = "x".repeat(1000);
        let one = cost(&ws("acct_0"), "k1", &fingerprint(0), &body);
        let (total, each) = (one * 4, one * 2);
        let mut records = Records::new(total, each);
        records.insert(&ws("acct_0"), "k1", fingerprint(0), 201, body.clone());
        records.insert(&ws("acct_1"), "k1", fingerprint(1), 201, body.clone());
        // Two records elsewhere leave exactly one budget free.
        assert!(records.admits(&ws("acct_2")));
        records.insert(&ws("acct_2"), "k1", fingerprint(2), 201, body.clone());
        assert!(
            !records.admits(&ws("acct_3")),
            "three records leave less than a budget"
        );
        // A workspace already holding records may still write: it makes
        // room from its own.
        assert!(records.admits(&ws("acct_2")));
        records.insert(&ws("acct_2"), "k2", fingerprint(3), 201, body.clone());
        records.insert(&ws("acct_2"), "k3", fingerprint(4), 201, body.clone());
        assert_eq!(records.account_bytes(&ws("acct_2")), one * 2);
        assert!(records.get(&ws("acct_0"), "k1").is_some());
        assert!(records.get(&ws("acct_1"), "k1").is_some());
        assert!(records.bytes() <= total);
    }

    #[test]
    fn a_workspace_entry_goes_with_its_last_record() {
        let mut records = Records::new(1 << 20, 1 << 10);
        records.insert(&ws("acct"), "k", fingerprint(0), 201, "x".repeat(600));
        records.insert(&ws("acct"), "k2", fingerprint(1), 201, "x".repeat(600));
        assert_eq!(records.accounts().count(), 1);
        assert_eq!(records.len(), 1, "the older record made room");
        records.remove(&ws("acct"), "k2");
        assert_eq!(records.accounts().count(), 0);
        assert_eq!((records.len(), records.bytes()), (0, 0));
    }

    #[test]
    fn an_answer_bigger_than_the_budget_is_not_kept() {
        let mut records = Records::new(1024, 1024);
        records.insert(&ws("acct"), "small", fingerprint(0), 201, String::new());
        records.insert(&ws("acct"), "big", fingerprint(1), 201, "x".repeat(2048));
        assert!(records.get(&ws("acct"), "big").is_none());
        assert!(
            records.get(&ws("acct"), "small").is_some(),
            "nothing evicted for it"
        );
    }

    #[test]
    fn a_record_of_a_huge_path_holds_as_much_as_one_of_a_short_path() {
        let huge = format!("/api/v1/customers/cus_{}", "x".repeat(1 << 20));
        let body = r#"{"data":null,"error":{"code":"conflict"}}"#.to_owned();
        let mut short_records = Records::new(1 << 30, 1 << 30);
        let mut huge_records = Records::new(1 << 30, 1 << 30);
        let short_fp = Fingerprint::new("PATCH", "/api/v1/customers/cus_1", &json!({}));
        let huge_fp = Fingerprint::new("PATCH", &huge, &json!({}));
        short_records.insert(&ws("acct"), "k", short_fp.clone(), 409, body.clone());
        huge_records.insert(&ws("acct"), "k", huge_fp.clone(), 409, body);
        assert_eq!(huge_records.bytes(), short_records.bytes());
        assert!(huge_records.bytes() < 1024);
        assert_ne!(huge_fp, short_fp);
    }

    #[test]
    fn field_digests_are_bounded_whatever_the_body() {
        let path = "/api/v1/customers";
        let huge = "x".repeat(1 << 20);
        let small = Fingerprint::new("POST", path, &json!({ "name": "n" }));
        let big = Fingerprint::new("POST", path, &json!({ "name": huge }));
        assert_eq!(small.field_bytes(), big.field_bytes());
        // Many fields, or a long name: no field digests at all.
        let many: serde_json::Map<_, _> = (0..=MAX_FIELD_DIGESTS)
            .map(|i| (format!("f{i}"), json!(i)))
            .collect();
        assert_eq!(
            Fingerprint::new("POST", path, &Value::Object(many)).field_bytes(),
            0
        );
        let long_name = json!({ "n".repeat(MAX_FIELD_NAME_BYTES + 1): 1 });
        assert_eq!(Fingerprint::new("POST", path, &long_name).field_bytes(), 0);
        let most: serde_json::Map<_, _> = (0..MAX_FIELD_DIGESTS)
            .map(|i| {
                (
                    format!("{i:0>width$}", width = MAX_FIELD_NAME_BYTES),
                    json!(i),
                )
            })
            .collect();
        let most = Fingerprint::new("POST", path, &Value::Object(most));
        assert_eq!(
            most.field_bytes(),
            MAX_FIELD_DIGESTS * (MAX_FIELD_NAME_BYTES + 24)
        );
    }

    #[test]
    fn a_difference_names_the_first_differing_field() {
        let path = "/api/v1/customers";
        let fp = |body: Value| Fingerprint::new("POST", path, &body);
        let first = fp(json!({ "name": "a", "email": "e", "metadata": { "k": "1" } }));
        let same = fp(json!({ "metadata": { "k": "1" }, "email": "e", "name": "a" }));
        assert_eq!(first.difference(&same), None);
        let field = |name: &str| Some(Difference::Field(name.into()));
        let other = fp(json!({ "name": "b", "email": "e", "metadata": { "k": "1" } }));
        assert_eq!(first.difference(&other), field("name"));
        let other = fp(json!({ "name": "a", "email": "e", "metadata": { "k": "2" } }));
        assert_eq!(first.difference(&other), field("metadata"));
        let fewer = fp(json!({ "name": "a", "metadata": { "k": "1" } }));
        assert_eq!(first.difference(&fewer), field("email"));
        assert_eq!(fewer.difference(&first), field("email"));
        let more = fp(json!({ "name": "a", "email": "e", "metadata": { "k": "1" }, "phone": "1" }));
        assert_eq!(first.difference(&more), field("phone"));
        // Two differ: the first by name.
        let two = fp(json!({ "name": "b", "email": "f", "metadata": { "k": "1" } }));
        assert_eq!(first.difference(&two), field("email"));
        let elsewhere =
            Fingerprint::new("PATCH", "/api/v1/customers/cus_1", &json!({ "name": "a" }));
        assert_eq!(first.difference(&elsewhere), Some(Difference::Target));
        assert_eq!(
            fp(json!([1])).difference(&fp(json!([2]))),
            Some(Difference::Body)
        );
        assert_eq!(first.difference(&fp(Value::Null)), Some(Difference::Body));
    }

    #[test]
    fn recording_a_key_again_replaces_its_record() {
        let mut records = Records::new(1 << 20, 1 << 20);
        records.insert(&ws("acct"), "k", fingerprint(0), 201, "a".into());
        let bytes = records.bytes();
        records.insert(&ws("acct"), "k", fingerprint(1), 201, "b".into());
        assert_eq!((records.len(), records.bytes()), (1, bytes));
        assert_eq!(
            records.get(&ws("acct"), "k").unwrap().fingerprint,
            fingerprint(1)
        );
    }
}

//! The recorded answers of idempotent writes, by workspace and key: each
//! fresh for [`IDEMPOTENCY_TTL`], each workspace's within its own byte
//! budget and all of them within a total one.
//!
//! Workspaces are kept apart: a workspace makes room for a new record only
//! by dropping its own oldest records, never another's, and a write is
//! [admitted](Records::admits) only while the other workspaces leave its
//! whole budget free, so the record of an admitted write always fits. A
//! flood of writes in one workspace therefore cannot make another's key
//! unknown again (and its request execute twice).
//!
//! A record keeps a fixed-size digest of its request (method, path, body),
//! not the request itself, so its size does not follow the request's: only
//! the workspace id, the key (both bounded) and the recorded answer count.
//! A key whose record was dropped — expired, or evicted by its own
//! workspace's newer records — is unknown again: its request executes
//! again, like one with a fresh key.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What each record costs beyond its text: the map entries and order entry
/// holding it, its digest, status and time (an allowance, not a measure).
const RECORD_OVERHEAD_BYTES: usize = 256;

/// A request's identity for idempotency: the same key may only replay the
/// same method, path and (semantically equal) JSON body. A SHA-256 digest,
/// so it is the same size for any request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `method path` with `body`; objects' key order and
    /// the body's white space do not matter.
    pub fn new(method: &str, path: &str, body: &Value) -> Self {
        let mut hasher = Sha256::new();
        feed_str(&mut hasher, method);
        feed_str(&mut hasher, path);
        feed_value(&mut hasher, body);
        Self(hasher.finalize().into())
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
    by_account: HashMap<String, Workspace>,
    /// Every record's (account, key) by insertion order, for expiry: the
    /// first is the oldest anywhere.
    order: BTreeMap<u64, (String, String)>,
    next_seq: u64,
    bytes: usize,
    budget: usize,
    workspace_budget: usize,
}

/// What a record of `body` under `key` in `account` counts against the
/// budgets: its texts as often as they are held, and the fixed allowance.
fn cost(account: &str, key: &str, body: &str) -> usize {
    2 * account.len() + 3 * key.len() + body.len() + RECORD_OVERHEAD_BYTES
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
    pub fn account_bytes(&self, account: &str) -> usize {
        self.by_account.get(account).map_or(0, |ws| ws.bytes)
    }

    /// The workspaces holding records.
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.by_account.keys().map(String::as_str)
    }

    /// How many records are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The record of `key` in `account`, if still fresh.
    pub fn get(&self, account: &str, key: &str) -> Option<&Recorded> {
        let entry = self.by_account.get(account)?.by_key.get(key)?;
        (entry.record.at.elapsed() < IDEMPOTENCY_TTL).then_some(&entry.record)
    }

    /// Whether a write in `account` may run: only while the other
    /// workspaces' records leave this workspace's whole budget free, so
    /// that its answer can be recorded by dropping, at most, this
    /// workspace's own oldest records. Expired records are dropped first.
    pub fn admits(&mut self, account: &str) -> bool {
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
        account: &str,
        key: &str,
        fingerprint: Fingerprint,
        status: u16,
        body: String,
    ) {
        self.expire();
        self.remove(account, key);
        let bytes = cost(account, key, &body);
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
        self.order.insert(seq, (account.to_owned(), key.to_owned()));
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
        let ws = self.by_account.entry(account.to_owned()).or_default();
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
    fn evict_oldest_of(&mut self, account: &str) -> bool {
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
    fn remove(&mut self, account: &str, key: &str) {
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
        let one = cost("acct", "k0000", &body);
        let budget = one * 10 + one / 2;
        let mut records = Records::new(budget, budget);
        for n in 0..100 {
            records.insert(
                "acct",
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
            assert!(records.get("acct", &format!("k{n:04}")).is_none(), "{n}");
        }
        for n in 90..100 {
            let rec = records.get("acct", &format!("k{n:04}")).unwrap();
            assert_eq!(rec.fingerprint, fingerprint(n));
        }
        // Another workspace never makes room by evicting these: it is not
        // admitted, and a record it tries anyway is not kept.
        assert!(!records.admits("acct2"));
        records.insert("acct2", "k0000", fingerprint(0), 201, body.clone());
        assert!(records.get("acct2", "k0000").is_none());
        assert!(records.get("acct", "k0090").is_some());
        assert!(records.admits("acct"));
        assert!(records.bytes() <= budget);
    }

    #[test]
    fn each_workspace_evicts_only_its_own_records() {
        let body = "x".repeat(1000);
        let one = cost("acct_a", "k0000", &body);
        let (total, each) = (one * 40, one * 10);
        let mut records = Records::new(total, each);
        records.insert("acct_b", "kept", fingerprint(0), 200, body.clone());
        for n in 0..1000 {
            assert!(records.admits("acct_a"), "{n}");
            records.insert(
                "acct_a",
                &format!("k{n:04}"),
                fingerprint(n),
                201,
                body.clone(),
            );
            assert!(records.account_bytes("acct_a") <= each);
            assert!(records.bytes() <= total);
        }
        // acct_a kept its newest ten; acct_b's record was never touched.
        assert_eq!(records.account_bytes("acct_a"), one * 10);
        assert!(records.get("acct_a", "k0990").is_some());
        assert!(records.get("acct_a", "k0989").is_none());
        assert_eq!(records.get("acct_b", "kept").unwrap().status, 200);
    }

    #[test]
    fn writes_are_admitted_only_while_the_others_leave_a_whole_budget() {
        let body = "x".repeat(1000);
        let one = cost("acct_0", "k1", &body);
        let (total, each) = (one * 4, one * 2);
        let mut records = Records::new(total, each);
        records.insert("acct_0", "k1", fingerprint(0), 201, body.clone());
        records.insert("acct_1", "k1", fingerprint(1), 201, body.clone());
        // Two records elsewhere leave exactly one budget free.
        assert!(records.admits("acct_2"));
        records.insert("acct_2", "k1", fingerprint(2), 201, body.clone());
        assert!(
            !records.admits("acct_3"),
            "three records leave less than a budget"
        );
        // A workspace already holding records may still write: it makes
        // room from its own.
        assert!(records.admits("acct_2"));
        records.insert("acct_2", "k2", fingerprint(3), 201, body.clone());
        records.insert("acct_2", "k3", fingerprint(4), 201, body.clone());
        assert_eq!(records.account_bytes("acct_2"), one * 2);
        assert!(records.get("acct_0", "k1").is_some());
        assert!(records.get("acct_1", "k1").is_some());
        assert!(records.bytes() <= total);
    }

    #[test]
    fn a_workspace_entry_goes_with_its_last_record() {
        let mut records = Records::new(1 << 20, 1 << 10);
        records.insert("acct", "k", fingerprint(0), 201, "x".repeat(600));
        records.insert("acct", "k2", fingerprint(1), 201, "x".repeat(600));
        assert_eq!(records.accounts().count(), 1);
        assert_eq!(records.len(), 1, "the older record made room");
        records.remove("acct", "k2");
        assert_eq!(records.accounts().count(), 0);
        assert_eq!((records.len(), records.bytes()), (0, 0));
    }

    #[test]
    fn an_answer_bigger_than_the_budget_is_not_kept() {
        let mut records = Records::new(1024, 1024);
        records.insert("acct", "small", fingerprint(0), 201, String::new());
        records.insert("acct", "big", fingerprint(1), 201, "x".repeat(2048));
        assert!(records.get("acct", "big").is_none());
        assert!(
            records.get("acct", "small").is_some(),
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
        short_records.insert("acct", "k", short_fp, 409, body.clone());
        huge_records.insert("acct", "k", huge_fp, 409, body);
        assert_eq!(huge_records.bytes(), short_records.bytes());
        assert!(huge_records.bytes() < 1024);
        assert_eq!(std::mem::size_of_val(&huge_fp), 32);
        assert_ne!(huge_fp, short_fp);
    }

    #[test]
    fn recording_a_key_again_replaces_its_record() {
        let mut records = Records::new(1 << 20, 1 << 20);
        records.insert("acct", "k", fingerprint(0), 201, "a".into());
        let bytes = records.bytes();
        records.insert("acct", "k", fingerprint(1), 201, "b".into());
        assert_eq!((records.len(), records.bytes()), (1, bytes));
        assert_eq!(
            records.get("acct", "k").unwrap().fingerprint,
            fingerprint(1)
        );
    }
}

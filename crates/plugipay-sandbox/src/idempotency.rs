//! The recorded answers of idempotent writes, by workspace and key: each
//! fresh for [`IDEMPOTENCY_TTL`], all together within a byte budget, the
//! oldest dropped first when either runs out.
//!
//! A record keeps a fixed-size digest of its request (method, path, body),
//! not the request itself, so its size does not follow the request's: only
//! the workspace id, the key (both bounded) and the recorded answer count.
//! A key whose record was dropped — expired or evicted — is unknown again:
//! its request executes again, like one with a fresh key.

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

/// Every workspace's records, oldest first within a byte budget.
pub struct Records {
    by_account: HashMap<String, HashMap<String, Entry>>,
    /// (account, key) by insertion order: the front is the oldest.
    order: BTreeMap<u64, (String, String)>,
    next_seq: u64,
    bytes: usize,
    budget: usize,
}

/// What a record of `body` under `key` in `account` counts against the
/// budget: its texts as often as they are held, and the fixed allowance.
fn cost(account: &str, key: &str, body: &str) -> usize {
    2 * (account.len() + key.len()) + body.len() + RECORD_OVERHEAD_BYTES
}

impl Records {
    /// No records yet; together they will hold at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Self {
            by_account: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            bytes: 0,
            budget,
        }
    }

    /// The bytes the records hold now, as counted against the budget.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many records are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The record of `key` in `account`, if still fresh.
    pub fn get(&self, account: &str, key: &str) -> Option<&Recorded> {
        let entry = self.by_account.get(account)?.get(key)?;
        (entry.record.at.elapsed() < IDEMPOTENCY_TTL).then_some(&entry.record)
    }

    /// Records the answer to a write. Expired records go first, then the
    /// oldest until it fits; an answer bigger than the whole budget is not
    /// kept at all.
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
        if bytes > self.budget {
            return;
        }
        while self.bytes + bytes > self.budget && self.evict_oldest() {}
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
        self.by_account
            .entry(account.to_owned())
            .or_default()
            .insert(key.to_owned(), entry);
        self.bytes += bytes;
    }

    /// Drops the expired records, which are the oldest.
    fn expire(&mut self) {
        while let Some((account, key)) = self.order.values().next() {
            let expired = self
                .by_account
                .get(account)
                .and_then(|keys| keys.get(key))
                .is_none_or(|entry| entry.record.at.elapsed() >= IDEMPOTENCY_TTL);
            if !expired {
                break;
            }
            self.evict_oldest();
        }
    }

    /// Drops the oldest record; `false` when there is none.
    fn evict_oldest(&mut self) -> bool {
        match self.order.pop_first() {
            Some((_, (account, key))) => {
                self.forget(&account, &key);
                true
            }
            None => false,
        }
    }

    /// Drops the record of `key` in `account`, if any.
    fn remove(&mut self, account: &str, key: &str) {
        if let Some(seq) = self
            .by_account
            .get(account)
            .and_then(|keys| keys.get(key))
            .map(|entry| entry.seq)
        {
            self.order.remove(&seq);
            self.forget(account, key);
        }
    }

    /// Removes the entry (its order entry is already gone).
    fn forget(&mut self, account: &str, key: &str) {
        let Some(keys) = self.by_account.get_mut(account) else {
            return;
        };
        if let Some(entry) = keys.remove(key) {
            self.bytes -= entry.bytes;
        }
        if keys.is_empty() {
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
        let mut records = Records::new(budget);
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
        // Across workspaces too: the oldest record anywhere goes first.
        records.insert("acct2", "k0000", fingerprint(0), 201, body.clone());
        assert!(records.get("acct", "k0090").is_none());
        assert!(records.get("acct2", "k0000").is_some());
        assert!(records.bytes() <= budget);
    }

    #[test]
    fn an_answer_bigger_than_the_budget_is_not_kept() {
        let mut records = Records::new(1024);
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
        let mut short_records = Records::new(1 << 30);
        let mut huge_records = Records::new(1 << 30);
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
        let mut records = Records::new(1 << 20);
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

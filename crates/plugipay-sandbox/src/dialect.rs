//! Which published reading of Plugipay the sandbox speaks where Plugipay's
//! own sources disagree: the official SDKs' (the default) or the reference
//! pages' (list paging in `meta.page`, UPPER-case error codes, events in
//! the API page's envelope with bare types).

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// A reading of the wire protocol (`--dialect sdk|docs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// As the official SDKs' code reads and writes it: `meta.cursor` and
    /// `meta.hasMore`; codes in lower case; events `{id, type:
    /// "plugipay.customer.created.v1", accountId, occurredAt, data: {object,
    /// aggregateType, aggregateId}}`.
    #[default]
    Sdk,
    /// As Plugipay's reference pages show it: `meta.page = {limit, hasMore,
    /// nextCursor}`; codes in UPPER case (the error catalog); events `{id,
    /// type: "customer.created", createdAt, workspaceId, data: <the
    /// customer>, previousAttributes}` (the last on updates).
    Docs,
}

impl Dialect {
    /// Both readings, the default first.
    pub const ALL: [Dialect; 2] = [Dialect::Sdk, Dialect::Docs];

    /// `sdk` or `docs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sdk => "sdk",
            Dialect::Docs => "docs",
        }
    }

    /// An error code as this reading writes it.
    pub(crate) fn code(self, code: &str) -> String {
        match self {
            Dialect::Sdk => code.to_owned(),
            Dialect::Docs => code.to_ascii_uppercase(),
        }
    }

    /// The paging members of a list page's `meta`: a cursor to the next
    /// page when more follow, on pages of at most `limit` items.
    pub(crate) fn paging(self, limit: usize, next: Option<String>) -> Map<String, Value> {
        let has_more = next.is_some();
        let mut meta = Map::new();
        match self {
            Dialect::Sdk => {
                meta.insert("cursor".into(), json!(next));
                meta.insert("hasMore".into(), json!(has_more));
            }
            Dialect::Docs => {
                meta.insert(
                    "page".into(),
                    json!({"limit": limit, "hasMore": has_more, "nextCursor": next}),
                );
            }
        }
        meta
    }

    /// An event about a customer, as this reading serves it (events API
    /// and webhook deliveries alike).
    pub(crate) fn event(self, event: &EventParts<'_>) -> Value {
        let at = event.at.to_rfc3339_opts(SecondsFormat::Millis, true);
        match self {
            Dialect::Sdk => json!({
                "id": event.id,
                "type": event.kind,
                "accountId": event.account,
                "occurredAt": at,
                "data": {
                    "object": event.object,
                    "aggregateType": "customer",
                    "aggregateId": event.object_id,
                }
            }),
            Dialect::Docs => {
                let bare = event
                    .kind
                    .strip_prefix("plugipay.")
                    .and_then(|k| k.strip_suffix(".v1"))
                    .unwrap_or(event.kind);
                let mut fields = json!({
                    "id": event.id,
                    "type": bare,
                    "createdAt": at,
                    "workspaceId": event.account,
                    "data": event.object,
                });
                if let (Some(previous), Value::Object(fields)) = (event.previous, &mut fields) {
                    fields.insert("previousAttributes".into(), Value::Object(previous.clone()));
                }
                fields
            }
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sdk" => Ok(Dialect::Sdk),
            "docs" => Ok(Dialect::Docs),
            other => Err(format!("{other:?} is not a dialect: sdk or docs")),
        }
    }
}

/// What an event says, before a dialect writes it.
pub(crate) struct EventParts<'a> {
    pub id: &'a str,
    /// The type as the official SDKs spell it.
    pub kind: &'a str,
    pub account: &'a str,
    pub at: DateTime<Utc>,
    /// The customer, as served.
    pub object: &'a Value,
    pub object_id: &'a str,
    /// On an update: the fields it changed, with their values before.
    pub previous: Option<&'a Map<String, Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_readings_of_one_event() {
        let object = json!({"id": "cus_1", "name": "Ani"});
        let previous = Map::from_iter([("name".to_owned(), json!("Ana"))]);
        let parts = EventParts {
            id: "evt_1",
            kind: "plugipay.customer.updated.v1",
            account: "acct_1",
            at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            object: &object,
            object_id: "cus_1",
            previous: Some(&previous),
        };
        let sdk = Dialect::Sdk.event(&parts);
        assert_eq!(sdk["type"], "plugipay.customer.updated.v1");
        assert_eq!(sdk["data"]["object"], object);
        assert_eq!(sdk["accountId"], "acct_1");
        assert!(sdk.get("previousAttributes").is_none());
        let docs = Dialect::Docs.event(&parts);
        assert_eq!(docs["type"], "customer.updated");
        assert_eq!(docs["data"], object);
        assert_eq!(docs["workspaceId"], "acct_1");
        assert_eq!(docs["createdAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(docs["previousAttributes"]["name"], "Ana");
    }

    #[test]
    fn paging_and_codes() {
        let sdk = Dialect::Sdk.paging(10, Some("c".into()));
        assert_eq!(Value::Object(sdk), json!({"cursor": "c", "hasMore": true}));
        let docs = Dialect::Docs.paging(10, None);
        assert_eq!(
            Value::Object(docs),
            json!({"page": {"limit": 10, "hasMore": false, "nextCursor": null}})
        );
        assert_eq!(Dialect::Docs.code("not_found"), "NOT_FOUND");
        assert_eq!(Dialect::Sdk.code("not_found"), "not_found");
        assert_eq!("DOCS".parse::<Dialect>(), Ok(Dialect::Docs));
        assert!("stripe".parse::<Dialect>().is_err());
    }
}

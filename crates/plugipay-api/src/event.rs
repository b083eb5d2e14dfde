//! One typed event, whatever envelope Plugipay sends it in: the events
//! API's list and get answers and webhook deliveries alike.
//!
//! The official SDKs' envelope is `{id, type: "plugipay.customer.created.v1",
//! accountId, occurredAt, data: {object, aggregateType, aggregateId}}`;
//! Plugipay's API reference page shows `{id, type: "customer.created",
//! createdAt, workspaceId, data: <the object>, previousAttributes}`. An
//! [`Event`] reads either (the generated client's events answers are this
//! type: the spec's `Event` schema names it with `x-rust-type`), and
//! serialises back to what was received.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::types::Customer;

/// The type of an event, from either spelling Plugipay uses: the SDKs'
/// `plugipay.customer.created.v1` or the API reference's `customer.created`
/// (in any case).
///
/// ```
/// use plugipay_api::event::EventType;
///
/// let created: EventType = "plugipay.customer.created.v1".parse().unwrap();
/// assert_eq!(created, EventType::CustomerCreated);
/// assert_eq!(EventType::from("Customer.Created"), EventType::CustomerCreated);
/// assert_eq!(created.as_str(), "plugipay.customer.created.v1");
/// assert_eq!(EventType::from("invoice.paid"), EventType::Other("invoice.paid".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// `plugipay.customer.created.v1` / `customer.created`.
    CustomerCreated,
    /// `plugipay.customer.updated.v1` / `customer.updated`.
    CustomerUpdated,
    /// `plugipay.customer.deleted.v1` / `customer.deleted`: the event
    /// carries the customer as it was before.
    CustomerDeleted,
    /// Any other type, as sent: new types pass through.
    Other(String),
}

impl EventType {
    /// The type as the official SDKs spell it (`plugipay.customer.created.v1`),
    /// or as sent for [`Other`](Self::Other).
    pub fn as_str(&self) -> &str {
        use crate::webhook::event_type as t;
        match self {
            Self::CustomerCreated => t::CUSTOMER_CREATED,
            Self::CustomerUpdated => t::CUSTOMER_UPDATED,
            Self::CustomerDeleted => t::CUSTOMER_DELETED,
            Self::Other(other) => other,
        }
    }

    /// Whether the event is about a customer (one of the three customer types).
    pub fn is_customer(&self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

impl From<&str> for EventType {
    fn from(value: &str) -> Self {
        let lower = value.trim().to_ascii_lowercase();
        let bare = lower.strip_prefix("plugipay.").unwrap_or(&lower);
        let bare = bare.strip_suffix(".v1").unwrap_or(bare);
        match bare {
            "customer.created" => Self::CustomerCreated,
            "customer.updated" => Self::CustomerUpdated,
            "customer.deleted" => Self::CustomerDeleted,
            _ => Self::Other(value.to_owned()),
        }
    }
}

impl FromStr for EventType {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(value.into())
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event, from either envelope Plugipay documents: the SDKs' `{id, type,
/// accountId, occurredAt, data: {object, aggregateType, aggregateId}}` or the
/// API reference's `{id, type, createdAt, workspaceId, data,
/// previousAttributes}`. Only `id` and `type` are required; the whole event,
/// parsed, is kept in [`raw`](Self::raw) (and is what the event serialises
/// to). Parsed JSON keeps values, not bytes: key order and integers past
/// 64 bits are not kept, so keep the body you verified if you need it
/// exactly.
///
/// ```
/// use plugipay_api::event::{Event, EventType};
///
/// let event = Event::from_slice(br#"{"id":"evt_9","type":"customer.updated","workspaceId":"acct_1",
///     "createdAt":"2026-01-05T10:00:00Z","data":{"id":"cus_1","accountId":"acct_1",
///     "createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-05T10:00:00Z","name":"Alice"},
///     "previousAttributes":{"name":"Alicia"}}"#).unwrap();
/// assert_eq!(event.event_type, EventType::CustomerUpdated);
/// assert_eq!(event.account_id.as_deref(), Some("acct_1"));
/// assert_eq!(event.customer().unwrap().unwrap().name.as_deref(), Some("Alice"));
/// assert_eq!(event.previous_attributes.unwrap()["name"], "Alicia");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// `evt_…`: every delivery of one event carries it; deduplicate on it.
    pub id: String,
    /// The type, parsed from `type`.
    pub event_type: EventType,
    /// The workspace the event happened in (`accountId` or `workspaceId`).
    pub account_id: Option<String>,
    /// When it happened (`occurredAt` or `createdAt`), when it is an RFC
    /// 3339 time.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The object the event carries: `data.object` in the SDKs' envelope
    /// (`None` when it is null or absent), `data` itself in the API
    /// reference's.
    pub object: Option<Map<String, Value>>,
    /// What kind of thing the object is (`data.aggregateType`), when given.
    pub aggregate_type: Option<String>,
    /// The object's id (`data.aggregateId`), when given.
    pub aggregate_id: Option<String>,
    /// The fields an update changed, with their values before it
    /// (`previousAttributes`), when given.
    pub previous_attributes: Option<Map<String, Value>>,
    /// The whole event, parsed (values as sent; not the bytes).
    pub raw: Value,
}

impl Event {
    /// Reads an event from a body's bytes, without checking any signature
    /// (use `plugipay::webhooks::Verifier` on deliveries).
    pub fn from_slice(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// Reads an event from JSON already parsed.
    pub fn from_value(raw: Value) -> Result<Self, String> {
        let Value::Object(fields) = &raw else {
            return Err("the event is not a JSON object".to_owned());
        };
        let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
        let id = text("id").ok_or("the event has no string `id`")?;
        let event_type = text("type").ok_or("the event has no string `type`")?;
        let account_id = text("accountId").or_else(|| text("workspaceId"));
        let occurred_at = text("occurredAt")
            .or_else(|| text("createdAt"))
            .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
            .map(|at| at.with_timezone(&Utc));
        let data = fields.get("data").and_then(Value::as_object);
        // The SDKs' envelope wraps the object (`data.object`, perhaps null
        // for a delete) beside `aggregateType` / `aggregateId`; the API
        // reference's sends the object as `data` itself.
        // A customer sent as `data` may have a field named `object` (a
        // string, `"customer"`): only an object or null there is a wrapper's.
        let wrapper = data.filter(|d| {
            d.contains_key("aggregateType")
                || d.contains_key("aggregateId")
                || d.get("object")
                    .is_some_and(|o| o.is_object() || o.is_null())
        });
        let object = match wrapper {
            Some(wrapper) => wrapper.get("object").and_then(Value::as_object),
            None => data,
        }
        .cloned();
        let in_data = |key: &str| {
            wrapper
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let previous_attributes = fields
            .get("previousAttributes")
            .or_else(|| data.and_then(|d| d.get("previousAttributes")))
            .and_then(Value::as_object)
            .cloned();
        Ok(Self {
            id,
            event_type: EventType::from(event_type.as_str()),
            account_id,
            occurred_at,
            object,
            aggregate_type: in_data("aggregateType"),
            aggregate_id: in_data("aggregateId"),
            previous_attributes,
            raw,
        })
    }

    /// The id of the object the event is about: `data.aggregateId`, or the
    /// object's `id`.
    pub fn object_id(&self) -> Option<&str> {
        self.aggregate_id
            .as_deref()
            .or_else(|| self.object.as_ref()?.get("id")?.as_str())
    }

    /// The customer the event carries, decoded as leniently as the
    /// customers API's answers (a missing `accountId` is the event's).
    /// `Ok(None)` when the event is not about a customer (by its type or
    /// `aggregateType`) or carries no object.
    pub fn customer(&self) -> Result<Option<Customer>, serde_json::Error> {
        let about_customer = self.event_type.is_customer()
            || self
                .aggregate_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("customer"));
        let Some(object) = self.object.as_ref().filter(|_| about_customer) else {
            return Ok(None);
        };
        let mut object = object.clone();
        if let Some(account) = &self.account_id {
            object
                .entry("accountId")
                .or_insert_with(|| Value::String(account.clone()));
        }
        serde_json::from_value(Value::Object(object)).map(Some)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Event {
    fn schema_name() -> String {
        "Event".to_owned()
    }

    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        // Either envelope: an object with at least an id and a type.
        let mut schema = schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::Object.into()),
            ..Default::default()
        };
        let object = schema.object();
        object.required.insert("id".to_owned());
        object.required.insert("type".to_owned());
        schema.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_envelopes_read_as_one_event() {
        let sdk = Event::from_slice(
            br#"{"id":"evt_1","type":"plugipay.customer.deleted.v1","accountId":"acct_1",
                 "occurredAt":"2026-01-05T10:00:00.123Z",
                 "data":{"object":{"id":"cus_1","accountId":"acct_1","createdAt":"2026-01-01T00:00:00Z",
                 "updatedAt":"2026-01-01T00:00:00Z"},"aggregateType":"customer","aggregateId":"cus_1"}}"#,
        )
        .unwrap();
        let docs = Event::from_slice(
            br#"{"id":"evt_1","type":"CUSTOMER.DELETED","workspaceId":"acct_1",
                 "createdAt":"2026-01-05T10:00:00.123Z",
                 "data":{"id":"cus_1","accountId":"acct_1","createdAt":"2026-01-01T00:00:00Z",
                 "updatedAt":"2026-01-01T00:00:00Z"}}"#,
        )
        .unwrap();
        for event in [&sdk, &docs] {
            assert_eq!(event.event_type, EventType::CustomerDeleted);
            assert_eq!(event.account_id.as_deref(), Some("acct_1"));
            assert_eq!(event.object_id(), Some("cus_1"));
            assert_eq!(
                event.occurred_at.map(|t| t.timestamp_millis()),
                Some(1_767_607_200_123)
            );
            assert_eq!(event.customer().unwrap().unwrap().id, "cus_1");
        }
        // Each serialises back to what it was.
        assert_eq!(
            serde_json::to_value(&docs).unwrap()["workspaceId"],
            "acct_1"
        );
        assert!(Event::from_slice(br#"{"type":"x"}"#).is_err());
        assert!(Event::from_slice(b"[]").is_err());
    }
}

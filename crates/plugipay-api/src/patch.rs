//! The PATCH body of `update_customer`, where every field is absent, `null`
//! or a value.
//!
//! typify turns an optional nullable field into an `Option` that skips `None`,
//! so it could never send `null`: the generator writes [`UpdateCustomerRequest`]
//! itself, with [`Patch`] fields (its `patches` pass), and progenitor uses it.
//!
//! ```
//! use plugipay_api::patch::{Patch, UpdateCustomerRequest};
//!
//! let body = UpdateCustomerRequest {
//!     name: Patch::Set("Alice T. Wijaya".to_owned()),
//!     phone: Patch::Null,
//!     ..Default::default()
//! };
//! assert_eq!(
//!     serde_json::to_string(&body).unwrap(),
//!     r#"{"name":"Alice T. Wijaya","phone":null}"#
//! );
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One field of a patch: left alone, cleared, or set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not sent: the server leaves the field as it is.
    #[default]
    Absent,
    /// Sent as `null`: the server clears the field.
    Null,
    /// Sent as a value: the server sets the field.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the field is left out of the body.
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// The value, if set.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(value) => Some(value),
            _ => None,
        }
    }

    /// Converts the value, keeping absent and null as they are.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Patch<U>, E> {
        Ok(match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Set(value) => Patch::Set(f(value)?),
        })
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(v)` sets, `None` clears.
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Null, Patch::Set)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Only reached without `skip_serializing_if`; null is the safe reading.
            Patch::Absent | Patch::Null => serializer.serialize_none(),
            Patch::Set(value) => serializer.serialize_some(value),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    /// A present key is `null` or a value; an absent key comes from
    /// `#[serde(default)]` as [`Patch::Absent`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Patch::from)
    }
}

/// The metadata map of a patch: a key mapped to `Some` is sent as a string,
/// to `None` as `null` (which only a server that merges maps reads as
/// "remove this key").
pub type MetadataPatch = BTreeMap<String, Option<String>>;

/// The body of `PATCH /api/v1/customers/{id}`: generated from the spec's
/// `UpdateCustomerRequest` (a setter and a `clear_` method per field), with
/// the metadata conveniences below written beside it.
pub use crate::patches::UpdateCustomerRequest;

impl UpdateCustomerRequest {
    fn metadata_entry(mut self, key: String, value: Option<String>) -> Self {
        if !matches!(self.metadata, Patch::Set(_)) {
            self.metadata = Patch::Set(BTreeMap::new());
        }
        if let Patch::Set(map) = &mut self.metadata {
            map.insert(key, value);
        }
        self
    }

    /// Sends `map` as the customer's whole metadata. Whether the live API
    /// merges a PATCH's metadata into the stored map or replaces the stored
    /// map is not documented. The current map with keys added or changed
    /// gives the same result either way; a key left out does not (a merging
    /// server keeps it, a replacing one drops it).
    pub fn metadata_map(mut self, map: BTreeMap<String, String>) -> Self {
        self.metadata = Patch::Set(map.into_iter().map(|(k, v)| (k, Some(v))).collect());
        self
    }

    /// Adds one key to the metadata map this PATCH sends. On a server that
    /// merges maps the other keys are kept; on one that replaces the map,
    /// only the keys sent remain. The `plugipay` SDK's
    /// `customers().set_metadata(..)` is right under both.
    pub fn set_metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata_entry(key.into(), Some(value.into()))
    }

    /// Sends one key as `null` in the metadata map. This relies on the
    /// server merging maps and reading a `null` value as "remove this key":
    /// the live API documents neither, no official SDK sends it, and a
    /// server that replaces the map may refuse the request (400). The one
    /// removal every server documents is
    /// [`clear_metadata`](Self::clear_metadata).
    pub fn remove_metadata(self, key: impl Into<String>) -> Self {
        self.metadata_entry(key.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_null_and_set_round_trip() {
        let body: UpdateCustomerRequest = serde_json::from_str(
            r#"{"phone":null,"taxId":"01.234","metadata":{"a":"1","b":null}}"#,
        )
        .unwrap();
        assert_eq!(body.email, Patch::Absent);
        assert_eq!(body.phone, Patch::Null);
        assert_eq!(body.tax_id.as_set().map(|t| t.as_str()), Some("01.234"));
        let meta = body.metadata.as_set().unwrap();
        assert_eq!(meta["a"].as_deref(), Some("1"));
        assert_eq!(meta["b"], None);
        // Fields go out in the spec's (alphabetical) order.
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"metadata":{"a":"1","b":null},"phone":null,"taxId":"01.234"}"#
        );
        assert_eq!(
            serde_json::to_string(&UpdateCustomerRequest::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn unknown_fields_are_refused_and_lengths_left_to_the_server() {
        assert!(serde_json::from_str::<UpdateCustomerRequest>(r#"{"nickname":"x"}"#).is_err());
        // No published rule: reading the body does not judge formats or lengths.
        let long = format!(r#"{{"email":"no-at-sign","phone":"{}"}}"#, "1".repeat(300));
        assert!(serde_json::from_str::<UpdateCustomerRequest>(&long).is_ok());
    }
}

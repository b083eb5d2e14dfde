//! What a customer lacks of a wanted record: the [`CustomerUpdate`] that makes
//! a stored customer hold every field a [`NewCustomer`] gives, and nothing
//! else changed.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::customer::{Customer, CustomerUpdate, NewCustomer};

/// The fields of a customer that differ from a wanted record, as a change
/// ready to send ([`difference`]).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Difference {
    /// The change: each differing field set to the wanted value; the
    /// metadata, when a wanted entry is missing or differs, as the whole
    /// current map with the wanted entries laid over it (right whether the
    /// server merges a PATCHed map or replaces it).
    pub update: CustomerUpdate,
    /// The wire names of the fields [`update`](Self::update) sets
    /// (`"email"`, `"name"`, …) in alphabetical order, `"metadata"` last.
    pub fields: Vec<String>,
    /// Wire names of wanted fields that differ but that a PATCH cannot
    /// change (fields only a create takes); they are left out of the update.
    pub unchangeable: Vec<String>,
}

impl Difference {
    /// Whether the customer already holds everything wanted.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.unchangeable.is_empty()
    }
}

/// What `current` lacks of `wanted`: the wanted record's fields that are
/// given (`Some`) and differ from the customer's, and its metadata entries
/// that the customer's map lacks or holds with another value. A field the
/// record leaves out (`None`) and a metadata key it does not name are not
/// touched; `externalId` is the record's key and is never changed.
///
/// Fields are compared by their wire form, so a field the spec adds to both
/// the customer and the create request is compared with no code change here.
///
/// ```
/// use plugipay::{Customer, NewCustomer, difference};
///
/// # let stored: Customer = serde_json::from_value(serde_json::json!({
/// #     "id": "cus_1", "object": "customer", "accountId": "acc_1",
/// #     "email": "old@example.com", "name": "Budi", "metadata": {"plan": "pro", "archived": "false"},
/// #     "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"})).unwrap();
/// let wanted = NewCustomer::new().email("new@example.com").name("Budi").metadata("plan", "pro");
/// let change = difference(&stored, &wanted);
/// assert_eq!(change.fields, ["email"]);
/// assert_eq!(change.update.email.as_set().map(String::as_str), Some("new@example.com"));
/// assert!(change.update.name.is_absent());
/// ```
pub fn difference(current: &Customer, wanted: &NewCustomer) -> Difference {
    let mut out = Difference::default();
    let (Ok(Value::Object(current_json)), Ok(Value::Object(wanted_json))) =
        (serde_json::to_value(current), serde_json::to_value(wanted))
    else {
        // Both are plain records of strings and maps: they always serialise.
        return out;
    };
    let mut patch = Map::new();
    for (field, value) in wanted_json {
        if field == "externalId" || field == "metadata" || value.is_null() {
            continue;
        }
        if current_json.get(&field) == Some(&value) {
            continue;
        }
        // A field the update schema does not have cannot be PATCHed.
        let single = Value::Object(Map::from_iter([(field.clone(), value.clone())]));
        if serde_json::from_value::<CustomerUpdate>(single).is_ok() {
            patch.insert(field.clone(), value);
            out.fields.push(field);
        } else {
            out.unchangeable.push(field);
        }
    }
    let mut update =
        serde_json::from_value::<CustomerUpdate>(Value::Object(patch)).unwrap_or_default();
    if let Some(map) = merged_metadata(&current.metadata, &wanted.metadata) {
        update = update.metadata_map(map);
        out.fields.push("metadata".to_owned());
    }
    out.update = update;
    out
}

/// The customer's map with the wanted entries over it, when that differs
/// from the map it holds.
fn merged_metadata(
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> Option<BTreeMap<String, String>> {
    let differs = wanted.iter().any(|(k, v)| current.get(k) != Some(v));
    differs.then(|| {
        let mut map = current.clone();
        map.extend(wanted.iter().map(|(k, v)| (k.clone(), v.clone())));
        map
    })
}

/// Whether `current` holds everything `update` sets: each field it sets
/// (or clears) has that value, and each metadata entry it sends is there.
/// What reading a customer back after an update of unknown outcome checks.
pub(crate) fn holds_update(current: &Customer, update: &CustomerUpdate) -> bool {
    let (Ok(Value::Object(current_json)), Ok(Value::Object(update_json))) =
        (serde_json::to_value(current), serde_json::to_value(update))
    else {
        return false;
    };
    update_json.iter().all(|(field, value)| {
        let held = current_json.get(field).unwrap_or(&Value::Null);
        match (field.as_str(), value, held) {
            ("metadata", Value::Object(sent), Value::Object(held)) => {
                sent.iter().all(|(k, v)| match v {
                    // A null entry removes the key.
                    Value::Null => held.get(k).is_none_or(Value::is_null),
                    v => held.get(k) == Some(v),
                })
            }
            ("metadata", Value::Null, Value::Object(held)) => held.is_empty(),
            _ => held == value,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(fields: Value) -> Customer {
        let mut base = serde_json::json!({
            "id": "cus_1", "object": "customer", "accountId": "acc_1",
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
        });
        base.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn equal_records_need_nothing() {
        let current = stored(serde_json::json!({
            "email": "a@example.com", "name": "A", "externalId": "crm_1",
            "metadata": {"plan": "pro", "archived": "true"}
        }));
        let wanted = NewCustomer::new()
            .email("a@example.com")
            .name("A")
            .external_id("crm_1")
            .metadata("plan", "pro");
        let change = difference(&current, &wanted);
        assert!(change.is_empty(), "{change:?}");
        assert!(change.update.is_empty());
    }

    #[test]
    fn only_differing_fields_are_set_and_absent_ones_left_alone() {
        let current = stored(serde_json::json!({"email": "a@example.com", "phone": "+62 1"}));
        let wanted = NewCustomer::new().email("b@example.com").name("B");
        let change = difference(&current, &wanted);
        assert_eq!(change.fields, ["email", "name"]);
        assert_eq!(
            serde_json::to_value(&change.update).unwrap(),
            serde_json::json!({"email": "b@example.com", "name": "B"})
        );
    }

    #[test]
    fn metadata_is_sent_whole_with_the_wanted_entries_over_it() {
        let current = stored(serde_json::json!({"metadata": {"archived": "true", "plan": "free"}}));
        let wanted = NewCustomer::new()
            .metadata("plan", "pro")
            .metadata("tier", "gold");
        let change = difference(&current, &wanted);
        assert_eq!(change.fields, ["metadata"]);
        assert_eq!(
            serde_json::to_value(&change.update).unwrap(),
            serde_json::json!({"metadata": {"archived": "true", "plan": "pro", "tier": "gold"}})
        );
    }

    #[test]
    fn an_update_is_held_when_every_field_it_sends_is() {
        let current = stored(serde_json::json!({
            "email": "a@example.com", "metadata": {"plan": "pro", "archived": "true"}
        }));
        let holds = |update: CustomerUpdate| holds_update(&current, &update);
        assert!(holds(CustomerUpdate::new().email("a@example.com")));
        assert!(holds(CustomerUpdate::new().clear_phone()));
        assert!(holds(CustomerUpdate::new().set_metadata("plan", "pro")));
        assert!(holds(CustomerUpdate::new()));
        assert!(!holds(CustomerUpdate::new().email("b@example.com")));
        assert!(!holds(CustomerUpdate::new().clear_email()));
        assert!(!holds(CustomerUpdate::new().set_metadata("plan", "free")));
        assert!(!holds(CustomerUpdate::new().name("A")));
    }

    #[test]
    fn the_external_id_is_the_key_not_a_change() {
        let current = stored(serde_json::json!({"externalId": "crm_1"}));
        let change = difference(&current, &NewCustomer::new().external_id("crm_2"));
        assert!(change.is_empty(), "{change:?}");
    }
}

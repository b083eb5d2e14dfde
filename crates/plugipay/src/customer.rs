//! The customer record and the inputs of the customer operations, with their
//! conversion to the generated wire types (where the spec's limits are checked).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use plugipay_api::patch::{Patch, UpdateCustomerRequest};
use plugipay_api::types;
use plugipay_api::validate::{self, Invalid};
use serde::{Deserialize, Serialize};

/// A customer: the persistent record of someone who can pay the workspace.
///
/// Serialises to the API's JSON shape (camelCase keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Customer {
    /// `cus_` followed by a 26-character ULID.
    pub id: String,
    /// The workspace the customer belongs to.
    pub account_id: String,
    /// The email address; not unique within a workspace.
    pub email: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The phone number.
    pub phone: Option<String>,
    /// Your own id for the customer (a CRM or user id); unique within a workspace.
    pub external_id: Option<String>,
    /// The tax registration number.
    pub tax_id: Option<String>,
    /// The stored payment token charged by default.
    pub default_payment_token_id: Option<String>,
    /// Free-form string-to-string data; empty when none (or sent as `null`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The server's resource name for the customer, when it sends one.
    pub arn: Option<String>,
    /// When the customer was created.
    pub created_at: DateTime<Utc>,
    /// When the customer last changed.
    pub updated_at: DateTime<Utc>,
}

/// A map that may be sent as `null`, read as empty.
fn null_as_empty<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<BTreeMap<String, String>>::deserialize(deserializer)?.unwrap_or_default())
}

impl From<types::Customer> for Customer {
    fn from(c: types::Customer) -> Self {
        // A field added to the spec shows up in `types::Customer`; the test
        // `ergonomic_customer_has_every_spec_field` then asks for it here.
        Self {
            id: c.id,
            account_id: c.account_id,
            email: c.email,
            name: c.name,
            phone: c.phone,
            external_id: c.external_id,
            tax_id: c.tax_id,
            default_payment_token_id: c.default_payment_token_id,
            metadata: c.metadata,
            arn: c.arn,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A string field converted to its generated type, which checks the spec's
/// limits; a refusal names the field.
fn field<T>(name: &str, value: String) -> Result<T, Invalid>
where
    T: TryFrom<String, Error = types::error::ConversionError>,
{
    T::try_from(value).map_err(|e| Invalid::new(name, e.to_string()))
}

fn optional<T>(name: &str, value: Option<String>) -> Result<Option<T>, Invalid>
where
    T: TryFrom<String, Error = types::error::ConversionError>,
{
    value.map(|v| field(name, v)).transpose()
}

fn patch<T>(name: &str, value: Patch<String>) -> Result<Patch<T>, Invalid>
where
    T: TryFrom<String, Error = types::error::ConversionError>,
{
    value.try_map(|v| field(name, v))
}

/// One metadata entry checked against the spec's limits.
fn metadata_value(key: &str, value: String) -> Result<types::MetadataValue, Invalid> {
    validate::metadata_key(key)?;
    field::<types::MetadataValue>("metadata", value)
        .map_err(|e| Invalid::new("metadata", format!("value of `{key}`: {}", e.reason)))
}

/// Builder methods that set optional string fields: `fn field(self, value) -> Self`.
macro_rules! setters {
    ($(#[doc = $doc:literal] $field:ident;)*) => {
        $(
            #[doc = $doc]
            pub fn $field(mut self, value: impl Into<String>) -> Self {
                self.$field = Some(value.into());
                self
            }
        )*
    };
}

/// Builder methods that set (`fn field`) or clear (`fn clear_field`) patch fields.
macro_rules! patch_setters {
    ($(#[doc = $what:literal] $field:ident, $clear:ident;)*) => {
        $(
            #[doc = concat!("Sets", $what, ".")]
            pub fn $field(mut self, value: impl Into<String>) -> Self {
                self.$field = Patch::Set(value.into());
                self
            }

            #[doc = concat!("Clears", $what, " (sends `null`).")]
            pub fn $clear(mut self) -> Self {
                self.$field = Patch::Null;
                self
            }
        )*
    };
}

/// The fields of a new customer; every one is optional.
///
/// ```
/// use plugipay::NewCustomer;
///
/// let alice = NewCustomer::new()
///     .email("alice@example.com")
///     .name("Alice Tan")
///     .external_id("user_19823")
///     .metadata("plan", "pro");
/// assert_eq!(alice.metadata["plan"], "pro");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewCustomer {
    /// The email address.
    pub email: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The phone number.
    pub phone: Option<String>,
    /// Your own id for the customer; unique within the workspace.
    pub external_id: Option<String>,
    /// The tax registration number.
    pub tax_id: Option<String>,
    /// The default payment token.
    pub default_payment_token_id: Option<String>,
    /// Metadata to start with.
    pub metadata: BTreeMap<String, String>,
}

impl NewCustomer {
    /// A customer with no fields set (the server answers with a bare customer).
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// Sets the email address.
        email;
        /// Sets the display name.
        name;
        /// Sets the phone number.
        phone;
        /// Sets your own id for the customer.
        external_id;
        /// Sets the tax registration number.
        tax_id;
        /// Sets the default payment token.
        default_payment_token_id;
    }

    /// Adds one metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The request body, or the first field that breaks the spec's limits.
    pub(crate) fn into_request(self) -> Result<types::CreateCustomerRequest, Invalid> {
        let metadata = if self.metadata.is_empty() {
            None
        } else {
            validate::metadata_len(self.metadata.len())?;
            let entries = self
                .metadata
                .into_iter()
                .map(|(k, v)| Ok((k.clone(), metadata_value(&k, v)?)))
                .collect::<Result<BTreeMap<_, _>, Invalid>>()?;
            Some(types::Metadata(entries))
        };
        #[allow(
            clippy::needless_update,
            reason = "a field added to the spec is reported by the spec_pins tests, not by a compile error"
        )]
        Ok(types::CreateCustomerRequest {
            email: optional("email", self.email)?,
            name: optional("name", self.name)?,
            phone: optional("phone", self.phone)?,
            external_id: optional("externalId", self.external_id)?,
            tax_id: optional("taxId", self.tax_id)?,
            default_payment_token_id: optional(
                "defaultPaymentTokenId",
                self.default_payment_token_id,
            )?,
            metadata,
            ..Default::default()
        })
    }
}

/// A change to a customer: each field is left alone ([`Patch::Absent`], the
/// default), cleared ([`Patch::Null`]) or set ([`Patch::Set`]).
///
/// ```
/// use plugipay::CustomerUpdate;
///
/// let change = CustomerUpdate::new()
///     .name("Alice T. Wijaya")
///     .clear_phone()
///     .set_metadata("tier", "gold")
///     .remove_metadata("trial");
/// assert!(!change.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CustomerUpdate {
    /// The email address.
    pub email: Patch<String>,
    /// The display name.
    pub name: Patch<String>,
    /// The phone number.
    pub phone: Patch<String>,
    /// Your own id for the customer; unique within the workspace.
    pub external_id: Patch<String>,
    /// The tax registration number.
    pub tax_id: Patch<String>,
    /// The default payment token.
    pub default_payment_token_id: Patch<String>,
    /// Metadata keys to set (`Some`) or remove (`None`); [`Patch::Null`]
    /// removes every key. Keys not named are kept.
    pub metadata: Patch<BTreeMap<String, Option<String>>>,
}

impl CustomerUpdate {
    /// A change that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no field is touched.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    patch_setters! {
        /// the email address
        email, clear_email;
        /// the display name
        name, clear_name;
        /// the phone number
        phone, clear_phone;
        /// your own id for the customer
        external_id, clear_external_id;
        /// the tax registration number
        tax_id, clear_tax_id;
        /// the default payment token
        default_payment_token_id, clear_default_payment_token_id;
    }

    fn metadata_entry(mut self, key: String, value: Option<String>) -> Self {
        if !matches!(self.metadata, Patch::Set(_)) {
            self.metadata = Patch::Set(BTreeMap::new());
        }
        if let Patch::Set(map) = &mut self.metadata {
            map.insert(key, value);
        }
        self
    }

    /// Sets one metadata key, keeping the others.
    pub fn set_metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata_entry(key.into(), Some(value.into()))
    }

    /// Removes one metadata key, keeping the others.
    pub fn remove_metadata(self, key: impl Into<String>) -> Self {
        self.metadata_entry(key.into(), None)
    }

    /// Removes every metadata key (sends `"metadata": null`).
    pub fn clear_metadata(mut self) -> Self {
        self.metadata = Patch::Null;
        self
    }

    /// The request body, or the first field that breaks the spec's limits.
    pub(crate) fn into_request(self) -> Result<UpdateCustomerRequest, Invalid> {
        let metadata = self.metadata.try_map(|entries| {
            validate::metadata_len(entries.len())?;
            entries
                .into_iter()
                .map(|(k, v)| {
                    let value = match v {
                        Some(v) => Some(metadata_value(&k, v)?),
                        None => {
                            validate::metadata_key(&k)?;
                            None
                        }
                    };
                    Ok((k, value))
                })
                .collect::<Result<BTreeMap<_, _>, Invalid>>()
        })?;
        Ok(UpdateCustomerRequest {
            email: patch("email", self.email)?,
            name: patch("name", self.name)?,
            phone: patch("phone", self.phone)?,
            external_id: patch("externalId", self.external_id)?,
            tax_id: patch("taxId", self.tax_id)?,
            default_payment_token_id: patch(
                "defaultPaymentTokenId",
                self.default_payment_token_id,
            )?,
            metadata,
        })
    }
}

/// The order of a list, by creation time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first (the server's default).
    #[default]
    Desc,
}

impl From<Order> for types::SortOrder {
    fn from(order: Order) -> Self {
        match order {
            Order::Asc => types::SortOrder::Asc,
            Order::Desc => types::SortOrder::Desc,
        }
    }
}

/// Filters and paging of a customer list.
///
/// ```
/// use plugipay::{ListParams, Order};
///
/// let params = ListParams::new().limit(50).email("alice@example.com").order(Order::Asc);
/// assert_eq!(params.limit, Some(50));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListParams {
    /// Page size, 1 to 100 (the server's default is 25).
    pub limit: Option<u32>,
    /// The `cursor` of the previous [`Page`].
    pub cursor: Option<String>,
    /// Only customers with exactly this email address.
    pub email: Option<String>,
    /// Only the customer with this external id.
    pub external_id: Option<String>,
    /// Only customers created strictly after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Creation-time order (newest first by default).
    pub order: Option<Order>,
}

impl ListParams {
    /// No filters: the first page of every customer, newest first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the page size (1 to 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues after the page that returned `cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Only customers with exactly this email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Only the customer with this external id.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Only customers created strictly after `instant`.
    pub fn created_after(mut self, instant: DateTime<Utc>) -> Self {
        self.created_after = Some(instant);
        self
    }

    /// Sets the order.
    pub fn order(mut self, order: Order) -> Self {
        self.order = Some(order);
        self
    }
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as [`ListParams::cursor`] to get the next page; `None` on the last.
    pub cursor: Option<String>,
    /// Whether another page follows (`hasMore`; when the server leaves it
    /// out, whether it gave a cursor).
    pub has_more: bool,
    /// The server's id of the request that returned this page, when it sent one.
    pub request_id: Option<String>,
    /// How many items the server sent, before any archive filter.
    pub(crate) served: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_customer_limits_name_the_field() {
        let err = NewCustomer::new()
            .email("not-an-email")
            .into_request()
            .unwrap_err();
        assert_eq!(err.field, "email");
        let err = NewCustomer::new()
            .phone("1".repeat(plugipay_api::limits::PHONE_MAX_CHARS + 1))
            .into_request()
            .unwrap_err();
        assert_eq!(err.field, "phone");
        let err = NewCustomer::new()
            .external_id("")
            .into_request()
            .unwrap_err();
        assert_eq!(err.field, "externalId");
    }

    #[test]
    fn metadata_limits() {
        let too_long = "v".repeat(plugipay_api::limits::METADATA_VALUE_MAX_CHARS + 1);
        let err = NewCustomer::new()
            .metadata("k", too_long)
            .into_request()
            .unwrap_err();
        assert_eq!(err.field, "metadata");
        assert!(err.reason.contains("`k`"), "{err}");
        let many = (0..=plugipay_api::limits::METADATA_MAX_KEYS)
            .fold(CustomerUpdate::new(), |u, i| {
                u.set_metadata(format!("k{i}"), "v")
            });
        assert_eq!(many.into_request().unwrap_err().field, "metadata");
        let err = CustomerUpdate::new()
            .remove_metadata("")
            .into_request()
            .unwrap_err();
        assert_eq!(err.field, "metadata");
    }

    #[test]
    fn update_keeps_absent_null_and_set_apart() {
        let body = CustomerUpdate::new()
            .name("A")
            .clear_phone()
            .set_metadata("a", "1")
            .remove_metadata("b")
            .into_request()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"name": "A", "phone": null, "metadata": {"a": "1", "b": null}})
        );
        assert!(CustomerUpdate::new().is_empty());
        assert!(!CustomerUpdate::new().clear_metadata().is_empty());
    }

    /// The hand-written types must carry every field the spec gives their
    /// wire counterparts. When one of these fails after a spec change, add the
    /// field it names to the type it names (in this file).
    mod spec_pins {
        use std::collections::BTreeSet;

        use super::*;

        fn spec_properties(schema: &str) -> BTreeSet<String> {
            let spec: serde_yaml::Value =
                serde_yaml::from_str(include_str!("../../../openapi/customers.yaml")).unwrap();
            spec["components"]["schemas"][schema]["properties"]
                .as_mapping()
                .unwrap_or_else(|| panic!("no properties for {schema} in the spec"))
                .keys()
                .map(|k| k.as_str().unwrap().to_owned())
                .collect()
        }

        fn keys(value: serde_json::Value) -> BTreeSet<String> {
            value.as_object().unwrap().keys().cloned().collect()
        }

        fn assert_same(rust_type: &str, schema: &str, ours: BTreeSet<String>) {
            let spec = spec_properties(schema);
            let missing: Vec<_> = spec.difference(&ours).collect();
            let extra: Vec<_> = ours.difference(&spec).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{rust_type} is out of step with the spec's {schema}: \
                 add {missing:?} to it, remove {extra:?} (crates/plugipay/src/customer.rs)"
            );
        }

        #[test]
        fn ergonomic_customer_has_every_spec_field() {
            // Every spec property, filled in; what survives a round trip
            // through `Customer` is what it carries.
            let mut full = serde_json::Map::new();
            for key in spec_properties("Customer") {
                let value = match key.as_str() {
                    "metadata" => serde_json::json!({"k": "v"}),
                    "createdAt" | "updatedAt" => serde_json::json!("2026-11-25T00:00:00Z"),
                    _ => serde_json::json!("x"),
                };
                full.insert(key, value);
            }
            let generated: types::Customer =
                serde_json::from_value(serde_json::Value::Object(full)).unwrap();
            let ours = Customer::from(generated);
            assert_same(
                "plugipay::Customer",
                "Customer",
                keys(serde_json::to_value(ours).unwrap()),
            );
        }

        #[test]
        fn new_customer_sets_every_create_field() {
            let request = NewCustomer::new()
                .email("a@b.c")
                .name("n")
                .phone("1")
                .external_id("e")
                .tax_id("t")
                .default_payment_token_id("p")
                .metadata("k", "v")
                .into_request()
                .unwrap();
            let sent = keys(serde_json::to_value(request).unwrap());
            assert_same("plugipay::NewCustomer", "CreateCustomerRequest", sent);
        }

        #[test]
        fn customer_update_can_touch_every_update_field() {
            let request = CustomerUpdate::new()
                .clear_email()
                .clear_name()
                .clear_phone()
                .clear_external_id()
                .clear_tax_id()
                .clear_default_payment_token_id()
                .clear_metadata()
                .into_request()
                .unwrap();
            let sent = keys(serde_json::to_value(request).unwrap());
            assert_same(
                "plugipay::CustomerUpdate (and plugipay_api::patch::UpdateCustomerRequest)",
                "UpdateCustomerRequest",
                sent,
            );
        }
    }
}

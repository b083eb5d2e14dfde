//! The customer record and the inputs of the customer operations, with their
//! conversion to the generated wire types. Lengths and formats are left to
//! the server, whose rules are not published.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use plugipay_api::patch::{Patch, UpdateCustomerRequest};

/// A customer: the persistent record of someone who can pay the workspace.
/// This is the type generated from the spec's `Customer` schema, so a field
/// added to the spec is here after `cargo xtask generate`. It is read as
/// leniently as Plugipay's official SDKs read it (absent or `null` fields
/// are `None` or empty) and serialises with every field, as the API sends it.
pub use plugipay_api::types::Customer;

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

/// The fields of a new customer, every one optional: the spec's
/// `CreateCustomerRequest`, generated, with a generated setter per field (a
/// field added to the spec gets one with no hand edit).
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
pub use plugipay_api::types::CreateCustomerRequest as NewCustomer;

/// A change to a customer: each field is left alone ([`Patch::Absent`], the
/// default), cleared ([`Patch::Null`]) or set ([`Patch::Set`]). For one
/// metadata key, prefer [`Customers::set_metadata`](crate::Customers::set_metadata),
/// which keeps the other keys on any server.
///
/// ```
/// use plugipay::CustomerUpdate;
///
/// let change = CustomerUpdate::new()
///     .name("Alice T. Wijaya")
///     .clear_phone();
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
    /// The metadata map to send: each key mapped to a string (`Some`) or to
    /// `null` (`None`); [`Patch::Null`] clears every key. Whether the server
    /// keeps keys the map does not name is not documented: see
    /// [`metadata_map`](Self::metadata_map).
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

    /// Sends `map` as the customer's whole metadata. Whether the live API
    /// merges a PATCH's metadata into the stored map or replaces the stored
    /// map is not documented. The current map with keys added or changed
    /// gives the same result either way; a key left out does not (a merging
    /// server keeps it, a replacing one drops it).
    /// [`Customers::set_metadata`](crate::Customers::set_metadata) does that
    /// read-change-write for you.
    pub fn metadata_map(mut self, map: BTreeMap<String, String>) -> Self {
        self.metadata = Patch::Set(map.into_iter().map(|(k, v)| (k, Some(v))).collect());
        self
    }

    /// Adds one key to the metadata map this PATCH sends. On a server that
    /// merges maps the other keys are kept; on one that replaces the map,
    /// only the keys sent remain. Prefer
    /// [`Customers::set_metadata`](crate::Customers::set_metadata), which is
    /// right under both.
    pub fn set_metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata_entry(key.into(), Some(value.into()))
    }

    /// Sends one key as `null` in the metadata map. This relies on the
    /// server merging maps and reading a `null` value as "remove this key":
    /// the live API documents neither, no official SDK sends it, and a
    /// server that replaces the map may refuse the request (400). The one
    /// removal every server documents is [`clear_metadata`](Self::clear_metadata).
    pub fn remove_metadata(self, key: impl Into<String>) -> Self {
        self.metadata_entry(key.into(), None)
    }

    /// Removes every metadata key (sends `"metadata": null`).
    pub fn clear_metadata(mut self) -> Self {
        self.metadata = Patch::Null;
        self
    }

    /// The request body.
    pub(crate) fn into_request(self) -> UpdateCustomerRequest {
        UpdateCustomerRequest {
            email: self.email,
            name: self.name,
            phone: self.phone,
            external_id: self.external_id,
            tax_id: self.tax_id,
            default_payment_token_id: self.default_payment_token_id,
            metadata: self.metadata,
        }
    }
}

/// The order of a list by creation time: the spec's `SortOrder` (newest
/// first, `Desc`, unless `Asc`).
pub use plugipay_api::types::SortOrder;

/// Filters and paging of a customer list.
///
/// ```
/// use plugipay::{ListParams, SortOrder};
///
/// let params = ListParams::new().limit(50).email("alice@example.com").order(SortOrder::Asc);
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
    pub order: Option<SortOrder>,
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
    pub fn order(mut self, order: SortOrder) -> Self {
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
    /// Pass as [`ListParams::cursor`] (or as the `cursor` query parameter of
    /// a raw request) to get the next page; `None` on the last.
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
    fn lengths_and_counts_are_left_to_the_server() {
        // No published limit: a long name and many metadata keys are sent as given.
        let body = NewCustomer::new()
            .name("n".repeat(300))
            .email("not-an-email")
            .metadata("", "v".repeat(2_000));
        assert_eq!(body.name.as_deref().map(str::len), Some(300));
        assert_eq!(body.metadata[""].len(), 2_000);
        let many = (0..60).fold(CustomerUpdate::new(), |u, i| {
            u.set_metadata(format!("k{i}"), "v")
        });
        let body = many.into_request();
        assert_eq!(body.metadata.as_set().map(BTreeMap::len), Some(60));
    }

    #[test]
    fn metadata_map_sends_the_whole_map() {
        let map = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]);
        let body = CustomerUpdate::new().metadata_map(map).into_request();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"metadata": {"a": "1", "b": "2"}})
        );
    }

    #[test]
    fn update_keeps_absent_null_and_set_apart() {
        let body = CustomerUpdate::new()
            .name("A")
            .clear_phone()
            .set_metadata("a", "1")
            .remove_metadata("b")
            .into_request();
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
        fn customer_update_can_touch_every_update_field() {
            let request = CustomerUpdate::new()
                .clear_email()
                .clear_name()
                .clear_phone()
                .clear_external_id()
                .clear_tax_id()
                .clear_default_payment_token_id()
                .clear_metadata()
                .into_request();
            let sent = keys(serde_json::to_value(request).unwrap());
            assert_same(
                "plugipay::CustomerUpdate (and plugipay_api::patch::UpdateCustomerRequest)",
                "UpdateCustomerRequest",
                sent,
            );
        }
    }
}

//! The customer record and the inputs of the customer operations, with their
//! conversion to the generated wire types. Lengths and formats are left to
//! the server, whose rules are not published.

use plugipay_api::paging::{Continuation, Unclear};
#[cfg(doc)]
use plugipay_api::patch::Patch;

use crate::transport::decode::Envelope;

/// A customer: the persistent record of someone who can pay the workspace.
/// This is the type generated from the spec's `Customer` schema, so a field
/// added to the spec is here after `cargo xtask generate`. It is read as
/// leniently as Plugipay's official SDKs read it (absent or `null` fields
/// are `None` or empty) and serialises with every field, as the API sends it.
#[doc(no_inline)]
pub use plugipay_api::types::Customer;

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
/// default), cleared ([`Patch::Null`]) or set ([`Patch::Set`]). It is the
/// spec's `UpdateCustomerRequest`, generated with a setter and a `clear_`
/// method per field. For one metadata key, prefer
/// [`Customers::set_metadata`](crate::Customers::set_metadata), which keeps
/// the other keys on any server.
///
/// ```
/// use plugipay::CustomerUpdate;
///
/// let change = CustomerUpdate::new()
///     .name("Alice T. Wijaya")
///     .clear_phone();
/// assert!(!change.is_empty());
/// ```
pub use plugipay_api::patch::UpdateCustomerRequest as CustomerUpdate;

/// The order of a list by creation time: the spec's `SortOrder` (newest
/// first, `Desc`, unless `Asc`).
#[doc(no_inline)]
pub use plugipay_api::types::SortOrder;

/// Filters and paging of a customer list: the spec's `list_customers`
/// query parameters, generated, with a setter per parameter (a filter added
/// to the spec is here with no hand edit).
///
/// ```
/// use plugipay::{ListParams, SortOrder};
///
/// let params = ListParams::new().limit(50).email("alice@example.com").order(SortOrder::Asc);
/// assert_eq!(params.limit, Some(50));
/// ```
pub use plugipay_api::params::ListCustomersParams as ListParams;

/// One page of a list.
///
/// Its paging is read from either shape Plugipay publishes (`meta.cursor`
/// and `meta.hasMore`, or `meta.page.nextCursor` and `meta.page.hasMore`;
/// see [`plugipay_api::paging`]). A page whose answer may say that more
/// follow without a cursor to get them has `has_more` set and no `cursor`:
/// [`next_cursor`](Self::next_cursor) says why, and a walk ends with
/// [`PagingError::Unclear`](crate::PagingError::Unclear) rather than treat
/// it as the last page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as [`ListParams::cursor`] (or as the `cursor` query parameter of
    /// a raw request) to get the next page; `None` on the last.
    pub cursor: Option<String>,
    /// Whether another page follows, or may (`hasMore`; when the server
    /// leaves it out, whether it gave a cursor).
    pub has_more: bool,
    /// The server's id of the request that returned this page, when it sent one.
    pub request_id: Option<String>,
    /// How many items the server sent, before any archive filter.
    pub(crate) served: usize,
    /// How many attempts at this page were answered 429 before it came.
    pub(crate) throttled: u32,
    /// What made the paging unclear, when it is.
    pub(crate) unclear: Option<String>,
}

impl<T> Page<T> {
    /// The page of `items` (`served` of them before any filter of ours)
    /// that `answer` carried, its paging read from either published shape.
    pub(crate) fn answered<A>(items: Vec<T>, served: usize, answer: &Envelope<A>) -> Self {
        let (has_more, cursor, unclear) = match answer.continuation() {
            Ok(Continuation::End) => (false, None, None),
            Ok(Continuation::Next(cursor)) => (true, Some(cursor), None),
            Err(Unclear(seen)) => (true, None, Some(seen)),
        };
        Page {
            items,
            cursor,
            has_more,
            request_id: answer.meta.request_id.clone(),
            served,
            throttled: answer.throttled,
            unclear,
        }
    }

    /// The cursor of the next page: `Ok(None)` on the last page, and an
    /// error when the answer said (or may have said) that more follow
    /// without giving a cursor to get them: such a page is not the last,
    /// and the list cannot be walked further.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new().seed_customers(3)).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use plugipay::ListParams;
    ///
    /// let mut params = ListParams::new().limit(2);
    /// let mut seen = 0;
    /// loop {
    ///     let page = client.customers().list(params.clone()).await?;
    ///     seen += page.items.len();
    ///     match page.next_cursor()? {
    ///         Some(cursor) => params = params.cursor(cursor),
    ///         None => break,
    ///     }
    /// }
    /// assert_eq!(seen, 3);
    /// # Ok(()) }
    /// ```
    pub fn next_cursor(&self) -> Result<Option<&str>, crate::PagingError> {
        if let Some(seen) = &self.unclear {
            return Err(crate::PagingError::Unclear {
                page: 1,
                seen: seen.clone(),
            });
        }
        match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None if self.has_more => Err(crate::PagingError::MissingCursor { page: 1 }),
            None => Ok(None),
            Some(cursor) => Ok(Some(cursor)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
        let body = many;
        assert_eq!(body.metadata.as_set().map(BTreeMap::len), Some(60));
    }

    #[test]
    fn metadata_map_sends_the_whole_map() {
        let map = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]);
        let body = CustomerUpdate::new().metadata_map(map);
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
            .remove_metadata("b");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"name": "A", "phone": null, "metadata": {"a": "1", "b": null}})
        );
        assert!(CustomerUpdate::new().is_empty());
        assert!(!CustomerUpdate::new().clear_metadata().is_empty());
    }

    /// The generated PATCH body must carry every field of the spec's
    /// `UpdateCustomerRequest` (a check of the generator's `patches` pass).
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
                "{rust_type} is out of step with the spec's {schema}: it lacks {missing:?} and \
                 has {extra:?} (regenerate with `cargo xtask generate`)"
            );
        }

        #[test]
        fn customer_update_can_touch_every_update_field() {
            // Every field the spec names, cleared: read by the generated
            // type (which refuses fields it lacks) and sent back whole, so
            // a field added to the spec needs no edit here.
            let every_field: serde_json::Map<String, serde_json::Value> =
                spec_properties("UpdateCustomerRequest")
                    .into_iter()
                    .map(|name| (name, serde_json::Value::Null))
                    .collect();
            let request: CustomerUpdate =
                serde_json::from_value(serde_json::Value::Object(every_field))
                    .expect("the generated PATCH body has every field of the spec's");
            let sent = keys(serde_json::to_value(request).unwrap());
            assert_same(
                "plugipay::CustomerUpdate (and plugipay_api::patch::UpdateCustomerRequest)",
                "UpdateCustomerRequest",
                sent,
            );
        }
    }
}

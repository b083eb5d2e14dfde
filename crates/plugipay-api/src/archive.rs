//! The archive convention on the generated [`Customer`]: a customer that
//! cannot be deleted (it has money history) is retired by setting
//! `metadata.archived = "true"`.

use crate::types::Customer;

/// The metadata key that marks an archived customer.
pub const ARCHIVED_KEY: &str = "archived";
/// Its value on an archived customer.
pub const ARCHIVED_VALUE: &str = "true";
/// Its value on a customer taken out of the archive. Any value but
/// [`ARCHIVED_VALUE`], or no key, reads as active; unarchiving writes this
/// one rather than removing the key, because removing one key cannot be
/// written the same way for a server that merges metadata and one that
/// replaces it.
pub const UNARCHIVED_VALUE: &str = "false";

impl Customer {
    /// Whether the customer is archived (`metadata.archived == "true"`).
    ///
    /// ```
    /// let customer: plugipay_api::types::Customer = serde_json::from_str(
    ///     r#"{"id": "cus_1", "accountId": "acct_1", "metadata": {"archived": "true"},
    ///         "createdAt": "2026-11-27T00:00:00Z", "updatedAt": "2026-11-27T00:00:00Z"}"#,
    /// )?;
    /// assert!(customer.is_archived());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn is_archived(&self) -> bool {
        self.metadata.get(ARCHIVED_KEY).map(String::as_str) == Some(ARCHIVED_VALUE)
    }
}

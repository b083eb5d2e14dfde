//! The argument checks the protocol itself documents, shared by the SDK
//! (before the network) and the sandbox (on what it receives): a path id must
//! be one URL path segment, and a list page size is from 1 to 100. Field
//! lengths and formats are the server's to check: their rules are not
//! published, so a client must not guess them.

use std::fmt;

use crate::limits;

/// An argument that breaks a rule, with the field it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The field or parameter, as the API names it (`email`, `metadata`, `id`).
    pub field: String,
    /// What is wrong, in words.
    pub reason: String,
}

impl Invalid {
    /// An invalid `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for Invalid {}

/// A value that becomes one path segment (a customer id): not empty, no
/// control characters, not `.` or `..` (which URL parsing would resolve) and
/// no backslash (which URL parsing turns into `/`). Everything else is
/// percent-encoded by the generated client.
///
/// ```
/// use plugipay_api::validate::path_segment;
///
/// assert!(path_segment("id", "cus_01HXAB7K3M9N2P5QRS8TVWXY3Z").is_ok());
/// assert!(path_segment("id", "a/b?c%d e").is_ok()); // escaped, not refused
/// assert!(path_segment("id", "").is_err());
/// assert!(path_segment("id", "..").is_err());
/// ```
pub fn path_segment(field: &str, value: &str) -> Result<(), Invalid> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.chars().any(char::is_control) {
        "must not contain control characters"
    } else if value == "." || value == ".." {
        "must not be `.` or `..`"
    } else if value.contains('\\') {
        "must not contain a backslash"
    } else {
        return Ok(());
    };
    Err(Invalid::new(field, reason))
}

/// A list page size: from [`limits::LIST_CUSTOMERS_LIMIT_MIN`] to
/// [`limits::LIST_CUSTOMERS_LIMIT_MAX`].
pub fn list_limit(limit: u32) -> Result<(), Invalid> {
    let (min, max) = (
        limits::LIST_CUSTOMERS_LIMIT_MIN,
        limits::LIST_CUSTOMERS_LIMIT_MAX,
    );
    if (min..=max).contains(&(limit as usize)) {
        return Ok(());
    }
    Err(Invalid::new(
        "limit",
        format!("{limit} is out of range: it must be from {min} to {max}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments() {
        for bad in ["", ".", "..", "a\\b", "a\nb", "a\u{7f}b"] {
            assert!(path_segment("id", bad).is_err(), "{bad:?}");
        }
        for good in ["cus_1", "a/b", "a?b", "a%b", "a b", "...", "é"] {
            assert!(path_segment("id", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn list_limits() {
        assert!(list_limit(0).is_err());
        assert!(list_limit(1).is_ok());
        assert!(list_limit(100).is_ok());
        let err = list_limit(101).unwrap_err();
        assert_eq!(err.field, "limit");
        assert!(err.to_string().contains("from 1 to 100"), "{err}");
    }
}

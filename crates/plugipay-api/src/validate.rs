//! The argument checks the protocol itself documents, shared by the SDK
//! (before the network) and the sandbox (on what it receives): a path id must
//! be one URL path segment, and an integer query parameter stays in the range
//! the spec gives it ([`in_range`], called by each operation's generated
//! [`Endpoint::check`](crate::endpoint::Endpoint::check)). Field
//! lengths and formats are the server's to check: the SDK sends whatever it
//! is given. The limits Plugipay publishes for fields are described here
//! ([`FieldLimit`], [`published_limits`]) for the sandbox and for tools that
//! point out a value the server will refuse (an import's dry run).

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

/// An integer query parameter within the range the spec documents for it
/// (`minimum` / `maximum`, either may be absent); an absent value passes.
/// The generated [`Endpoint::check`](crate::endpoint::Endpoint::check) of
/// each operation calls it, so a range in the spec is checked before the
/// network with no hand-written line.
///
/// ```
/// use plugipay_api::validate::in_range;
///
/// assert!(in_range("limit", Some(100u32), Some(1), Some(100)).is_ok());
/// assert!(in_range("limit", None::<u32>, Some(1), Some(100)).is_ok());
/// let err = in_range("limit", Some(0u32), Some(1), Some(100)).unwrap_err();
/// assert_eq!(err.to_string(), "invalid limit: 0 is out of range: it must be from 1 to 100");
/// ```
pub fn in_range<T: Copy + Into<i128> + fmt::Display>(
    field: &str,
    value: Option<T>,
    min: Option<i128>,
    max: Option<i128>,
) -> Result<(), Invalid> {
    let Some(value) = value else {
        return Ok(());
    };
    let n: i128 = value.into();
    if min.is_none_or(|min| n >= min) && max.is_none_or(|max| n <= max) {
        return Ok(());
    }
    let rule = match (min, max) {
        (Some(min), Some(max)) => format!("from {min} to {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => return Ok(()),
    };
    Err(Invalid::new(
        field,
        format!("{value} is out of range: it must be {rule}"),
    ))
}

/// A limit Plugipay publishes for one field of a customer, generated from
/// the spec into [`limits::published::FIELDS`]. It documents what the server
/// judges; the SDK does not check it before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLimit {
    /// The field's wire name (`externalId`, `email`, …).
    pub field: &'static str,
    /// The fewest characters a text value may have.
    pub min_chars: Option<usize>,
    /// The most characters a text value may have.
    pub max_chars: Option<usize>,
    /// The start a text value must have (`pt_` for a payment token id).
    pub prefix: Option<&'static str>,
    /// The most keys a map may have.
    pub max_keys: Option<usize>,
}

impl FieldLimit {
    /// What is wrong with `value` under this limit, if anything. Text is
    /// counted in characters (Unicode scalar values); `max_keys` counts an
    /// object's keys. `null` (a field cleared) and values of another type
    /// are not judged here.
    pub fn check(&self, value: &serde_json::Value) -> Option<String> {
        match value {
            serde_json::Value::String(text) => {
                let chars = text.chars().count();
                if let Some(min) = self.min_chars.filter(|&min| chars < min) {
                    return Some(format!("has {chars} characters; at least {min} are needed"));
                }
                if let Some(max) = self.max_chars.filter(|&max| chars > max) {
                    return Some(format!("has {chars} characters; at most {max} are allowed"));
                }
                if let Some(prefix) = self.prefix.filter(|p| !text.starts_with(p)) {
                    return Some(format!("must start with `{prefix}`"));
                }
                None
            }
            serde_json::Value::Object(map) => {
                let keys = map.len();
                let max = self.max_keys.filter(|&max| keys > max)?;
                Some(format!("has {keys} keys; at most {max} are allowed"))
            }
            _ => None,
        }
    }
}

/// Every published limit that `record` (a customer's fields by wire name, as
/// sent in a create or update) breaks, in the order of
/// [`limits::published::FIELDS`].
///
/// ```
/// use plugipay_api::validate::published_limits;
///
/// let record = serde_json::json!({"name": "", "email": "a@example.com"});
/// let broken = published_limits(&record);
/// assert_eq!(broken.len(), 1);
/// assert_eq!(broken[0].field, "name");
/// ```
pub fn published_limits(record: &serde_json::Value) -> Vec<Invalid> {
    limits::published::FIELDS
        .iter()
        .filter_map(|limit| {
            let reason = limit.check(record.get(limit.field)?)?;
            Some(Invalid::new(limit.field, reason))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_limits_are_judged_at_their_edges() {
        let at = |field: &str, value: serde_json::Value| {
            published_limits(&serde_json::json!({ field: value }))
        };
        let text = |n: usize| serde_json::Value::from("é".repeat(n));
        assert!(at("externalId", text(255)).is_empty());
        assert_eq!(at("externalId", text(256))[0].field, "externalId");
        assert!(!at("externalId", text(0)).is_empty());
        assert!(at("email", text(320)).is_empty());
        assert!(!at("email", text(321)).is_empty());
        assert!(at("phone", text(64)).is_empty());
        assert!(!at("phone", text(65)).is_empty());
        assert!(at("defaultPaymentTokenId", "pt_1".into()).is_empty());
        assert!(!at("defaultPaymentTokenId", "ptok_1".into()).is_empty());
        let keys = |n: usize| {
            serde_json::Value::Object((0..n).map(|i| (i.to_string(), "v".into())).collect())
        };
        assert!(at("metadata", keys(50)).is_empty());
        assert!(!at("metadata", keys(51)).is_empty());
        // A cleared field is not judged.
        assert!(at("name", serde_json::Value::Null).is_empty());
    }

    #[test]
    fn path_segments() {
        for bad in ["", ".", "..", "a\\b", "a\nb", "a\u{7f}b"] {
            assert!(path_segment("id", bad).is_err(), "{bad:?}");
        }
        for good in ["cus_1", "a/b", "a?b", "a%b", "a b", "...", "é"] {
            assert!(path_segment("id", good).is_ok(), "{good:?}");
        }
    }
}

//! An API error the sandbox answers with: status, code and message. Like the
//! live API's, the error body promises no `field`: a message that is about
//! one field names it.

use plugipay_api::validate::Invalid;

/// A refused request, rendered as the error envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status.
    pub status: u16,
    /// The error code (`validation_error`, `not_found`, …).
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl Failure {
    /// A failure.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A 400 `validation_error` about `field`; the message names the field.
    pub fn validation(field: impl AsRef<str>, message: impl Into<String>) -> Self {
        let (field, message) = (field.as_ref(), message.into());
        let message = if message.contains(field) {
            message
        } else {
            format!("{field}: {message}")
        };
        Self::new(400, "validation_error", message)
    }

    /// A 400 from a shared validation rule.
    pub fn invalid(invalid: Invalid) -> Self {
        let message = invalid.to_string();
        Self::validation(invalid.field, message)
    }
}

//! An API error the sandbox answers with: status, code, message and, when
//! it is about one field or parameter, that field (`error.field`, as
//! Plugipay's published error body has it).

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
    /// The body field, query parameter or header it is about, if one.
    pub field: Option<String>,
}

impl Failure {
    /// A failure about no one field.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same failure, about `field`.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A 400 `validation_error` about `field`, named in `error.field` and
    /// in the message.
    pub fn validation(field: impl AsRef<str>, message: impl Into<String>) -> Self {
        let (field, message) = (field.as_ref(), message.into());
        let message = if message.contains(field) {
            message
        } else {
            format!("{field}: {message}")
        };
        Self::new(400, "validation_error", message).with_field(field)
    }

    /// A 400 `validation_error` about the request as a whole (a body that
    /// is not JSON, a malformed query string): no field is named.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(400, "validation_error", message)
    }

    /// A 400 from a shared validation rule.
    pub fn invalid(invalid: Invalid) -> Self {
        let message = invalid.to_string();
        Self::validation(invalid.field, message)
    }
}

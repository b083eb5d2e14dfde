//! An API error the sandbox answers with: status, code, message and field.

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
    /// The offending field, on validation errors.
    pub field: Option<String>,
}

impl Failure {
    /// A failure without a field.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same failure, naming `field`.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A 400 `validation_error` about `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, "validation_error", message).field(field)
    }

    /// A 400 from a shared validation rule.
    pub fn invalid(invalid: Invalid) -> Self {
        let message = invalid.to_string();
        Self::validation(invalid.field, message)
    }
}

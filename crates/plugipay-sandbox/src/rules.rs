//! The sandbox's validation of customer fields, by its configured
//! [`Limits`]: lengths, the email's shape, the payment token's prefix and
//! metadata. Which of these Plugipay publishes and which are the sandbox's
//! own choices is written on [`Limits`]. Each refusal is a 400
//! `validation_error` naming the field in `error.field`.

use std::collections::BTreeMap;

use plugipay_api::limits::published;
use plugipay_api::patch::{Patch, UpdateCustomerRequest};
use plugipay_api::types::CreateCustomerRequest;

use crate::config::Limits;
use crate::failure::Failure;

impl Limits {
    /// Checks a create body.
    pub(crate) fn check_create(&self, req: &CreateCustomerRequest) -> Result<(), Failure> {
        self.check_fields([
            ("email", req.email.as_deref(), self.email_max_chars),
            ("name", req.name.as_deref(), self.name_max_chars),
            ("phone", req.phone.as_deref(), self.phone_max_chars),
            (
                "externalId",
                req.external_id.as_deref(),
                self.external_id_max_chars,
            ),
            ("taxId", req.tax_id.as_deref(), self.tax_id_max_chars),
            (
                "defaultPaymentTokenId",
                req.default_payment_token_id.as_deref(),
                self.payment_token_id_max_chars,
            ),
        ])?;
        self.check_metadata_keys(req.metadata.len())?;
        for (key, value) in &req.metadata {
            self.check_metadata_entry(key, Some(value))?;
        }
        Ok(())
    }

    /// Checks a PATCH body (the metadata count is checked on the result).
    pub(crate) fn check_update<'a>(&self, req: &'a UpdateCustomerRequest) -> Result<(), Failure> {
        let set = |patch: &'a Patch<String>| patch.as_set().map(String::as_str);
        self.check_fields([
            ("email", set(&req.email), self.email_max_chars),
            ("name", set(&req.name), self.name_max_chars),
            ("phone", set(&req.phone), self.phone_max_chars),
            (
                "externalId",
                set(&req.external_id),
                self.external_id_max_chars,
            ),
            ("taxId", set(&req.tax_id), self.tax_id_max_chars),
            (
                "defaultPaymentTokenId",
                set(&req.default_payment_token_id),
                self.payment_token_id_max_chars,
            ),
        ])?;
        if let Patch::Set(changes) = &req.metadata {
            for (key, value) in changes {
                self.check_metadata_entry(key, value.as_deref())?;
            }
        }
        Ok(())
    }

    /// Checks the number of keys a customer would hold.
    pub(crate) fn check_metadata_keys(&self, keys: usize) -> Result<(), Failure> {
        if keys > self.metadata_max_keys {
            return Err(Failure::validation(
                "metadata",
                format!(
                    "metadata would hold {keys} pairs; at most {} are allowed",
                    self.metadata_max_keys
                ),
            ));
        }
        Ok(())
    }

    /// Checks an `Idempotency-Key`'s length.
    pub(crate) fn check_idempotency_key(&self, key: &str) -> Result<(), Failure> {
        if key.chars().count() > self.idempotency_key_max_chars {
            return Err(Failure::validation(
                "Idempotency-Key",
                format!(
                    "the Idempotency-Key is over {} characters",
                    self.idempotency_key_max_chars
                ),
            ));
        }
        Ok(())
    }

    /// Checks each `(field, value, longest)`; absent values pass.
    fn check_fields<'a>(
        &self,
        fields: impl IntoIterator<Item = (&'static str, Option<&'a str>, usize)>,
    ) -> Result<(), Failure> {
        for (field, value, max) in fields {
            let Some(value) = value else { continue };
            let chars = value.chars().count();
            if chars == 0 {
                return Err(Failure::validation(
                    field,
                    format!("{field} must not be empty"),
                ));
            }
            let min = min_chars(field);
            if chars < min {
                return Err(Failure::validation(
                    field,
                    format!("{field} is {chars} characters long; at least {min} are needed"),
                ));
            }
            if chars > max {
                return Err(Failure::validation(
                    field,
                    format!("{field} is {chars} characters long; at most {max} are allowed"),
                ));
            }
            if value.chars().any(char::is_control) {
                return Err(Failure::validation(
                    field,
                    format!("{field} must not contain control characters"),
                ));
            }
            if field == "email" && !email_shaped(value) {
                return Err(Failure::validation(
                    field,
                    "email must be one `@` between non-empty parts, without white space",
                ));
            }
            if field == "defaultPaymentTokenId" && !payment_token_shaped(value) {
                return Err(Failure::validation(
                    field,
                    format!(
                        "defaultPaymentTokenId must be a payment token id ({}…)",
                        published::DEFAULT_PAYMENT_TOKEN_ID_PREFIX
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_metadata_entry(&self, key: &str, value: Option<&str>) -> Result<(), Failure> {
        let chars = key.chars().count();
        if chars == 0 || chars > self.metadata_key_max_chars || key.chars().any(char::is_control) {
            return Err(Failure::validation(
                "metadata",
                format!(
                    "metadata keys must be 1 to {} characters without control characters",
                    self.metadata_key_max_chars
                ),
            ));
        }
        if let Some(value) = value
            && value.chars().count() > self.metadata_value_max_chars
        {
            let shown: String = key.chars().take(16).collect();
            return Err(Failure::validation(
                "metadata",
                format!(
                    "metadata value of `{shown}` is over {} characters",
                    self.metadata_value_max_chars
                ),
            ));
        }
        Ok(())
    }
}

/// A payment token id: `pt_` and at least one character more (the
/// published prefix; what follows it is not published).
fn payment_token_shaped(id: &str) -> bool {
    id.strip_prefix(published::DEFAULT_PAYMENT_TOKEN_ID_PREFIX)
        .is_some_and(|rest| !rest.is_empty())
}

/// The fewest characters of a field: the published minimum where there is
/// one, else 1 (the sandbox's choice: no empty strings).
fn min_chars(field: &str) -> usize {
    let published = match field {
        "externalId" => published::EXTERNAL_ID_MIN_CHARS,
        "name" => published::NAME_MIN_CHARS,
        "phone" => published::PHONE_MIN_CHARS,
        "taxId" => published::TAX_ID_MIN_CHARS,
        _ => 1,
    };
    published.max(1)
}

fn email_shaped(email: &str) -> bool {
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty() && !domain.is_empty() && !email.chars().any(char::is_whitespace)
}

/// Metadata as a PATCH leaves it, applied the `merge` way: strings set their
/// keys, `null` removes them, keys not sent are kept.
pub(crate) fn merge(
    metadata: &mut BTreeMap<String, String>,
    changes: BTreeMap<String, Option<String>>,
) {
    for (key, value) in changes {
        match value {
            Some(value) => metadata.insert(key, value),
            None => metadata.remove(&key),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in ["a@b", "alice@example.com", "x+y@sub.example"] {
            assert!(email_shaped(good), "{good}");
        }
        for bad in ["", "a", "@b", "a@", "a@b@c", "a b@c"] {
            assert!(!email_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn payment_tokens() {
        assert_eq!(published::DEFAULT_PAYMENT_TOKEN_ID_PREFIX, "pt_");
        for good in ["pt_1", "pt_01HXAB7K3M9N2P5QRS8TVWXY3Z"] {
            assert!(payment_token_shaped(good), "{good}");
        }
        for bad in ["", "pt_", "pt", "tok_1", "PT_1", "xpt_1"] {
            assert!(!payment_token_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn limits_are_configurable() {
        let req = CreateCustomerRequest {
            name: Some("n".repeat(300)),
            ..Default::default()
        };
        let err = Limits::default().check_create(&req).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(
            err.message.contains("name") && err.message.contains("255"),
            "{err:?}"
        );
        assert_eq!(err.field.as_deref(), Some("name"));
        let roomy = Limits {
            name_max_chars: 1_000,
            ..Limits::default()
        };
        assert!(roomy.check_create(&req).is_ok());
    }
}

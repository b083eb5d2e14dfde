//! Reads a write's JSON body as the spec's request type, refusing a wrong
//! type, an unknown field or (on create) a `null` with the field named.

use serde_json::Value;

use crate::failure::Failure;

/// A create body has no nullable fields: `null` is refused, not read as absent.
pub(crate) fn refuse_nulls(value: &Value) -> Result<(), Failure> {
    let null = value
        .as_object()
        .and_then(|fields| fields.iter().find(|(_, v)| v.is_null()));
    match null {
        Some((field, _)) => Err(Failure::validation(
            field.clone(),
            format!("{field} must not be null here; leave it out instead"),
        )),
        None => Ok(()),
    }
}

/// A request body read as the spec's type: wrong types and unknown fields
/// are refused with the field named (the sandbox's limits come after, from
/// its configuration).
pub(crate) fn decode_body<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, Failure> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        let field = if path == "." {
            // Unknown fields are reported at the object: name them from the message.
            message
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
                .unwrap_or("body")
                .to_owned()
        } else {
            path
        };
        let message = format!("invalid {field}: {message}");
        if field == "body" {
            Failure::malformed(message)
        } else {
            Failure::validation(&field, message)
        }
    })
}

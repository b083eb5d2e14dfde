//! Three-state PATCH bodies, generated from the spec. typify turns an
//! optional nullable field into an `Option` that skips `None`, so a PATCH
//! could never send `null`; for each schema a PATCH operation takes as its
//! body, this pass writes a struct whose nullable fields are
//! `crate::patch::Patch<T>` (absent / null / value), with a setter and a
//! `clear_` method per field, into a `patches` module. progenitor is told to
//! use it in place of its own type.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

/// The component schemas that PATCH operations take as their JSON body.
pub(crate) fn patch_bodies(doc: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for item in paths.into_iter().flat_map(|p| p.values()) {
        let reference = item
            .pointer("/patch/requestBody/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"));
        if let Some(name) = reference {
            names.insert(name.to_owned());
        }
    }
    names
}

/// The `patches` module: one struct (and its setters) per PATCH body.
pub(crate) fn module(
    doc: &Value,
    names: &BTreeSet<String>,
) -> Result<TokenStream, (String, String)> {
    let mut items = Vec::new();
    for name in names {
        let at = format!("components.schemas.{name}");
        let schema = doc
            .pointer(&format!("/components/schemas/{name}"))
            .ok_or_else(|| (at.clone(), "no such schema".to_owned()))?;
        items.push(body(name, schema).map_err(|e| (at, e))?);
    }
    Ok(quote! {
        /// Three-state PATCH bodies (generated from the spec's PATCH
        /// request schemas): each nullable field is absent, `null` or a value.
        pub mod patches {
            use crate::patch::Patch;
            #(#items)*
        }
    })
}

fn body(name: &str, schema: &Value) -> Result<TokenStream, String> {
    let ident = format_ident!("{name}");
    let doc = description(schema).unwrap_or_else(|| format!("The body of a PATCH ({name})."));
    let deny = (schema.get("additionalProperties") == Some(&Value::Bool(false)))
        .then(|| quote!(#[serde(deny_unknown_fields)]));
    let mut fields = Vec::new();
    let mut methods = Vec::new();
    let properties = schema.get("properties").and_then(Value::as_object);
    for (wire, property) in properties.into_iter().flatten() {
        let field = format_ident!("{}", snake(wire));
        let clear = format_ident!("clear_{}", snake(wire));
        let inner = rust_type(property).map_err(|e| format!("property {wire}: {e}"))?;
        let nullable = property.get("nullable").and_then(Value::as_bool) == Some(true);
        let field_doc = description(property).unwrap_or_else(|| format!("`{wire}`."));
        let is_string = property.get("type").and_then(Value::as_str) == Some("string")
            && property.get("format").is_none();
        let (param, value) = if is_string {
            (
                quote!(impl ::std::convert::Into<::std::string::String>),
                quote!(value.into()),
            )
        } else {
            (quote!(#inner), quote!(value))
        };
        let set_doc = format!("Sets `{wire}`.");
        if nullable {
            let clear_doc = format!("Clears `{wire}` (sends `null`).");
            fields.push(quote! {
                #[doc = #field_doc]
                #[serde(rename = #wire, default, skip_serializing_if = "Patch::is_absent")]
                pub #field: Patch<#inner>,
            });
            methods.push(quote! {
                #[doc = #set_doc]
                pub fn #field(mut self, value: #param) -> Self {
                    self.#field = Patch::Set(#value);
                    self
                }
                #[doc = #clear_doc]
                pub fn #clear(mut self) -> Self {
                    self.#field = Patch::Null;
                    self
                }
            });
        } else {
            fields.push(quote! {
                #[doc = #field_doc]
                #[serde(rename = #wire, default, skip_serializing_if = "::std::option::Option::is_none")]
                pub #field: ::std::option::Option<#inner>,
            });
            methods.push(quote! {
                #[doc = #set_doc]
                pub fn #field(mut self, value: #param) -> Self {
                    self.#field = ::std::option::Option::Some(#value);
                    self
                }
            });
        }
    }
    Ok(quote! {
        #[doc = #doc]
        #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, Default, PartialEq)]
        #deny
        pub struct #ident {
            #(#fields)*
        }

        impl #ident {
            #[doc = "A patch that changes nothing yet."]
            pub fn new() -> Self {
                Self::default()
            }

            #[doc = "Whether no field is touched."]
            pub fn is_empty(&self) -> bool {
                *self == Self::default()
            }

            #(#methods)*
        }
    })
}

/// The Rust type of a property's value (without the `Patch` or `Option`
/// around a field).
pub(crate) fn rust_type(schema: &Value) -> Result<TokenStream, String> {
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        let ident = format_ident!("{name}");
        return Ok(quote!(crate::types::#ident));
    }
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        return rust_type(only);
    }
    let kind = schema.get("type").and_then(Value::as_str);
    let format = schema.get("format").and_then(Value::as_str);
    Ok(match (kind, format) {
        (Some("string"), Some("date-time")) => {
            quote!(::chrono::DateTime<::chrono::offset::Utc>)
        }
        (Some("string"), _) => quote!(::std::string::String),
        (Some("integer"), format) => {
            let unsigned = schema
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| m >= 0.0);
            match (format, unsigned) {
                (Some("int32"), true) => quote!(u32),
                (Some("int32"), false) => quote!(i32),
                (_, true) => quote!(u64),
                (_, false) => quote!(i64),
            }
        }
        (Some("number"), _) => quote!(f64),
        (Some("boolean"), _) => quote!(bool),
        (Some("array"), _) => {
            let item = rust_type(schema.get("items").ok_or("an array without items")?)?;
            quote!(::std::vec::Vec<#item>)
        }
        (Some("object"), _) => {
            let values = schema
                .get("additionalProperties")
                .filter(|v| v.is_object())
                .ok_or("only maps (objects with additionalProperties) are supported here")?;
            let value = rust_type(values)?;
            if values.get("nullable").and_then(Value::as_bool) == Some(true) {
                quote!(::std::collections::BTreeMap<::std::string::String, ::std::option::Option<#value>>)
            } else {
                quote!(::std::collections::BTreeMap<::std::string::String, #value>)
            }
        }
        _ => return Err(format!("unsupported schema {schema}")),
    })
}

pub(crate) fn description(schema: &Value) -> Option<String> {
    schema
        .get("description")
        .and_then(Value::as_str)
        .map(|d| d.trim().to_owned())
}

/// A Rust field or method name for the wire name `name`: `snake_case`, with
/// a trailing `_` when that is a keyword (`type` → `type_`).
pub(crate) fn field_name(name: &str) -> String {
    let snake = snake(name);
    let keyword = syn::parse_str::<syn::Ident>(&snake).is_err();
    if keyword { format!("{snake}_") } else { snake }
}

/// `camelCase` → `snake_case`.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(if c == '-' { '_' } else { c });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        assert_eq!(snake("defaultPaymentTokenId"), "default_payment_token_id");
        assert_eq!(snake("email"), "email");
        let map: Value = serde_json::json!({
            "type": "object", "additionalProperties": {"type": "string", "nullable": true}
        });
        assert_eq!(
            rust_type(&map).unwrap().to_string(),
            quote!(::std::collections::BTreeMap<::std::string::String, ::std::option::Option<::std::string::String>>).to_string()
        );
        assert!(rust_type(&serde_json::json!({"type": "object"})).is_err());
    }

    #[test]
    fn patch_bodies_are_found_by_operation() {
        let doc = serde_json::json!({"paths": {"/x/{id}": {"patch": {"requestBody": {"content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/XPatch"}}}}}}}});
        assert_eq!(patch_bodies(&doc), BTreeSet::from(["XPatch".to_owned()]));
    }
}

//! Query-parameter structs, generated from the spec: for each GET operation
//! with query parameters, `<OperationId>Params` with an `Option` per
//! parameter (serialised under its wire name, in the spec's order of names,
//! so the query a client signs is always the same) and a setter per
//! parameter. A filter added to the spec reaches the SDK's `ListParams`
//! with no hand edit.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::patches::{description, field_name, rust_type};
use crate::spec;

/// The `params` module, with one struct per operation that has query
/// parameters (its own or its path item's).
pub(crate) fn module(doc: &Value) -> Result<TokenStream, (String, String)> {
    let mut structs = Vec::new();
    for found in spec::operations(doc) {
        let Some(id) = sdk_name(found.op) else {
            continue;
        };
        let params = spec::query_params(doc, found.item, found.op);
        if params.is_empty() {
            continue;
        }
        let at = || format!("paths.{}.{}", found.path, found.method);
        structs.push(params_struct(id, &params).map_err(|e| (at(), e))?);
    }
    Ok(quote! {
        /// Query parameters of the spec's operations (generated).
        pub mod params {
            #(#structs)*
        }
    })
}

fn params_struct(operation: &str, params: &[(String, &Value)]) -> Result<TokenStream, String> {
    let ident = format_ident!("{}Params", pascal(operation));
    let doc =
        format!("The query parameters of `{operation}`; each is optional, `None` is not sent.");
    let mut fields = Vec::new();
    let mut methods = Vec::new();
    for (wire, param) in params {
        let field = format_ident!("{}", field_name(wire));
        let schema = param
            .get("schema")
            .ok_or(format!("parameter {wire} has no schema"))?;
        let ty = rust_type(schema).map_err(|e| format!("parameter {wire}: {e}"))?;
        let field_doc = description(param).unwrap_or_else(|| format!("`{wire}`."));
        let set_doc = format!("Sets `{wire}`.");
        let is_string = schema.get("type").and_then(Value::as_str) == Some("string")
            && schema.get("format").is_none();
        fields.push(quote! {
            #[doc = #field_doc]
            #[serde(rename = #wire, skip_serializing_if = "::std::option::Option::is_none")]
            pub #field: ::std::option::Option<#ty>,
        });
        methods.push(if is_string {
            quote! {
                #[doc = #set_doc]
                pub fn #field(mut self, value: impl ::std::convert::Into<::std::string::String>) -> Self {
                    self.#field = ::std::option::Option::Some(value.into());
                    self
                }
            }
        } else {
            quote! {
                #[doc = #set_doc]
                pub fn #field(mut self, value: #ty) -> Self {
                    self.#field = ::std::option::Option::Some(value);
                    self
                }
            }
        });
    }
    Ok(quote! {
        #[doc = #doc]
        #[derive(::serde::Serialize, ::serde::Deserialize, Clone, Debug, Default, PartialEq)]
        pub struct #ident {
            #(#fields)*
        }

        impl #ident {
            #[doc = "No parameter set: the server's defaults."]
            pub fn new() -> Self {
                Self::default()
            }

            #(#methods)*
        }
    })
}

/// The name an operation's generated Rust types take: its `x-sdk-name`
/// when it has one (stable when the `operationId` changes), or its
/// `operationId`.
pub(crate) fn sdk_name(op: &Value) -> Option<&str> {
    op.get("x-sdk-name")
        .and_then(Value::as_str)
        .or_else(|| op.get("operationId").and_then(Value::as_str))
}

/// `list_customers` → `ListCustomers`.
pub(crate) fn pascal(name: &str) -> String {
    name.split(['_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_parameter_becomes_a_field_and_a_setter() {
        let doc = serde_json::json!({"paths": {"/things": {"get": {
        "operationId": "list_things",
        "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "format": "int32", "minimum": 1}},
            {"name": "color", "in": "query", "schema": {"type": "string"}},
            {"name": "X-Trace", "in": "header", "schema": {"type": "string"}}
        ]}}}});
        let text = module(&doc).unwrap().to_string();
        assert!(text.contains("pub struct ListThingsParams"), "{text}");
        assert!(
            text.contains("pub color : :: std :: option :: Option < :: std :: string :: String >"),
            "{text}"
        );
        assert!(
            text.contains("pub limit : :: std :: option :: Option < u32 >"),
            "{text}"
        );
        assert!(
            !text.contains("trace"),
            "headers are not query parameters: {text}"
        );
        assert_eq!(pascal("list_customers"), "ListCustomers");
    }
}

//! The `limits` module of the generated code: the limits the spec sets on
//! schemas and list queries (which the SDK checks before the network), and
//! the field limits Plugipay publishes (`components.x-published-limits`),
//! which only document what the server judges.

use std::collections::BTreeMap;

use openapiv3::{OpenAPI, Parameter, ReferenceOr, SchemaKind, Type};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::Located;

/// `CustomerName` → `CUSTOMER_NAME`; `list_customers` → `LIST_CUSTOMERS`.
pub(crate) fn screaming(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 && !out.ends_with('_') {
            out.push('_');
        }
        out.push(if c == '-' {
            '_'
        } else {
            c.to_ascii_uppercase()
        });
    }
    out
}

/// One `pub const` with its doc line.
fn constant(name: String, value: u64, doc: String) -> TokenStream {
    let ident = format_ident!("{}", name);
    let value = proc_macro2::Literal::u64_unsuffixed(value);
    quote! {
        #[doc = #doc]
        pub const #ident: usize = #value;
    }
}

/// The `limits` module: every length, count and range limit the spec sets on
/// named schemas and on integer query parameters, as constants. The SDK checks
/// arguments against them and the sandbox validates requests with them.
pub(crate) fn module(spec: &OpenAPI) -> Result<TokenStream, Located> {
    let mut consts = BTreeMap::new();
    let components = spec.components.as_ref();
    for (name, schema) in components.map(|c| c.schemas.iter()).into_iter().flatten() {
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        let base = screaming(name);
        match &schema.schema_kind {
            SchemaKind::Type(Type::String(s)) => {
                if let Some(max) = s.max_length {
                    consts.insert(
                        format!("{base}_MAX_CHARS"),
                        (max as u64, format!("`{name}`: at most {max} characters.")),
                    );
                }
                if let Some(min) = s.min_length {
                    consts.insert(
                        format!("{base}_MIN_CHARS"),
                        (min as u64, format!("`{name}`: at least {min} characters.")),
                    );
                }
            }
            SchemaKind::Type(Type::Object(o)) => {
                if let Some(max) = o.max_properties {
                    consts.insert(
                        format!("{base}_MAX_KEYS"),
                        (max as u64, format!("`{name}`: at most {max} keys.")),
                    );
                }
                if let Some(v) = schema.schema_data.extensions.get("x-key-max-length") {
                    let max = v.as_u64().ok_or_else(|| {
                        (
                            format!("components.schemas.{name}.x-key-max-length"),
                            "must be a non-negative integer".to_owned(),
                        )
                    })?;
                    consts.insert(
                        format!("{base}_KEY_MAX_CHARS"),
                        (max, format!("`{name}`: each key at most {max} characters.")),
                    );
                }
            }
            _ => {}
        }
    }
    for (name, param) in components
        .map(|c| c.parameters.iter())
        .into_iter()
        .flatten()
    {
        let ReferenceOr::Item(param) = param else {
            continue;
        };
        let openapiv3::ParameterSchemaOrContent::Schema(ReferenceOr::Item(schema)) =
            &param.parameter_data_ref().format
        else {
            continue;
        };
        if let SchemaKind::Type(Type::String(s)) = &schema.schema_kind {
            let (base, pname) = (screaming(name), &param.parameter_data_ref().name);
            if let Some(max) = s.max_length {
                consts.insert(
                    format!("{base}_MAX_CHARS"),
                    (max as u64, format!("`{pname}`: at most {max} characters.")),
                );
            }
            if let Some(min) = s.min_length {
                consts.insert(
                    format!("{base}_MIN_CHARS"),
                    (min as u64, format!("`{pname}`: at least {min} characters.")),
                );
            }
        }
    }
    for (path, method, op) in spec.operations() {
        let Some(op_id) = &op.operation_id else {
            continue;
        };
        for (i, param) in op.parameters.iter().enumerate() {
            let ReferenceOr::Item(Parameter::Query { parameter_data, .. }) = param else {
                continue;
            };
            let openapiv3::ParameterSchemaOrContent::Schema(ReferenceOr::Item(schema)) =
                &parameter_data.format
            else {
                continue;
            };
            let SchemaKind::Type(Type::Integer(int)) = &schema.schema_kind else {
                continue;
            };
            let at = format!("paths.{path}.{method}.parameters.{i}");
            // Named like the operation's other Rust items (`x-sdk-name`), so
            // an operationId change renames nothing.
            let sdk_name = op
                .extensions
                .get("x-sdk-name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or(op_id);
            let base = format!(
                "{}_{}",
                screaming(sdk_name),
                screaming(&parameter_data.name)
            );
            let pname = &parameter_data.name;
            let non_negative = |v: i64, what: &str| {
                u64::try_from(v).map_err(|_| (at.clone(), format!("{what} must not be negative")))
            };
            if let Some(min) = int.minimum {
                let min = non_negative(min, "minimum")?;
                consts.insert(
                    format!("{base}_MIN"),
                    (min, format!("`{op_id}` query `{pname}`: at least {min}.")),
                );
            }
            if let Some(max) = int.maximum {
                let max = non_negative(max, "maximum")?;
                consts.insert(
                    format!("{base}_MAX"),
                    (max, format!("`{op_id}` query `{pname}`: at most {max}.")),
                );
            }
            if let Some(default) = schema.schema_data.default.as_ref() {
                let default = default.as_u64().ok_or_else(|| {
                    (
                        format!("{at}.schema.default"),
                        "must be a non-negative integer".to_owned(),
                    )
                })?;
                consts.insert(
                    format!("{base}_DEFAULT"),
                    (
                        default,
                        format!("`{op_id}` query `{pname}`: {default} when absent."),
                    ),
                );
            }
        }
    }
    let items = consts
        .into_iter()
        .map(|(name, (value, doc))| constant(name, value, doc));
    let published = published(spec)?;
    Ok(quote! {
        /// Limits the spec sets on fields, metadata and list queries, derived from
        /// `openapi/customers.yaml`. The SDK rejects arguments outside them before
        /// the network; the sandbox answers 400 `validation_error`.
        pub mod limits {
            #(#items)*
            #published
        }
    })
}

/// One field's published limit, as the spec writes it.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Published {
    min_length: Option<u64>,
    max_length: Option<u64>,
    prefix: Option<String>,
    max_properties: Option<u64>,
}

/// The `published` module: `components.x-published-limits` (field wire name
/// → `minLength`, `maxLength`, `prefix`, `maxProperties`) as constants and
/// as one table of `FieldLimit`s. These document what the server judges:
/// nothing in the SDK refuses a value by them.
fn published(spec: &OpenAPI) -> Result<TokenStream, Located> {
    const AT: &str = "components.x-published-limits";
    let Some(table) = spec
        .components
        .as_ref()
        .and_then(|c| c.extensions.get("x-published-limits"))
    else {
        return Ok(TokenStream::new());
    };
    let fields: BTreeMap<String, Published> = serde_json::from_value(table.clone())
        .map_err(|e| (AT.to_owned(), format!("not a map of field limits: {e}")))?;
    let mut items = Vec::new();
    let mut rows = Vec::new();
    let usize_of = |v: Option<u64>| match v {
        Some(v) => {
            let v = proc_macro2::Literal::u64_unsuffixed(v);
            quote!(Some(#v))
        }
        None => quote!(None),
    };
    for (field, limit) in &fields {
        let base = screaming(field);
        if let Some(min) = limit.min_length {
            let doc = format!("`{field}`: at least {min} characters (published).");
            items.push(constant(format!("{base}_MIN_CHARS"), min, doc));
        }
        if let Some(max) = limit.max_length {
            let doc = format!("`{field}`: at most {max} characters (published).");
            items.push(constant(format!("{base}_MAX_CHARS"), max, doc));
        }
        if let Some(max) = limit.max_properties {
            let doc = format!("`{field}`: at most {max} keys (published).");
            items.push(constant(format!("{base}_MAX_KEYS"), max, doc));
        }
        if let Some(prefix) = &limit.prefix {
            let ident = format_ident!("{base}_PREFIX");
            let doc = format!("`{field}`: starts with `{prefix}` (published).");
            items.push(quote! {
                #[doc = #doc]
                pub const #ident: &str = #prefix;
            });
        }
        let (min, max, keys) = (
            usize_of(limit.min_length),
            usize_of(limit.max_length),
            usize_of(limit.max_properties),
        );
        let prefix = match &limit.prefix {
            Some(p) => quote!(Some(#p)),
            None => quote!(None),
        };
        rows.push(quote! {
            crate::validate::FieldLimit {
                field: #field,
                min_chars: #min,
                max_chars: #max,
                prefix: #prefix,
                max_keys: #keys,
            }
        });
    }
    Ok(quote! {
        /// The limits Plugipay publishes for a customer's fields (the spec's
        /// `components.x-published-limits`). The server judges them (400
        /// `validation_error`); the SDK sends whatever it is given, so a
        /// value the live API accepts is never refused before the network.
        /// The sandbox enforces them by default, and
        /// `plugipay customers import --dry-run` points out rows past them.
        pub mod published {
            #(#items)*
            /// Every published limit, by the field's wire name.
            pub const FIELDS: &[crate::validate::FieldLimit] = &[#(#rows),*];
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screaming_names() {
        assert_eq!(screaming("CustomerName"), "CUSTOMER_NAME");
        assert_eq!(screaming("Email"), "EMAIL");
        assert_eq!(screaming("list_customers"), "LIST_CUSTOMERS");
        assert_eq!(screaming("limit"), "LIMIT");
    }
}

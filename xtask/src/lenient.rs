//! The generator's decoding rules, applied to progenitor's output: the
//! generated data types read answers as leniently as Plugipay's official
//! SDKs do, and the types only answers carry serialise the way the server
//! sends them.
//!
//! - A field the spec marks required but nullable may be absent (read as
//!   `None`): typify would refuse the answer.
//! - A field that may be absent (a map or a list with a default) also
//!   accepts `null`, read as its default (`metadata: null` is an empty map).
//! - In a type that no request body uses, no field is skipped when
//!   serialising: a customer serialises with every field, `null` when unset,
//!   as the live API sends it.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Attribute, Fields, Item, Meta, Token};

/// The path of the function that reads `null` as a default, in the
/// generated crate.
const NULL_AS_DEFAULT: &str = "crate::lenient::null_as_default";

/// Applies the rules to every struct of the generated `types` module;
/// `request_types` are the schemas a request body uses (they keep their
/// `skip_serializing_if`, so absent fields are not sent as `null`).
pub(crate) fn apply(file: &mut syn::File, request_types: &BTreeSet<String>) {
    let Some(items) = crate::types_module(file) else {
        return;
    };
    for item in items {
        let Item::Struct(item) = item else { continue };
        let request = request_types.contains(&item.ident.to_string());
        if let Fields::Named(fields) = &mut item.fields {
            for field in &mut fields.named {
                field.attrs.retain_mut(|attr| rewrite(attr, request));
            }
        }
    }
}

/// Rewrites one `#[serde(..)]` field attribute; `false` when nothing is
/// left of it.
fn rewrite(attr: &mut Attribute, request: bool) -> bool {
    if !attr.path().is_ident("serde") {
        return true;
    }
    let Ok(metas) = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) else {
        return true;
    };
    let name_of = |meta: &Meta| meta.path().get_ident().map(ToString::to_string);
    let value_of = |meta: &Meta| match meta {
        Meta::NameValue(nv) => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    };
    let mut out: Vec<TokenStream> = Vec::new();
    let mut has_default = false;
    let mut has_deserialize_with = false;
    for meta in &metas {
        match (name_of(meta).as_deref(), value_of(meta).as_deref()) {
            // Required and nullable: absent reads as None.
            (Some("deserialize_with"), Some("::std::option::Option::deserialize")) => {
                out.push(quote!(default));
            }
            (Some("skip_serializing_if"), _) if !request => {}
            (Some("default"), _) => {
                out.push(quote!(#meta));
                has_default = true;
            }
            (Some("deserialize_with"), _) => {
                out.push(quote!(#meta));
                has_deserialize_with = true;
            }
            _ => out.push(quote!(#meta)),
        }
    }
    if has_default && !has_deserialize_with {
        out.push(quote!(deserialize_with = #NULL_AS_DEFAULT));
    }
    if out.is_empty() {
        return false;
    }
    *attr = syn::parse_quote!(#[serde(#(#out),*)]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_attr(attr: TokenStream, request: bool) -> String {
        let mut file: syn::File = syn::parse2(quote! {
            pub mod types {
                pub struct T { #attr pub f: X }
            }
        })
        .unwrap();
        let names = if request {
            BTreeSet::from(["T".to_owned()])
        } else {
            BTreeSet::new()
        };
        apply(&mut file, &names);
        let Item::Mod(m) = &file.items[0] else {
            panic!()
        };
        let Item::Struct(s) = &m.content.as_ref().unwrap().1[0] else {
            panic!()
        };
        let Fields::Named(f) = &s.fields else {
            panic!()
        };
        let attrs = &f.named[0].attrs;
        quote!(#(#attrs)*).to_string()
    }

    #[test]
    fn required_nullable_fields_may_be_absent() {
        let out = field_attr(
            quote!(#[serde(rename = "email", deserialize_with = "::std::option::Option::deserialize")]),
            false,
        );
        assert_eq!(out, quote!(#[serde(rename = "email", default)]).to_string());
    }

    #[test]
    fn defaulted_fields_accept_null_and_answers_serialise_every_field() {
        let out = field_attr(
            quote!(#[serde(default, skip_serializing_if = "BTreeMap::is_empty")]),
            false,
        );
        assert_eq!(
            out,
            quote!(#[serde(default, deserialize_with = "crate::lenient::null_as_default")])
                .to_string()
        );
        let out = field_attr(
            quote!(#[serde(default, skip_serializing_if = "BTreeMap::is_empty")]),
            true,
        );
        assert_eq!(
            out,
            quote!(#[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "crate::lenient::null_as_default")])
                .to_string()
        );
    }

    #[test]
    fn an_attribute_with_nothing_left_goes() {
        let out = field_attr(
            quote!(#[serde(skip_serializing_if = "Option::is_none")]),
            false,
        );
        assert_eq!(out, "");
    }

    #[test]
    fn other_attributes_are_kept() {
        let out = field_attr(quote!(#[serde(rename = "accountId")]), false);
        assert_eq!(out, quote!(#[serde(rename = "accountId")]).to_string());
    }
}

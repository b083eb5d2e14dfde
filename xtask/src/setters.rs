//! Builder methods for the generated request types, derived from their
//! fields, so that a field added to a request schema gets its setter with
//! no hand edit: `NewCustomer::new().email("a@b.c").metadata("plan", "pro")`.
//!
//! By field type: `Option<String>` takes `impl Into<String>`; a string map
//! takes one `key, value` entry (and keeps the others); any other
//! `Option<T>` takes a `T`; anything else is set as given.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Fields, GenericArgument, Item, ItemStruct, PathArguments, Type};

/// Adds an `impl` block of setters (and `new()` where the type has a
/// `Default`) after each struct of the `types` module named in `request_types`.
pub(crate) fn apply(file: &mut syn::File, request_types: &BTreeSet<String>) {
    let Some(items) = crate::types_module(file) else {
        return;
    };
    let mut added = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if let Item::Struct(s) = item
            && request_types.contains(&s.ident.to_string())
            && let Some(block) = setters(s)
        {
            added.push((index + 1, block));
        }
    }
    for (index, block) in added.into_iter().rev() {
        items.insert(index, block);
    }
}

fn setters(s: &ItemStruct) -> Option<Item> {
    let Fields::Named(fields) = &s.fields else {
        return None;
    };
    let name = &s.ident;
    let has_default = s
        .attrs
        .iter()
        .any(|a| a.path().is_ident("derive") && quote!(#a).to_string().contains("Default"));
    let new = has_default.then(|| {
        quote! {
            #[doc = "No field set yet."]
            pub fn new() -> Self {
                Self::default()
            }
        }
    });
    let methods = fields.named.iter().filter_map(|field| {
        let ident = field.ident.as_ref()?;
        let wire = wire_name(field).unwrap_or_else(|| ident.to_string());
        let ty = &field.ty;
        Some(if let Some(inner) = option_of(ty) {
            if is_string(inner) {
                let doc = format!("Sets `{wire}`.");
                quote! {
                    #[doc = #doc]
                    pub fn #ident(mut self, value: impl ::std::convert::Into<::std::string::String>) -> Self {
                        self.#ident = ::std::option::Option::Some(value.into());
                        self
                    }
                }
            } else {
                let doc = format!("Sets `{wire}`.");
                quote! {
                    #[doc = #doc]
                    pub fn #ident(mut self, value: #inner) -> Self {
                        self.#ident = ::std::option::Option::Some(value);
                        self
                    }
                }
            }
        } else if is_string_map(ty) {
            let doc = format!("Adds one `{wire}` entry, keeping the others.");
            quote! {
                #[doc = #doc]
                pub fn #ident(
                    mut self,
                    key: impl ::std::convert::Into<::std::string::String>,
                    value: impl ::std::convert::Into<::std::string::String>,
                ) -> Self {
                    self.#ident.insert(key.into(), value.into());
                    self
                }
            }
        } else {
            let doc = format!("Sets `{wire}`.");
            quote! {
                #[doc = #doc]
                pub fn #ident(mut self, value: #ty) -> Self {
                    self.#ident = value;
                    self
                }
            }
        })
    });
    let methods: Vec<TokenStream> = methods.collect();
    let doc = format!("Builder-style setters of `{name}`, one per field (generated).");
    Some(syn::parse_quote! {
        #[doc = #doc]
        impl #name {
            #new
            #(#methods)*
        }
    })
}

/// The field's name on the wire, from `#[serde(rename = "..")]`.
fn wire_name(field: &syn::Field) -> Option<String> {
    field.attrs.iter().find_map(|attr| {
        if !attr.path().is_ident("serde") {
            return None;
        }
        let mut rename = None;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                rename = Some(value.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
        rename
    })
}

/// `T` when `ty` is `Option<T>` (however the path to `Option` is written).
fn option_of(ty: &Type) -> Option<&Type> {
    generic_args(ty, "Option").and_then(|args| args.first().copied())
}

fn is_string(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "String"))
}

/// A `BTreeMap<String, String>` (or `HashMap`).
fn is_string_map(ty: &Type) -> bool {
    ["BTreeMap", "HashMap"].iter().any(|map| {
        generic_args(ty, map)
            .is_some_and(|args| args.len() == 2 && args.iter().all(|t| is_string(t)))
    })
}

fn generic_args<'a>(ty: &'a Type, name: &str) -> Option<Vec<&'a Type>> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    Some(
        args.args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_follow_the_fields() {
        let mut file: syn::File = syn::parse2(quote! {
            pub mod types {
                #[derive(Clone, Default)]
                pub struct Req {
                    #[serde(rename = "externalId")]
                    pub external_id: ::std::option::Option<::std::string::String>,
                    pub metadata: ::std::collections::BTreeMap<::std::string::String, ::std::string::String>,
                    pub order: ::std::option::Option<SortOrder>,
                }
            }
        })
        .unwrap();
        apply(&mut file, &BTreeSet::from(["Req".to_owned()]));
        let text = quote!(#file).to_string();
        for expected in [
            "pub fn new () -> Self",
            "pub fn external_id (mut self , value : impl :: std :: convert :: Into < :: std :: string :: String >)",
            "self . metadata . insert (key . into () , value . into ())",
            "pub fn order (mut self , value : SortOrder)",
            "Sets `externalId`.",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
    }
}

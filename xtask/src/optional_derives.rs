//! Derives the generated data types get under a feature of the generated
//! crate rather than always: `schemars::JsonSchema` under `schema`, so an
//! application that never asks for a type's JSON Schema does not build
//! schemars.

use syn::Item;

/// Adds `#[cfg_attr(feature = "schema", derive(::schemars::JsonSchema))]`
/// to every struct and enum of the generated `types` module.
pub(crate) fn apply(file: &mut syn::File) {
    let Some(items) = crate::types_module(file) else {
        return;
    };
    let attr: syn::Attribute =
        syn::parse_quote!(#[cfg_attr(feature = "schema", derive(::schemars::JsonSchema))]);
    for item in items {
        match item {
            Item::Struct(s) => s.attrs.insert(0, attr.clone()),
            Item::Enum(e) => e.attrs.insert(0, attr.clone()),
            _ => {}
        }
    }
}

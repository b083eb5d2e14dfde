//! The `endpoints` module: each spec operation as a description
//! (`plugipay_api::endpoint::Endpoint`: method, path template, operationId,
//! whether it needs an Idempotency-Key, and its path parameters, query,
//! body and answer types), and the route table (`Route`, `route`) that maps
//! a request's method and path back to its operation. The SDK sends any
//! description through one pipeline and the sandbox dispatches on the
//! table, so a path, an operationId or a new operation in the spec reaches
//! both with no hand edit.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::params::pascal;
use crate::patches::field_name;
use crate::spec::{self, resolve};

/// One operation, as the generator reads it.
struct Operation {
    id: String,
    /// The name of its Rust types (`x-sdk-name`, or the operationId).
    name: String,
    method: String,
    path: String,
    summary: Option<String>,
    path_params: Vec<String>,
    query: Option<TokenStream>,
    body: Option<TokenStream>,
    answer: TokenStream,
    idempotency_key: bool,
    /// Its `Endpoint::check` lines: one per integer query parameter with a
    /// documented range.
    checks: Vec<TokenStream>,
    /// Its query parameters as `QueryParam` values, for the operations
    /// table.
    query_info: Vec<TokenStream>,
    /// Whether its answer's `data` is a list.
    list: bool,
}

/// The `endpoints` module of `doc`; `patch_bodies` are the request bodies
/// generated as three-state patches (`crate::patches`).
pub(crate) fn module(
    doc: &Value,
    patch_bodies: &BTreeSet<String>,
) -> Result<TokenStream, (String, String)> {
    let mut operations = Vec::new();
    for found in spec::operations(doc) {
        let (path, method) = (found.path, found.method);
        let operation = read(doc, path, method, found.item, found.op, patch_bodies)
            .map_err(|e| (format!("paths.{path}.{method}"), e))?;
        operations.push(operation);
    }
    operations.sort_by(|a, b| a.name.cmp(&b.name));
    // The route table tries the more literal template first: of two that
    // match a path, the one with a fixed segment where the other has a
    // parameter (`/customers/search` before `/customers/{id}`). The first
    // template that matches the path decides: a method it lacks is 405,
    // never another template's operation.
    let mut templates: Vec<(&str, Vec<&Operation>)> = Vec::new();
    for op in &operations {
        match templates.iter_mut().find(|(t, _)| *t == op.path) {
            Some((_, ops)) => ops.push(op),
            None => templates.push((&op.path, vec![op])),
        }
    }
    templates.sort_by_key(|(template, _)| specificity(template));
    let structs = operations.iter().map(descriptor);
    let table = operations.iter().map(|op| {
        let (id, method, path, key) = (&op.id, &op.method, &op.path, op.idempotency_key);
        let summary = op.summary.as_deref().unwrap_or_default();
        let path_params = &op.path_params;
        let query = &op.query_info;
        let (body, list) = (op.body.is_some(), op.list);
        quote! {
            crate::endpoint::OperationInfo {
                id: #id,
                summary: #summary,
                method: #method,
                path: #path,
                idempotency_key: #key,
                path_params: &[#(#path_params),*],
                query: &[#(#query),*],
                body: #body,
                list: #list,
            },
        }
    });
    let variants = operations.iter().map(|op| {
        let ident = format_ident!("{}", pascal(&op.name));
        let doc = format!("`{}`: {} {}", op.id, op.method, op.path);
        let fields = op.path_params.iter().map(|p| {
            let field = format_ident!("{}", field_name(p));
            quote!(#field: ::std::string::String)
        });
        if op.path_params.is_empty() {
            quote! { #[doc = #doc] #ident, }
        } else {
            quote! { #[doc = #doc] #ident { #(#fields),* }, }
        }
    });
    let ids = operations.iter().map(|op| {
        let ident = format_ident!("{}", pascal(&op.name));
        let id = &op.id;
        if op.path_params.is_empty() {
            quote!(Route::#ident => #id,)
        } else {
            quote!(Route::#ident { .. } => #id,)
        }
    });
    let arms = templates.iter().map(|(template, ops)| {
        let methods = ops.iter().map(|op| {
            let ident = format_ident!("{}", pascal(&op.name));
            let method = &op.method;
            let fields = op.path_params.iter().map(|p| {
                let field = format_ident!("{}", field_name(p));
                quote!(#field: params.next().unwrap_or_default())
            });
            let value = if op.path_params.is_empty() {
                quote!(Route::#ident)
            } else {
                quote!(Route::#ident { #(#fields),* })
            };
            quote! {
                if method.eq_ignore_ascii_case(#method) {
                    return Ok(#value);
                }
            }
        });
        quote! {
            if let Some(params) = crate::endpoint::match_path(#template, path) {
                #[allow(unused_mut, unused_variables)]
                let mut params = params.into_iter();
                #(#methods)*
                return Err(crate::endpoint::Unrouted::MethodNotAllowed);
            }
        }
    });
    Ok(quote! {
        /// Every operation of the spec as a description the SDK sends through
        /// one pipeline, and the route table the sandbox dispatches on
        /// (generated).
        pub mod endpoints {
            #(#structs)*

            /// Every operation of the spec as data, by operationId (see
            /// [`OperationInfo`](crate::endpoint::OperationInfo)).
            pub const OPERATIONS: &[crate::endpoint::OperationInfo] = &[
                #(#table)*
            ];

            /// A request's operation with its path parameters (unescaped):
            /// what [`route`] finds.
            #[derive(Clone, Debug, PartialEq, Eq)]
            pub enum Route {
                #(#variants)*
            }

            impl Route {
                /// The operation's operationId.
                pub fn operation_id(&self) -> &'static str {
                    match self {
                        #(#ids)*
                    }
                }
            }

            /// The operation `method` and `path` (without its query) name:
            /// [`Unrouted::NotFound`](crate::endpoint::Unrouted::NotFound)
            /// when no operation has the path,
            /// [`Unrouted::MethodNotAllowed`](crate::endpoint::Unrouted::MethodNotAllowed)
            /// when none has it with this method.
            pub fn route(method: &str, path: &str) -> ::std::result::Result<Route, crate::endpoint::Unrouted> {
                #(#arms)*
                Err(crate::endpoint::Unrouted::NotFound)
            }
        }
    })
}

fn read(
    doc: &Value,
    path: &str,
    method: &str,
    item: &Value,
    op: &Value,
    patch_bodies: &BTreeSet<String>,
) -> Result<Operation, String> {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .ok_or("an operation without an operationId")?
        .to_owned();
    let name = crate::params::sdk_name(op).unwrap_or(&id).to_owned();
    let mut path_params = Vec::new();
    let mut idempotency_key = false;
    for param in spec::parameters(doc, item, op) {
        let name = param
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match param.get("in").and_then(Value::as_str) {
            Some("path") => path_params.push(name.to_owned()),
            Some("header")
                if name.eq_ignore_ascii_case("Idempotency-Key")
                    && param.get("required").and_then(Value::as_bool) == Some(true) =>
            {
                idempotency_key = true;
            }
            _ => {}
        }
    }
    // Path parameters in the order the template names them.
    let in_template: Vec<String> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect();
    if in_template.iter().collect::<BTreeSet<_>>() != path_params.iter().collect::<BTreeSet<_>>() {
        return Err(format!(
            "the path template names {in_template:?} but the parameters are {path_params:?}"
        ));
    }
    let query_params = spec::query_params(doc, item, op);
    let checks = query_params
        .iter()
        .filter_map(|(wire, param)| range_check(doc, wire, param))
        .collect();
    let query_info = query_params
        .iter()
        .map(|(wire, param)| query_info(doc, wire, param))
        .collect();
    let has_query = !query_params.is_empty();
    let query = has_query.then(|| {
        let ident = format_ident!("{}Params", pascal(&name));
        quote!(crate::params::#ident)
    });
    let body = match op
        .pointer("/requestBody/content/application~1json/schema/$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        Some(name) if patch_bodies.contains(name) => {
            let ident = format_ident!("{name}");
            Some(quote!(crate::patches::#ident))
        }
        Some(name) => Some(schema_type(doc, name)),
        None if op.get("requestBody").is_some() => {
            return Err("a request body other than a JSON schema reference".into());
        }
        None => None,
    };
    let answer = answer(doc, op)?;
    let list = answer.to_string().starts_with(":: std :: vec :: Vec");
    Ok(Operation {
        summary: op.get("summary").and_then(Value::as_str).map(str::to_owned),
        answer,
        query_info,
        list,
        method: method.to_uppercase(),
        path: path.to_owned(),
        id,
        name,
        path_params: in_template,
        query,
        body,
        idempotency_key,
        checks,
    })
}

/// The check of an integer query parameter whose schema sets `minimum` or
/// `maximum` (OpenAPI 3.0's boolean `exclusiveMinimum` / `exclusiveMaximum`
/// move the bound by one); `None` for any other parameter.
fn range_check(doc: &Value, wire: &str, param: &Value) -> Option<TokenStream> {
    let schema = resolve(doc, param.get("schema")?);
    if schema.get("type").and_then(Value::as_str) != Some("integer") {
        return None;
    }
    let bound = |key: &str, exclusive: &str, step: i64| {
        let value = schema.get(key).and_then(Value::as_i64)?;
        let exclusive = schema.get(exclusive).and_then(Value::as_bool) == Some(true);
        Some(if exclusive { value + step } else { value })
    };
    let (min, max) = (
        bound("minimum", "exclusiveMinimum", 1),
        bound("maximum", "exclusiveMaximum", -1),
    );
    if min.is_none() && max.is_none() {
        return None;
    }
    let tokens = |b: Option<i64>| match b {
        Some(v) => {
            let v = proc_macro2::Literal::i64_unsuffixed(v);
            quote!(::std::option::Option::Some(#v))
        }
        None => quote!(::std::option::Option::None),
    };
    let field = format_ident!("{}", field_name(wire));
    let (min, max) = (tokens(min), tokens(max));
    Some(quote! {
        crate::validate::in_range(#wire, self.query.#field, #min, #max)?;
    })
}

/// A query parameter as the operations table describes it: its name, what
/// the spec says of it, and the values it takes.
fn query_info(doc: &Value, wire: &str, param: &Value) -> TokenStream {
    let description = param
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    let schema = param
        .get("schema")
        .map(|schema| resolve(doc, schema))
        .unwrap_or(&Value::Null);
    let bound = |key: &str, exclusive: &str, step: i64| {
        let value = schema.get(key).and_then(Value::as_i64)?;
        let exclusive = schema.get(exclusive).and_then(Value::as_bool) == Some(true);
        Some(if exclusive { value + step } else { value })
    };
    let option = |b: Option<i64>| match b {
        Some(v) => {
            let v = proc_macro2::Literal::i64_unsuffixed(v);
            quote!(::std::option::Option::Some(#v))
        }
        None => quote!(::std::option::Option::None),
    };
    let values: Vec<&str> = schema
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let kind = match (
        schema.get("type").and_then(Value::as_str),
        schema.get("format").and_then(Value::as_str),
    ) {
        _ if !values.is_empty() => quote!(crate::endpoint::ParamKind::OneOf(&[#(#values),*])),
        (Some("integer"), _) => {
            let min = option(bound("minimum", "exclusiveMinimum", 1));
            let max = option(bound("maximum", "exclusiveMaximum", -1));
            quote!(crate::endpoint::ParamKind::Integer { min: #min, max: #max })
        }
        (Some("string"), Some("date-time")) => quote!(crate::endpoint::ParamKind::DateTime),
        (Some("boolean"), _) => quote!(crate::endpoint::ParamKind::Boolean),
        _ => quote!(crate::endpoint::ParamKind::Text),
    };
    quote! {
        crate::endpoint::QueryParam {
            name: #wire,
            description: #description,
            kind: #kind,
        }
    }
}

/// How a path template sorts in the route table: segment by segment, a
/// fixed one before a parameter.
fn specificity(template: &str) -> Vec<bool> {
    template.split('/').map(|s| s.starts_with('{')).collect()
}

/// The type of the success envelope's `data`: `()` for an answer without a
/// body, `serde_json::Value` for a body whose `data` is not a schema
/// reference (or an array of one).
fn answer(doc: &Value, op: &Value) -> Result<TokenStream, String> {
    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .ok_or("no responses")?;
    let Some((_, success)) = responses.iter().find(|(status, _)| status.starts_with('2')) else {
        return Err("no 2xx response".into());
    };
    let success = resolve(doc, success);
    let Some(schema) = success.pointer("/content/application~1json/schema") else {
        return Ok(quote!(()));
    };
    let envelope = resolve(doc, schema);
    let Some(data) = envelope.pointer("/properties/data") else {
        return Ok(quote!(::serde_json::Value));
    };
    let named = |value: &Value| {
        value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .map(|name| schema_type(doc, name))
    };
    if let Some(ty) = named(data) {
        return Ok(ty);
    }
    if data.get("type").and_then(Value::as_str) == Some("array")
        && let Some(ty) = data.get("items").and_then(named)
    {
        return Ok(quote!(::std::vec::Vec<#ty>));
    }
    Ok(quote!(::serde_json::Value))
}

/// The Rust type of the component schema `name`: the hand-written one it
/// names with `x-sdk-type`, or the one typify generates.
fn schema_type(doc: &Value, name: &str) -> TokenStream {
    let hand_written = doc
        .pointer(&format!("/components/schemas/{name}/{}", crate::SDK_TYPE))
        .and_then(Value::as_str)
        .and_then(|path| syn::parse_str::<syn::Path>(path).ok());
    match hand_written {
        Some(path) => quote!(crate::#path),
        None => {
            let ident = format_ident!("{name}");
            quote!(crate::types::#ident)
        }
    }
}

fn descriptor(op: &Operation) -> TokenStream {
    let ident = format_ident!("{}", pascal(&op.name));
    let (id, method, path, key) = (&op.id, &op.method, &op.path, op.idempotency_key);
    let mut doc = format!("`{id}`: {method} `{path}`");
    if let Some(summary) = &op.summary {
        doc.push_str(&format!(" ({summary})"));
    }
    doc.push('.');
    let mut fields = Vec::new();
    for param in &op.path_params {
        let field = format_ident!("{}", field_name(param));
        let doc = format!("The `{param}` path parameter (escaped as one segment when sent).");
        fields.push(quote! { #[doc = #doc] pub #field: ::std::string::String, });
    }
    if let Some(query) = &op.query {
        fields.push(quote! { #[doc = "The query parameters."] pub query: #query, });
    }
    if let Some(body) = &op.body {
        fields.push(quote! { #[doc = "The JSON body."] pub body: #body, });
    }
    // The path with each `{param}` replaced by its escaped value.
    let mut format = String::new();
    let mut args = Vec::new();
    for segment in path.split('/').skip(1) {
        format.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => {
                format.push_str("{}");
                let field = format_ident!("{}", field_name(param));
                args.push(quote!(crate::wire::escape_segment(&self.#field)));
            }
            None => format.push_str(segment),
        }
    }
    let query_ty = op.query.clone().unwrap_or(quote!(()));
    let body_ty = op.body.clone().unwrap_or(quote!(()));
    let answer = &op.answer;
    let (query, query_mut) = if op.query.is_some() {
        (quote!(Some(&self.query)), quote!(Some(&mut self.query)))
    } else {
        (quote!(None), quote!(None))
    };
    let body = if op.body.is_some() {
        quote!(Some(&self.body))
    } else {
        quote!(None)
    };
    let check = (!op.checks.is_empty()).then(|| {
        let checks = &op.checks;
        quote! {
            fn check(&self) -> ::std::result::Result<(), crate::validate::Invalid> {
                #(#checks)*
                ::std::result::Result::Ok(())
            }
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq)]
        pub struct #ident {
            #(#fields)*
        }

        impl crate::endpoint::Endpoint for #ident {
            const OPERATION_ID: &'static str = #id;
            const METHOD: &'static str = #method;
            const PATH: &'static str = #path;
            const IDEMPOTENCY_KEY: bool = #key;
            type Query = #query_ty;
            type Body = #body_ty;
            type Answer = #answer;

            fn path(&self) -> ::std::string::String {
                format!(#format, #(#args),*)
            }

            fn query(&self) -> ::std::option::Option<&Self::Query> {
                #query
            }

            fn query_mut(&mut self) -> ::std::option::Option<&mut Self::Query> {
                #query_mut
            }

            fn body(&self) -> ::std::option::Option<&Self::Body> {
                #body
            }

            #check
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_becomes_a_descriptor_and_a_route() {
        let doc = serde_json::json!({
            "paths": {"/things/{thingId}": {
                "parameters": [{"name": "thingId", "in": "path", "required": true, "schema": {"type": "string"}}],
                "delete": {
                    "operationId": "delete_thing",
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": true, "schema": {"type": "string"}}],
                    "responses": {"204": {"description": "gone"}}
                }
            }},
        });
        let text = module(&doc, &BTreeSet::new()).unwrap().to_string();
        assert!(text.contains("pub struct DeleteThing"), "{text}");
        assert!(
            text.contains("const IDEMPOTENCY_KEY : bool = true"),
            "{text}"
        );
        assert!(
            text.contains("const PATH : & 'static str = \"/things/{thingId}\""),
            "{text}"
        );
        assert!(
            text.contains("DeleteThing { thing_id : :: std :: string :: String }"),
            "{text}"
        );
        assert!(text.contains("type Answer = ()"), "{text}");
        assert!(text.contains("\"/things/{}\""), "{text}");
        // No documented range: no check of its own.
        assert!(!text.contains("fn check"), "{text}");
    }

    #[test]
    fn a_documented_range_of_an_integer_query_parameter_is_checked() {
        let doc = serde_json::json!({
            "components": {"parameters": {"Limit": {"name": "limit", "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100}}}},
            "paths": {"/things": {"get": {
                "operationId": "list_things",
                "parameters": [
                    {"$ref": "#/components/parameters/Limit"},
                    {"name": "skip", "in": "query",
                     "schema": {"type": "integer", "minimum": 0, "exclusiveMinimum": true}},
                    {"name": "page", "in": "query", "schema": {"type": "integer"}},
                    {"name": "name", "in": "query", "schema": {"type": "string", "maxLength": 9}}
                ],
                "responses": {"200": {"description": "ok"}}
            }}},
        });
        let text = module(&doc, &BTreeSet::new()).unwrap().to_string();
        assert!(text.contains("fn check"), "{text}");
        assert!(
            text.contains("in_range (\"limit\" , self . query . limit , :: std :: option :: Option :: Some (1) , :: std :: option :: Option :: Some (100))"),
            "{text}"
        );
        assert!(
            text.contains("in_range (\"skip\" , self . query . skip , :: std :: option :: Option :: Some (1) , :: std :: option :: Option :: None)"),
            "{text}"
        );
        assert!(!text.contains("\"page\" , self"), "{text}");
        assert!(!text.contains("\"name\" , self"), "{text}");
    }

    #[test]
    fn a_literal_path_is_routed_before_a_template_that_also_matches_it() {
        // `a_get` sorts first by name, but `/things/search` must still reach
        // `search_things`, not `a_get` with the id "search".
        let ok = serde_json::json!({"200": {"description": "ok"}});
        let doc = serde_json::json!({"paths": {
            "/things/{id}": {"get": {
                "operationId": "a_get",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": ok
            }},
            "/things/search": {"get": {"operationId": "search_things", "responses": ok}},
        }});
        let text = module(&doc, &BTreeSet::new()).unwrap().to_string();
        let literal = text
            .find("match_path (\"/things/search\"")
            .expect("a literal arm");
        let template = text
            .find("match_path (\"/things/{id}\"")
            .expect("a template arm");
        assert!(literal < template, "{text}");
        // A method the literal path lacks (DELETE /things/search) is 405
        // there, never `/things/{id}`'s operation.
        let refused = text[literal..]
            .find("MethodNotAllowed")
            .map(|at| literal + at)
            .expect("a 405");
        assert!(refused < template, "{text}");
        // Types and variants stay in name order.
        assert!(
            text.find("pub struct AGet").unwrap() < text.find("pub struct SearchThings").unwrap()
        );
        assert_eq!(specificity("/a/{b}/c"), [false, false, true, false]);
    }

    #[test]
    fn a_template_and_parameters_that_disagree_are_refused() {
        let doc = serde_json::json!({"paths": {"/things/{id}": {"get": {
            "operationId": "get_thing",
            "responses": {"200": {"description": "ok"}}
        }}}});
        let (at, message) = module(&doc, &BTreeSet::new()).unwrap_err();
        assert_eq!(at, "paths./things/{id}.get");
        assert!(message.contains("names"), "{message}");
    }
}

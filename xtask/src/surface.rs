//! The client surface of a spec, as short stable text for a snapshot: each
//! operation with its method, path, parameters and responses; each schema
//! with its fields, types, nullability and constraints. Adding one field to
//! the spec changes one or two lines of it, which is what a reviewer reads in
//! `cargo insta review`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use crate::spec::{METHODS, resolve};

/// The surface of the OpenAPI document `doc` (already parsed from YAML).
pub fn surface(doc: &Value) -> String {
    let mut out = String::new();
    let mut operations = BTreeMap::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let shared = item.get("parameters");
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("(no operationId)");
            operations.insert(id.to_owned(), operation(doc, method, path, shared, op));
        }
    }
    for text in operations.values() {
        out.push_str(text);
    }
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    for (name, schema) in schemas.into_iter().flatten() {
        let _ = writeln!(out, "schema {name}: {}", type_of(schema));
        for line in fields(schema) {
            let _ = writeln!(out, "  {line}");
        }
    }
    let published = doc
        .pointer("/components/x-published-limits")
        .and_then(Value::as_object);
    for (field, limit) in published.into_iter().flatten() {
        let words: Vec<String> = limit
            .as_object()
            .into_iter()
            .flatten()
            .map(|(rule, value)| {
                format!(
                    "{rule} {}",
                    value.as_str().map_or(value.to_string(), str::to_owned)
                )
            })
            .collect();
        let _ = writeln!(out, "published limit {field}: {}", words.join(", "));
    }
    out
}

fn operation(doc: &Value, method: &str, path: &str, shared: Option<&Value>, op: &Value) -> String {
    let mut out = String::new();
    let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
    let _ = writeln!(out, "operation {id}: {} {path}", method.to_uppercase());
    let mut params = BTreeMap::new();
    for list in [shared, op.get("parameters")].into_iter().flatten() {
        for param in list.as_array().into_iter().flatten() {
            let param = resolve(doc, param);
            let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
            let place = param.get("in").and_then(Value::as_str).unwrap_or("?");
            let required = param.get("required").and_then(Value::as_bool) == Some(true);
            let schema = param.get("schema").map(type_of).unwrap_or_default();
            params.insert(
                (place.to_owned(), name.to_owned()),
                format!(
                    "{place} {name}: {schema}{}",
                    if required { ", required" } else { "" }
                ),
            );
        }
    }
    for line in params.values() {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(body) = op.get("requestBody") {
        let body = resolve(doc, body);
        let required = body.get("required").and_then(Value::as_bool) == Some(true);
        for (media, content) in body
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let schema = content.get("schema").map(type_of).unwrap_or_default();
            let _ = writeln!(
                out,
                "  body {media}: {schema}{}",
                if required { ", required" } else { "" }
            );
        }
    }
    let responses = op.get("responses").and_then(Value::as_object);
    for (status, response) in responses.into_iter().flatten() {
        let response = resolve(doc, response);
        let content = response.get("content").and_then(Value::as_object);
        let bodies: Vec<String> = content
            .into_iter()
            .flatten()
            .map(|(media, c)| {
                let schema = c.get("schema").map(type_of).unwrap_or_default();
                format!("{media} {schema}")
            })
            .collect();
        let headers: Vec<&str> = response
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, _)| name.as_str())
            .collect();
        let mut line = format!("  {status}: ");
        line.push_str(&if bodies.is_empty() {
            "no body".to_owned()
        } else {
            bodies.join(", ")
        });
        if !headers.is_empty() {
            let _ = write!(line, "; headers {}", headers.join(", "));
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// A schema in a few words: a reference's name, or its type with format,
/// nullability and constraints.
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    let mut words = Vec::new();
    if let Some(all_of) = schema.get("allOf").and_then(Value::as_array) {
        let parts: Vec<String> = all_of.iter().map(type_of).collect();
        words.push(parts.join(" & "));
    }
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let mut kind = kind.to_owned();
        if let Some(format) = schema.get("format").and_then(Value::as_str) {
            let _ = write!(kind, " ({format})");
        }
        if kind == "array"
            && let Some(items) = schema.get("items")
        {
            kind = format!("array of {}", type_of(items));
        }
        if kind == "object"
            && let Some(values) = schema.get("additionalProperties")
        {
            match values {
                Value::Bool(false) => kind.push_str(", no other keys"),
                Value::Bool(true) => kind.push_str(" of any values"),
                values => {
                    let values = type_of(values);
                    if values.contains(", ") {
                        let _ = write!(kind, " of string to ({values})");
                    } else {
                        let _ = write!(kind, " of string to {values}");
                    }
                }
            }
        }
        words.push(kind);
    }
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        words.push("nullable".to_owned());
    }
    for key in [
        "enum",
        "default",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "maxProperties",
    ] {
        if let Some(value) = schema.get(key) {
            words.push(format!("{key} {value}"));
        }
    }
    if words.is_empty() {
        "any".to_owned()
    } else {
        words.join(", ")
    }
}

/// The fields of an object schema, one line each, with `required` marked.
fn fields(schema: &Value) -> Vec<String> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let properties = schema.get("properties").and_then(Value::as_object);
    properties
        .into_iter()
        .flatten()
        .map(|(name, field)| {
            format!(
                "{name}: {}{}",
                type_of(field),
                if required.contains(&name.as_str()) {
                    ", required"
                } else {
                    ""
                }
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_new_field_is_one_new_line() {
        let before: Value = serde_yaml::from_str(
            "paths: {}\ncomponents:\n  schemas:\n    C:\n      type: object\n      required: [id]\n      properties:\n        id: {type: string}\n",
        )
        .unwrap();
        let mut after = before.clone();
        after["components"]["schemas"]["C"]["properties"]["tier"] =
            serde_json::json!({"type": "string", "nullable": true});
        let (a, b) = (surface(&before), surface(&after));
        assert_eq!(a, "schema C: object\n  id: string, required\n");
        assert_eq!(
            b,
            "schema C: object\n  id: string, required\n  tier: string, nullable\n"
        );
    }
}

//! Reading the OpenAPI document as the generators need it: its operations
//! with their path items, `$ref`s resolved, and the query parameters an
//! operation takes (one answer for every generator that asks).

use serde_json::Value;

/// The HTTP methods a path item may hold, as OpenAPI spells them.
pub(crate) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of the document, where it sits.
pub(crate) struct Located<'a> {
    /// Its path template.
    pub path: &'a str,
    /// Its method, lowercase.
    pub method: &'static str,
    /// The path item (for the parameters its operations share).
    pub item: &'a Value,
    /// The operation object.
    pub op: &'a Value,
}

/// Every operation of `doc`, by path then method.
pub(crate) fn operations(doc: &Value) -> Vec<Located<'_>> {
    let paths = doc.get("paths").and_then(Value::as_object);
    let mut found = Vec::new();
    for (path, item) in paths.into_iter().flatten() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                found.push(Located {
                    path,
                    method,
                    item,
                    op,
                });
            }
        }
    }
    found
}

/// `value`, or what its `$ref` points at.
pub(crate) fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
            .unwrap_or(value),
        None => value,
    }
}

/// The operation's parameters, resolved: the path item's shared ones
/// first, an operation's own one replacing a shared one of the same name
/// and place (as OpenAPI says).
pub(crate) fn parameters<'a>(doc: &'a Value, item: &'a Value, op: &'a Value) -> Vec<&'a Value> {
    let list = |v: &'a Value| -> Vec<&'a Value> {
        v.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| resolve(doc, p))
            .collect()
    };
    let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
    let own = list(op);
    let mut all: Vec<&Value> = list(item)
        .into_iter()
        .filter(|shared| !own.iter().any(|o| key(o) == key(shared)))
        .collect();
    all.extend(own);
    all
}

/// The operation's query parameters by name, sorted by name: the fields of
/// its generated `…Params`, and whether it has a query at all.
pub(crate) fn query_params<'a>(
    doc: &'a Value,
    item: &'a Value,
    op: &'a Value,
) -> Vec<(String, &'a Value)> {
    let mut params: Vec<(String, &Value)> = parameters(doc, item, op)
        .into_iter()
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
        .map(|p| {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            (name.to_owned(), p)
        })
        .collect();
    params.sort_by(|a, b| a.0.cmp(&b.0));
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shared_parameters_count_and_own_ones_replace_them() {
        let doc = json!({
            "components": {"parameters": {"Limit": {"name": "limit", "in": "query"}}},
            "paths": {"/things": {
                "parameters": [
                    {"$ref": "#/components/parameters/Limit"},
                    {"name": "color", "in": "query", "description": "shared"}
                ],
                "post": {"operationId": "make",
                         "parameters": [{"name": "color", "in": "query", "description": "own"},
                                        {"name": "X-Trace", "in": "header"}]}
            }}
        });
        let ops = operations(&doc);
        assert_eq!(ops.len(), 1);
        let Located {
            item, op, method, ..
        } = &ops[0];
        assert_eq!(*method, "post");
        let query = query_params(&doc, item, op);
        let names: Vec<&str> = query.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["color", "limit"]);
        assert_eq!(query[0].1["description"], "own");
        assert_eq!(parameters(&doc, item, op).len(), 3);
    }
}

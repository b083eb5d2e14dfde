//! An operation of the spec as a description: its method, path template,
//! operationId, whether it needs an Idempotency-Key, and the types of its
//! query, body and answer (the envelope's `data`). The generated
//! [`endpoints`](crate::endpoints) module has one per spec operation and the
//! route table that maps a request's method and path back to one; the SDK
//! sends any of them through one pipeline, and the sandbox dispatches on the
//! table.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::validate::Invalid;
use crate::wire;

/// One operation of the spec (implemented by the generated
/// [`endpoints`](crate::endpoints)).
pub trait Endpoint: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The spec's operationId (`get_customer`).
    const OPERATION_ID: &'static str;
    /// The HTTP method (`GET`, `POST`, …).
    const METHOD: &'static str;
    /// The path template (`/api/v1/customers/{id}`).
    const PATH: &'static str;
    /// Whether the operation requires an `Idempotency-Key` (a write).
    const IDEMPOTENCY_KEY: bool;
    /// The query parameters (`()` when it has none).
    type Query: Serialize + DeserializeOwned + Send + Sync;
    /// The request body (`()` when it has none).
    type Body: Serialize + Send + Sync;
    /// The envelope's `data` on success (`()` when the answer has none).
    type Answer: DeserializeOwned + Send + 'static;
    /// The path as sent: the template with each parameter escaped as one
    /// segment.
    fn path(&self) -> String;
    /// The query, when the operation has one.
    fn query(&self) -> Option<&Self::Query>;
    /// The query to change (a list's cursor, say), when the operation has
    /// one.
    fn query_mut(&mut self) -> Option<&mut Self::Query>;
    /// The body, when the operation has one.
    fn body(&self) -> Option<&Self::Body>;
    /// Checks the arguments against what the spec documents for them (the
    /// range of an integer query parameter), before anything is sent.
    /// Generated for the operations that have such a rule; the rest pass.
    fn check(&self) -> Result<(), crate::validate::Invalid> {
        Ok(())
    }
}

/// An operation of the spec as data, for callers that choose one at run
/// time (a command line's `plugipay api OPERATION`): the generated
/// [`OPERATIONS`](crate::endpoints::OPERATIONS) table holds one per
/// operation, so an operation added to the spec is there with no hand edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationInfo {
    /// The spec's operationId (`get_customer`).
    pub id: &'static str,
    /// The spec's summary (`Get a customer`).
    pub summary: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path template (`/api/v1/customers/{id}`).
    pub path: &'static str,
    /// Whether the operation requires an `Idempotency-Key` (a write).
    pub idempotency_key: bool,
    /// The path parameters, in the template's order.
    pub path_params: &'static [&'static str],
    /// The query parameters, by name.
    pub query: &'static [QueryParam],
    /// Whether the request takes a JSON body.
    pub body: bool,
    /// Whether the answer's `data` is a list (walked page after page when
    /// the operation also takes a `cursor`).
    pub list: bool,
}

/// A query parameter of an [`OperationInfo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryParam {
    /// Its name on the wire (`createdAfter`).
    pub name: &'static str,
    /// What the spec says of it.
    pub description: &'static str,
    /// What values it takes.
    pub kind: ParamKind,
}

/// The values a query parameter takes, as the spec documents them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Any text.
    Text,
    /// A whole number within the documented range, if any.
    Integer {
        /// The smallest value.
        min: Option<i64>,
        /// The largest value.
        max: Option<i64>,
    },
    /// An RFC 3339 time (`2026-12-04T10:00:00Z`).
    DateTime,
    /// `true` or `false`.
    Boolean,
    /// One of these values.
    OneOf(&'static [&'static str]),
}

impl QueryParam {
    /// Checks `value` (as given, before it is encoded) against what the
    /// spec documents for the parameter.
    ///
    /// ```
    /// use plugipay_api::endpoint::OperationInfo;
    ///
    /// let list = OperationInfo::find("list_customers").unwrap();
    /// let limit = list.query_param("limit").unwrap();
    /// assert!(limit.check("50").is_ok());
    /// assert!(limit.check("0").is_err());
    /// assert!(limit.check("many").is_err());
    /// ```
    pub fn check(&self, value: &str) -> Result<(), Invalid> {
        let refused = |reason: String| Err(Invalid::new(self.name, reason));
        match self.kind {
            ParamKind::Text => Ok(()),
            ParamKind::Integer { min, max } => {
                let Ok(n) = value.trim().parse::<i64>() else {
                    return refused(format!("{value:?} is not a whole number"));
                };
                crate::validate::in_range(
                    self.name,
                    Some(n),
                    min.map(i128::from),
                    max.map(i128::from),
                )
            }
            ParamKind::DateTime => match chrono::DateTime::parse_from_rfc3339(value.trim()) {
                Ok(_) => Ok(()),
                Err(_) => refused(format!(
                    "{value:?} is not an RFC 3339 time (2026-12-04T10:00:00Z)"
                )),
            },
            ParamKind::Boolean => match value {
                "true" | "false" => Ok(()),
                _ => refused(format!("{value:?} is not `true` or `false`")),
            },
            ParamKind::OneOf(values) => {
                if values.contains(&value) {
                    Ok(())
                } else {
                    refused(format!("{value:?} is not one of {}", values.join(", ")))
                }
            }
        }
    }
}

impl OperationInfo {
    /// The operation whose operationId is `id`.
    pub fn find(id: &str) -> Option<&'static OperationInfo> {
        crate::endpoints::OPERATIONS.iter().find(|op| op.id == id)
    }

    /// Its query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&'static QueryParam> {
        self.query.iter().find(|p| p.name == name)
    }

    /// The path as sent: the template with each parameter's value (from
    /// `values`, by name) checked and escaped as one segment.
    ///
    /// ```
    /// use plugipay_api::endpoint::OperationInfo;
    ///
    /// let get = OperationInfo::find("get_customer").unwrap();
    /// let path = get.path_with(|name| (name == "id").then(|| "cus 1/a".to_owned())).unwrap();
    /// assert!(path.ends_with("/cus%201%2Fa"));
    /// assert!(get.path_with(|_| None).is_err());
    /// ```
    pub fn path_with(&self, values: impl Fn(&str) -> Option<String>) -> Result<String, Invalid> {
        let mut path = String::with_capacity(self.path.len());
        for (i, segment) in self.path.split('/').enumerate() {
            if i > 0 {
                path.push('/');
            }
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let value = values(name).ok_or_else(|| {
                        Invalid::new(name, format!("`{}` needs its `{name}`", self.id))
                    })?;
                    crate::validate::path_segment(name, &value)?;
                    path.push_str(&wire::escape_segment(&value));
                }
                None => path.push_str(segment),
            }
        }
        Ok(path)
    }
}

/// Why a request matches no operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unrouted {
    /// No operation has this path.
    NotFound,
    /// Operations have this path, none with this method.
    MethodNotAllowed,
}

/// The path parameters of `path` under `template` (`/a/{id}/b`), in order,
/// each segment unescaped; `None` when it does not match.
///
/// ```
/// use plugipay_api::endpoint::match_path;
///
/// assert_eq!(match_path("/c/{id}", "/c/a%2Fb"), Some(vec!["a/b".to_owned()]));
/// assert_eq!(match_path("/c/{id}", "/c/"), None);
/// assert_eq!(match_path("/c", "/c"), Some(vec![]));
/// ```
pub fn match_path(template: &str, path: &str) -> Option<Vec<String>> {
    let mut wanted = template.split('/');
    let mut got = path.split('/');
    let mut params = Vec::new();
    loop {
        match (wanted.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                if g.is_empty() {
                    return None;
                }
                params.push(wire::unescape_segment(g)?);
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Unrouted;
    use crate::endpoints::{Route, route};

    #[test]
    fn the_route_table_finds_operations_and_says_why_not() {
        use super::Endpoint;
        use crate::endpoints::{GetCustomer, ListEvents};
        // Paths from the descriptors, so the test follows a moved path.
        let one = |segment: &str| GetCustomer::PATH.replace("{id}", segment);
        assert_eq!(
            route("get", &one("cus%201")),
            Ok(Route::GetCustomer { id: "cus 1".into() })
        );
        assert_eq!(route("GET", ListEvents::PATH), Ok(Route::ListEvents));
        assert_eq!(
            route("DELETE", ListEvents::PATH),
            Err(Unrouted::MethodNotAllowed)
        );
        assert_eq!(route("PUT", &one("cus_1")), Err(Unrouted::MethodNotAllowed));
        assert_eq!(route("GET", "/api/v1/nothing"), Err(Unrouted::NotFound));
    }
}

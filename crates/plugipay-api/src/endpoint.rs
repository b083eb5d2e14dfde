//! An operation of the spec as a description: its method, path template,
//! operationId, whether it needs an Idempotency-Key, and the types of its
//! query, body and answer (the envelope's `data`). The generated
//! [`endpoints`](crate::endpoints) module has one per spec operation and the
//! route table that maps a request's method and path back to one; the SDK
//! sends any of them through one pipeline, and the sandbox dispatches on the
//! table.

use serde::Serialize;
use serde::de::DeserializeOwned;

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
        assert_eq!(
            route("get", "/api/v1/customers/cus%201"),
            Ok(Route::GetCustomer { id: "cus 1".into() })
        );
        assert_eq!(route("GET", "/api/v1/events"), Ok(Route::ListEvents));
        assert_eq!(
            route("DELETE", "/api/v1/events"),
            Err(Unrouted::MethodNotAllowed)
        );
        assert_eq!(
            route("PUT", "/api/v1/customers/cus_1"),
            Err(Unrouted::MethodNotAllowed)
        );
        assert_eq!(route("GET", "/api/v1/nothing"), Err(Unrouted::NotFound));
    }
}

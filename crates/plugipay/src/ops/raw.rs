//! `client.request(method, path)`: a signed call to any route of the API,
//! answering the envelope's `data` as JSON or as the caller's type, with the
//! typed calls' signing, retries, idempotency, deadlines and errors; and
//! `.paginated()` for list routes with the same cursor envelope.

use std::fmt;
use std::marker::PhantomData;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use serde_json::Value;

use crate::customer::Page;
use crate::error::Error;
use crate::pagination::Paginated;
use crate::transport::decode::{self, Envelope};
use crate::transport::outgoing::Outgoing;
use crate::transport::request::{Operation, Request, Write, private};

/// `client.request(..)`: one call to a route, answering `T` (JSON by default).
pub struct Raw<T = serde_json::Value> {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    /// A builder argument that could not be used, reported when sent.
    invalid: Option<(&'static str, String)>,
    output: PhantomData<fn() -> T>,
}

/// `client.request(..).paginated()`: one page of a list route, whose `data`
/// is an array of `T` and whose `meta` carries `cursor` and `hasMore`.
pub struct RawList<T = serde_json::Value> {
    raw: Raw<T>,
}

// Hand-written: `T` is only what the answer decodes into, so neither needs
// `T: Clone` or `T: Debug`.
impl<T> Clone for Raw<T> {
    fn clone(&self) -> Self {
        Self {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            body: self.body.clone(),
            invalid: self.invalid.clone(),
            output: PhantomData,
        }
    }
}

impl<T> Clone for RawList<T> {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
        }
    }
}

impl<T> fmt::Debug for Raw<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Raw")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("has_body", &self.body.is_some())
            .finish()
    }
}

impl<T> fmt::Debug for RawList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawList").field(&self.raw).finish()
    }
}

impl Raw {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            invalid: None,
            output: PhantomData,
        }
    }
}

impl<T> Raw<T> {
    fn retyped<U>(self) -> Raw<U> {
        Raw {
            method: self.method,
            path: self.path,
            query: self.query,
            body: self.body,
            invalid: self.invalid,
            output: PhantomData,
        }
    }

    /// What goes out: the path checked, the query encoded, the body as
    /// JSON, and (on a write) the idempotency key.
    fn outgoing(&self, idempotency_key: Option<String>) -> Result<Outgoing, Error> {
        if let Some((field, reason)) = &self.invalid {
            return Err(Error::InvalidArgument {
                field: (*field).into(),
                reason: reason.clone(),
            });
        }
        checked_path(&self.path)?;
        let query =
            serde_urlencoded::to_string(&self.query).map_err(|e| Error::InvalidArgument {
                field: "query".into(),
                reason: e.to_string(),
            })?;
        let mut outgoing = Outgoing::new(self.method.clone(), self.path.clone()).query(query);
        if let Some(body) = &self.body {
            outgoing = outgoing.json(body)?;
        }
        if let Some(key) = idempotency_key {
            outgoing = outgoing.idempotency_key(key);
        }
        Ok(outgoing)
    }

    /// The Idempotency-Key this call sends: the caller's or a fresh one on a
    /// write; none on a read, where a caller's key is refused rather than
    /// silently dropped.
    fn key<Op: Write>(&self, request: &Request<Op>) -> Result<Option<String>, Error> {
        if self.writes() {
            return request.resolved_idempotency_key().map(Some);
        }
        if request.options().idempotency_key.is_some() {
            return Err(Error::InvalidArgument {
                field: "idempotency_key".into(),
                reason: format!(
                    "a {} is not a write: it carries no Idempotency-Key",
                    self.method
                ),
            });
        }
        Ok(None)
    }

    /// Whether the method changes something, and so carries an Idempotency-Key.
    fn writes(&self) -> bool {
        !matches!(
            self.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        )
    }
}

/// A path as given to `client.request`: absolute, already escaped, without
/// a query or fragment (use [`Request::query`] for the query).
fn checked_path(path: &str) -> Result<(), Error> {
    let reason = if !path.starts_with('/') {
        "must start with `/` (it is joined to the client's base URL)"
    } else if !path.bytes().all(|b| b.is_ascii_graphic()) {
        "must be printable ASCII without spaces: escape each segment with plugipay::escape_path_segment"
    } else if path.contains(['?', '#']) {
        "must not hold a query or fragment: give the query with .query(..)"
    } else if path.contains('\\') || path.split('/').any(is_dot_segment) {
        "must not hold `\\`, `.` or `..` segments (escaped or not), which URL parsing would rewrite"
    } else {
        return Ok(());
    };
    Err(Error::InvalidArgument {
        field: "path".into(),
        reason: reason.into(),
    })
}

/// A segment that URL parsing reads as `.` or `..`, also when its dots are
/// percent-encoded (`%2e`, `%2E`).
fn is_dot_segment(segment: &str) -> bool {
    let dots = segment.to_ascii_lowercase().replace("%2e", ".");
    dots == "." || dots == ".."
}

/// `value` escaped as one path segment, for building a path for
/// [`Client::request`](crate::Client::request): every byte but ASCII
/// letters, digits and `-`, `.`, `_`, `~` is percent-encoded (a segment of
/// only dots is still refused by `request`).
///
/// ```
/// assert_eq!(plugipay::escape_path_segment(r"inv 1/a?b\c"), "inv%201%2Fa%3Fb%5Cc");
/// ```
pub fn escape_path_segment(value: &str) -> String {
    plugipay_api::wire::escape_segment(value)
}

impl<T> private::Sealed for Raw<T> {}
impl<T> private::Sealed for RawList<T> {}
impl<T: DeserializeOwned + Send + 'static> Write for Raw<T> {}
impl<T: DeserializeOwned + Send + 'static> Write for RawList<T> {}

impl<T: DeserializeOwned + Send + 'static> Operation for Raw<T> {
    type Output = T;
    const NAME: &'static str = "request";

    /// Sends the call; a write (any method but GET, HEAD, OPTIONS and
    /// TRACE) carries an Idempotency-Key. An answer without `data` (a 204,
    /// or `data: null`) decodes as JSON `null`, which `serde_json::Value`
    /// and `Option<_>` accept; `()` takes any answer and ignores its data.
    /// `data` is read as `T` after the last attempt: a `T` that does not
    /// fit is an [`Error::Decode`], not a reason to send again — for a
    /// write, which was applied, inside [`Error::OutcomeUnknown`].
    async fn run(request: Request<Self>) -> Result<T, Error> {
        let key = request.op.key(&request)?;
        let outgoing = request.op.outgoing(key)?;
        // As the attempt loop judges it, so decoding and retrying agree.
        let write = outgoing.is_write();
        let envelope: Envelope<Value> = request.exchange(outgoing).await?;
        decode::answer_as(envelope, write)
    }
}

impl<T: DeserializeOwned + Send + 'static> Operation for RawList<T> {
    type Output = Page<T>;
    const NAME: &'static str = "request_list";

    /// Sends one page's GET (a walk is for reading: other methods are
    /// refused, as each page would need its own idempotency key).
    async fn run(request: Request<Self>) -> Result<Page<T>, Error> {
        if request.op.raw.writes() {
            return Err(Error::InvalidArgument {
                field: "method".into(),
                reason: format!(
                    "a paginated walk reads pages: {} is not GET",
                    request.op.raw.method
                ),
            });
        }
        let key = request.op.raw.key(&request)?;
        // A page must carry its list: one without is unreadable, not the end.
        let outgoing = request.op.raw.outgoing(key)?.needs_data();
        let mut envelope = request.exchange::<Vec<Value>>(outgoing).await?;
        let data = Value::Array(envelope.data.take().unwrap_or_default());
        let items: Vec<T> =
            decode::data_as(envelope.status, envelope.meta.request_id.clone(), data)?;
        let served = items.len();
        Ok(Page::answered(items, served, &envelope))
    }
}

impl<T: DeserializeOwned + Send + 'static> Paginated for RawList<T> {
    type Item = T;

    fn cursor(&self) -> Option<&str> {
        self.raw
            .query
            .iter()
            .find(|(name, _)| name == "cursor")
            .map(|(_, value)| value.as_str())
    }

    fn with_cursor(mut self, cursor: String) -> Result<Self, Error> {
        self.raw.query.retain(|(name, _)| name != "cursor");
        self.raw.query.push(("cursor".to_owned(), cursor));
        Ok(self)
    }
}

impl<T> Request<Raw<T>> {
    /// Adds query parameters: anything `serde_urlencoded` takes (a struct,
    /// a map, a slice of pairs). They are sent in the order given, and
    /// signed as sent.
    pub fn query(mut self, query: &impl Serialize) -> Self {
        let pairs = serde_urlencoded::to_string(query).and_then(|encoded| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&encoded)
                .map_err(|e| serde_urlencoded::ser::Error::Custom(e.to_string().into()))
        });
        match pairs {
            Ok(pairs) => self.op.query.extend(pairs),
            Err(e) => self.op.invalid = Some(("query", e.to_string())),
        }
        self
    }

    /// Sends `body` as the JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Self {
        match serde_json::to_value(body) {
            Ok(value) => self.op.body = Some(value),
            Err(e) => self.op.invalid = Some(("body", format!("cannot be sent as JSON: {e}"))),
        }
        self
    }

    /// Decodes the answer's `data` as `U` instead.
    pub fn returning<U>(self) -> Request<Raw<U>> {
        self.map_op(Raw::retyped)
    }

    /// Treats the route as a cursor-paginated list of `T`: awaiting gives
    /// one [`Page`], and [`stream`](Request::stream) /
    /// [`pages`](Request::pages) walk every page (following `meta.cursor`
    /// with a `cursor` query parameter, with the same guards as the
    /// customers walk).
    pub fn paginated(self) -> Request<RawList<T>> {
        self.map_op(|raw| RawList { raw })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for good in ["/api/v1/invoices", "/api/v1/customers/cus_1", "/a%2Fb"] {
            assert!(checked_path(good).is_ok(), "{good}");
        }
        for bad in [
            "api/v1",
            "/a b",
            "/a?b=1",
            "/a#b",
            "/a/../b",
            "/a/./b",
            "/a\\b",
            "/é",
            "/a/%2e%2E/b",
            "/a/.%2e",
            "/a/%2E",
        ] {
            assert!(checked_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursor_replaces_the_previous_one() {
        let list = RawList::<serde_json::Value> {
            raw: Raw::new(Method::GET, "/x".into()),
        };
        let list = list
            .with_cursor("a".into())
            .and_then(|l| l.with_cursor("b".into()))
            .unwrap();
        assert_eq!(list.cursor(), Some("b"));
        assert_eq!(list.raw.query, vec![("cursor".to_owned(), "b".to_owned())]);
    }
}

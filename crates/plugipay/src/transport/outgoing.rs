//! What one call sends: method, path, query, JSON body and Idempotency-Key,
//! built once, and turned into an unsigned `reqwest::Request` for the
//! generated client's connection.

use plugipay_api::ClientInfo;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, USER_AGENT};

use crate::error::Error;

use plugipay_api::wire::{IDEMPOTENCY_KEY, ON_BEHALF_OF};

/// The HTTP request of one call, the same for every attempt.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    method: Method,
    /// The path as sent, segments already escaped (`/api/v1/customers/…`).
    path: String,
    /// The query as sent (form-encoded), if any.
    query: Option<String>,
    body: Option<Vec<u8>>,
    idempotency_key: Option<String>,
    /// Whether a success must carry `data` (a list page must carry its list):
    /// one without is an unreadable answer, retried like one.
    needs_data: bool,
}

impl Outgoing {
    /// A request with no query, body or key.
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: None,
            body: None,
            idempotency_key: None,
            needs_data: false,
        }
    }

    /// What the operation `endpoint` describes: its method, its path with
    /// the parameters escaped, its query form-encoded (in the generated
    /// parameters' fixed order, so the signed query is the one sent) and
    /// its body as JSON. The Idempotency-Key is the caller's to add.
    pub(crate) fn endpoint<E: plugipay_api::endpoint::Endpoint>(
        endpoint: &E,
    ) -> Result<Self, Error> {
        let method =
            Method::from_bytes(E::METHOD.as_bytes()).map_err(|e| Error::InvalidArgument {
                field: "method".into(),
                reason: e.to_string(),
            })?;
        endpoint.check().map_err(Error::invalid)?;
        let path = endpoint.path();
        check_path_params(E::PATH, &path)?;
        let mut outgoing = Self::new(method, path);
        if let Some(query) = endpoint.query() {
            let query = serde_urlencoded::to_string(query).map_err(|e| Error::InvalidArgument {
                field: "query".into(),
                reason: e.to_string(),
            })?;
            outgoing = outgoing.query(query);
        }
        if let Some(body) = endpoint.body() {
            outgoing = outgoing.json(body)?;
        }
        Ok(outgoing)
    }

    /// Adds a form-encoded query (empty: none).
    pub(crate) fn query(mut self, query: String) -> Self {
        self.query = (!query.is_empty()).then_some(query);
        self
    }

    /// Adds `body` as JSON.
    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::InvalidArgument {
            field: "body".into(),
            reason: format!("cannot be sent as JSON: {e}"),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Adds the write's Idempotency-Key.
    pub(crate) fn idempotency_key(mut self, key: String) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Makes a success without `data` (an empty 2xx, `{}`, `"data": null`)
    /// an unreadable answer rather than an empty one: for reads, whose
    /// answer is the data (a list page that lost its list is not the end of
    /// the list).
    pub(crate) fn needs_data(mut self) -> Self {
        self.needs_data = true;
        self
    }

    /// Whether a success must carry `data`.
    pub(crate) fn requires_data(&self) -> bool {
        self.needs_data
    }

    /// Whether it changes something on the server (anything but GET and
    /// HEAD).
    pub(crate) fn is_write(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }

    /// Whether sending it twice is harmless: a GET (or HEAD), or a write
    /// carrying an Idempotency-Key, whose repeat the server answers with the
    /// first answer.
    pub(crate) fn repeatable(&self) -> bool {
        matches!(self.method, Method::GET | Method::HEAD) || self.idempotency_key.is_some()
    }

    /// The unsigned request on `api`'s connection, acting for `on_behalf_of`.
    pub(crate) fn build(
        &self,
        api: &plugipay_api::Client,
        on_behalf_of: Option<&str>,
    ) -> Result<reqwest::Request, Error> {
        let mut url = String::with_capacity(
            api.baseurl().len() + self.path.len() + self.query.as_ref().map_or(0, |q| q.len() + 1),
        );
        url.push_str(api.baseurl());
        url.push_str(&self.path);
        if let Some(query) = &self.query {
            url.push('?');
            url.push_str(query);
        }
        let mut builder = api
            .client()
            .request(self.method.clone(), url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                USER_AGENT,
                HeaderValue::from_static(plugipay_api::USER_AGENT),
            );
        if let Some(key) = &self.idempotency_key {
            builder = builder.header(IDEMPOTENCY_KEY, key);
        }
        if let Some(account) = on_behalf_of {
            builder = builder.header(ON_BEHALF_OF, account);
        }
        if let Some(body) = &self.body {
            builder = builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        builder
            .build()
            .map_err(|e| Error::Config(format!("cannot build the request: {e}")))
    }
}

/// Checks every path parameter of `path` (built from `template`) with
/// [`validate::path_segment`](plugipay_api::validate::path_segment): one
/// that is empty, `.` or `..` would send the call to another path (the
/// list, or a parent) once the URL is normalised.
fn check_path_params(template: &str, path: &str) -> Result<(), Error> {
    for (name, segment) in template.split('/').zip(path.split('/')) {
        if let Some(name) = name.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            // Escaped by the generated code, so it unescapes.
            let value = plugipay_api::wire::unescape_segment(segment).unwrap_or_default();
            plugipay_api::validate::path_segment(name, &value).map_err(Error::invalid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod path_param_tests {
    use super::check_path_params;

    #[test]
    fn a_path_parameter_must_name_a_resource() {
        let t = "/api/v1/customers/{id}";
        assert!(check_path_params(t, "/api/v1/customers/cus_1").is_ok());
        assert!(check_path_params(t, "/api/v1/customers/a%2F..").is_ok());
        assert!(check_path_params(t, "/api/v1/customers/...").is_ok());
        for bad in ["", ".", "..", "%2E%2E", "a%5Cb"] {
            let err = check_path_params(t, &format!("/api/v1/customers/{bad}")).unwrap_err();
            assert!(
                matches!(&err, crate::Error::InvalidArgument { field, .. } if field == "id"),
                "{err:?}"
            );
        }
        assert!(check_path_params("/api/v1/customers", "/api/v1/customers").is_ok());
    }
}

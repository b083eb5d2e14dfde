//! `client.call(endpoint)`: any operation of the spec, from its generated
//! description (`plugipay_api::endpoints`), sent through the same pipeline
//! as the typed calls — signed, retried, under an Idempotency-Key when the
//! spec says the operation needs one, with typed errors — and answering the
//! envelope's `data` as the spec's type. An operation added to the spec is
//! callable this way with no hand-written code.

use plugipay_api::endpoint::Endpoint;
use serde_json::Value;

use crate::error::Error;
use crate::transport::decode;
use crate::transport::outgoing::Outgoing;
use crate::transport::request::{Operation, Request, Write, private};

/// `client.call(..)`: one operation of the spec.
#[derive(Debug, Clone)]
pub struct Call<E> {
    pub(crate) endpoint: E,
}

impl<E> private::Sealed for Call<E> {}
impl<E: Endpoint> Write for Call<E> {}

impl<E: Endpoint> Operation for Call<E> {
    type Output = E::Answer;
    const NAME: &'static str = E::OPERATION_ID;

    /// Sends the operation. A read must answer with its `data`; an answer
    /// without `data` is read as JSON `null` (what `()` — an operation that
    /// answers nothing, and ignores any `data` — and `Option` accept), and `data` of another shape
    /// than the spec's is an [`Error::Decode`], never a reason to send
    /// again (for a write, which was applied, inside
    /// [`Error::OutcomeUnknown`]).
    async fn run(request: Request<Self>) -> Result<E::Answer, Error> {
        let outgoing = request.outgoing_for(&request.op.endpoint)?;
        let write = outgoing.is_write();
        let envelope = request.exchange::<Value>(outgoing).await?;
        decode::answer_as(envelope, write)
    }
}

/// `client.call(list_endpoint).paginated()`: one page of a list operation of
/// the spec (its answer a list, its query a `cursor`), walked with
/// [`stream`](Request::stream) and [`pages`](Request::pages) like the
/// customers list.
#[derive(Debug, Clone)]
pub struct CallList<E> {
    pub(crate) endpoint: E,
}

impl<E> private::Sealed for CallList<E> {}

impl<E, T> Operation for CallList<E>
where
    E: Endpoint<Answer = Vec<T>>,
    T: serde::de::DeserializeOwned + Send + 'static,
{
    type Output = crate::customer::Page<T>;
    const NAME: &'static str = E::OPERATION_ID;

    /// Sends one page's request; the page must carry its list.
    async fn run(request: Request<Self>) -> Result<crate::customer::Page<T>, Error> {
        let endpoint = &request.op.endpoint;
        if E::IDEMPOTENCY_KEY {
            return Err(Error::InvalidArgument {
                field: "endpoint".into(),
                reason: format!("`{}` is a write: a walk reads pages", E::OPERATION_ID),
            });
        }
        let outgoing = Outgoing::endpoint(endpoint)?.needs_data();
        let mut envelope = request.exchange::<Vec<T>>(outgoing).await?;
        let items = envelope.data.take().unwrap_or_default();
        let served = items.len();
        Ok(crate::customer::Page::answered(items, served, &envelope))
    }
}

impl<E, T> crate::pagination::Paginated for CallList<E>
where
    E: Endpoint<Answer = Vec<T>>,
    T: serde::de::DeserializeOwned + Send + 'static,
{
    type Item = T;

    fn cursor(&self) -> Option<&str> {
        // The query is a generated type the walk cannot borrow a cursor
        // from; a walk started at a given cursor records the ones it follows.
        None
    }

    fn with_cursor(mut self, cursor: String) -> Result<Self, Error> {
        let set = self.endpoint.query_mut().is_some_and(|query| {
            let Ok(Value::Object(mut fields)) = serde_json::to_value(&*query) else {
                return false;
            };
            fields.insert("cursor".into(), Value::String(cursor.clone()));
            let Ok(with_cursor) = serde_json::from_value(Value::Object(fields)) else {
                return false;
            };
            *query = with_cursor;
            // The query must now carry the cursor (a query type without a
            // `cursor` field drops it).
            serde_json::to_value(&*query)
                .is_ok_and(|q| q.get("cursor").and_then(Value::as_str) == Some(cursor.as_str()))
        });
        if !set {
            return Err(Error::InvalidArgument {
                field: "cursor".into(),
                reason: format!(
                    "`{}` takes no `cursor`: its next page cannot be asked for",
                    E::OPERATION_ID
                ),
            });
        }
        Ok(self)
    }
}

impl<E, T> Request<Call<E>>
where
    E: Endpoint<Answer = Vec<T>>,
    T: serde::de::DeserializeOwned + Send + 'static,
{
    /// This list operation as a walk: [`stream`](Request::stream) gives every
    /// item, page after page, and [`pages`](Request::pages) every page, with
    /// the same guards as the customers list.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new()).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use futures_util::TryStreamExt;
    /// use plugipay::api::endpoints::ListEvents;
    /// use plugipay::api::params::ListEventsParams;
    /// use plugipay::NewCustomer;
    ///
    /// client.customers().create(NewCustomer::new().name("Sari")).await?;
    /// let events: Vec<_> = client
    ///     .call(ListEvents { query: ListEventsParams::new().limit(50) })
    ///     .paginated()
    ///     .stream()
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(events[0].event_type.as_str(), "plugipay.customer.created.v1");
    /// # Ok(()) }
    /// ```
    pub fn paginated(self) -> Request<CallList<E>> {
        self.map_op(|call| CallList {
            endpoint: call.endpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagination::Paginated;

    /// A list operation whose query has no `cursor`.
    #[derive(Clone, Debug)]
    struct NoCursor {
        query: std::collections::BTreeMap<String, String>,
    }

    impl Endpoint for NoCursor {
        const OPERATION_ID: &'static str = "list_without_cursor";
        const METHOD: &'static str = "GET";
        const PATH: &'static str = "/api/v1/things";
        const IDEMPOTENCY_KEY: bool = false;
        type Query = std::collections::BTreeMap<String, String>;
        type Body = ();
        type Answer = Vec<Value>;

        fn path(&self) -> String {
            Self::PATH.to_owned()
        }
        fn query(&self) -> Option<&Self::Query> {
            Some(&self.query)
        }
        fn query_mut(&mut self) -> Option<&mut Self::Query> {
            None
        }
        fn body(&self) -> Option<&()> {
            None
        }
    }

    #[test]
    fn a_list_whose_query_cannot_take_a_cursor_refuses_the_next_page() {
        let list = CallList {
            endpoint: NoCursor {
                query: Default::default(),
            },
        };
        let refused = list.with_cursor("c2".into()).unwrap_err();
        assert!(
            matches!(&refused, Error::InvalidArgument { field, reason }
                if field == "cursor" && reason.contains("list_without_cursor")),
            "{refused:?}"
        );
    }
}

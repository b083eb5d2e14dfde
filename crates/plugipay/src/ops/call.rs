//! `client.call(endpoint)`: any operation of the spec, from its generated
//! description (`plugipay_api::endpoints`), sent through the same pipeline
//! as the typed calls — signed, retried, under an Idempotency-Key when the
//! spec says the operation needs one, with typed errors — and answering the
//! envelope's `data` as the spec's type. An operation added to the spec is
//! callable this way with no hand-written code.

use plugipay_api::endpoint::Endpoint;
use serde_json::Value;

use crate::decode;
use crate::error::Error;
use crate::outgoing::Outgoing;
use crate::request::{Operation, Request, Write, private};

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
    /// answers nothing — and `Option` accept), and `data` of another shape
    /// than the spec's is an [`Error::Decode`], never a reason to send
    /// again.
    async fn run(request: Request<Self>) -> Result<E::Answer, Error> {
        let outgoing = outgoing(&request.op.endpoint, &request)?;
        let envelope = request.exchange::<Value>(outgoing).await?;
        decode::data_as(
            envelope.status,
            envelope.meta.request_id,
            envelope.data.unwrap_or(Value::Null),
        )
    }
}

/// What `endpoint` sends, under the request's idempotency key when the
/// operation needs one (a key given for one that does not is refused).
pub(crate) fn outgoing<E: Endpoint, Op: Write>(
    endpoint: &E,
    request: &Request<Op>,
) -> Result<Outgoing, Error> {
    let mut outgoing = Outgoing::endpoint(endpoint)?;
    if E::IDEMPOTENCY_KEY {
        outgoing = outgoing.idempotency_key(request.resolved_idempotency_key()?);
    } else if request.options().idempotency_key.is_some() {
        return Err(Error::InvalidArgument {
            field: "idempotency_key".into(),
            reason: format!("`{}` takes no Idempotency-Key", E::OPERATION_ID),
        });
    }
    if !outgoing.is_write() {
        outgoing = outgoing.needs_data();
    }
    Ok(outgoing)
}

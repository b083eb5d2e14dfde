//! `customers().list(params).json_items()`: the same list, each customer
//! kept as the JSON text the server sent ([`CustomerJson`]).

use plugipay_api::endpoint::Endpoint;
use plugipay_api::endpoints;
use serde_json::value::RawValue;

use super::ListCustomers;
use crate::customer::Page;
use crate::customer_json::CustomerJson;
use crate::error::Error;
use crate::pagination::Paginated;
use crate::transport::request::{Operation, Request, private};

/// `customers().list(..).json_items()`.
#[derive(Debug, Clone)]
pub struct ListCustomersJson {
    pub(crate) list: ListCustomers,
}

impl private::Sealed for ListCustomersJson {}

impl Operation for ListCustomersJson {
    type Output = Page<CustomerJson>;
    const NAME: &'static str = endpoints::ListCustomers::OPERATION_ID;

    async fn run(request: Request<Self>) -> Result<Page<CustomerJson>, Error> {
        let list = &request.op.list;
        let outgoing = list.outgoing()?;
        let mut envelope = request.exchange::<Vec<Box<RawValue>>>(outgoing).await?;
        let raw = envelope.data.take().unwrap_or_default();
        let served = raw.len();
        let mut items = Vec::with_capacity(served);
        for json in raw {
            let customer = CustomerJson::from_raw(json, envelope.line_breaks)?;
            if list
                .keep
                .is_none_or(|k| k.keeps_flag(customer.is_archived()))
            {
                items.push(customer);
            }
        }
        Ok(Page::answered(items, served, &envelope))
    }
}

impl Paginated for ListCustomersJson {
    type Item = CustomerJson;

    fn cursor(&self) -> Option<&str> {
        self.list.cursor()
    }

    fn with_cursor(self, cursor: String) -> Result<Self, Error> {
        Ok(Self {
            list: self.list.with_cursor(cursor)?,
        })
    }
}

impl Request<ListCustomers> {
    /// The same list, each customer kept as the JSON text the server sent
    /// ([`CustomerJson`]): for copying customers through (an export), which
    /// then costs neither building the typed record nor encoding it again,
    /// and keeps fields this SDK does not know. Walk it with
    /// [`stream`](Request::stream), [`pages`](Request::pages) or
    /// [`partitioned`](Request::partitioned).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new().seed_customers(3)).await?;
    /// # let client = plugipay::Client::builder().key_id("ak_test_sandbox").secret("sk_test_sandbox").base_url(sandbox.base_url()).build()?;
    /// use plugipay::ListParams;
    ///
    /// let page = client.customers().list(ListParams::new()).json_items().await?;
    /// for customer in &page.items {
    ///     println!("{}", customer.json()); // one JSON line per customer
    /// }
    /// assert_eq!(page.items.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn json_items(self) -> Request<ListCustomersJson> {
        self.map_op(|list| ListCustomersJson { list })
    }
}

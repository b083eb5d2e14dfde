//! `customers().list(params)`: one page of customers, optionally kept to
//! active or archived ones (the walk over every page is in `pagination`).

use plugipay_api::endpoint::Endpoint;
use plugipay_api::endpoints;

use crate::archive::ArchiveFilter;
use crate::customer::{Customer, ListParams, Page};
use crate::error::Error;
use crate::pagination::Paginated;
use crate::transport::outgoing::Outgoing;
use crate::transport::request::{Operation, Request, private};

/// `customers().list(..)`.
#[derive(Debug, Clone)]
pub struct ListCustomers {
    pub(crate) params: ListParams,
    pub(crate) keep: Option<ArchiveFilter>,
}

impl ListCustomers {
    pub(crate) fn new(params: ListParams) -> Self {
        Self { params, keep: None }
    }
}

impl private::Sealed for ListCustomers {}

impl ListCustomers {
    /// What the list sends, its page size checked (by the operation's
    /// generated check): the generated parameters serialise in a fixed
    /// (alphabetical) order, so the signed query is the one that goes out.
    pub(crate) fn outgoing(&self) -> Result<Outgoing, Error> {
        let endpoint = endpoints::ListCustomers {
            query: self.params.clone(),
        };
        Ok(Outgoing::endpoint(&endpoint)?.needs_data())
    }
}

impl Operation for ListCustomers {
    type Output = Page<Customer>;
    const NAME: &'static str = endpoints::ListCustomers::OPERATION_ID;

    async fn run(request: Request<Self>) -> Result<Page<Customer>, Error> {
        let outgoing = request.op.outgoing()?;
        let mut envelope = request.exchange::<Vec<Customer>>(outgoing).await?;
        // A page without its list was refused (and retried) as unreadable.
        let items = envelope.data.take().unwrap_or_default();
        let served = items.len();
        let keep = request.op.keep;
        let items = items
            .into_iter()
            .filter(|c| keep.is_none_or(|k| k.keeps(c)))
            .collect();
        Ok(Page::answered(items, served, &envelope))
    }
}

impl Request<ListCustomers> {
    /// Keeps only customers that are not archived. Filtering happens here,
    /// so a page may hold fewer items than its limit.
    pub fn active(mut self) -> Self {
        self.op.keep = Some(ArchiveFilter::Active);
        self
    }

    /// Keeps only archived customers (filtered here, like [`active`](Self::active)).
    pub fn archived(mut self) -> Self {
        self.op.keep = Some(ArchiveFilter::Archived);
        self
    }
}

impl Paginated for ListCustomers {
    type Item = Customer;

    fn cursor(&self) -> Option<&str> {
        self.params.cursor.as_deref()
    }

    fn with_cursor(mut self, cursor: String) -> Result<Self, Error> {
        self.params.cursor = Some(cursor);
        Ok(self)
    }
}

//! Walking a whole list: a stream of pages that fetches the next page while
//! the caller works on the current one (never more than one page ahead), and
//! a stream of customers over it. Dropping a stream stops the fetching.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use tokio::task::JoinHandle;

use crate::customer::{Customer, Page};
use crate::customers::ListCustomers;
use crate::error::Error;
use crate::request::Request;

/// Every page of a list, in order: `client.customers().list(params).pages()`.
///
/// As soon as a page is handed out, the next one is requested in the
/// background, so the caller's work on a page overlaps the network wait for
/// the next. At most that one page is fetched ahead, so memory stays bounded
/// by two pages, whatever the size of the book. The stream ends after the
/// page with `has_more: false`, or after yielding an error. Dropping it
/// cancels the fetch in flight. Needs a Tokio runtime.
#[must_use = "streams do nothing unless polled"]
pub struct Pages {
    /// The request of the first page; later pages change only its cursor.
    template: Request<ListCustomers>,
    next: Option<Request<ListCustomers>>,
    in_flight: Option<JoinHandle<Result<Page<Customer>, Error>>>,
}

impl Pages {
    pub(crate) fn new(first: Request<ListCustomers>) -> Self {
        Self {
            template: first.clone(),
            next: Some(first),
            in_flight: None,
        }
    }

    fn start_next(&mut self) {
        if let Some(request) = self.next.take() {
            self.in_flight = Some(tokio::spawn(request.send()));
        }
    }
}

impl Stream for Pages {
    type Item = Result<Page<Customer>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.in_flight.is_none() {
            self.start_next();
        }
        let Some(handle) = self.in_flight.as_mut() else {
            return Poll::Ready(None);
        };
        let joined = ready!(Pin::new(handle).poll(cx));
        self.in_flight = None;
        let page = match joined {
            Ok(Ok(page)) => page,
            Ok(Err(error)) => return Poll::Ready(Some(Err(error))),
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(_) => return Poll::Ready(None),
        };
        // Prefetch: ask for the page after this one before handing this one out.
        self.next = match (&page.cursor, page.has_more) {
            (Some(cursor), true) => Some(self.template.clone().with_cursor(cursor.clone())),
            _ => None,
        };
        self.start_next();
        Poll::Ready(Some(Ok(page)))
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        if let Some(handle) = self.in_flight.take() {
            handle.abort();
        }
    }
}

/// Every customer of a list, page after page:
/// `client.customers().list(params).stream()`. See [`Pages`] for the
/// prefetching and the end of the stream.
#[must_use = "streams do nothing unless polled"]
pub struct CustomerStream {
    pages: Pages,
    current: std::vec::IntoIter<Customer>,
}

impl CustomerStream {
    pub(crate) fn new(pages: Pages) -> Self {
        Self {
            pages,
            current: Vec::new().into_iter(),
        }
    }
}

impl Stream for CustomerStream {
    type Item = Result<Customer, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(customer) = self.current.next() {
                return Poll::Ready(Some(Ok(customer)));
            }
            match ready!(Pin::new(&mut self.pages).poll_next(cx)) {
                Some(Ok(page)) => self.current = page.items.into_iter(),
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
            }
        }
    }
}

//! Walking a whole list: a stream of pages that fetches the next page while
//! the caller works on the current one (never more than one page ahead), and
//! a stream of items over it, both guarded against a server that would
//! make the walk loop forever or end it silently early. Dropping a stream
//! stops the fetching. Any [`Paginated`] operation walks this way: the
//! customers list and raw requests to list routes.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use tokio::task::JoinHandle;

use crate::customer::Page;
use crate::error::{Error, PagingError};
use crate::ops::ListCustomers;
use crate::transport::request::{Operation, Request};

/// An operation that answers one page of a cursor-paginated list and can
/// ask for the page after a cursor. Implemented by this crate's list
/// operations only.
pub trait Paginated: Operation<Output = Page<Self::Item>> + Clone {
    /// What a page holds.
    type Item: Send + 'static;
    /// The cursor this request continues after, if any.
    #[doc(hidden)]
    fn cursor(&self) -> Option<&str>;
    /// The same request, continuing after `cursor`; an error when the
    /// request cannot carry one (the walk then ends with it rather than ask
    /// for the first page again).
    #[doc(hidden)]
    fn with_cursor(self, cursor: String) -> Result<Self, Error>;
}

/// How many pages in a row may come back empty while saying more follow.
pub const MAX_EMPTY_PAGES: u32 = 5;

/// What a walk has seen, to refuse a page that would make it loop forever
/// or end early without saying so.
struct Guard {
    /// Hashes of every cursor asked for so far (8 bytes a page, whatever the
    /// cursor's length).
    cursors: HashSet<u64>,
    hasher: RandomState,
    empty_in_a_row: u32,
    pages: u64,
}

impl Guard {
    fn new(first: Option<&str>) -> Self {
        let mut guard = Self {
            cursors: HashSet::new(),
            hasher: RandomState::new(),
            empty_in_a_row: 0,
            pages: 0,
        };
        if let Some(cursor) = first {
            guard.cursors.insert(guard.hasher.hash_one(cursor));
        }
        guard
    }

    /// The cursor to follow after `page`: `Ok(None)` at the end of the
    /// list, an error when following it would loop or when the page claims
    /// more without a way to get it.
    fn next<T>(&mut self, page: &Page<T>) -> Result<Option<String>, PagingError> {
        self.pages += 1;
        if let Some(seen) = &page.unclear {
            return Err(PagingError::Unclear {
                page: self.pages,
                seen: seen.clone(),
            });
        }
        if !page.has_more {
            return Ok(None);
        }
        let Some(cursor) = page.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Err(PagingError::MissingCursor { page: self.pages });
        };
        self.empty_in_a_row = if page.served == 0 {
            self.empty_in_a_row + 1
        } else {
            0
        };
        if self.empty_in_a_row >= MAX_EMPTY_PAGES {
            return Err(PagingError::EmptyPages {
                pages: self.empty_in_a_row,
            });
        }
        if !self.cursors.insert(self.hasher.hash_one(cursor)) {
            return Err(PagingError::RepeatedCursor {
                page: self.pages,
                cursor: cursor.to_owned(),
            });
        }
        Ok(Some(cursor.to_owned()))
    }
}

impl<Op: Paginated> Request<Op> {
    /// Every item of the list (every matching customer, for
    /// `customers().list(..)`), page after page, with the next page fetched
    /// while you work on the current one.
    pub fn stream(self) -> Items<Op> {
        Items::new(self.pages())
    }

    /// Every page of the list, for work in batches (see [`Pages`]).
    ///
    /// A walk is bulk work: it draws on the client's
    /// [bulk share](crate::ClientBuilder::bulk_share) of the rate budget
    /// ([`rate_share`](Request::rate_share) says otherwise).
    pub fn pages(self) -> Pages<Op> {
        Pages::new(self.into_bulk_work())
    }
}

/// Every page of a list, in order: `client.customers().list(params).pages()`.
///
/// As soon as a page is handed out, the next one is requested in the
/// background, so the caller's work on a page overlaps the network wait for
/// the next. At most that one page is fetched ahead, so memory stays bounded
/// by two pages, whatever the size of the book. The stream ends after the
/// page with `has_more: false`, or after yielding an error. Dropping it
/// cancels the fetch in flight. Needs a Tokio runtime.
///
/// A server that sends a cursor the walk has already followed, says more
/// pages follow without giving a cursor, or sends [`MAX_EMPTY_PAGES`] empty
/// pages in a row that each say more follow, ends the stream with an
/// [`Error::Paging`] after the page that did it: never an endless loop,
/// never a silently shortened walk.
#[must_use = "streams do nothing unless polled"]
pub struct Pages<Op: Paginated = ListCustomers> {
    /// The request of the first page; later pages change only its cursor.
    template: Request<Op>,
    next: Option<Request<Op>>,
    in_flight: Option<JoinHandle<Result<Page<Op::Item>, Error>>>,
    guard: Guard,
    /// An error to yield after the page just handed out.
    failed: Option<Error>,
}

impl<Op: Paginated> Pages<Op> {
    pub(crate) fn new(first: Request<Op>) -> Self {
        Self {
            guard: Guard::new(first.op.cursor()),
            template: first.clone(),
            next: Some(first),
            in_flight: None,
            failed: None,
        }
    }

    fn start_next(&mut self) {
        if let Some(request) = self.next.take() {
            self.in_flight = Some(tokio::spawn(request.send()));
        }
    }
}

impl<Op: Paginated> Stream for Pages<Op> {
    type Item = Result<Page<Op::Item>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(error) = self.failed.take() {
            return Poll::Ready(Some(Err(error)));
        }
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
            // Cancelled (the runtime shutting down): the walk did not end.
            Err(_) => {
                return Poll::Ready(Some(Err(Error::Paging(PagingError::Cancelled {
                    page: self.guard.pages + 1,
                }))));
            }
        };
        // Prefetch: ask for the page after this one before handing this one out.
        match self.guard.next(&page) {
            Ok(Some(cursor)) => {
                let next = self.template.clone();
                match next.try_map_op(|op| op.with_cursor(cursor)) {
                    Ok(next) => self.next = Some(next),
                    Err(error) => self.failed = Some(error),
                }
            }
            Ok(None) => {}
            Err(error) => self.failed = Some(Error::Paging(error)),
        }
        self.start_next();
        Poll::Ready(Some(Ok(page)))
    }
}

// Nothing is pinned in place: the fields are moved freely.
impl<Op: Paginated> Unpin for Pages<Op> {}

impl<Op: Paginated> Drop for Pages<Op> {
    fn drop(&mut self) {
        if let Some(handle) = self.in_flight.take() {
            handle.abort();
        }
    }
}

/// Every customer of a list, page after page:
/// `client.customers().list(params).stream()`.
pub type CustomerStream = Items<ListCustomers>;

/// Every item of a list, page after page (`request.stream()`). See
/// [`Pages`] for the prefetching and the end of the stream.
#[must_use = "streams do nothing unless polled"]
pub struct Items<Op: Paginated = ListCustomers> {
    pages: Pages<Op>,
    current: std::vec::IntoIter<Op::Item>,
}

impl<Op: Paginated> Unpin for Items<Op> {}

impl<Op: Paginated> Items<Op> {
    pub(crate) fn new(pages: Pages<Op>) -> Self {
        Self {
            pages,
            current: Vec::new().into_iter(),
        }
    }
}

impl<Op: Paginated> Stream for Items<Op> {
    type Item = Result<Op::Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(item) = self.current.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            match ready!(Pin::new(&mut self.pages).poll_next(cx)) {
                Some(Ok(page)) => self.current = page.items.into_iter(),
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use httpmock::prelude::*;
    use serde_json::json;

    use crate::{Client, ListParams};

    fn customer(id: &str) -> serde_json::Value {
        json!({"id": id, "accountId": "a", "email": null, "name": null, "phone": null,
               "externalId": null, "createdAt": "2026-11-25T00:00:00Z",
               "updatedAt": "2026-11-25T00:00:00Z"})
    }

    fn page(id: &str, cursor: Option<&str>) -> serde_json::Value {
        json!({"data": [customer(id)], "error": null,
               "meta": {"requestId": "r", "cursor": cursor, "hasMore": cursor.is_some()}})
    }

    #[tokio::test]
    async fn dropping_the_stream_cancels_the_prefetch() {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(GET).query_param_missing("cursor");
                then.status(200).json_body(page("a", Some("c2")));
            })
            .await;
        server
            .mock_async(|when, then| {
                when.method(GET).query_param("cursor", "c2");
                then.status(200)
                    .delay(Duration::from_secs(30))
                    .json_body(page("b", Some("c3")));
            })
            .await;
        let client = Client::builder()
            .key_id("ak")
            .secret("sk")
            .base_url(server.base_url())
            .build()
            .unwrap();
        let mut pages = client.customers().list(ListParams::new()).pages();
        let first = pages.next().await.unwrap().unwrap();
        assert_eq!(first.items[0].id, "a");
        let prefetch = pages
            .in_flight
            .as_ref()
            .expect("page 2 is being fetched")
            .abort_handle();

        drop(pages);
        // The fetch of page 2 is cancelled (long before its answer could come),
        // so nothing can ask for page 3.
        tokio::time::timeout(Duration::from_secs(10), async {
            while !prefetch.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the prefetch task ends when the stream is dropped");
    }
}

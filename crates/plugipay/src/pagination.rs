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

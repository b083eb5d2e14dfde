//! A server whose paging would make a walk loop forever or end it early
//! without saying so: every walk ends with a typed error after the page that
//! did it, and never asks for more than the script holds.

use crate::common::scripted::{Reply, Scripted};
use crate::common::*;
use futures_util::StreamExt;
use plugipay::{Error, ListParams, MAX_EMPTY_PAGES, PagingError};
use serde_json::{Value, json};

fn page(ids: &[&str], meta: Value) -> Reply {
    let data: Vec<Value> = ids.iter().map(|id| customer_json(id)).collect();
    Reply::json(200, json!({"data": data, "error": null, "meta": meta}))
}

/// Walks the list with `stream()` and `pages()` on a fresh server each,
/// returning the ids it yielded and the error that ended it, if any.
async fn walk(script: Vec<Reply>) -> (Vec<String>, Option<Error>, usize) {
    let server = Scripted::start(script.clone()).await;
    let mut stream = client_for(&server.base_url)
        .customers()
        .list(ListParams::new())
        .stream();
    let (mut ids, mut error) = (Vec::new(), None);
    while let Some(item) = stream.next().await {
        match item {
            Ok(customer) => ids.push(customer.id),
            Err(e) => {
                assert!(error.is_none(), "one error ends the stream");
                error = Some(e);
            }
        }
    }
    let requests = server.received().len();

    // pages() sees the same pages and the same end.
    let server = Scripted::start(script).await;
    let mut pages = client_for(&server.base_url)
        .customers()
        .list(ListParams::new())
        .pages();
    let mut page_ids = Vec::new();
    let mut page_error = None;
    while let Some(item) = pages.next().await {
        match item {
            Ok(page) => page_ids.extend(page.items.into_iter().map(|c| c.id)),
            Err(e) => page_error = Some(e),
        }
    }
    assert_eq!(page_ids, ids);
    assert_eq!(
        page_error.map(|e| e.to_string()),
        error.as_ref().map(|e| e.to_string())
    );
    (ids, error, requests)
}

fn paging(error: Option<Error>) -> PagingError {
    match error {
        Some(Error::Paging(e)) => e,
        other => panic!("expected a paging error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_repeated_cursor_ends_the_walk() {
    let script = vec![
        page(&["cus_a"], json!({"cursor": "c1", "hasMore": true})),
        page(&["cus_b"], json!({"cursor": "c2", "hasMore": true})),
        page(&["cus_c"], json!({"cursor": "c1", "hasMore": true})),
    ];
    let (ids, error, requests) = walk(script).await;
    assert_eq!(ids, ["cus_a", "cus_b", "cus_c"]);
    assert_eq!(requests, 3);
    assert_eq!(
        paging(error),
        PagingError::RepeatedCursor {
            page: 3,
            cursor: "c1".into()
        }
    );
}

#[tokio::test]
async fn a_server_that_hands_back_the_same_cursor_is_caught_at_once() {
    let script = vec![
        page(&["cus_a"], json!({"cursor": "same", "hasMore": true})),
        page(&["cus_a"], json!({"cursor": "same", "hasMore": true})),
    ];
    let (ids, error, requests) = walk(script).await;
    assert_eq!((ids.len(), requests), (2, 2));
    assert!(matches!(
        paging(error),
        PagingError::RepeatedCursor { page: 2, .. }
    ));
}

#[tokio::test]
async fn more_without_a_cursor_is_an_error_not_a_short_walk() {
    for meta in [
        json!({"cursor": null, "hasMore": true}),
        json!({"hasMore": true}),
        json!({"cursor": "", "hasMore": true}),
    ] {
        let script = vec![
            page(&["cus_a"], json!({"cursor": "c1", "hasMore": true})),
            page(&["cus_b"], meta.clone()),
        ];
        let (ids, error, requests) = walk(script).await;
        assert_eq!(ids, ["cus_a", "cus_b"], "{meta}");
        assert_eq!(requests, 2, "{meta}");
        assert!(
            matches!(paging(error), PagingError::Unclear { page: 2, ref seen } if seen.contains("hasMore")),
            "{meta}"
        );
    }
}

#[tokio::test]
async fn empty_pages_that_claim_more_end_the_walk() {
    let mut script = vec![page(&["cus_a"], json!({"cursor": "c0", "hasMore": true}))];
    for i in 1..=10 {
        script.push(page(
            &[],
            json!({"cursor": format!("c{i}"), "hasMore": true}),
        ));
    }
    let (ids, error, requests) = walk(script).await;
    assert_eq!(ids, ["cus_a"]);
    assert_eq!(requests, 1 + MAX_EMPTY_PAGES as usize);
    assert_eq!(
        paging(error),
        PagingError::EmptyPages {
            pages: MAX_EMPTY_PAGES
        }
    );
}

#[tokio::test]
async fn a_few_empty_pages_are_walked_through() {
    let script = vec![
        page(&[], json!({"cursor": "c1", "hasMore": true})),
        page(&[], json!({"cursor": "c2", "hasMore": true})),
        page(&["cus_a"], json!({"cursor": null, "hasMore": false})),
    ];
    let (ids, error, _) = walk(script).await;
    assert_eq!(ids, ["cus_a"]);
    assert!(error.is_none(), "{error:?}");
}

#[tokio::test]
async fn without_has_more_a_cursor_is_followed_and_none_ends_the_walk() {
    // `hasMore` is the end signal when it is there; without it, a cursor
    // may still mean more (a server of another shape): it is followed, and
    // the page after settles it. A page with neither is the last, as the
    // official SDKs read a missing `hasMore`.
    let script = vec![
        page(&["cus_a"], json!({"cursor": "c1"})),
        page(&["cus_b"], json!({})),
    ];
    let (ids, error, requests) = walk(script).await;
    assert_eq!(ids, ["cus_a", "cus_b"]);
    assert_eq!(requests, 2);
    assert!(error.is_none(), "{error:?}");
}

#[tokio::test]
async fn the_published_pages_shape_is_walked_to_its_end() {
    let script = vec![
        page(
            &["cus_a"],
            json!({"page": {"limit": 1, "hasMore": true, "nextCursor": "c1"}}),
        ),
        page(
            &["cus_b"],
            json!({"page": {"limit": 1, "hasMore": true, "nextCursor": "c2"}}),
        ),
        page(
            &["cus_c"],
            json!({"page": {"limit": 1, "hasMore": false, "nextCursor": null}}),
        ),
    ];
    let (ids, error, requests) = walk(script).await;
    assert_eq!(ids, ["cus_a", "cus_b", "cus_c"]);
    assert_eq!(requests, 3);
    assert!(error.is_none(), "{error:?}");
}

#[tokio::test]
async fn paging_of_an_unknown_shape_is_an_error_naming_it() {
    for meta in [
        json!({"pagination": {"has_next": true, "next_cursor": "c1"}}),
        json!({"page": {"limit": 1, "more": true}}),
        json!({"hasMore": false, "paging": {"hasMore": true}}),
    ] {
        let script = vec![page(&["cus_a"], meta.clone())];
        let (ids, error, requests) = walk(script).await;
        assert_eq!(ids, ["cus_a"], "{meta}");
        assert_eq!(requests, 1, "{meta}");
        let PagingError::Unclear { page: 1, seen } = paging(error) else {
            panic!("{meta}: not unclear");
        };
        assert!(seen.contains("meta."), "{meta}: {seen}");
    }
}

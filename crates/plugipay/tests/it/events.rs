//! The events API through the SDK: every customer change is an event, and a
//! catch-up walk over them (`client.call(ListEvents ..).paginated()`) sees
//! each event once while customers keep being created.
//!
//! The sandbox tests run under both published readings of Plugipay
//! (`Dialect::ALL`): the SDKs' event envelope and the API page's.
//!
//! These tests measure other things than pacing and set up more than the
//! published rate limits allow quickly: their sandboxes run without them
//! (the limits themselves are tested in plugipay-sandbox's `rate_limits` tests).

use std::collections::HashSet;

use crate::common::sandbox_client;
use futures_util::TryStreamExt;
use plugipay::api::endpoints::{GetEvent, ListEvents};
use plugipay::api::params::ListEventsParams;
use plugipay::{CustomerUpdate, ErrorCode, NewCustomer};
use plugipay_sandbox::{Dialect, Sandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_an_event_and_a_walk_sees_each_once() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(crate::common::unpaced().dialect(dialect))
            .await
            .unwrap();
        let client = sandbox_client(sandbox.base_url());
        let customers = client.customers();
        let budi = customers
            .create(NewCustomer::new().name("Budi"))
            .await
            .unwrap();
        customers
            .update(&budi.id, CustomerUpdate::new().name("Budi S"))
            .await
            .unwrap();
        customers.delete(&budi.id).await.unwrap();

        let events = oldest_first(&client).await;
        let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "plugipay.customer.created.v1",
                "plugipay.customer.updated.v1",
                "plugipay.customer.deleted.v1"
            ]
        );
        // One typed event whichever envelope came: the workspace and the
        // time from either spelling, an update's previous values where sent.
        for event in &events {
            assert_eq!(
                event.account_id.as_deref(),
                Some(plugipay_sandbox::TEST_ACCOUNT_ID)
            );
            assert!(event.occurred_at.is_some(), "{dialect}");
        }
        if dialect == Dialect::Docs {
            assert_eq!(events[0].raw["type"], "customer.created");
            assert_eq!(
                events[1].previous_attributes.as_ref().unwrap()["name"],
                "Budi"
            );
        }
        // The delete carries the customer as it was.
        assert_eq!(events[2].object.as_ref().unwrap()["name"], "Budi S");
        assert_eq!(events[2].object_id(), Some(budi.id.as_str()));
        // One by id; an unknown id is 404.
        let one = client
            .call(GetEvent {
                id: events[1].id.clone(),
            })
            .await
            .unwrap();
        assert_eq!(one, events[1]);
        let missing = client
            .call(GetEvent {
                id: "evt_missing".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Some(&ErrorCode::NotFound));
        // The short spelling of a type filters too.
        let updated: Vec<_> = client
            .call(ListEvents {
                query: ListEventsParams::new().type_("customer.updated"),
            })
            .paginated()
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(updated.len(), 1);

        // 150 creations, then a walk (newest first, pages of 20) while 100 more
        // customers are created: every event that existed comes once.
        for n in 0..150 {
            customers
                .create(NewCustomer::new().name(format!("Row {n}")))
                .await
                .unwrap();
        }
        let creating = {
            let client = client.clone();
            tokio::spawn(async move {
                for n in 0..100 {
                    client
                        .customers()
                        .create(NewCustomer::new().name(format!("Late {n}")))
                        .await
                        .unwrap();
                }
            })
        };
        let walked: Vec<_> = client
            .call(ListEvents {
                query: ListEventsParams::new().limit(20),
            })
            .paginated()
            .stream()
            .try_collect()
            .await
            .unwrap();
        creating.await.unwrap();
        assert_each_once_with_every_row(&walked, 150);
    }
}

/// Checks a walk that began after `rows` customers named `Row …` were
/// created: each event comes once, and each of those creations is there.
fn assert_each_once_with_every_row(walked: &[plugipay::Event], rows: usize) {
    let ids: HashSet<&str> = walked.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), walked.len(), "each event once");
    let named: HashSet<&str> = walked
        .iter()
        .filter_map(|e| e.object.as_ref()?.get("name")?.as_str())
        .filter(|n| n.starts_with("Row "))
        .collect();
    assert_eq!(
        named.len(),
        rows,
        "every event that existed when the walk began"
    );
}

/// Creates `n` customers named `{prefix} {k}`, four at a time.
/// The whole events log through one cursor, oldest first.
async fn oldest_first(client: &plugipay::Client) -> Vec<plugipay::Event> {
    client
        .call(ListEvents {
            query: ListEventsParams::new().order(plugipay::SortOrder::Asc),
        })
        .paginated()
        .stream()
        .try_collect()
        .await
        .unwrap()
}

async fn create_many(client: &plugipay::Client, prefix: &str, n: usize) {
    let tasks: Vec<_> = (0..4)
        .map(|lane| {
            let client = client.clone();
            let prefix = prefix.to_owned();
            tokio::spawn(async move {
                for k in (lane..n).step_by(4) {
                    client
                        .customers()
                        .create(NewCustomer::new().name(format!("{prefix} {k}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_catch_up_sees_each_event_once_while_customers_are_created() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(crate::common::unpaced().dialect(dialect))
            .await
            .unwrap();
        let client = sandbox_client(sandbox.base_url());
        // Created four at a time, so many events share a millisecond.
        create_many(&client, "Row", 300).await;
        let creating = {
            let client = client.clone();
            tokio::spawn(async move { create_many(&client, "Late", 100).await })
        };
        let walked: Vec<_> = client
            .call(ListEvents {
                query: ListEventsParams::new().limit(20),
            })
            .paginated()
            .partitioned(8)
            .try_collect()
            .await
            .unwrap();
        creating.await.unwrap();
        assert_each_once_with_every_row(&walked, 300);

        // Filters compose: a type, and a window of time that holds only the
        // updates made inside it.
        let customers = client.customers();
        let first = customers
            .list(plugipay::ListParams::new().limit(3))
            .await
            .unwrap();
        let before = chrono::Utc::now() - chrono::TimeDelta::milliseconds(1);
        for customer in &first.items {
            customers
                .update(&customer.id, CustomerUpdate::new().name("Renamed"))
                .await
                .unwrap();
        }
        let after = chrono::Utc::now() + chrono::TimeDelta::milliseconds(1);
        let updated: Vec<_> = client
            .call(ListEvents {
                query: ListEventsParams::new()
                    .type_("customer.updated")
                    .occurred_after(before)
                    .occurred_before(after),
            })
            .paginated()
            .partitioned(4)
            .try_collect()
            .await
            .unwrap();
        let mut got: Vec<&str> = updated.iter().filter_map(|e| e.object_id()).collect();
        let mut want: Vec<&str> = first.items.iter().map(|c| c.id.as_str()).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);

        // Newest first or a cursor cannot be split: refused before the network.
        for query in [
            ListEventsParams::new().order(plugipay::SortOrder::Desc),
            ListEventsParams::new().cursor("evt_1"),
        ] {
            let refused = client
                .call(ListEvents { query })
                .paginated()
                .partitioned(4)
                .try_collect::<Vec<_>>()
                .await
                .unwrap_err();
            assert!(
                matches!(refused, plugipay::Error::InvalidArgument { .. }),
                "{refused:?}"
            );
        }
    }
}

/// Plugipay documents the events window as half-open, `[occurredAfter,
/// occurredBefore)`: an event at exactly `occurredAfter` is in it, through
/// one cursor and through a partitioned walk alike (whose own cuts between
/// ranges still yield each event once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_window_starts_at_occurred_after_itself() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(crate::common::unpaced().dialect(dialect))
            .await
            .unwrap();
        let client = sandbox_client(sandbox.base_url());
        create_many(&client, "Row", 120).await;
        let all = oldest_first(&client).await;
        // From the 40th event's instant on (events sharing it included).
        let at = all[40].occurred_at.unwrap();
        let want: HashSet<&str> = all
            .iter()
            .filter(|e| e.occurred_at.unwrap() >= at)
            .map(|e| e.id.as_str())
            .collect();
        let from = || ListEvents {
            query: ListEventsParams::new().occurred_after(at).limit(10),
        };
        let streamed: Vec<_> = client
            .call(from())
            .paginated()
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(streamed.last().and_then(|e| e.occurred_at), Some(at));
        let ranged: Vec<_> = client
            .call(from())
            .paginated()
            .partitioned(4)
            .try_collect()
            .await
            .unwrap();
        for walked in [&streamed, &ranged] {
            let ids: HashSet<&str> = walked.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(ids.len(), walked.len(), "each event once");
            assert_eq!(ids, want);
        }
        // Before is exclusive: up to, not including, the same instant.
        let until: Vec<_> = client
            .call(ListEvents {
                query: ListEventsParams::new().occurred_before(at),
            })
            .paginated()
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(until.len() + want.len(), all.len());
    }
}

/// A server whose `occurredAfter` is inclusive, with an event on every
/// 10 ms from `t0` (41 of them, so a walk in 4 ranges cuts exactly at
/// events): each event comes once all the same. Serves `GET /api/v1/events`
/// with `occurredAfter`, `order`, `limit` and `cursor` (the last id sent).
async fn inclusive_events_server(t0: chrono::DateTime<chrono::Utc>) -> String {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let events: std::sync::Arc<Vec<(String, chrono::DateTime<chrono::Utc>)>> = (0..=40)
        .map(|i| {
            (
                format!("evt_{i:03}"),
                t0 + chrono::TimeDelta::milliseconds(10 * i),
            )
        })
        .collect::<Vec<_>>()
        .into();
    // One page of the events the query asks for.
    let page = move |query: &str| {
        let query: std::collections::HashMap<String, String> =
            serde_urlencoded::from_str(query).unwrap();
        let after = query
            .get("occurredAfter")
            .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc());
        let limit: usize = query.get("limit").map_or(25, |l| l.parse().unwrap());
        let mut list: Vec<&(String, _)> = events
            .iter()
            .filter(|(_, at)| after.is_none_or(|a| *at >= a))
            .collect();
        if query.get("order").map(String::as_str) != Some("asc") {
            list.reverse();
        }
        if let Some(cursor) = query.get("cursor") {
            let at = list.iter().position(|(id, _)| id == cursor).unwrap();
            list.drain(..=at);
        }
        let more = list.len() > limit;
        list.truncate(limit);
        let data: Vec<serde_json::Value> = list
            .iter()
            .map(|(id, at)| {
                serde_json::json!({
                    "id": id, "type": "plugipay.customer.created.v1", "accountId": "acct_1",
                    "occurredAt": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "data": {"object": {}, "aggregateType": "customer", "aggregateId": "cus_1"}
                })
            })
            .collect();
        let cursor = more
            .then(|| list.last().map(|(id, _)| id.clone()))
            .flatten();
        serde_json::json!({
            "data": data, "error": null,
            "meta": {"requestId": "req_1", "hasMore": more, "cursor": cursor}
        })
        .to_string()
    };
    let page = std::sync::Arc::new(page);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let page = std::sync::Arc::clone(&page);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    let body = page(req.uri().query().unwrap_or_default());
                    async move {
                        let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
                        response.headers_mut().insert(
                            "content-type",
                            hyper::header::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    base_url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cuts_between_ranges_hold_against_an_inclusive_server() {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
        .unwrap()
        .to_utc();
    let base_url = inclusive_events_server(t0).await;
    let client = plugipay::Client::builder()
        .key_id("ak_test_sandbox")
        .secret("sk_test_sandbox")
        .base_url(&base_url)
        .build()
        .unwrap();
    for (after, want) in [
        (None, 41),
        (Some(t0 + chrono::TimeDelta::milliseconds(50)), 36),
    ] {
        for partitions in [1, 4, 8] {
            let mut query = ListEventsParams::new().limit(3);
            query.occurred_after = after;
            let walked: Vec<_> = client
                .call(ListEvents { query })
                .paginated()
                .partitioned(partitions)
                .try_collect()
                .await
                .unwrap();
            let ids: HashSet<&str> = walked.iter().map(|e| e.id.as_str()).collect();
            assert_eq!(
                (walked.len(), ids.len()),
                (want, want),
                "{partitions} ranges from {after:?}: each event once, the one at the bound included"
            );
        }
    }
}

//! The client paces itself to the rate-limit headers of the answers: against
//! a server whose bucket is small, concurrent calls wait for tokens instead
//! of meeting 429s; against a server that sends no such headers, nothing
//! waits.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;
use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use plugipay::{Client, RateClass};

/// A server holding one token bucket of `size` tokens refilled at `size` a
/// second, answering `get_customer` while it has a token and 429 with a 12 s
/// `Retry-After` when it has none; with `headers`, every answer carries
/// `X-RateLimit-*`.
struct Bucketed {
    base_url: String,
    throttled: Arc<AtomicU32>,
    served: Arc<AtomicU32>,
    most_in_flight: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Bucketed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

async fn bucketed(size: u32, headers: bool) -> Bucketed {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let bucket = Arc::new(Mutex::new(Bucket {
        tokens: f64::from(size),
        at: Instant::now(),
    }));
    let (throttled, served) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let (in_flight, most) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let counters = (throttled.clone(), served.clone(), most.clone());
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let (bucket, throttled, served) = (bucket.clone(), throttled.clone(), served.clone());
            let (in_flight, most) = (in_flight.clone(), most.clone());
            connections.spawn(async move {
                let service = service_fn(move |_req: hyper::Request<Incoming>| {
                    let (bucket, throttled, served) =
                        (bucket.clone(), throttled.clone(), served.clone());
                    let (in_flight, most) = (in_flight.clone(), most.clone());
                    async move {
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        // A little latency, so that requests overlap.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        let (ok, remaining) = {
                            let mut b = bucket.lock().unwrap();
                            let elapsed = b.at.elapsed().as_secs_f64();
                            b.tokens = (b.tokens + elapsed * f64::from(size)).min(f64::from(size));
                            b.at = Instant::now();
                            let ok = b.tokens >= 1.0;
                            if ok {
                                b.tokens -= 1.0;
                            }
                            (ok, b.tokens.floor() as u32)
                        };
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        let body = if ok {
                            served.fetch_add(1, Ordering::SeqCst);
                            envelope(customer_json(CUSTOMER_ID))
                        } else {
                            throttled.fetch_add(1, Ordering::SeqCst);
                            error_envelope("rate_limited", "slow down")
                        };
                        let mut response =
                            hyper::Response::new(Full::new(Bytes::from(body.to_string())));
                        *response.status_mut() = if ok {
                            hyper::StatusCode::OK
                        } else {
                            hyper::StatusCode::TOO_MANY_REQUESTS
                        };
                        let h = response.headers_mut();
                        h.insert("content-type", "application/json".parse().unwrap());
                        if !ok {
                            h.insert("retry-after", "12".parse().unwrap());
                        }
                        if headers {
                            let reset = SystemTime::now()
                                .duration_since(UNIX_EPOCH)
                                .unwrap()
                                .as_secs()
                                + 1;
                            h.insert("x-ratelimit-limit", size.to_string().parse().unwrap());
                            h.insert(
                                "x-ratelimit-remaining",
                                remaining.to_string().parse().unwrap(),
                            );
                            h.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
                        }
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Bucketed {
        base_url,
        throttled: counters.0,
        served: counters.1,
        most_in_flight: counters.2,
        task,
    }
}

/// `calls` gets, `concurrency` at a time, each allowed no retry: a 429 is
/// a failed call.
async fn gets(client: &Client, calls: usize, concurrency: usize) -> usize {
    futures_util::stream::iter(0..calls)
        .map(|_| async { client.customers().get(CUSTOMER_ID).max_retries(0).await })
        .buffer_unordered(concurrency)
        .filter(|result| std::future::ready(result.is_ok()))
        .count()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_wait_for_the_budget_the_headers_report() {
    // 60 calls, 16 at a time, against a bucket of 20 a second.
    let server = bucketed(20, true).await;
    let client = client_for(&server.base_url);
    let ok = gets(&client, 60, 16).await;
    assert_eq!(server.throttled.load(Ordering::SeqCst), 0, "no 429");
    assert_eq!(ok, 60);
    assert_eq!(server.served.load(Ordering::SeqCst), 60);
    // What was seen is there to look at.
    let budgets = client.rate_budgets();
    assert_eq!(budgets.len(), 1, "{budgets:?}");
    assert_eq!((budgets[0].class, budgets[0].limit), (RateClass::Read, 20));
    assert!(budgets[0].reset.is_some());

    // The same burst unpaced spends tokens the server does not have.
    let server = bucketed(20, true).await;
    let unpaced = Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(&server.base_url)
        .pacing(false)
        .build()
        .unwrap();
    let ok = gets(&unpaced, 60, 16).await;
    assert!(server.throttled.load(Ordering::SeqCst) > 0);
    assert!(ok < 60);
    // Unpaced, the budget is still reported.
    assert_eq!(unpaced.rate_budgets().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_headers_nothing_waits() {
    // A bucket large enough never to run dry, and no headers: the calls go
    // as they always went, many at once after the first answer.
    let server = bucketed(10_000, false).await;
    let client = client_for(&server.base_url);
    assert_eq!(gets(&client, 200, 16).await, 200);
    assert!(
        server.most_in_flight.load(Ordering::SeqCst) >= 8,
        "{} at once",
        server.most_in_flight.load(Ordering::SeqCst)
    );
    assert!(client.rate_budgets().is_empty());
}

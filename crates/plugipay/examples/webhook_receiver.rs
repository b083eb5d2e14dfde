//! A webhook receiver that keeps a local copy of the customer book: it
//! verifies each delivery's signature against the body's bytes, ignores an
//! event it has already applied (deliveries are at least once), applies an
//! event only if it is newer than what it holds for that customer
//! (deliveries arrive out of order), and catches up with the events API for
//! whatever it missed.
//!
//! `cargo run -p plugipay --example webhook_receiver`
//!
//! Run as is, it starts an embedded sandbox that delivers to it through
//! faults — events sent twice, held back and reordered, and deliveries the
//! receiver refuses at random (500) and the sandbox retries — makes a burst
//! of changes, and checks that its copy ends exactly as the sandbox's book.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use plugipay::api::endpoints::ListEvents;
use plugipay::api::params::ListEventsParams;
use plugipay::webhooks::{Event, EventType, Verifier};
use plugipay::{Client, Customer, CustomerUpdate, ListParams, NewCustomer};
use plugipay_sandbox::{DeliveryPolicy, Sandbox, SandboxConfig, TEST_KEY_ID, TEST_SECRET};

/// The endpoint's secret, as the sandbox signs with it.
const SECRET: &str = "whsec_example";

/// One customer as the receiver last saw it: the event that said so
/// (ordered by time, then id) and the customer, or `None` once deleted.
type Entry = ((i64, String), Option<Customer>);

/// The local copy of the book, built from events.
#[derive(Default)]
struct Book {
    applied: HashSet<String>,
    customers: HashMap<String, Entry>,
}

impl Book {
    /// Applies `event` once, and only if it is newer than what is held for
    /// its customer. Returns whether it changed anything.
    fn apply(&mut self, event: &Event) -> bool {
        if !self.applied.insert(event.id.clone()) {
            return false; // a duplicate delivery
        }
        let (Some(id), Ok(customer)) = (event.object_id(), event.customer()) else {
            return false;
        };
        let at = (
            event.occurred_at.map_or(0, |t| t.timestamp_millis()),
            event.id.clone(),
        );
        let held = self.customers.get(id);
        if held.is_some_and(|(seen, _)| *seen >= at) {
            return false; // an older event arriving late
        }
        let now = match event.event_type {
            EventType::CustomerDeleted => None,
            EventType::CustomerCreated | EventType::CustomerUpdated => customer,
            _ => return false,
        };
        self.customers.insert(id.to_owned(), (at, now));
        true
    }

    /// The customers held, by id.
    fn live(&self) -> HashMap<String, Customer> {
        self.customers
            .iter()
            .filter_map(|(id, (_, c))| Some((id.clone(), c.clone()?)))
            .collect()
    }
}

/// Serves deliveries on a free loopback port; refuses about one in
/// `refuse_one_in` with a 500 (the sandbox then retries).
async fn receive(
    book: Arc<Mutex<Book>>,
    changed: Arc<tokio::sync::Notify>,
    refuse_one_in: u64,
) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhooks", listener.local_addr()?);
    let verifier = Arc::new(Verifier::new(SECRET));
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (book, changed, verifier, seen) = (
                Arc::clone(&book),
                Arc::clone(&changed),
                Arc::clone(&verifier),
                Arc::clone(&seen),
            );
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<Incoming>| {
                    let (book, changed, verifier, seen) = (
                        Arc::clone(&book),
                        Arc::clone(&changed),
                        Arc::clone(&verifier),
                        Arc::clone(&seen),
                    );
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let n = seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let status = if refuse_one_in > 0 && n % refuse_one_in == 1 {
                            500 // a receiver having a bad moment: retried
                        } else {
                            // The raw bytes, never a re-serialised body.
                            match verifier.verify(&parts.headers, &body) {
                                Ok(event) => {
                                    if book.lock().unwrap().apply(&event) {
                                        changed.notify_waiters();
                                    }
                                    200
                                }
                                Err(error) => {
                                    eprintln!("refused a delivery: {error} ({})", error.code());
                                    400
                                }
                            }
                        };
                        let mut response = hyper::Response::new(Full::new(Bytes::new()));
                        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(url)
}

/// Catches up: applies every event the events API holds, walked as four
/// time ranges at once (a receiver would start a little before its last
/// processed event with `occurred_after`). The ranges interleave, which
/// `Book::apply` does not mind: it keeps the newest event per customer.
async fn reconcile(client: &Client, book: &Mutex<Book>) -> Result<usize, plugipay::Error> {
    let query = ListEventsParams::new().limit(100);
    let mut events = client.call(ListEvents { query }).paginated().partitioned(4);
    let mut applied = 0;
    while let Some(event) = events.try_next().await? {
        let raw = serde_json::to_value(&event).unwrap_or_default();
        if let Ok(event) = Event::from_value(raw)
            && book.lock().unwrap().apply(&event)
        {
            applied += 1;
        }
    }
    Ok(applied)
}

/// The sandbox's book, by id.
async fn book_of(client: &Client) -> Result<HashMap<String, Customer>, plugipay::Error> {
    let all: Vec<Customer> = client
        .customers()
        .list(ListParams::new().limit(100))
        .stream()
        .try_collect()
        .await?;
    Ok(all.into_iter().map(|c| (c.id.clone(), c)).collect())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PLUGIPAY_BASE_URL").is_some() {
        eprintln!("this example runs its own sandbox; unset PLUGIPAY_BASE_URL");
        return Ok(());
    }
    let book = Arc::new(Mutex::new(Book::default()));
    let changed = Arc::new(tokio::sync::Notify::new());
    let url = receive(Arc::clone(&book), Arc::clone(&changed), 5).await?;
    // Deliveries through faults: a third sent twice, each held back up to
    // 200 ms (so they arrive out of order), retried quickly when refused.
    let policy = DeliveryPolicy {
        duplicate_rate: 0.3,
        max_delay: Duration::from_millis(200),
        backoff: Duration::from_millis(20),
        ..DeliveryPolicy::default()
    };
    let sandbox =
        Sandbox::start(SandboxConfig::new().webhook(&url, SECRET).delivery(policy)).await?;
    let client = Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(sandbox.base_url())
        .build()?;

    // A burst of changes: 40 created, every other one renamed, every
    // fourth deleted.
    let mut ids = Vec::new();
    for n in 0..40 {
        let customer = NewCustomer::new().name(format!("Customer {n}"));
        ids.push(client.customers().create(customer).await?.id);
    }
    for (n, id) in ids.iter().enumerate() {
        if n % 2 == 0 {
            let update = CustomerUpdate::new().name(format!("Renamed {n}"));
            client.customers().update(id, update).await?;
        }
        if n % 4 == 0 {
            client.customers().delete(id).await?;
        }
    }
    let wanted = book_of(&client).await?;

    // Wait (at most 30 s) for the deliveries to make the copy match.
    let caught_up = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let notified = changed.notified();
            if book.lock().unwrap().live() == wanted {
                return;
            }
            notified.await;
        }
    })
    .await
    .is_ok();
    // Whatever deliveries missed, the events API has.
    let from_catch_up = reconcile(&client, &book).await?;
    let stats = sandbox.delivery_stats();
    let held = book.lock().unwrap().live();
    println!(
        "deliveries: {} delivered in {} attempts ({} abandoned); local copy: {} customers \
         ({} events applied by catching up; matched by deliveries alone: {caught_up})",
        stats.delivered,
        stats.attempts,
        stats.abandoned,
        held.len(),
        from_catch_up
    );
    if held != wanted {
        return Err(format!(
            "the local copy ({} customers) differs from the sandbox's book ({})",
            held.len(),
            wanted.len()
        )
        .into());
    }
    println!("the local copy is exactly the sandbox's book");
    Ok(())
}

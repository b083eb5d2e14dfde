//! The customer change feed (`customers().changes(&checkpoint)`): each change
//! once from any checkpoint, events at a checkpoint's instant included; a
//! checkpoint the log has dropped is a gap, never a short feed; and a copy
//! kept by `Change::supersedes` ends equal to the book however the changes
//! are replayed. Under both published readings of the events envelope.

use std::collections::HashMap;

use crate::common::sandbox_client;
use futures_util::TryStreamExt;
use plugipay::{
    Change, Changed, Checkpoint, Client, CustomerUpdate, Error, Held, ListParams, NewCustomer,
};
use plugipay_sandbox::{Dialect, FaultKind, FaultProxy, ProxyFaults, Sandbox};

async fn feed(client: &Client, since: &Checkpoint) -> Result<Vec<Changed>, Error> {
    client.customers().changes(since).try_collect().await
}

/// What a copy holds of one customer: its JSON, or a tombstone.
#[derive(Clone, Debug, PartialEq)]
enum Row {
    Live(Box<plugipay::Customer>),
    Tombstone,
}

/// Applies `change` to `copy` by the documented rule.
fn apply(copy: &mut HashMap<String, Row>, change: &Change) {
    let held = match copy.get(change.customer_id()) {
        None => Held::Absent,
        Some(Row::Live(customer)) => Held::Present(customer.updated_at),
        Some(Row::Tombstone) => Held::Deleted,
    };
    if !change.supersedes(held) {
        return;
    }
    let row = match change {
        Change::Upsert(customer) => Row::Live(customer.clone()),
        Change::Deleted { .. } => Row::Tombstone,
        _ => unreachable!("the feed gives upserts and deletes"),
    };
    copy.insert(change.customer_id().to_owned(), row);
}

/// The live customers of a copy, by id.
fn live(copy: &HashMap<String, Row>) -> HashMap<String, plugipay::Customer> {
    copy.iter()
        .filter_map(|(id, row)| match row {
            Row::Live(customer) => Some((id.clone(), (**customer).clone())),
            Row::Tombstone => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_comes_once_from_any_checkpoint() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(crate::common::unpaced().seed_customers(5).dialect(dialect))
            .await
            .unwrap();
        let client = sandbox_client(sandbox.base_url());
        let customers = client.customers();
        let since = Checkpoint::latest(&client).await.unwrap();
        assert!(feed(&client, &since).await.unwrap().is_empty(), "{dialect}");

        // Many changes, some at the same instant (created concurrently).
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..40 {
            let client = client.clone();
            tasks.spawn(async move {
                client
                    .customers()
                    .create(NewCustomer::new().name(format!("n{n}")))
                    .await
                    .unwrap()
            });
        }
        let created: Vec<_> = tasks.join_all().await;
        customers
            .update(&created[0].id, CustomerUpdate::new().name("first, renamed"))
            .await
            .unwrap();
        customers.delete(&created[1].id).await.unwrap();

        let all = feed(&client, &since).await.unwrap();
        assert_eq!(all.len(), 42, "{dialect}");
        assert!(matches!(
            &all[41].change,
            Change::Deleted { id, .. } if *id == created[1].id
        ));
        // From every checkpoint on the way, the rest and nothing else.
        for (n, changed) in all.iter().enumerate() {
            let rest = feed(&client, &changed.checkpoint).await.unwrap();
            assert_eq!(rest, all[n + 1..], "{dialect}: from change {n}");
        }
        // A checkpoint survives its text form.
        let text = all[20].checkpoint.to_string();
        let parsed: Checkpoint = text.parse().unwrap();
        assert_eq!(parsed, all[20].checkpoint, "{text}");
    }
}

/// A copy made from the whole book and then kept by the feed ends equal to
/// the book, however often and in whatever order the changes are applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_kept_by_the_rule_equals_the_book() {
    let sandbox = Sandbox::start(crate::common::unpaced().seed_customers(30))
        .await
        .unwrap();
    let client = sandbox_client(sandbox.base_url());
    let customers = client.customers();
    // The checkpoint before the copy: changes during it are read again.
    let since = Checkpoint::latest(&client).await.unwrap();
    let mut copy: HashMap<String, Row> = HashMap::new();
    let book: Vec<_> = customers
        .list(ListParams::new().limit(100))
        .stream()
        .try_collect()
        .await
        .unwrap();
    let first = book[0].id.clone();
    customers
        .update(
            &first,
            CustomerUpdate::new().name("changed during the copy"),
        )
        .await
        .unwrap();
    for customer in book {
        copy.insert(customer.id.clone(), Row::Live(Box::new(customer)));
    }
    customers.delete(&first).await.unwrap();
    let made = customers
        .create(NewCustomer::new().name("new"))
        .await
        .unwrap();
    customers
        .update(&made.id, CustomerUpdate::new().email("new@example.com"))
        .await
        .unwrap();

    let changes = feed(&client, &since).await.unwrap();
    let mut in_order = copy.clone();
    changes.iter().for_each(|c| apply(&mut in_order, &c.change));
    // Twice, newest first: the same copy.
    let mut replayed = copy.clone();
    changes
        .iter()
        .rev()
        .chain(changes.iter())
        .for_each(|c| apply(&mut replayed, &c.change));
    assert_eq!(live(&in_order), live(&replayed));

    let now: HashMap<_, _> = customers
        .list(ListParams::new().limit(100))
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    assert_eq!(live(&in_order), now);
    assert_eq!(in_order.get(&first), Some(&Row::Tombstone));
}

/// Through a proxy that fails a third of the requests (5xx, 429, HTML,
/// answers lost, cut or truncated), the feed gives the same changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_change_nothing_the_feed_gives() {
    let sandbox = Sandbox::start(crate::common::unpaced().seed_customers(3))
        .await
        .unwrap();
    let client = sandbox_client(sandbox.base_url());
    let since = Checkpoint::latest(&client).await.unwrap();
    for n in 0..250 {
        client
            .customers()
            .create(NewCustomer::new().name(format!("n{n}")))
            .await
            .unwrap();
    }
    let clean = feed(&client, &since).await.unwrap();
    assert_eq!(clean.len(), 250);
    let proxy = FaultProxy::start(
        sandbox.base_url(),
        ProxyFaults {
            rate: 0.3,
            kinds: vec![
                FaultKind::ServiceUnavailable,
                FaultKind::RateLimited,
                FaultKind::HtmlError,
                FaultKind::DropAfterForward,
                FaultKind::CutBody,
                FaultKind::TruncatedJson,
            ],
            retry_after_secs: 0,
            seed: 7,
            ..ProxyFaults::default()
        },
    )
    .await
    .unwrap();
    let faulty = sandbox_client(proxy.base_url());
    assert_eq!(feed(&faulty, &since).await.unwrap(), clean);
}

/// A checkpoint whose events the log has dropped is a gap error, not a
/// feed that silently starts later; from `start` the feed reads what is
/// kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_the_log_dropped_is_a_gap() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(crate::common::unpaced().keep_events(5).dialect(dialect))
            .await
            .unwrap();
        let client = sandbox_client(sandbox.base_url());
        let customers = client.customers();
        customers
            .create(NewCustomer::new().name("before"))
            .await
            .unwrap();
        let since = Checkpoint::latest(&client).await.unwrap();
        for n in 0..3 {
            customers
                .create(NewCustomer::new().name(format!("kept {n}")))
                .await
                .unwrap();
        }
        assert_eq!(feed(&client, &since).await.unwrap().len(), 3, "{dialect}");
        for n in 0..5 {
            customers
                .create(NewCustomer::new().name(format!("past the log {n}")))
                .await
                .unwrap();
        }
        let err = feed(&client, &since).await.unwrap_err();
        assert!(
            matches!(&err, Error::ChangesGap { since: s } if *s == since.to_string()),
            "{dialect}: {err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(
            feed(&client, &Checkpoint::start()).await.unwrap().len(),
            5,
            "{dialect}"
        );
    }
}

#[test]
fn checkpoints_refuse_what_is_not_one() {
    // A bare date is not an instant; an id alone has no time.
    for bad in ["", "yesterday", "2026-12-05~", "evt_1"] {
        assert!(bad.parse::<Checkpoint>().is_err(), "{bad}");
    }
    let mark: Checkpoint = "2026-12-05T07:00:00Z~".parse().unwrap();
    assert_eq!(mark.to_string(), "2026-12-05T07:00:00Z~");
}

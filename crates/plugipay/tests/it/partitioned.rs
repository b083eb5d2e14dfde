//! The partitioned walk against the sandbox: every customer once, whatever
//! the number of ranges, with many customers sharing one millisecond, with
//! customers created during the walk, through 429s, with filters; bad
//! arguments refused before anything is sent.
//!
//! Pacing is not what these tests measure (the SDK's `pacing` tests do): their
//! sandboxes run without the published limits, so hundreds of writes and walks
//! of thousands take milliseconds, not a minute. The 429 test meets its limits
//! from a fault proxy.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::SubsecRound;
use futures_util::{StreamExt, TryStreamExt};
use plugipay::{Client, Customer, Error, ListParams, NewCustomer, SortOrder};
use plugipay_sandbox::{
    Dialect, FaultKind, FaultProxy, ProxyFaults, Sandbox, SandboxConfig, TEST_ACCOUNT_ID,
    TEST_KEY_ID, TEST_SECRET,
};

use crate::common::unpaced;

fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(sandbox.base_url())
        .max_retries(10)
        .build()
        .unwrap()
}

/// Walks and counts how often each id came.
async fn walk(client: &Client, params: ListParams, partitions: usize) -> HashMap<String, u32> {
    let mut seen = HashMap::new();
    let mut stream = client.customers().list(params).partitioned(partitions);
    while let Some(customer) = stream.try_next().await.unwrap() {
        *seen.entry(customer.id).or_insert(0) += 1;
    }
    seen
}

fn ids(customers: &[Customer]) -> HashSet<String> {
    customers.iter().map(|c| c.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_customer_once_whatever_the_partitions() {
    for dialect in Dialect::ALL {
        // Seeded in a few milliseconds: hundreds of customers share each one.
        let sandbox = Sandbox::start(unpaced().seed_customers(2_500).dialect(dialect))
            .await
            .unwrap();
        let book = sandbox.customers(TEST_ACCOUNT_ID);
        let mut per_ms: HashMap<_, u32> = HashMap::new();
        for c in &book {
            *per_ms.entry(c.created_at).or_default() += 1;
        }
        let most = per_ms.values().max().copied().unwrap_or(0);
        assert!(
            most > 1,
            "customers share milliseconds, so ranges meet at ties"
        );
        let client = client(&sandbox);
        for partitions in [1, 2, 3, 7, 16, 64] {
            let seen = walk(&client, ListParams::new(), partitions).await;
            assert!(
                seen.values().all(|&n| n == 1),
                "{partitions}: a customer came twice"
            );
            assert_eq!(
                seen.keys().cloned().collect::<HashSet<_>>(),
                ids(&book),
                "{partitions}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_in_the_millisecond_a_range_ends_at() {
    // Five bursts of 300 customers, one millisecond each, a second apart:
    // four ranges cut the span exactly at the middle three bursts.
    let sandbox = Sandbox::start(unpaced()).await.unwrap();
    let base = chrono::Utc::now().trunc_subsecs(0) - chrono::TimeDelta::hours(1);
    let times =
        (0..5).flat_map(|burst| std::iter::repeat_n(base + chrono::TimeDelta::seconds(burst), 300));
    assert_eq!(sandbox.seed_at(TEST_ACCOUNT_ID, times), 1_500);
    let book = sandbox.customers(TEST_ACCOUNT_ID);
    let client = client(&sandbox);
    for (partitions, page) in [(4, 100), (4, 7), (2, 100), (8, 33), (64, 100)] {
        let seen = walk(&client, ListParams::new().limit(page), partitions).await;
        assert!(seen.values().all(|&n| n == 1), "{partitions}/{page}: twice");
        assert_eq!(
            seen.keys().cloned().collect::<HashSet<_>>(),
            ids(&book),
            "{partitions}/{page}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_created_during_the_walk_come_at_most_once() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(unpaced().seed_customers(1_500).dialect(dialect))
            .await
            .unwrap();
        let before = ids(&sandbox.customers(TEST_ACCOUNT_ID));
        let client = client(&sandbox);
        let mut stream = client
            .customers()
            .list(ListParams::new().limit(20))
            .partitioned(8);
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut created = 0;
        while let Some(customer) = stream.try_next().await.unwrap() {
            *seen.entry(customer.id).or_default() += 1;
            if seen.len().is_multiple_of(50) && created < 200 {
                for _ in 0..10 {
                    client
                        .customers()
                        .create(NewCustomer::new().email(format!("late{created}@example.com")))
                        .await
                        .unwrap();
                    created += 1;
                }
            }
        }
        assert_eq!(created, 200);
        assert!(seen.values().all(|&n| n == 1), "a customer came twice");
        let seen: HashSet<String> = seen.into_keys().collect();
        assert!(before.is_subset(&seen), "every customer of the start came");
        let after = ids(&sandbox.customers(TEST_ACCOUNT_ID));
        assert!(seen.is_subset(&after));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_through_429s_completes_exactly_once() {
    let sandbox = Sandbox::start(SandboxConfig::new().seed_customers(1_200))
        .await
        .unwrap();
    let book = ids(&sandbox.customers(TEST_ACCOUNT_ID));
    let proxy = FaultProxy::start(
        sandbox.base_url(),
        ProxyFaults {
            rate: 0.3,
            kinds: vec![FaultKind::RateLimited],
            retry_after_secs: 0,
            seed: 5,
            ..ProxyFaults::default()
        },
    )
    .await
    .unwrap();
    let client = Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(proxy.base_url())
        .retry_policy(
            plugipay::RetryPolicy::default()
                .max_retries(20)
                .base_delay(Duration::from_millis(2))
                .max_delay(Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let seen = walk(&client, ListParams::new().limit(50), 16).await;
    assert!(seen.values().all(|&n| n == 1));
    assert_eq!(seen.into_keys().collect::<HashSet<_>>(), book);
    assert!(proxy.counts()[&FaultKind::RateLimited] > 0, "429s were met");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_compose() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(unpaced().seed_customers(600).dialect(dialect))
            .await
            .unwrap();
        let client = client(&sandbox);
        let customers = client.customers();
        let book = sandbox.customers(TEST_ACCOUNT_ID);
        for c in book.iter().step_by(7) {
            customers.archive(&c.id).await.unwrap();
        }
        let archived: HashSet<String> = book.iter().step_by(7).map(|c| c.id.clone()).collect();

        let mut stream = customers.list(ListParams::new()).archived().partitioned(5);
        let mut got = HashSet::new();
        while let Some(c) = stream.try_next().await.unwrap() {
            assert!(got.insert(c.id));
        }
        assert_eq!(got, archived);

        let active: Vec<Customer> = customers
            .list(ListParams::new())
            .active()
            .partitioned(5)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(active.len(), book.len() - archived.len());

        let middle = book[300].created_at;
        let later = walk(&client, ListParams::new().created_after(middle), 6).await;
        let expected: HashSet<String> = book
            .iter()
            .filter(|c| c.created_at > middle)
            .map(|c| c.id.clone())
            .collect();
        assert_eq!(later.into_keys().collect::<HashSet<_>>(), expected);

        let one = walk(
            &client,
            ListParams::new().email("customer42@example.test"),
            4,
        )
        .await;
        assert_eq!(one.len(), 1);
    }
}

#[tokio::test]
async fn an_empty_book_and_bad_arguments() {
    let sandbox = Sandbox::start(SandboxConfig::new()).await.unwrap();
    let client = client(&sandbox);
    assert!(walk(&client, ListParams::new(), 8).await.is_empty());
    let customers = client.customers();
    for (params, partitions, field) in [
        (ListParams::new(), 0, "partitions"),
        (
            ListParams::new(),
            plugipay::MAX_PARTITIONS + 1,
            "partitions",
        ),
        (ListParams::new().cursor("c"), 2, "cursor"),
        (ListParams::new().order(SortOrder::Desc), 2, "order"),
    ] {
        let mut stream = customers.list(params).partitioned(partitions);
        match stream.next().await {
            Some(Err(Error::InvalidArgument { field: f, .. })) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
        assert!(
            stream.next().await.is_none(),
            "the stream ends after its error"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_items_walk_the_same_book_as_sent() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(unpaced().seed_customers(700).dialect(dialect))
            .await
            .unwrap();
        let client = client(&sandbox);
        let book = sandbox.customers(TEST_ACCOUNT_ID);
        for partitions in [1, 6] {
            let mut stream = client
                .customers()
                .list(ListParams::new())
                .json_items()
                .partitioned(partitions);
            let mut seen = HashSet::new();
            while let Some(item) = stream.try_next().await.unwrap() {
                let typed = item.decode().unwrap();
                assert_eq!(
                    (typed.id.as_str(), typed.created_at),
                    (item.id(), item.created_at())
                );
                let value: serde_json::Value = serde_json::from_str(item.json()).unwrap();
                assert_eq!(value["id"], item.id(), "the text is the customer's object");
                assert!(seen.insert(item.id().to_owned()));
            }
            assert_eq!(seen, ids(&book), "{partitions}");
        }
        let plain: Vec<_> = client
            .customers()
            .list(ListParams::new().limit(100))
            .json_items()
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(plain.len(), 700);
    }
}

mod property {
    use proptest::prelude::*;

    use super::*;

    /// Creation times as millisecond offsets, sorted: runs of customers in
    /// one millisecond, bursts and long gaps.
    fn distribution() -> impl Strategy<Value = Vec<i64>> {
        prop::collection::vec((0i64..5_000, 1usize..40), 1..25).prop_map(|clusters| {
            let mut offsets: Vec<i64> = clusters
                .into_iter()
                .flat_map(|(at, n)| std::iter::repeat_n(at, n))
                .collect();
            offsets.sort_unstable();
            offsets
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn every_customer_once_for_any_spread_of_creation_times(
            offsets in distribution(),
            partitions in 1usize..=16,
            page in 1u32..=100,
        ) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let sandbox = Sandbox::start(SandboxConfig::new()).await.unwrap();
                let base = chrono::Utc::now() - chrono::TimeDelta::days(1);
                let times = offsets.iter().map(|&ms| base + chrono::TimeDelta::milliseconds(ms));
                assert_eq!(sandbox.seed_at(TEST_ACCOUNT_ID, times), offsets.len());
                let book = ids(&sandbox.customers(TEST_ACCOUNT_ID));
                let seen = walk(&client(&sandbox), ListParams::new().limit(page), partitions).await;
                assert!(seen.values().all(|&n| n == 1), "a customer came twice");
                assert_eq!(seen.into_keys().collect::<HashSet<_>>(), book);
            });
        }
    }
}

//! The SDK through a fault-injecting proxy, as a production network behaves:
//! 30 % of requests meet one of eight faults (503, 429 with Retry-After, an
//! HTML 500, an answer lost after the server acted, delays past the attempt
//! timeout before and after the server, a body cut under its
//! Content-Length, truncated JSON with valid framing). Every write lands
//! exactly once and none is reported as failed; a walk sees every customer
//! exactly once.
//!
//! These tests measure other things than pacing and set up more than the
//! published rate limits allow quickly: their sandboxes run without them
//! (the limits themselves are tested in plugipay-sandbox's `rate_limits` tests).

use std::collections::HashSet;
use std::time::Duration;

use futures_util::TryStreamExt;
use plugipay::{Client, ListParams, NewCustomer, RetryPolicy};
use plugipay_sandbox::{
    FaultKind, FaultProxy, ProxyFaults, Sandbox, SandboxConfig, TEST_ACCOUNT_ID, TEST_KEY_ID,
    TEST_SECRET,
};

/// The attempt timeout, and the proxy's delays that outlast it.
const TIMEOUT: Duration = Duration::from_millis(300);
const DELAY: Duration = Duration::from_millis(450);

fn faults(seed: u64) -> ProxyFaults {
    ProxyFaults {
        rate: 0.3,
        kinds: FaultKind::ALL.to_vec(),
        delay: DELAY,
        retry_after_secs: 0,
        seed,
    }
}

fn client(base_url: &str) -> Client {
    Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(base_url)
        .timeout(TIMEOUT)
        // 30 % faults: 12 retries leave ~1.6e-7 per call of all 13 failing.
        .retry_policy(
            RetryPolicy::default()
                .max_retries(12)
                .base_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_anonymous_creates_through_faults_make_a_thousand_customers() {
    let sandbox =
        Sandbox::start(SandboxConfig::new().rate_limits(plugipay_sandbox::RateLimits::off()))
            .await
            .unwrap();
    let proxy = FaultProxy::start(sandbox.base_url(), faults(2026))
        .await
        .unwrap();
    let client = client(proxy.base_url());
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..32 {
        let client = client.clone();
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for n in (worker..1_000).step_by(32) {
                // No externalId: only the Idempotency-Key stands between a
                // retry and a duplicate.
                let customer = client
                    .customers()
                    .create(NewCustomer::new().name(format!("Anonymous {n}")))
                    .await
                    .unwrap_or_else(|e| panic!("create {n} reported as failed: {e}"));
                ids.push(customer.id);
            }
            ids
        });
    }
    let ids: Vec<String> = tasks.join_all().await.into_iter().flatten().collect();
    let distinct: HashSet<_> = ids.iter().collect();
    assert_eq!((ids.len(), distinct.len()), (1_000, 1_000));
    assert_eq!(
        sandbox.customer_count(TEST_ACCOUNT_ID),
        1_000,
        "no duplicates"
    );
    let counts = proxy.counts();
    assert!(
        FaultKind::ALL.iter().all(|kind| counts[kind] > 0),
        "every fault kind was met: {counts:?}"
    );

    // The walk through the same faults sees each customer exactly once.
    let walked: Vec<_> = client
        .customers()
        .list(ListParams::new().limit(20))
        .stream()
        .map_ok(|c| c.id)
        .try_collect()
        .await
        .unwrap();
    let walked_set: HashSet<_> = walked.iter().collect();
    assert_eq!(walked.len(), 1_000);
    assert_eq!(walked_set, distinct);
}

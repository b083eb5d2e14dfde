//! The sandbox's rate limits: a token bucket per workspace, mode and class
//! (reads, writes), `X-RateLimit-Limit/-Remaining/-Reset` on every answer
//! to an authenticated request, 429 `rate_limited` with `Retry-After` from
//! an empty bucket, none of it when the limits are off, and the published
//! numbers by default in the binary.
//!
//! Buckets refill continuously, so a test that counts tokens runs its
//! requests within less than one token's refill time (they take a few
//! milliseconds on loopback) and, on a machine so slow that they did not,
//! runs again on a fresh sandbox rather than guessing.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;
use plugipay_sandbox::{
    ApiKey, RateLimits, Sandbox, SandboxConfig, Scope, TEST_ACCOUNT_ID, TEST_API_KEY,
};

const LIMIT: &str = "x-ratelimit-limit";
const REMAINING: &str = "x-ratelimit-remaining";
const RESET: &str = "x-ratelimit-reset";

/// An answer's rate-limit headers, `(limit, remaining, reset)`: all three
/// or none.
fn rate(a: &Answer) -> Option<(u32, u32, u64)> {
    let header = |name| {
        a.headers
            .get(name)
            .map(|v| v.to_str().unwrap().parse::<u64>().unwrap())
    };
    match (header(LIMIT), header(REMAINING), header(RESET)) {
        (Some(limit), Some(remaining), Some(reset)) => {
            Some((limit as u32, remaining as u32, reset))
        }
        (None, None, None) => None,
        partial => panic!("some rate-limit headers but not all: {partial:?} {a:?}"),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The rate-limit headers of an answer that must have them, with a sane
/// `Reset`: not before now, and within the second a bucket takes to fill.
fn rate_of(a: &Answer) -> (u32, u32) {
    let (limit, remaining, reset) = rate(a).unwrap_or_else(|| panic!("no rate headers: {a:?}"));
    assert!(remaining <= limit, "{a:?}");
    let now = now_secs();
    assert!(
        reset + 1 >= now && reset <= now + 2,
        "reset {reset}, now {now}"
    );
    if remaining == limit {
        assert!(reset <= now + 1, "a full bucket is full now: {a:?}");
    }
    (limit, remaining)
}

fn bearer(base: &str, token: &str) -> RawClient {
    let mut raw = RawClient::sandbox(base);
    raw.auth = Auth::Bearer(token.to_owned());
    raw
}

/// Runs `attempt` (each time on a fresh sandbox) until one run's requests
/// take less than `window`, within which its assertions about token
/// counts hold. An attempt returns when its first request was about to go,
/// and what it makes.
async fn within<T>(window: Duration, attempt: impl AsyncFn() -> (Instant, T)) -> T {
    for _ in 0..5 {
        let (started, result) = attempt().await;
        if started.elapsed() < window {
            return result;
        }
    }
    panic!("five runs in a row took {window:?} or more");
}

/// Every answer to an authenticated request — successes, replays, 4xx of
/// every kind — carries its class's bucket; answers to requests that never
/// authenticated carry none.
#[tokio::test]
async fn every_authenticated_answer_carries_its_bucket() {
    let sb = Sandbox::start(
        SandboxConfig::new()
            .rate_limits(RateLimits::new(50, 10))
            .key(ApiKey::bearer("pk_test_readonly", TEST_ACCOUNT_ID).with_scopes(&[Scope::Read])),
    )
    .await
    .unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    let key = fresh_key();
    let started = Instant::now();
    let created = raw.create(r#"{"name":"Ada"}"#, &key).await;
    assert_eq!(created.status, 201);
    let path = paths::customer(created.body["data"]["id"].as_str().unwrap());
    let replay = raw.create(r#"{"name":"Ada"}"#, &key).await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    let reads = [
        raw.send("GET", paths::customers(), None, None).await,
        raw.send("GET", &path, None, None).await,
        raw.send("GET", &paths::customer("cus_missing"), None, None)
            .await,
        raw.send(
            "GET",
            &format!("{}?limit=0", paths::customers()),
            None,
            None,
        )
        .await,
    ];
    let statuses: Vec<u16> = reads.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [200, 200, 404, 400]);
    for a in &reads {
        assert_eq!(rate_of(a).0, 50, "{a:?}");
    }
    // A HEAD is a read; the path does not take it (405, without a body).
    let head = reqwest::Client::new()
        .head(format!("{}{path}", sb.base_url()))
        .bearer_auth(TEST_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 405);
    assert_eq!(head.headers()[LIMIT], "50");
    let writes = [
        created,
        replay,
        raw.create(r#"{"name":"Ada"}"#, &key.clone()).await,
        raw.create(r#"{"name":"Bob"}"#, &key).await, // 409 mismatch
        raw.create(r#"{"name":""}"#, &fresh_key()).await, // 400
        raw.send(
            "PATCH",
            &paths::customer("cus_missing"),
            Some("{}"),
            Some(&fresh_key()),
        )
        .await,
        raw.send("PUT", &path, Some("{}"), Some(&fresh_key())).await, // 405
        raw.send("DELETE", &path, None, Some(&fresh_key())).await,
        // The key lacks the create scope: 403, still counted.
        bearer(sb.base_url(), "pk_test_readonly")
            .create("{}", &fresh_key())
            .await,
        // Not a platform key: 403 forbidden, counted on its own workspace.
        {
            let mut other = RawClient::sandbox(sb.base_url());
            other.on_behalf_of = Some("acct_other".into());
            other.create("{}", &fresh_key()).await
        },
    ];
    let statuses: Vec<u16> = writes.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [201, 201, 201, 409, 400, 404, 405, 204, 403, 403]);
    for a in &writes {
        assert_eq!(rate_of(a).0, 10, "{a:?}");
    }
    // 10 writes in a bucket of 10, counted whatever their answer: no more
    // left than came back meanwhile (10 a second).
    let refilled = (started.elapsed().as_secs_f64() * 10.0).floor() as u32;
    assert!(rate_of(&writes[9]).1 <= refilled, "{:?}", writes[9]);

    // Never authenticated: an unknown path (404 before authentication),
    // an unknown key, a bad signature, a stale timestamp.
    let unknown = RawClient::hmac(sb.base_url(), "ak_test_nobody", "sk_test_nobody");
    let forged = RawClient::hmac(
        sb.base_url(),
        plugipay_sandbox::TEST_KEY_ID,
        "sk_test_wrong",
    );
    let mut stale = RawClient::sandbox(sb.base_url());
    stale.clock_offset_secs = -3600;
    let unauthenticated = [
        reqwest::get(format!("{}/api/v1/other", sb.base_url()))
            .await
            .unwrap()
            .headers()
            .clone(),
        unknown
            .send("GET", paths::customers(), None, None)
            .await
            .headers,
        forged
            .send("GET", paths::customers(), None, None)
            .await
            .headers,
        stale
            .send("GET", paths::customers(), None, None)
            .await
            .headers,
        bearer(sb.base_url(), "pk_test_nobody")
            .send("GET", paths::customers(), None, None)
            .await
            .headers,
    ];
    for headers in &unauthenticated {
        for name in [LIMIT, REMAINING, RESET] {
            assert!(headers.get(name).is_none(), "{name}: {headers:?}");
        }
    }
}

/// `Remaining` counts down one per request, in each class's own bucket.
#[tokio::test]
async fn remaining_counts_down_per_class() {
    // 4 reads and 3 writes per second: a token comes back every 250 ms.
    let (reads, writes) = within(Duration::from_millis(250), async || {
        let sb = Sandbox::start(SandboxConfig::new().rate_limits(RateLimits::new(4, 3)))
            .await
            .unwrap();
        let raw = RawClient::sandbox(sb.base_url());
        let started = Instant::now();
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        for n in 0..3 {
            reads.push(rate_of(
                &raw.send("GET", paths::customers(), None, None).await,
            ));
            let body = format!(r#"{{"name":"n{n}"}}"#);
            writes.push(rate_of(&raw.create(&body, &fresh_key()).await));
        }
        (started, (reads, writes))
    })
    .await;
    assert_eq!(reads, [(4, 3), (4, 2), (4, 1)]);
    assert_eq!(writes, [(3, 2), (3, 1), (3, 0)]);
}

/// An empty bucket answers 429 `rate_limited` with the configured
/// `Retry-After`, before anything else is judged but after
/// authentication; the other class, the live world and other workspaces
/// have buckets of their own.
#[tokio::test]
async fn an_empty_bucket_answers_429_and_only_its_own() {
    let answers = within(Duration::from_millis(500), async || {
        let sb = Sandbox::start(
            SandboxConfig::new()
                .live_keys()
                .rate_limits(RateLimits::new(2, 2).retry_after_secs(1)),
        )
        .await
        .unwrap();
        let raw = RawClient::sandbox(sb.base_url());
        let list = paths::customers();
        let started = Instant::now();
        let mut answers = Vec::new();
        for _ in 0..3 {
            answers.push(raw.send("GET", list, None, None).await);
        }
        // The same workspace with its Bearer key: the same bucket; a path
        // that does not take GET is still refused first for the rate.
        answers.push(
            bearer(sb.base_url(), TEST_API_KEY)
                .send("GET", list, None, None)
                .await,
        );
        answers.push(raw.send("GET", &paths::customer("cus_x"), None, None).await);
        // Still authentication first: a forged request is 401, not 429.
        let forged = RawClient::hmac(sb.base_url(), plugipay_sandbox::TEST_KEY_ID, "sk_test_no");
        answers.push(forged.send("GET", list, None, None).await);
        // Writes, another workspace, the live world: their own buckets.
        answers.push(raw.create("{}", &fresh_key()).await);
        answers.push(
            platform_for(sb.base_url(), "acct_other")
                .send("GET", list, None, None)
                .await,
        );
        answers.push(
            RawClient::hmac(
                sb.base_url(),
                plugipay_sandbox::LIVE_KEY_ID,
                plugipay_sandbox::LIVE_SECRET,
            )
            .send("GET", list, None, None)
            .await,
        );
        answers.push(
            bearer(sb.base_url(), plugipay_sandbox::LIVE_API_KEY)
                .send("GET", list, None, None)
                .await,
        );
        (started, answers)
    })
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [200, 200, 429, 429, 429, 401, 201, 200, 200, 200]);
    for refused in &answers[2..5] {
        assert_eq!(refused.code(), "rate_limited", "{refused:?}");
        assert_eq!(refused.headers["retry-after"], "1");
        assert_eq!(rate_of(refused), (2, 0));
    }
    assert!(rate(&answers[5]).is_none());
    assert!(answers[0].headers.get("retry-after").is_none());
    assert_eq!(rate_of(&answers[6]), (2, 1));
    assert_eq!(rate_of(&answers[7]), (2, 1));
    assert_eq!(rate_of(&answers[8]), (2, 1));
    assert_eq!(rate_of(&answers[9]), (2, 0));
}

/// A 429 says when to come back: never sooner than the next token, even
/// with a `Retry-After` configured shorter.
#[tokio::test]
async fn retry_after_is_never_sooner_than_the_next_token() {
    let refused = within(Duration::from_millis(1000), async || {
        let sb = Sandbox::start(
            SandboxConfig::new().rate_limits(RateLimits::new(1, 1).retry_after_secs(0)),
        )
        .await
        .unwrap();
        let raw = RawClient::sandbox(sb.base_url());
        let started = Instant::now();
        assert_eq!(
            raw.send("GET", paths::customers(), None, None).await.status,
            200
        );
        (
            started,
            raw.send("GET", paths::customers(), None, None).await,
        )
    })
    .await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.headers["retry-after"], "1");
}

/// The sandbox's own 429 for a full idempotency store is not a rate
/// limit: it carries the write bucket's headers, gives its token back and
/// has no `Retry-After` (when records free up is not known).
#[tokio::test]
async fn the_idempotency_budget_429_gives_its_token_back() {
    let (refused, after) = within(Duration::from_millis(200), async || {
        let sb = Sandbox::start(
            SandboxConfig::new()
                .rate_limits(RateLimits::new(5, 5))
                .idempotency_budget_bytes(4096)
                .idempotency_workspace_budget_bytes(4096),
        )
        .await
        .unwrap();
        let raw = RawClient::sandbox(sb.base_url());
        let started = Instant::now();
        assert_eq!(raw.create("{}", &fresh_key()).await.status, 201);
        // The first workspace's record leaves the second less than its budget.
        let other = platform_for(sb.base_url(), "acct_other");
        let refused = other.create("{}", &fresh_key()).await;
        // A write refused before the budget is looked at: it keeps its token.
        let target = &paths::customer("cus_x");
        let after = other
            .send("PATCH", target, Some("not json"), Some(&fresh_key()))
            .await;
        (started, (refused, after))
    })
    .await;
    assert_eq!((refused.status, refused.code()), (429, "rate_limited"));
    assert!(refused.message().contains("idempotency"), "{refused:?}");
    assert!(refused.headers.get("retry-after").is_none());
    assert_eq!(rate_of(&refused), (5, 5));
    assert_eq!((after.status, rate_of(&after)), (400, (5, 4)));
}

/// The library's default is the live API's: the published limits, with
/// their headers on every authenticated answer.
#[tokio::test]
async fn the_default_sandbox_has_the_published_limits() {
    let sb = Sandbox::start(SandboxConfig::new()).await.unwrap();
    assert_eq!(sb.rate_limits(), RateLimits::published());
    let raw = RawClient::sandbox(sb.base_url());
    let read = raw.send("GET", paths::customers(), None, None).await;
    assert_eq!(rate_of(&read).0, 100);
    assert_eq!(rate_of(&raw.create("{}", &fresh_key()).await).0, 20);
}

/// Off: no 429 however fast, and no headers. A
/// class with rate 0 is unlimited while the other is limited.
#[tokio::test]
async fn off_limits_send_no_headers_and_no_429() {
    let sb = Sandbox::start(SandboxConfig::new().rate_limits(RateLimits::off()))
        .await
        .unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    for _ in 0..150 {
        let a = raw.send("GET", paths::customers(), None, None).await;
        assert_eq!(a.status, 200);
        assert!(rate(&a).is_none(), "{a:?}");
    }
    for _ in 0..30 {
        let a = raw.create("{}", &fresh_key()).await;
        assert_eq!(a.status, 201);
        assert!(rate(&a).is_none(), "{a:?}");
    }

    let sb = Sandbox::start(SandboxConfig::new().rate_limits(RateLimits::new(0, 20)))
        .await
        .unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    for _ in 0..150 {
        let a = raw.send("GET", paths::customers(), None, None).await;
        assert_eq!(a.status, 200);
        assert!(rate(&a).is_none(), "{a:?}");
    }
    assert_eq!(rate_of(&raw.create("{}", &fresh_key()).await).0, 20);
}

/// The SDK reads the headers as the sandbox writes them.
#[tokio::test]
async fn the_sdk_reads_the_buckets() {
    let sb = Sandbox::start(SandboxConfig::new().rate_limits(RateLimits::new(7, 3)))
        .await
        .unwrap();
    let client = sdk(sb.base_url());
    client
        .customers()
        .list(plugipay::ListParams::new())
        .await
        .unwrap();
    let budgets = client.rate_budgets();
    assert_eq!(budgets.len(), 1, "{budgets:?}");
    assert_eq!(budgets[0].class, plugipay::RateClass::Read);
    assert_eq!(budgets[0].limit, 7);
    assert!(budgets[0].remaining <= 6);
}

/// The binary enforces the published numbers unless told otherwise.
#[tokio::test]
async fn the_binary_enforces_the_published_limits_by_default() {
    let process = sandbox_binary(&[]);
    let base = process.base_url();
    let raw = RawClient::sandbox(base);
    let read = raw.send("GET", paths::customers(), None, None).await;
    assert_eq!(rate_of(&read), (100, 99));
    let write = raw.create("{}", &fresh_key()).await;
    assert_eq!(rate_of(&write), (20, 19));
    drop(process);

    let process = sandbox_binary(&["--rate-limits", "off"]);
    let base = process.base_url();
    let read = RawClient::sandbox(base)
        .send("GET", paths::customers(), None, None)
        .await;
    assert!(rate(&read).is_none(), "{read:?}");
    drop(process);

    let answers = within(Duration::from_millis(1000), async || {
        let process = sandbox_binary(&["--rate-limits", "1,1", "--rate-limit-retry-after", "3"]);
        let base = process.base_url();
        let raw = bearer(base, TEST_API_KEY);
        let started = Instant::now();
        let first = raw.send("GET", paths::customers(), None, None).await;
        let second = raw.send("GET", paths::customers(), None, None).await;
        drop(process);
        (started, (first, second))
    })
    .await;
    assert_eq!(rate_of(&answers.0), (1, 0));
    assert_eq!((answers.1.status, answers.1.code()), (429, "rate_limited"));
    assert_eq!(answers.1.headers["retry-after"], "3");
}

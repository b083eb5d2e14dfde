//! The fault proxy from the outside: requests pass through unchanged (signed
//! writes byte for byte), each fault kind does what it says, the dice are
//! reproducible, only loopback upstreams are accepted, and malformed or
//! pipelined requests are handled as HTTP/1.1 asks.

use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use plugipay_sandbox::{
    FaultKind, FaultProxy, ProxyFaults, Sandbox, SandboxConfig, TEST_ACCOUNT_ID, TEST_KEY_ID,
    TEST_SECRET,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The customers collection, from the generated descriptor (tests follow a
/// moved path).
const LIST: &str =
    <plugipay_api::endpoints::ListCustomers as plugipay_api::endpoint::Endpoint>::PATH;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        // A safety net against a hung test, not an assertion.
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::new().seed_customers(3))
        .await
        .unwrap()
}

fn only(kind: FaultKind) -> ProxyFaults {
    ProxyFaults {
        rate: 1.0,
        kinds: vec![kind],
        delay: Duration::from_millis(200),
        retry_after_secs: 7,
        seed: 1,
    }
}

async fn list(client: &reqwest::Client, base: &str) -> reqwest::Result<reqwest::Response> {
    client
        .get(format!("{base}{LIST}"))
        .header("Authorization", "Bearer pk_test_sandbox")
        .send()
        .await
}

async fn create(
    client: &reqwest::Client,
    base: &str,
    key: &str,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}{LIST}"))
        .header("Authorization", "Bearer pk_test_sandbox")
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .body(r#"{"email":"ada@example.com","name":"Ada"}"#)
        .send()
        .await
}

/// The envelope without what differs between two answers to one request.
fn without_request_meta(mut body: Value) -> Value {
    if let Some(meta) = body["meta"].as_object_mut() {
        meta.remove("requestId");
        meta.remove("timestamp");
    }
    body
}

async fn json(resp: reqwest::Response) -> Value {
    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn rate_zero_passes_requests_through_unchanged() {
    let sandbox = sandbox().await;
    let proxy = FaultProxy::start(sandbox.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    let client = http();
    let direct = list(&client, sandbox.base_url()).await.unwrap();
    assert_eq!(direct.status(), 200);
    let direct = json(direct).await;
    assert_eq!(direct["data"].as_array().map(Vec::len), Some(3));
    // Several requests on one keep-alive connection.
    for _ in 0..5 {
        let proxied = list(&client, proxy.base_url()).await.unwrap();
        assert_eq!(proxied.status(), 200);
        assert_eq!(
            proxied.headers()["content-type"],
            "application/json",
            "{:?}",
            proxied.headers()
        );
        let proxied = json(proxied).await;
        assert_eq!(
            without_request_meta(proxied),
            without_request_meta(direct.clone())
        );
    }
    assert_eq!(proxy.requests(), 5);
    assert_eq!(proxy.counts().len(), 8);
    assert!(proxy.counts().values().all(|&n| n == 0));
}

#[tokio::test]
async fn signed_writes_pass_through_byte_for_byte() {
    let sandbox = sandbox().await;
    let proxy = FaultProxy::start(sandbox.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    let body = r#"{"email":"grace@example.com","name":"Grace"}"#;
    let key = "idem_fault_proxy_signed";
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let to_sign = format!(
        "POST\n{LIST}\n{ts}\n{}\n{key}",
        hex::encode(Sha256::digest(body.as_bytes()))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(TEST_SECRET.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let resp = http()
        .post(format!("{}{LIST}", proxy.base_url()))
        .header(
            "Authorization",
            format!("Plugipay-HMAC-SHA256 keyId={TEST_KEY_ID}, scope=*, signature={signature}"),
        )
        .header("X-Plugipay-Timestamp", ts.to_string())
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .header("Connection", "keep-alive")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created = json(resp).await;
    assert_eq!(created["data"]["email"], "grace@example.com");
    assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 4);
}

#[tokio::test]
async fn error_faults_answer_without_forwarding() {
    let sandbox = sandbox().await;
    let proxy = FaultProxy::start(sandbox.base_url(), only(FaultKind::ServiceUnavailable))
        .await
        .unwrap();
    let client = http();

    let resp = create(&client, proxy.base_url(), "idem_503").await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body = json(resp).await;
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["error"]["code"], "service_unavailable");
    assert_eq!(body["error"]["message"], "injected by the fault proxy");
    assert_eq!(body["meta"]["requestId"], "req_proxy_1");

    proxy.set_faults(only(FaultKind::RateLimited));
    let resp = create(&client, proxy.base_url(), "idem_429").await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let body = json(resp).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["meta"]["requestId"], "req_proxy_2");

    proxy.set_faults(only(FaultKind::HtmlError));
    let resp = create(&client, proxy.base_url(), "idem_500").await.unwrap();
    assert_eq!(resp.status(), 500);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(
        resp.text().await.unwrap(),
        "<html><body>Internal Server Error</body></html>"
    );

    // None reached the sandbox, and the connection is still usable.
    assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 3);
    proxy.set_faults(ProxyFaults::default());
    let resp = create(&client, proxy.base_url(), "idem_ok").await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 4);

    assert_eq!(proxy.requests(), 4);
    let counts = proxy.counts();
    assert_eq!(counts[&FaultKind::ServiceUnavailable], 1);
    assert_eq!(counts[&FaultKind::RateLimited], 1);
    assert_eq!(counts[&FaultKind::HtmlError], 1);
    assert_eq!(counts.values().sum::<u64>(), 3);
}

#[tokio::test]
async fn drop_after_forward_acts_then_hangs_up() {
    let sandbox = sandbox().await;
    let proxy = FaultProxy::start(sandbox.base_url(), only(FaultKind::DropAfterForward))
        .await
        .unwrap();
    match create(&http(), proxy.base_url(), "idem_drop").await {
        Err(_) => {}
        Ok(resp) => assert!(
            resp.bytes().await.is_err(),
            "expected no answer, got a whole one"
        ),
    }
    // The proxy read the sandbox's answer before hanging up.
    assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 4);
    assert_eq!(proxy.counts()[&FaultKind::DropAfterForward], 1);
}

#[tokio::test]
async fn cut_body_fails_the_body_read() {
    let sandbox = sandbox().await;
    let proxy = FaultProxy::start(sandbox.base_url(), only(FaultKind::CutBody))
        .await
        .unwrap();
    let resp = list(&http(), proxy.base_url()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.is_err());
    assert_eq!(proxy.counts()[&FaultKind::CutBody], 1);
}

#[tokio::test]
async fn truncated_json_is_well_framed_but_not_json() {
    let sandbox = sandbox().await;
    let proxy = FaultProxy::start(sandbox.base_url(), only(FaultKind::TruncatedJson))
        .await
        .unwrap();
    let client = http();
    let direct = list(&client, sandbox.base_url())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let resp = list(&client, proxy.base_url()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let truncated = resp.bytes().await.unwrap();
    assert!(truncated.len() < direct.len(), "{truncated:?}");
    assert!(serde_json::from_slice::<Value>(&truncated).is_err());
    // The framing was right, so the connection carries on.
    proxy.set_faults(ProxyFaults::default());
    let resp = list(&client, proxy.base_url()).await.unwrap();
    assert_eq!(json(resp).await["data"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn delays_hold_the_answer_back() {
    let sandbox = sandbox().await;
    for kind in [FaultKind::DelayBeforeForward, FaultKind::DelayAfterForward] {
        let proxy = FaultProxy::start(sandbox.base_url(), only(kind))
            .await
            .unwrap();
        let started = Instant::now();
        let resp = list(&http(), proxy.base_url()).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body = json(resp).await;
        assert!(started.elapsed() >= Duration::from_millis(200), "{kind:?}");
        assert_eq!(body["data"].as_array().map(Vec::len), Some(3));
        assert_eq!(proxy.counts()[&kind], 1);
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let sandbox = sandbox().await;
    let faults = ProxyFaults {
        rate: 0.5,
        kinds: vec![
            FaultKind::ServiceUnavailable,
            FaultKind::RateLimited,
            FaultKind::HtmlError,
            FaultKind::TruncatedJson,
        ],
        seed: 42,
        ..ProxyFaults::default()
    };
    // What a client sees of each of 40 requests.
    async fn run(client: &reqwest::Client, proxy: &FaultProxy) -> Vec<(u16, bool)> {
        let mut seen = Vec::new();
        for _ in 0..40 {
            let resp = list(client, proxy.base_url()).await.unwrap();
            let status = resp.status().as_u16();
            let body = resp.bytes().await.unwrap();
            seen.push((status, serde_json::from_slice::<Value>(&body).is_ok()));
        }
        seen
    }
    let client = http();
    let a = FaultProxy::start(sandbox.base_url(), faults.clone())
        .await
        .unwrap();
    let b = FaultProxy::start(sandbox.base_url(), faults.clone())
        .await
        .unwrap();
    let seen_a = run(&client, &a).await;
    let seen_b = run(&client, &b).await;
    assert_eq!(seen_a, seen_b);
    assert_eq!(a.counts(), b.counts());
    let faulted: u64 = a.counts().values().sum();
    assert!((1..40).contains(&faulted), "{:?}", a.counts());
    assert_eq!(
        seen_a.iter().filter(|&&(s, ok)| s == 200 && ok).count() as u64,
        40 - faulted
    );

    // Reseeding replays the sequence; another seed draws another one.
    a.set_faults(faults.clone());
    assert_eq!(run(&client, &a).await, seen_a);
    b.set_faults(ProxyFaults { seed: 43, ..faults });
    assert_ne!(run(&client, &b).await, seen_a);
    assert_eq!(a.requests(), 80);
}

#[tokio::test]
async fn only_loopback_upstreams_are_accepted() {
    for upstream in [
        "http://10.1.2.3:8080",
        "http://192.168.0.1",
        "http://example.com:80",
        "http://0.0.0.0:8080",
        "https://127.0.0.1:8080",
        "127.0.0.1:8080",
        "http://127.0.0.1:8080/api",
        "http://user@127.0.0.1:8080",
        "http://127.0.0.1:0",
        "http://127.0.0.1:http",
        "http://[::1",
    ] {
        let err = FaultProxy::start(upstream, ProxyFaults::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{upstream}");
    }
    for upstream in [
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/",
        "http://127.5.6.7:8080",
        "http://localhost:8080",
        "HTTP://LOCALHOST",
        "http://[::1]:8080",
    ] {
        let proxy = FaultProxy::start(upstream, ProxyFaults::default()).await;
        assert!(proxy.is_ok(), "{upstream}: {proxy:?}");
    }
}

#[tokio::test]
async fn an_unreachable_upstream_gets_a_502() {
    // A port that was just free: nothing listens there any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = FaultProxy::start(&format!("http://127.0.0.1:{port}"), ProxyFaults::default())
        .await
        .unwrap();
    let resp = list(&http(), proxy.base_url()).await.unwrap();
    assert_eq!(resp.status(), 502);
    assert!(!resp.text().await.unwrap().is_empty());
}

/// Writes raw bytes to the proxy and reads until it closes.
async fn raw_exchange(proxy: &FaultProxy, request: &[u8]) -> String {
    let addr = proxy.base_url().trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn bad_requests_are_refused_and_closed() {
    let sandbox = sandbox().await;
    let proxy = FaultProxy::start(sandbox.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    let chunked = b"POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let answer = raw_exchange(&proxy, chunked).await;
    assert!(answer.starts_with("HTTP/1.1 501 "), "{answer}");
    let answer = raw_exchange(&proxy, b"nonsense\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let answer = raw_exchange(&proxy, b"GET / HTTP/1.1\r\n bad: fold\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let answer = raw_exchange(
        &proxy,
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    // Past the proxy's 64 KiB limit on a head.
    huge.resize(64 * 1024 + 10, b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    let answer = raw_exchange(&proxy, &huge).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert_eq!(proxy.requests(), 0);
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_then_closed() {
    let sandbox = sandbox().await;
    let proxy = FaultProxy::start(sandbox.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    let one =
        format!("GET {LIST} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pk_test_sandbox\r\n\r\n");
    let last = format!(
        "GET {LIST}/cus_missing HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pk_test_sandbox\r\nConnection: close\r\n\r\n"
    );
    let answer = raw_exchange(&proxy, format!("\r\n{one}{one}{last}").as_bytes()).await;
    assert_eq!(answer.matches("HTTP/1.1 200 ").count(), 2, "{answer}");
    let last_status = answer.rfind("HTTP/1.1 ").unwrap();
    assert!(
        answer[last_status..].starts_with("HTTP/1.1 404 "),
        "{answer}"
    );
    assert!(answer[last_status..].contains("\r\nConnection: close\r\n"));
    assert_eq!(proxy.requests(), 3);
}

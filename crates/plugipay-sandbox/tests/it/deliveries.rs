//! Webhook deliveries: every customer event is POSTed to the endpoints of its
//! workspace and mode, signed so that the SDK's verifier accepts it, retried
//! until answered 2xx, and sent twice when the faults say so; an endpoint
//! that is not an http(s) URL is refused at start.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use plugipay::NewCustomer;
use plugipay::webhooks::{EventType, Verifier};
use plugipay_sandbox::{DeliveryPolicy, Sandbox, SandboxConfig, TEST_KEY_ID, TEST_SECRET};

/// What a receiver got: each delivery's signature header and body.
type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

/// A receiver that answers 500 to its first `refuse` deliveries, then 200;
/// notifies on each delivery.
async fn receiver(refuse: usize) -> (String, Received, Arc<tokio::sync::Notify>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Received = Arc::default();
    let arrived = Arc::new(tokio::sync::Notify::new());
    let (g, a) = (Arc::clone(&got), Arc::clone(&arrived));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (got, arrived) = (Arc::clone(&g), Arc::clone(&a));
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    let (got, arrived) = (Arc::clone(&got), Arc::clone(&arrived));
                    async move {
                        let signature = req
                            .headers()
                            .get("x-plugipay-signature")
                            .map(|v| v.to_str().unwrap().to_owned())
                            .unwrap_or_default();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let n = {
                            let mut got = got.lock().unwrap();
                            got.push((signature, body));
                            got.len()
                        };
                        arrived.notify_waiters();
                        let mut response = hyper::Response::new(Full::new(Bytes::new()));
                        if n <= refuse {
                            *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, got, arrived)
}

async fn wait_for(got: &Received, arrived: &tokio::sync::Notify, n: usize) {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let notified = arrived.notified();
            if got.lock().unwrap().len() >= n {
                return;
            }
            notified.await;
        }
    })
    .await
    .expect("the deliveries arrive");
}

fn client(sandbox: &Sandbox) -> plugipay::Client {
    plugipay::Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(sandbox.base_url())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_delivered_signed_and_retried_until_answered() {
    // The first two attempts are refused: the first event's delivery is
    // retried twice, then answered.
    let (url, got, arrived) = receiver(2).await;
    let policy = DeliveryPolicy {
        backoff: Duration::from_millis(10),
        ..DeliveryPolicy::default()
    };
    let sandbox = Sandbox::start(
        SandboxConfig::new()
            .webhook(&url, "whsec_test")
            .delivery(policy),
    )
    .await
    .unwrap();
    let customer = client(&sandbox)
        .customers()
        .create(NewCustomer::new().name("Ani"))
        .await
        .unwrap();
    wait_for(&got, &arrived, 3).await;
    let got = got.lock().unwrap().clone();
    let verifier = Verifier::new("whsec_test");
    for (signature, body) in &got {
        let event = verifier.verify(signature.as_str(), body).unwrap();
        assert_eq!(event.event_type, EventType::CustomerCreated);
        assert_eq!(event.object_id(), Some(customer.id.as_str()));
    }
    // Signed afresh per attempt, with another secret refused.
    assert!(
        Verifier::new("whsec_other")
            .verify(got[0].0.as_str(), &got[0].1)
            .is_err()
    );
    // The sandbox counts the delivery once it has read the answer.
    let stats = tokio::time::timeout(
        Duration::from_secs(20),
        sandbox.delivery_stats_when(|s| s.delivered > 0),
    )
    .await
    .unwrap();
    assert_eq!((stats.delivered, stats.attempts), (1, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_deliver_duplicates() {
    let (url, got, arrived) = receiver(0).await;
    let policy = DeliveryPolicy {
        duplicate_rate: 1.0,
        max_delay: Duration::from_millis(20),
        ..DeliveryPolicy::default()
    };
    let sandbox = Sandbox::start(
        SandboxConfig::new()
            .webhook(&url, "whsec_test")
            .delivery(policy),
    )
    .await
    .unwrap();
    let customers = client(&sandbox);
    for n in 0..3 {
        customers
            .customers()
            .create(NewCustomer::new().name(format!("C{n}")))
            .await
            .unwrap();
    }
    wait_for(&got, &arrived, 6).await;
    let ids: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            serde_json::from_slice::<serde_json::Value>(body).unwrap()["id"].to_string()
        })
        .collect();
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!((ids.len(), distinct.len()), (6, 3), "each event twice");
}

/// A webhook URL deliveries could only fail on is refused at start, as an
/// invalid input that does not show the URL.
#[tokio::test]
async fn a_webhook_url_that_is_not_one_is_refused_at_start() {
    for url in ["127.0.0.1:9/hook?token=t0ken", "ftp://h/x", "http://", ""] {
        let refused = Sandbox::start(SandboxConfig::new().webhook(url, "whsec_test"))
            .await
            .expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput, "{url}");
        assert!(!refused.to_string().contains("t0ken"), "{refused}");
    }
    for url in [
        "http://localhost:9/x",
        "http://[::1]:9/",
        "https://example.test/h",
    ] {
        assert!(
            SandboxConfig::new()
                .webhook(url, "whsec_test")
                .validate()
                .is_ok(),
            "{url}"
        );
    }
}

/// An endpoint belongs to a workspace, as one registered with Plugipay: the
/// default gets the events of the workspaces the keys belong to, test and
/// live; one named for a workspace and mode gets only those; a workspace a
/// platform key acts for reaches only an endpoint named for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_gets_the_events_of_its_workspace_and_mode() {
    use plugipay_sandbox::{
        LIVE_KEY_ID, LIVE_SECRET, Mode, PLATFORM_KEY_ID, PLATFORM_SECRET, TEST_ACCOUNT_ID,
        WebhookEndpoint,
    };
    let (any_url, any_got, _) = receiver(0).await;
    let (test_url, test_got, _) = receiver(0).await;
    let (other_url, other_got, _) = receiver(0).await;
    let sandbox = Sandbox::start(
        SandboxConfig::new()
            .live_keys()
            .webhook(&any_url, "whsec_test")
            .webhook_endpoint(
                WebhookEndpoint::new(&test_url, "whsec_test")
                    .in_workspace(TEST_ACCOUNT_ID)
                    .in_mode(Mode::Test),
            )
            .webhook_endpoint(
                WebhookEndpoint::new(&other_url, "whsec_test").in_workspace("acct_other"),
            ),
    )
    .await
    .unwrap();
    let as_key = |key_id: &str, secret: &str| {
        plugipay::Client::builder()
            .key_id(key_id)
            .secret(secret)
            .base_url(sandbox.base_url())
    };
    let create = |client: plugipay::Client, name: &'static str| async move {
        client
            .customers()
            .create(NewCustomer::new().name(name))
            .await
            .unwrap()
            .id
    };
    let test = create(client(&sandbox), "Test").await;
    let live = create(as_key(LIVE_KEY_ID, LIVE_SECRET).build().unwrap(), "Live").await;
    let other = create(
        as_key(PLATFORM_KEY_ID, PLATFORM_SECRET)
            .on_behalf_of("acct_other")
            .build()
            .unwrap(),
        "Other",
    )
    .await;
    // Four deliveries in all: two to the default endpoint, one to each other.
    let stats = tokio::time::timeout(
        Duration::from_secs(20),
        sandbox.delivery_stats_when(|s| s.delivered >= 4),
    )
    .await
    .expect("the deliveries arrive");
    assert_eq!(stats.delivered, 4);
    let objects = |got: &Received| {
        let mut ids: Vec<String> = got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| {
                let event: serde_json::Value = serde_json::from_slice(body).unwrap();
                event["data"]["object"]["id"].as_str().unwrap().to_owned()
            })
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![test.clone(), live];
    both.sort();
    assert_eq!(objects(&any_got), both);
    assert_eq!(objects(&test_got), vec![test]);
    assert_eq!(objects(&other_got), vec![other]);
}

/// A delivery the sandbox made passes Plugipay's official Python SDK's
/// verifier (`tests/python/webhooks.py verify`). Runs when `PLUGIPAY_PYTHON`
/// names a Python with `forjio-plugipay` installed (`.ci/run` sets it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_passes_the_official_python_sdk() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let Some(python) = std::env::var_os("PLUGIPAY_PYTHON") else {
        eprintln!("skipped: set PLUGIPAY_PYTHON to a Python with forjio-plugipay installed");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = match std::path::Path::new(&python) {
        path if path.is_relative() && path.components().count() > 1 => {
            root.join(path).into_os_string()
        }
        _ => python,
    };
    let (url, got, arrived) = receiver(0).await;
    let sandbox = Sandbox::start(SandboxConfig::new().webhook(&url, "whsec_py"))
        .await
        .unwrap();
    let customer = client(&sandbox)
        .customers()
        .create(NewCustomer::new().name("Dewi"))
        .await
        .unwrap();
    wait_for(&got, &arrived, 1).await;
    let (header, body) = got.lock().unwrap()[0].clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut child = Command::new(&python)
        .arg(root.join("tests/python/webhooks.py"))
        .args(["verify", "whsec_py", &now.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("PLUGIPAY_PYTHON runs");
    let input = serde_json::json!({
        "header": header,
        "body": String::from_utf8(body.to_vec()).unwrap(),
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdict.get("error"), None, "{verdict}");
    assert_eq!(verdict["type"], "plugipay.customer.created.v1", "{verdict}");
    let delivered: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(delivered["data"]["object"]["id"], customer.id.as_str());
}

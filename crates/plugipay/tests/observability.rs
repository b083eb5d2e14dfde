//! Every call is a tracing span with the operation, the attempt, the status
//! and the request id; nothing secret is ever logged.
//!
//! A test binary of its own, unlike the rest of the crate's tests (`it`):
//! its subscriber is scoped to its thread, and tracing keeps what each
//! callsite is interested in for the whole process, so beside tests running
//! on other threads it could miss the very events it checks.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugipay::api::endpoint::Endpoint as _;
use plugipay::api::endpoints::{CreateCustomer, GetCustomer};
use plugipay::{Client, NewCustomer, RetryPolicy};
use plugipay_sandbox::{
    FaultKind, FaultProxy, ProxyFaults, Sandbox, SandboxConfig, TEST_KEY_ID, TEST_SECRET,
};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn calls_are_traced_without_secrets() {
    let logs = Buffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sandbox = Sandbox::start(SandboxConfig::new()).await.unwrap();
    let proxy = FaultProxy::start(sandbox.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    let client = Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(proxy.base_url())
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    let customer = client.customers().create(NewCustomer::new()).await.unwrap();
    proxy.set_faults(ProxyFaults {
        rate: 1.0,
        kinds: vec![FaultKind::RateLimited],
        retry_after_secs: 0,
        ..ProxyFaults::default()
    });
    let err = client.customers().get(&customer.id).await.unwrap_err();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
            .to_owned()
    };
    // One line per attempt, in its call's span: the method and target, the
    // status, the attempt, the request id.
    let created = line(&format!("POST {} → 201", CreateCustomer::PATH));
    assert!(
        created.contains("(attempt 1, request req_")
            && created.contains("plugipay{operation=\"create_customer\""),
        "{created}"
    );
    let retried = line("retrying in");
    assert!(
        retried.contains("attempt{number=1 status=429 request_id=\"req_"),
        "{retried}"
    );
    let last = line("→ 429 in");
    assert!(last.contains("operation=\"get_customer\""), "{last}");
    let get = format!(
        "GET {}",
        GetCustomer {
            id: customer.id.clone()
        }
        .path()
    );
    assert_eq!(text.matches(&get).count(), 3, "{text}");
    assert!(
        err.request_id().is_some_and(|id| text.contains(id)),
        "{text}"
    );
    assert!(!text.contains(TEST_SECRET), "{text}");
    assert!(!text.contains("signature="), "{text}");
}

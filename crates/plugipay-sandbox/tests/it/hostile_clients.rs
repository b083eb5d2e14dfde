//! Clients that hold connections without finishing requests cannot starve
//! the sandbox: slow headers are cut off, and connections beyond the cap
//! wait to be accepted instead of exhausting descriptors.

use std::time::Duration;

use crate::common::{paths, sdk};
use plugipay_sandbox::{Sandbox, SandboxConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A sandbox with one customer, four connection slots and `read_timeout`.
async fn four_slots(read_timeout: Duration) -> Sandbox {
    Sandbox::start(
        SandboxConfig::new()
            .seed_customers(1)
            .max_connections(4)
            .read_timeout(read_timeout),
    )
    .await
    .unwrap()
}

/// `n` connections that each start a request and never finish it.
async fn stall(sandbox: &Sandbox, n: usize) -> Vec<TcpStream> {
    let mut stalled = Vec::new();
    for _ in 0..n {
        let mut stream = TcpStream::connect(sandbox.addr()).await.unwrap();
        // Any path: the request never finishes its head.
        stream
            .write_all(b"GET /api/v1/customers HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        stalled.push(stream);
    }
    stalled
}

#[tokio::test]
async fn half_open_connections_do_not_starve_real_requests() {
    let sandbox = four_slots(Duration::from_millis(300)).await;
    // Every slot taken by a client that starts a request and never ends it.
    let stalled = stall(&sandbox, 4).await;
    // A real request still gets its answer once the slow ones are cut off.
    let client = sdk(sandbox.base_url());
    let page = client
        .customers()
        .list(plugipay::ListParams::new())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    // The stalled connections were closed by the server, not left open.
    for mut stream in stalled {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("the server closes a stalled connection");
        match read {
            Ok(n) => assert!(
                n == 0 || buf.starts_with(b"HTTP/1.1 408"),
                "{:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        }
    }
}

/// With every connection slot held by a client that never finishes its
/// request, and a read timeout far beyond the test's life, a real request
/// is still served: the oldest stalled connection is shed to make room.
#[tokio::test]
async fn stalled_connections_are_shed_when_slots_run_out() {
    let sandbox = four_slots(Duration::from_secs(3600)).await;
    let stalled = stall(&sandbox, 8).await;
    let client = sdk(sandbox.base_url());
    // A guard against hanging forever, not a timing goal: without shedding
    // the request would wait for the hour-long read timeout.
    let page = tokio::time::timeout(
        Duration::from_secs(120),
        client.customers().list(plugipay::ListParams::new()),
    )
    .await
    .expect("served without waiting for the read timeout")
    .unwrap();
    assert_eq!(page.items.len(), 1);
    drop(stalled);
}

/// Seconds since the Unix epoch, as `X-Plugipay-Timestamp` writes them.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sends `head` (a request's headers, declaring a 1 MiB body) and none of
/// its body, and returns the status line of the answer.
async fn answer_without_body(sandbox: &Sandbox, head: &str) -> String {
    let mut stream = TcpStream::connect(sandbox.addr()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    // A guard against hanging forever, not a timing goal: reading the body
    // first would wait for the hour-long read timeout.
    tokio::time::timeout(Duration::from_secs(120), async {
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before answering");
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("answered before the body arrived");
    let text = String::from_utf8_lossy(&seen);
    text.lines().next().unwrap().to_owned()
}

/// A request whose headers already fail is answered at once: the sandbox
/// does not wait for (or hold) a body it would refuse whatever it held.
#[tokio::test]
async fn bodies_of_requests_refused_by_their_headers_are_not_read() {
    let sandbox = four_slots(Duration::from_secs(3600)).await;
    let now = now_secs();
    let signature = "0".repeat(64);
    let stale = now - 3600;
    let cases = [
        (String::new(), "401"),
        ("Authorization: Bearer pk_nobody\r\n".to_owned(), "401"),
        (
            format!(
                "Authorization: Plugipay-HMAC-SHA256 keyId=ak_nobody, signature={signature}\r\n\
                 X-Plugipay-Timestamp: {now}\r\n"
            ),
            "401",
        ),
        (
            format!(
                "Authorization: Plugipay-HMAC-SHA256 keyId=ak_test_sandbox, signature={signature}\r\n\
                 X-Plugipay-Timestamp: {stale}\r\n"
            ),
            "401",
        ),
        (
            "Authorization: Plugipay-HMAC-SHA256 keyId=ak_test_sandbox, signature=zz\r\n\
             X-Plugipay-Timestamp: 1\r\n"
                .to_owned(),
            "401",
        ),
        // Headers that pass, but a workspace the key may not act on: the
        // answer is 403 whatever the body, and 1 MiB is past what is read
        // to check its signature.
        (
            format!(
                "Authorization: Plugipay-HMAC-SHA256 keyId=ak_test_sandbox, signature={signature}\r\n\
                 X-Plugipay-Timestamp: {now}\r\nX-Plugipay-On-Behalf-Of: acct_other\r\n"
            ),
            "403",
        ),
    ];
    for (auth, status) in cases {
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Idempotency-Key: k\r\n{auth}Content-Length: {}\r\n\r\n",
            paths::customers(),
            1 << 20
        );
        let line = answer_without_body(&sandbox, &head).await;
        assert!(
            line.starts_with(&format!("HTTP/1.1 {status}")),
            "{auth}: {line}"
        );
    }
}

//! The benchmark binary's own building blocks, run small: what B3 runs in a
//! child process walks a whole book and reports its peak memory.

use plugipay_sandbox::{RateLimits, Sandbox, SandboxConfig};

/// `plugipay-bench walk` prints the customers walked and a positive peak RSS.
#[tokio::test]
async fn walk_counts_the_whole_book_and_reports_its_memory() {
    let sandbox = Sandbox::start(
        SandboxConfig::new()
            .seed_customers(250)
            .rate_limits(RateLimits::off()),
    )
    .await
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugipay-bench"))
        .args(["walk", "--base-url", sandbox.base_url()])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fields: Vec<u64> = stdout
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!(fields.len(), 2, "{stdout}");
    assert_eq!(fields[0], 250);
    assert!(fields[1] > 0, "peak RSS {}", fields[1]);
}

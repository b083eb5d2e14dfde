//! Helpers shared by the CLI's test binaries: run the `plugipay` binary
//! against a server, read its output, make temporary files.
#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::path::PathBuf;
use std::process::Output;

use plugipay_sandbox::{TEST_KEY_ID, TEST_SECRET};

/// The command, aimed at `base_url` (a sandbox, a proxy in front of one, or
/// a scripted server) with the sandbox's test credentials, not yet run.
pub fn plugipay_command(base_url: &str, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugipay"));
    command
        .args(args)
        .env("PLUGIPAY_BASE_URL", base_url)
        .env("PLUGIPAY_KEY_ID", TEST_KEY_ID)
        .env("PLUGIPAY_SECRET", TEST_SECRET)
        .env_remove("PLUGIPAY_API_KEY")
        .env_remove("PLUGIPAY_ON_BEHALF_OF");
    without_profiles(&mut command);
    command
}

/// The command with nothing set but its profiles' directory (a fresh
/// one), not yet run.
pub fn plugipay_bare() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugipay"));
    without_profiles(&mut command);
    command
}

/// Keeps the command away from the real `~/.plugipay`: its profiles are
/// looked for in a directory of the test's own that does not exist; and
/// from a webhook secret of the developer's shell.
pub fn without_profiles(command: &mut tokio::process::Command) -> &mut tokio::process::Command {
    command
        .env("PLUGIPAY_CONFIG_DIR", config_dir())
        .env_remove("PLUGIPAY_PROFILE")
        .env_remove("PLUGIPAY_WEBHOOK_SECRET")
}

/// A fresh directory name for profiles (not created).
pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-config-{}", uuid()))
}

/// Runs the command with no credentials in its environment.
pub async fn plugipay_without_credentials(args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugipay"));
    without_profiles(&mut command)
        .args(args)
        .env_remove("PLUGIPAY_KEY_ID")
        .env_remove("PLUGIPAY_SECRET")
        .env_remove("PLUGIPAY_API_KEY")
        .output()
        .await
        .unwrap()
}

/// Runs [`plugipay_command`] to the end.
pub async fn plugipay_at(base_url: &str, args: &[&str]) -> Output {
    plugipay_command(base_url, args).output().await.unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A file in the target directory's temp area, unique per test.
pub fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}", uuid()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Unique across tests, test binaries and runs: process, clock and a counter.
fn uuid() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{:x}-{:x}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// A sandbox configuration without the published rate limits, for tests
/// that measure something other than pacing and set up more than those
/// limits allow quickly (the limits have tests of their own).
pub fn unpaced() -> plugipay_sandbox::SandboxConfig {
    plugipay_sandbox::SandboxConfig::new().rate_limits(plugipay_sandbox::RateLimits::off())
}

/// An unpaced sandbox seeded with `seed` customers.
pub async fn sandbox(seed: usize) -> plugipay_sandbox::Sandbox {
    plugipay_sandbox::Sandbox::start(unpaced().seed_customers(seed))
        .await
        .unwrap()
}

/// An unpaced sandbox seeded with `seed` customers, speaking `dialect`.
pub async fn sandbox_speaking(
    seed: usize,
    dialect: plugipay_sandbox::Dialect,
) -> plugipay_sandbox::Sandbox {
    plugipay_sandbox::Sandbox::start(unpaced().seed_customers(seed).dialect(dialect))
        .await
        .unwrap()
}

/// Runs `plugipay args` against `sandbox` with its test credentials.
pub async fn plugipay(sandbox: &plugipay_sandbox::Sandbox, args: &[&str]) -> Output {
    plugipay_at(sandbox.base_url(), args).await
}

/// The JSON lines of a successful run's stdout (the run failing fails the test).
pub fn stdout_json(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Runs `plugipay args` (no connection settings) writing its stdout to
/// `stdout`, its stderr captured.
pub async fn with_stdout(args: &[&str], stdout: impl Into<std::process::Stdio>) -> Output {
    plugipay_bare()
        .args(args)
        .env_remove("PLUGIPAY_BASE_URL")
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        // Not `output()`, which would capture stdout in a pipe of its own.
        .spawn()
        .unwrap()
        .wait_with_output()
        .await
        .unwrap()
}

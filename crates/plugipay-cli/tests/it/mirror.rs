//! `plugipay customers mirror FILE`: a copy of the book in SQLite, the
//! whole book once and then only what changed; a copy cut short at any
//! point (SIGKILL) is finished by the next run; a checkpoint the events
//! log dropped fails until `--resync`; `--verify` finds no difference.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{plugipay, stderr, unpaced};
use plugipay::{Client, CustomerUpdate, ListParams, NewCustomer};
use plugipay_sandbox::{Dialect, Sandbox, TEST_KEY_ID, TEST_SECRET};

fn db_path() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mirror-{}", plugipay::new_idempotency_key()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("book.db")
}

fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(sandbox.base_url())
        .build()
        .unwrap()
}

async fn mirror(sandbox: &Sandbox, db: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["-v", "customers", "mirror", db.to_str().unwrap()];
    args.extend_from_slice(extra);
    plugipay(sandbox, &args).await
}

async fn assert_verified(sandbox: &Sandbox, db: &Path) {
    let out = mirror(sandbox, db, &["--verify"]).await;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

/// 100 updates (two to each of 50 customers), 50 creates and 50 deletes.
async fn change_the_book(client: &Client, round: usize) {
    let customers = client.customers();
    let ids: Vec<String> = customers
        .list(ListParams::new().limit(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.id)
        .collect();
    for (n, id) in ids.iter().take(50).enumerate() {
        customers
            .update(
                id,
                CustomerUpdate::new().name(format!("round {round} n{n}")),
            )
            .await
            .unwrap();
        customers
            .update(
                id,
                CustomerUpdate::new().email(format!("r{round}n{n}@example.com")),
            )
            .await
            .unwrap();
    }
    for id in ids.iter().skip(50) {
        customers.delete(id).await.unwrap();
    }
    for n in 0..50 {
        customers
            .create(NewCustomer::new().name(format!("new {round} {n}")))
            .await
            .unwrap();
    }
}

/// Attempt lines of a `-v` run: the requests it spent.
fn requests(out: &std::process::Output) -> usize {
    stderr(out).lines().filter(|l| l.contains(" → ")).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mirror_copies_once_then_reads_only_the_changes() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(unpaced().seed_customers(2_000).dialect(dialect))
            .await
            .unwrap();
        let client = client(&sandbox);
        let db = db_path();
        let first = mirror(&sandbox, &db, &[]).await;
        assert!(first.status.success(), "{}", stderr(&first));
        assert!(
            stderr(&first).contains("2,000 customers copied"),
            "{}",
            stderr(&first)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&db).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the copy is its owner's only");
        }

        // Changes made while a run is in progress are not lost.
        let (during, ()) = tokio::join!(mirror(&sandbox, &db, &[]), change_the_book(&client, 1));
        assert!(during.status.success(), "{}", stderr(&during));
        let caught_up = mirror(&sandbox, &db, &[]).await;
        assert!(caught_up.status.success(), "{}", stderr(&caught_up));
        // A few pages of events, not the book's 20 pages.
        assert!(
            requests(&caught_up) <= 4,
            "{dialect}: {}",
            stderr(&caught_up)
        );
        assert_verified(&sandbox, &db).await;

        change_the_book(&client, 2).await;
        let out = mirror(&sandbox, &db, &[]).await;
        assert!(
            stderr(&out).contains("50 created, 100 updated, 50 deleted"),
            "{dialect}: {}",
            stderr(&out)
        );
        assert!(requests(&out) <= 4, "{dialect}: {}", stderr(&out));
        assert_verified(&sandbox, &db).await;
    }
}

/// Killed at any point, a run leaves a file the next run finishes: no
/// customer missing, duplicated or brought back from a delete.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_mirror_converges() {
    let sandbox = Sandbox::start(unpaced().seed_customers(5_000))
        .await
        .unwrap();
    let client = client(&sandbox);
    let db = db_path();
    // Crash points spread over a first copy and later catch-ups.
    for (round, after_ms) in [3u64, 25, 60, 120, 9, 250].into_iter().enumerate() {
        let mut child = crate::common::plugipay_command(
            sandbox.base_url(),
            &["customers", "mirror", db.to_str().unwrap()],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
        let ((), _) = tokio::join!(change_the_book(&client, round), async {
            // The crash point, not a wait for readiness.
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            child.start_kill()
        });
        let _ = child.wait().await;
    }
    let out = mirror(&sandbox, &db, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_verified(&sandbox, &db).await;
}

/// Through a proxy failing a third of the requests (5xx, 429, answers lost
/// or cut), the copy still ends equal to the book.
#[tokio::test(flavor = "multi_thread")]
async fn faults_leave_the_copy_equal_to_the_book() {
    use plugipay_sandbox::{FaultKind, FaultProxy, ProxyFaults};
    let sandbox = Sandbox::start(unpaced().seed_customers(1_000))
        .await
        .unwrap();
    let client = client(&sandbox);
    let proxy = FaultProxy::start(
        sandbox.base_url(),
        ProxyFaults {
            rate: 0.3,
            kinds: vec![
                FaultKind::ServiceUnavailable,
                FaultKind::RateLimited,
                FaultKind::DropAfterForward,
                FaultKind::CutBody,
                FaultKind::TruncatedJson,
            ],
            retry_after_secs: 0,
            seed: 11,
            ..ProxyFaults::default()
        },
    )
    .await
    .unwrap();
    let db = db_path();
    let through = |extra: &'static [&'static str]| {
        let db = db.clone();
        let url = proxy.base_url().to_owned();
        async move {
            let mut args = vec!["customers", "mirror", db.to_str().unwrap()];
            args.extend_from_slice(extra);
            crate::common::plugipay_at(&url, &args).await
        }
    };
    // A run the faults defeat (retries spent) fails, and the next one
    // finishes the copy: run until one succeeds.
    let until_done = || async {
        for _ in 0..20 {
            let out = through(&[]).await;
            if out.status.success() {
                return;
            }
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        }
        panic!("20 runs in a row failed");
    };
    until_done().await;
    change_the_book(&client, 1).await;
    until_done().await;
    assert_verified(&sandbox, &db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_checkpoint_needs_resync() {
    let sandbox = Sandbox::start(unpaced().seed_customers(150).keep_events(20))
        .await
        .unwrap();
    let client = client(&sandbox);
    let db = db_path();
    let first = mirror(&sandbox, &db, &[]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let some = client.customers().create(NewCustomer::new()).await.unwrap();
    let second = mirror(&sandbox, &db, &[]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    change_the_book(&client, 1).await;
    let gap = mirror(&sandbox, &db, &[]).await;
    assert_eq!(gap.status.code(), Some(1), "{}", stderr(&gap));
    assert!(stderr(&gap).contains("--resync"), "{}", stderr(&gap));
    let resync = mirror(&sandbox, &db, &["--resync"]).await;
    assert!(resync.status.success(), "{}", stderr(&resync));
    assert_verified(&sandbox, &db).await;
    client.customers().delete(&some.id).await.unwrap();
    let out = mirror(&sandbox, &db, &[]).await;
    assert!(stderr(&out).contains("1 deleted"), "{}", stderr(&out));
    assert_verified(&sandbox, &db).await;
}

/// `--follow` keeps the copy current until a signal: changes made while it
/// runs reach the copy, and SIGTERM ends it with status 130 and a copy the
/// next run finds up to date.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn follow_keeps_the_copy_current_until_a_signal() {
    let sandbox = Sandbox::start(unpaced().seed_customers(300)).await.unwrap();
    let client = client(&sandbox);
    let db = db_path();
    let child = crate::common::plugipay_command(
        sandbox.base_url(),
        &[
            "customers",
            "mirror",
            db.to_str().unwrap(),
            "--follow",
            "--every",
            "0.1",
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true)
    .spawn()
    .unwrap();
    change_the_book(&client, 1).await;
    // Until the follower has caught up (bounded): --verify answers.
    let mut caught_up = false;
    for _ in 0..200 {
        if mirror(&sandbox, &db, &["--verify"]).await.status.success() {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(caught_up, "the follower never caught up");
    let pid = child.id().unwrap();
    // SIGTERM, as a service manager stops it.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stopped by SIGTERM"),
        "{}",
        stderr(&out)
    );
    assert_verified(&sandbox, &db).await;
}

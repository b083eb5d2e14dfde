//! `plugipay customers mirror TARGET`: a copy of the book in SQLite and in
//! Postgres, the whole book once and then only what changed; a copy cut
//! short at any point (SIGKILL) is finished by the next run; a checkpoint
//! the events log dropped fails until `--resync`; `--verify` finds no
//! difference.
//!
//! The Postgres half needs a server: `PLUGIPAY_TEST_POSTGRES_URL` names a
//! database on it where the tests may create databases of their own
//! (`eval "$(bash tests/postgres/start.sh)"` starts a scratch one). Without
//! it the Postgres half is skipped with a note, except in CI (`CI` set),
//! where it fails.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::{plugipay, stderr, unpaced};
use plugipay::{Client, CustomerUpdate, ListParams, NewCustomer};
use plugipay_sandbox::{Dialect, Sandbox, TEST_KEY_ID, TEST_SECRET};

/// Where a test keeps its copy: the argument `mirror` takes.
#[derive(Clone, Debug)]
struct Target(String);

impl Target {
    fn arg(&self) -> &str {
        &self.0
    }
}

/// A fresh SQLite file name (not created).
fn sqlite() -> Target {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mirror-{}", plugipay::new_idempotency_key()));
    std::fs::create_dir_all(&dir).unwrap();
    Target(dir.join("book.db").to_str().unwrap().to_owned())
}

/// A fresh database on the test server, `None` (with a note) when there is
/// none outside CI.
async fn postgres() -> Option<Target> {
    let Ok(base) = std::env::var("PLUGIPAY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the Postgres half: set PLUGIPAY_TEST_POSTGRES_URL (tests/postgres/start.sh)"
        );
        eprintln!(
            "note: the Postgres half skipped: PLUGIPAY_TEST_POSTGRES_URL is not set \
             (eval \"$(bash tests/postgres/start.sh)\" starts a server)"
        );
        return None;
    };
    let (admin, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("PLUGIPAY_TEST_POSTGRES_URL: cannot connect");
    tokio::spawn(connection);
    let name = format!(
        "mirror_{}",
        plugipay::new_idempotency_key().replace('-', "_")
    );
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    // The same URL with the new database's name as its path.
    let (before_query, query) = base.split_once('?').unwrap_or((&base, ""));
    let scheme_end = before_query.find("://").unwrap() + 3;
    let server = match before_query[scheme_end..].find('/') {
        Some(slash) => &before_query[..scheme_end + slash],
        None => before_query,
    };
    let url = if query.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{query}")
    };
    Some(Target(url))
}

/// Every target this run can test: SQLite, and Postgres when there is a
/// server.
async fn targets() -> Vec<Target> {
    let mut targets = vec![sqlite()];
    targets.extend(postgres().await);
    targets
}

fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(sandbox.base_url())
        .build()
        .unwrap()
}

async fn mirror(sandbox: &Sandbox, db: &Target, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["-v", "customers", "mirror", db.arg()];
    args.extend_from_slice(extra);
    plugipay(sandbox, &args).await
}

async fn assert_verified(sandbox: &Sandbox, db: &Target) {
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

/// A count as the CLI writes it (20,000).
fn plugipay_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Attempt lines of a `-v` run: the requests it spent; the summary says
/// as many.
fn requests(out: &std::process::Output) -> usize {
    let text = stderr(out);
    let attempts = text.lines().filter(|l| l.contains(" → ")).count();
    let said = if attempts == 1 {
        "1 request:".to_owned()
    } else {
        format!("{attempts} requests:")
    };
    assert!(text.contains(&said), "the summary says {said}: {text}");
    attempts
}

/// A book copied (20,000 customers under the first reading of the events
/// envelope, 2,000 under the other), then changes (some while a run is in
/// progress) caught up by a few pages of events, in both targets.
#[tokio::test(flavor = "multi_thread")]
async fn a_mirror_copies_once_then_reads_only_the_changes() {
    for (n, dialect) in Dialect::ALL.into_iter().enumerate() {
        let book: u64 = if n == 0 { 20_000 } else { 2_000 };
        let sandbox = Sandbox::start(unpaced().seed_customers(book as usize).dialect(dialect))
            .await
            .unwrap();
        let client = client(&sandbox);
        for (round, db) in targets().await.into_iter().enumerate() {
            let round = round * 10;
            let first = mirror(&sandbox, &db, &[]).await;
            assert!(first.status.success(), "{}", stderr(&first));
            let copied = format!("{} customers copied", plugipay_count(book));
            assert!(stderr(&first).contains(&copied), "{}", stderr(&first));
            // The book's pages (100 customers each), and for each of the
            // walk's 16 partitions a part-filled last page and its bounds; a
            // few for the events.
            let pages = (book / 100) as usize;
            assert!(requests(&first) <= pages + 50, "{}", stderr(&first));
            #[cfg(unix)]
            if !db.arg().starts_with("postgres") {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(db.arg()).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "the copy is its owner's only");
            }

            // Changes made while a run is in progress are not lost.
            let (during, ()) = tokio::join!(
                mirror(&sandbox, &db, &[]),
                change_the_book(&client, round + 1)
            );
            assert!(during.status.success(), "{}", stderr(&during));
            let caught_up = mirror(&sandbox, &db, &[]).await;
            assert!(caught_up.status.success(), "{}", stderr(&caught_up));
            // A few pages of events, not the book's 200 pages.
            assert!(
                requests(&caught_up) <= 4,
                "{dialect}: {}",
                stderr(&caught_up)
            );
            assert_verified(&sandbox, &db).await;

            change_the_book(&client, round + 2).await;
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
}

/// Killed at any point, a run leaves a file the next run finishes: no
/// customer missing, duplicated or brought back from a delete.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_mirror_converges() {
    for db in targets().await {
        killed_mirror_converges(db).await;
    }
}

async fn killed_mirror_converges(db: Target) {
    let sandbox = Sandbox::start(unpaced().seed_customers(5_000))
        .await
        .unwrap();
    let client = client(&sandbox);
    // Crash points spread over a first copy and later catch-ups.
    for (round, after_ms) in [3u64, 25, 60, 120, 9, 250].into_iter().enumerate() {
        let mut child =
            crate::common::plugipay_command(sandbox.base_url(), &["customers", "mirror", db.arg()])
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
    for db in targets().await {
        faults_leave_the_copy_equal(db).await;
    }
}

async fn faults_leave_the_copy_equal(db: Target) {
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
    let through = |extra: &'static [&'static str]| {
        let db = db.clone();
        let url = proxy.base_url().to_owned();
        async move {
            let mut args = vec!["customers", "mirror", db.arg()];
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
    for db in targets().await {
        dropped_checkpoint_needs_resync(db).await;
    }
}

async fn dropped_checkpoint_needs_resync(db: Target) {
    let sandbox = Sandbox::start(unpaced().seed_customers(150).keep_events(20))
        .await
        .unwrap();
    let client = client(&sandbox);
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
    for db in targets().await {
        follow_keeps_the_copy_current(db).await;
    }
}

#[cfg(unix)]
async fn follow_keeps_the_copy_current(db: Target) {
    let sandbox = Sandbox::start(unpaced().seed_customers(300)).await.unwrap();
    let client = client(&sandbox);
    let child = crate::common::plugipay_command(
        sandbox.base_url(),
        &[
            "customers",
            "mirror",
            db.arg(),
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

/// Over TCP the copy goes by TLS when the server offers it, the server's
/// certificate checked: one the system does not trust fails the run (never
/// a fallback to plain text), one it trusts (here by `SSL_CERT_FILE`)
/// carries the copy, `sslmode=verify-full` included; `sslmode=disable`
/// goes without. A password in the URL is in no message.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_over_tls_checks_the_certificate() {
    let Some(Target(url)) = postgres().await else {
        return;
    };
    let tls_url = std::env::var("PLUGIPAY_TEST_POSTGRES_TLS_URL")
        .expect("tests/postgres/start.sh sets PLUGIPAY_TEST_POSTGRES_TLS_URL too");
    let ca = std::env::var("PLUGIPAY_TEST_POSTGRES_CA").unwrap();
    // The test database, reached over TCP at the TLS server.
    let database = url.split('?').next().unwrap().rsplit('/').next().unwrap();
    let server = tls_url.rsplit_once('/').unwrap().0;
    let over_tcp = format!("{server}/{database}");
    let sandbox = Sandbox::start(unpaced().seed_customers(120)).await.unwrap();
    let run = |target: String, ca: Option<String>| {
        let mut command =
            crate::common::plugipay_command(sandbox.base_url(), &["customers", "mirror", &target]);
        command
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        if let Some(ca) = ca {
            command.env("SSL_CERT_FILE", ca);
        }
        async move { command.output().await.unwrap() }
    };

    let untrusted = run(over_tcp.clone(), None).await;
    assert_eq!(untrusted.status.code(), Some(1), "{}", stderr(&untrusted));
    assert!(
        stderr(&untrusted).contains("certificate") && stderr(&untrusted).contains("SSL_CERT_FILE"),
        "{}",
        stderr(&untrusted)
    );
    let strict = run(format!("{over_tcp}?sslmode=verify-full"), Some(ca.clone())).await;
    assert!(strict.status.success(), "{}", stderr(&strict));
    assert!(
        stderr(&strict).contains("120 customers copied"),
        "{}",
        stderr(&strict)
    );
    let plain = run(format!("{over_tcp}?sslmode=disable"), None).await;
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_verified(&sandbox, &Target(url)).await;

    let secret = "pw-never-shown";
    let refused = run(format!("postgres://app:{secret}@127.0.0.1:1/book"), None).await;
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("postgres://app@127.0.0.1:1/book"),
        "{}",
        stderr(&refused)
    );
    assert!(!stderr(&refused).contains(secret), "{}", stderr(&refused));
}

/// A `plugipay_customers` table of another shape already in the database
/// (here `updated_at` as text) fails the run with a message, never a
/// panic.
#[tokio::test(flavor = "multi_thread")]
async fn a_table_of_another_shape_is_an_error_not_a_panic() {
    let Some(db) = postgres().await else {
        return;
    };
    let (admin, connection) = tokio_postgres::connect(db.arg(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    admin
        .batch_execute(
            "CREATE TABLE plugipay_customers (id text PRIMARY KEY, account_id text,
                 external_id text, email text, name text, phone text, tax_id text,
                 default_payment_token_id text, metadata jsonb, created_at timestamptz,
                 updated_at text, json jsonb, deleted_at timestamptz)",
        )
        .await
        .unwrap();
    let sandbox = Sandbox::start(unpaced().seed_customers(10)).await.unwrap();
    let first = mirror(&sandbox, &db, &[]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    // A change to a customer the copy holds: its row is read back.
    let client = client(&sandbox);
    let one = &client
        .customers()
        .list(ListParams::new().limit(1))
        .await
        .unwrap()
        .items[0];
    client
        .customers()
        .update(&one.id, CustomerUpdate::new().name("changed"))
        .await
        .unwrap();
    let out = mirror(&sandbox, &db, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("error:"), "{}", stderr(&out));
}

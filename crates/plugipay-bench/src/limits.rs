//! B9: bulk jobs against Plugipay's published rate limits (100 reads and 20
//! writes a second per workspace, 429 with a 12 s `Retry-After` past them),
//! each a whole `plugipay` (or Python) process against a sandbox with its
//! buckets on and 20 ms of latency, behind a pass-through proxy that counts
//! what the sandbox answered. Every time is set against its floor: the
//! requests the job cannot do without, divided by the bucket's rate.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use plugipay_sandbox::{FaultProxy, ProxyFaults};

use crate::{KEY_ID, SECRET, start_sandbox};

/// Reads and writes a second, as published.
const READS: f64 = 100.0;
const WRITES: f64 = 20.0;
/// The book the export walks.
const BOOK: usize = 20_000;
/// The rows an import brings.
const ROWS: usize = 1_000;
/// Added latency, each way of the sandbox.
const LATENCY_MS: u64 = 20;

/// One job's figures.
struct Figures {
    seconds: f64,
    requests: u64,
    throttled: u64,
    ok: bool,
}

/// Runs `commands` at once (each a whole process) through `proxy`, and
/// what the sandbox answered meanwhile.
async fn run(proxy: &FaultProxy, commands: Vec<Command>) -> Figures {
    let before = proxy.upstream_statuses();
    let start = Instant::now();
    let handles: Vec<_> = commands
        .into_iter()
        .map(|mut command| {
            tokio::task::spawn_blocking(move || {
                command
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
        })
        .collect();
    let mut ok = true;
    for handle in handles {
        ok &= handle.await.unwrap_or(false);
    }
    let seconds = start.elapsed().as_secs_f64();
    let after = proxy.upstream_statuses();
    let count = |map: &std::collections::BTreeMap<u16, u64>, only: Option<u16>| -> u64 {
        map.iter()
            .filter(|(status, _)| only.is_none_or(|o| **status == o))
            .map(|(_, n)| n)
            .sum()
    };
    Figures {
        seconds,
        requests: count(&after, None) - count(&before, None),
        throttled: count(&after, Some(429)) - count(&before, Some(429)),
        ok,
    }
}

fn plugipay(cli: &Path, url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(cli);
    command
        .args(args)
        .env("PLUGIPAY_BASE_URL", url)
        .env("PLUGIPAY_KEY_ID", KEY_ID)
        .env("PLUGIPAY_SECRET", SECRET)
        .env_remove("PLUGIPAY_API_KEY")
        .env_remove("PLUGIPAY_ON_BEHALF_OF");
    command
}

/// A file of `rows` import rows, numbered from `from`, the first
/// `renamed` of them with a changed name.
fn rows_file(name: &str, from: usize, rows: usize, renamed: usize) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("plugipay-b9-{}-{name}.jsonl", std::process::id()));
    let text: String = (from..from + rows)
        .map(|i| {
            let name = if i - from < renamed { "Renamed" } else { "Row" };
            format!("{{\"externalId\":\"b9_{i}\",\"name\":\"{name} {i}\"}}\n")
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn row(out: &mut String, job: &str, figures: &Figures, floor: f64, floor_why: &str) {
    let share = if figures.requests == 0 {
        0.0
    } else {
        100.0 * figures.throttled as f64 / figures.requests as f64
    };
    out.push_str(&format!(
        "| {job} | {:.2} | {floor:.2} ({floor_why}) | **{:.2}×** | {} | {} ({share:.1}%) | {} |\n",
        figures.seconds,
        figures.seconds / floor,
        figures.requests,
        figures.throttled,
        if figures.ok { "yes" } else { "**no**" }
    ));
}

/// B9, one run of each job.
pub async fn b9(sandbox: &Path, cli: &Path, python: Result<PathBuf, String>, out: &mut String) {
    let limited = ["--rate-limits", "published"];
    out.push_str(&format!(
        "## B9 bulk jobs under the published rate limits\n\n\
         The sandbox with Plugipay's published limits on (100 reads and 20 writes a second per \
         workspace, 429 with `Retry-After: 12` past them) and {LATENCY_MS} ms of latency; each \
         job a whole process (or two at once), through a pass-through proxy that counts the \
         sandbox's answers; one run each. The floor is the requests a job cannot do without \
         divided by its bucket's rate (the bucket also starts full, so a job can beat it by a \
         second's worth). Unpaced, any 429 costs its request 12 s.\n\n\
         | job | seconds | floor (s) | ratio | requests | 429s | all rows done |\n\
         |---|---|---|---|---|---|---|\n"
    ));

    // The export, and the official Python SDK's cursor loop, on one book.
    let sb = start_sandbox(
        sandbox,
        BOOK,
        LATENCY_MS,
        &[limited[0], limited[1], "--seed-span-days", "365"],
    );
    let proxy = FaultProxy::start(sb.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    let export_floor = (BOOK / 100) as f64 / READS;
    let why = format!("{} pages ÷ 100/s", BOOK / 100);
    let export = run(
        &proxy,
        vec![plugipay(cli, proxy.base_url(), &["customers", "export"])],
    )
    .await;
    row(
        out,
        &format!("`plugipay customers export` of {BOOK} (16 ranges)"),
        &export,
        export_floor,
        &why,
    );
    match &python {
        Ok(python) => {
            let script =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/walk_book.py");
            let mut command = Command::new(python);
            command.arg(script).arg(proxy.base_url());
            let walk = run(&proxy, vec![command]).await;
            row(
                out,
                "official Python SDK's cursor loop, same book",
                &walk,
                export_floor,
                &why,
            );
        }
        Err(why) => out.push_str(&format!(
            "| official Python SDK's cursor loop | — | — | — | — | — | not run: {why} |\n"
        )),
    }
    drop(proxy);
    drop(sb);

    // Imports into a fresh workspace book.
    let sb = start_sandbox(sandbox, 0, LATENCY_MS, &limited);
    let proxy = FaultProxy::start(sb.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    let rows = rows_file("rows", 0, ROWS, 0);
    let rows_arg = rows.to_str().unwrap();
    let import = |path: &str| plugipay(cli, proxy.base_url(), &["customers", "import", path]);
    let fresh = run(&proxy, vec![import(rows_arg)]).await;
    row(
        out,
        &format!("`customers import` of {ROWS} new rows"),
        &fresh,
        ROWS as f64 / WRITES,
        &format!("{ROWS} writes ÷ 20/s"),
    );
    let again = run(&proxy, vec![import(rows_arg)]).await;
    row(
        out,
        "the same import again (every row exists)",
        &again,
        ROWS as f64 / READS,
        &format!("{ROWS} lookups ÷ 100/s"),
    );
    let changed = rows_file("changed", 0, ROWS, ROWS / 10);
    let sync = run(
        &proxy,
        vec![plugipay(
            cli,
            proxy.base_url(),
            &["customers", "import", changed.to_str().unwrap(), "--update"],
        )],
    )
    .await;
    row(
        out,
        "`import --update` with 10% of the rows changed",
        &sync,
        (ROWS / 10) as f64 / WRITES,
        &format!("{} writes ÷ 20/s", ROWS / 10),
    );
    drop(proxy);
    drop(sb);

    // Two imports into one workspace at once, two processes.
    let sb = start_sandbox(sandbox, 0, LATENCY_MS, &limited);
    let proxy = FaultProxy::start(sb.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    let (a, b) = (
        rows_file("a", 0, ROWS / 2, 0),
        rows_file("b", ROWS / 2, ROWS / 2, 0),
    );
    let both = run(
        &proxy,
        vec![
            plugipay(
                cli,
                proxy.base_url(),
                &["customers", "import", a.to_str().unwrap()],
            ),
            plugipay(
                cli,
                proxy.base_url(),
                &["customers", "import", b.to_str().unwrap()],
            ),
        ],
    )
    .await;
    row(
        out,
        &format!(
            "two imports of {} new rows at once (two processes)",
            ROWS / 2
        ),
        &both,
        ROWS as f64 / WRITES,
        &format!("{ROWS} writes ÷ 20/s"),
    );
    for file in [rows, changed, a, b] {
        let _ = std::fs::remove_file(file);
    }
    out.push('\n');
}

/// B10: catching up on an events log of `EVENTS` events under the published
/// read limit, one cursor against time ranges walked at once, each a whole
/// `plugipay events list --all` process through the counting proxy.
pub async fn b10(sandbox: &Path, cli: &Path, out: &mut String) {
    const EVENTS: usize = 30_000;
    const LANES: usize = 32;
    // Reads at the published 100/s; writes unlimited, so that the log can
    // be made quickly (the walks only read).
    let sb = start_sandbox(sandbox, 0, LATENCY_MS, &["--rate-limits", "100,0"]);
    let client = crate::client(sb.base_url());
    let lanes: Vec<_> = (0..LANES)
        .map(|lane| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in (lane..EVENTS).step_by(LANES) {
                    let customer = plugipay::NewCustomer::new().name(format!("Row {i}"));
                    client.customers().create(customer).await.unwrap();
                }
            })
        })
        .collect();
    for lane in lanes {
        lane.await.unwrap();
    }
    let proxy = FaultProxy::start(sb.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    out.push_str(&format!(
        "## B10 catching up on the events log\n\n\
         {EVENTS} events (one per customer created), pages of 100, reads limited to Plugipay's \
         published 100 a second (429 with `Retry-After: 12` past them), {LATENCY_MS} ms of \
         latency; each walk a whole `plugipay events list --all` process through the counting \
         proxy, one run each. The floor is the pages ÷ 100/s (the bucket starts full, so a walk \
         can beat it by a second's worth).\n\n\
         | job | seconds | floor (s) | ratio | requests | 429s | every event |\n\
         |---|---|---|---|---|---|---|\n"
    ));
    let floor = (EVENTS / 100) as f64 / READS;
    let why = format!("{} pages ÷ 100/s", EVENTS / 100);
    for (job, args) in [
        (
            "`events list --all` (one cursor)",
            &["events", "list", "--all"][..],
        ),
        (
            "`events list --all --parallel 8` (8 time ranges)",
            &["events", "list", "--all", "--parallel", "8"][..],
        ),
    ] {
        let figures = run(&proxy, vec![plugipay(cli, proxy.base_url(), args)]).await;
        row(out, job, &figures, floor, &why);
    }
    out.push_str(
        "\nGoal: the ranges reach the read limit's floor (ratio near 1×) without a 429; one \
         cursor waits a round trip a page.\n\n",
    );
}

/// B13: keeping a copy current. A book mirrored into SQLite (and into
/// Postgres when `PLUGIPAY_BENCH_POSTGRES_URL` names a scratch database),
/// then 1% of it changed (updates, creates, deletes): the catch-up
/// `mirror` against a full re-export, both under the published limits;
/// and the same projected to a million customers.
pub async fn b13(sandbox: &Path, cli: &Path, out: &mut String) {
    let db = std::env::temp_dir().join(format!("plugipay-b13-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);
    let mut targets = vec![("SQLite", db.to_string_lossy().into_owned())];
    let postgres = std::env::var("PLUGIPAY_BENCH_POSTGRES_URL").ok();
    if let Some(url) = &postgres {
        targets.push(("Postgres", url.clone()));
    }
    let changes = 200usize;
    out.push_str(&format!(
        "## B13 keeping a copy current\n\n\
         {BOOK} customers mirrored (`plugipay customers mirror`) into SQLite{}, then 1% of the \
         book changed ({changes} changes: 100 updates, 50 creates, 50 deletes); reads limited to \
         the published 100 a second, {LATENCY_MS} ms of latency, each job a whole process \
         through the counting proxy, one run each, a fresh sandbox per target. The catch-up \
         reads the events log; the alternative reads the whole book again.\n\n\
         | target | job | seconds | requests | 429s | done |\n|---|---|---|---|---|---|\n",
        if postgres.is_some() {
            " and into Postgres (a local server, Unix socket)"
        } else {
            " (Postgres not measured: PLUGIPAY_BENCH_POSTGRES_URL unset)"
        }
    ));
    let mut verdicts = Vec::new();
    for (name, target) in &targets {
        let (first, catch_up, export, verified) = b13_target(sandbox, cli, target).await;
        for (job, figures) in [
            ("first `mirror` (the whole book, then the feed)", &first),
            ("catch-up `mirror` after 1% changed", &catch_up),
            (
                "`export` of the whole book (what the catch-up saves)",
                &export,
            ),
        ] {
            out.push_str(&format!(
                "| {name} | {job} | {:.2} | {} | {} | {} |\n",
                figures.seconds,
                figures.requests,
                figures.throttled,
                if figures.ok { "yes" } else { "**no**" }
            ));
        }
        let ratio_requests = export.requests as f64 / catch_up.requests.max(1) as f64;
        let ratio_time = export.seconds / catch_up.seconds.max(f64::EPSILON);
        verdicts.push(format!(
            "**{name}: the catch-up spends {ratio_requests:.0}× fewer requests and is \
             {ratio_time:.1}× faster than reading the book again**; the copy matched the book \
             afterwards (`--verify`): {}.",
            if verified { "yes" } else { "**no**" }
        ));
    }
    let _ = std::fs::remove_file(&db);
    out.push_str(&format!(
        "\n{}\n\n\
         Projected to 1,000,000 customers at the same 1%: the re-export is 10,000 pages, at \
         least 100 s at 100 reads a second; the catch-up is 10,000 events, 100 pages, about 1 s.\n\n",
        verdicts.join("\n")
    ));
}

/// One target of B13: the first mirror (`--resync`: a copy from nothing),
/// 1% of the book changed, the catch-up, a re-export, and whether the copy
/// then matches the book.
async fn b13_target(sandbox: &Path, cli: &Path, target: &str) -> (Figures, Figures, Figures, bool) {
    // Reads at the published 100/s; writes unlimited, so that the 1% can
    // be made quickly (the jobs measured only read).
    let sb = start_sandbox(sandbox, BOOK, LATENCY_MS, &["--rate-limits", "100,0"]);
    let client = crate::client(sb.base_url());
    let proxy = FaultProxy::start(sb.base_url(), ProxyFaults::default())
        .await
        .unwrap();
    let first = run(
        &proxy,
        vec![plugipay(
            cli,
            proxy.base_url(),
            &["customers", "mirror", target, "--resync"],
        )],
    )
    .await;
    // 1% of the book: 100 updates, 50 creates, 50 deletes.
    let page = client
        .customers()
        .list(plugipay::ListParams::new().limit(100))
        .await
        .unwrap();
    for (n, customer) in page.items.iter().enumerate() {
        if n < 50 {
            client.customers().delete(&customer.id).await.unwrap();
        } else {
            for round in 0..2 {
                let update = plugipay::CustomerUpdate::new().name(format!("B13 {n} {round}"));
                client
                    .customers()
                    .update(&customer.id, update)
                    .await
                    .unwrap();
            }
        }
    }
    for n in 0..50 {
        let customer = plugipay::NewCustomer::new().name(format!("B13 new {n}"));
        client.customers().create(customer).await.unwrap();
    }
    let catch_up = run(
        &proxy,
        vec![plugipay(
            cli,
            proxy.base_url(),
            &["customers", "mirror", target],
        )],
    )
    .await;
    let export = run(
        &proxy,
        vec![plugipay(
            cli,
            proxy.base_url(),
            &["customers", "export", "--out", "/dev/null"],
        )],
    )
    .await;
    let verified = plugipay(
        cli,
        proxy.base_url(),
        &["customers", "mirror", target, "--verify"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .status()
    .is_ok_and(|s| s.success());
    (first, catch_up, export, verified)
}

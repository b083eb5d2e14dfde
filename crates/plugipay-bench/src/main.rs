//! The benchmark harness of plugipay-rs. `cargo xtask bench` builds it in
//! release mode with the sandbox and the CLI, runs it, and writes
//! BENCHMARKS.md from the Markdown it prints. Every figure is a ratio of two
//! things measured side by side in one run against the same local sandbox
//! (a separate process), median of several runs.

mod limits;
mod share;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use futures_util::TryStreamExt;
use hmac::{Hmac, Mac};
use plugipay::{Client, ListParams, NewCustomer};
use plugipay_sandbox::SandboxProcess;
use sha2::{Digest, Sha256};

const KEY_ID: &str = "ak_test_sandbox";
const SECRET: &str = "sk_test_sandbox";

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run every benchmark but B7 (B1–B6, B8–B11) and print the Markdown results.
    All {
        /// The release `plugipay-sandbox` binary.
        #[arg(long)]
        sandbox: PathBuf,
        /// The release `plugipay` binary.
        #[arg(long)]
        cli: PathBuf,
        /// Runs per figure (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// A Python with Plugipay's official SDK (`forjio-plugipay`), for B8.
        #[arg(long)]
        python: Option<PathBuf>,
        /// Why there is no `--python`, said in B8 instead of its Python rows.
        #[arg(long)]
        no_python_because: Option<String>,
    },
    /// Only B8 (whole-book walks as whole processes, side by side).
    B8 {
        /// The release `plugipay-sandbox` binary.
        #[arg(long)]
        sandbox: PathBuf,
        /// The release `plugipay` binary.
        #[arg(long)]
        cli: PathBuf,
        /// Runs (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// A Python with Plugipay's official SDK (`forjio-plugipay`).
        #[arg(long)]
        python: Option<PathBuf>,
    },
    /// Only B1 (for profiling the per-call path).
    B1 {
        /// The release `plugipay-sandbox` binary.
        #[arg(long)]
        sandbox: PathBuf,
        /// Runs (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Only B9 (bulk jobs under the published rate limits).
    B9 {
        /// The release `plugipay-sandbox` binary.
        #[arg(long)]
        sandbox: PathBuf,
        /// The release `plugipay` binary.
        #[arg(long)]
        cli: PathBuf,
        /// A Python with Plugipay's official SDK (`forjio-plugipay`).
        #[arg(long)]
        python: Option<PathBuf>,
    },
    /// Only B10 (catching up on the events log under the read limit).
    B10 {
        /// The release `plugipay-sandbox` binary.
        #[arg(long)]
        sandbox: PathBuf,
        /// The release `plugipay` binary.
        #[arg(long)]
        cli: PathBuf,
    },
    /// Only B13 (a mirror's catch-up against a re-export).
    B13 {
        /// The release `plugipay-sandbox` binary.
        #[arg(long)]
        sandbox: PathBuf,
        /// The release `plugipay` binary.
        #[arg(long)]
        cli: PathBuf,
    },
    /// Only B11 (bulk jobs beside an app, at the default bulk share and the whole budget).
    B11 {
        /// The release `plugipay-sandbox` binary.
        #[arg(long)]
        sandbox: PathBuf,
        /// The release `plugipay` binary.
        #[arg(long)]
        cli: PathBuf,
    },
    /// Only B6 (the metadata read-change-write race).
    B6 {
        /// The release `plugipay-sandbox` binary.
        #[arg(long)]
        sandbox: PathBuf,
    },
    /// Walk a whole book and print this process's peak RSS in KiB (for B3).
    Walk {
        #[arg(long)]
        base_url: String,
    },
}

/// The sandbox binary `bin` in its own process (killed on drop), ready, with
/// `seed` customers, `latency_ms` of latency and `extra` flags; without the
/// published rate limits unless `extra` sets `--rate-limits` (B1–B8 measure
/// the SDK, not the limits).
fn start_sandbox(bin: &Path, seed: usize, latency_ms: u64, extra: &[&str]) -> SandboxProcess {
    let limits: &[&str] = if extra.contains(&"--rate-limits") {
        &[]
    } else {
        &["--rate-limits", "off"]
    };
    let mut command = Command::new(bin);
    command
        .args([
            "--addr",
            "127.0.0.1:0",
            "--seed-customers",
            &seed.to_string(),
        ])
        .args(["--latency-ms", &latency_ms.to_string()])
        .args(limits)
        .args(extra)
        .stderr(Stdio::null());
    SandboxProcess::spawn(command).expect("the sandbox binary starts")
}

fn client(url: &str) -> Client {
    Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(url)
        .build()
        .unwrap()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// The customer as a plain serde struct: strings, no validation, no dates.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "decoded to be paid for, not read")]
struct PlainCustomer {
    id: String,
    account_id: String,
    email: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    external_id: Option<String>,
    tax_id: Option<String>,
    default_payment_token_id: Option<String>,
    #[serde(default)]
    metadata: Option<std::collections::BTreeMap<String, String>>,
    arn: Option<String>,
    created_at: String,
    updated_at: String,
}

#[derive(serde::Deserialize)]
struct PlainEnvelope {
    data: PlainCustomer,
}

/// A hand-written signed GET with plain reqwest, decoding the envelope into a
/// plain serde struct: the baseline the SDK's per-call overhead is measured
/// against.
async fn raw_get(http: &reqwest::Client, base: &str, id: &str) {
    let target = plugipay_api::paths::customer(id);
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let to_sign = format!("GET\n{target}\n{ts}\n{}", hex::encode(Sha256::digest(b"")));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    let response = http
        .get(format!("{base}{target}"))
        .header(
            "Authorization",
            format!("Plugipay-HMAC-SHA256 keyId={KEY_ID}, scope=*, signature={sig}"),
        )
        .header("X-Plugipay-Timestamp", ts)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let bytes = response.bytes().await.unwrap();
    let envelope: PlainEnvelope = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(envelope.data.id, id);
}

/// The id of the newest customer of the book.
async fn first_id(client: &Client) -> String {
    let page = client.customers().list(ListParams::new()).await.unwrap();
    page.items[0].id.clone()
}

async fn b1(sandbox: &Path, runs: usize, out: &mut String) {
    const CALLS: usize = 2_000;
    let sb = start_sandbox(sandbox, 1, 0, &[]);
    let ours = client(sb.base_url());
    let id = first_id(&ours).await;
    // The baseline gets the SDK's HTTP settings, its 30 s timeout included:
    // a production client sets one too, and the timer costs ~5 µs a call.
    let http = plugipay_api::http_client_builder_for(sb.base_url())
        .timeout(plugipay::DEFAULT_TIMEOUT)
        .build()
        .unwrap();
    // Calls are interleaved one by one (alternating which goes first), and
    // each is timed on its own: machine noise hits both sides alike.
    let (mut sdk_medians, mut raw_medians, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (mut sdk, mut raw) = (Vec::with_capacity(CALLS), Vec::with_capacity(CALLS));
        for i in 0..CALLS {
            for side in [i % 2, 1 - i % 2] {
                let start = Instant::now();
                if side == 0 {
                    ours.customers().get(&id).await.unwrap();
                    sdk.push(start.elapsed().as_secs_f64() * 1e6);
                } else {
                    raw_get(&http, sb.base_url(), &id).await;
                    raw.push(start.elapsed().as_secs_f64() * 1e6);
                }
            }
        }
        let (s, r) = (median(sdk), median(raw));
        sdk_medians.push(s);
        raw_medians.push(r);
        ratios.push(s / r);
    }
    let (sdk, raw, ratio) = (median(sdk_medians), median(raw_medians), median(ratios));
    out.push_str(&format!(
        "## B1 per-call overhead\n\n{CALLS} sequential `get` calls per side and run, interleaved one \
         by one; median call time per run, median of {runs} runs.\n\n\
         | client | µs per call |\n|---|---|\n| `customers().get` | {sdk:.1} |\n\
         | hand-written reqwest + HMAC, plain serde struct | {raw:.1} |\n\n\
         **Ratio SDK / hand-written: {ratio:.3}×** (goal ≤ 1.05×)\n\n\
         Both sides use the same `reqwest` settings, the 30 s request timeout included. The \
         baseline signs by hand and decodes the envelope into a plain serde struct (strings, no \
         date parsing, no validation); the SDK pays for its whole attempt pipeline: the request \
         built once and signed per attempt, the bounded body read, lenient decoding into \
         `Customer` (dates parsed), the retry judgement and its tracing spans.\n\n"
    ));
}

async fn walk_time(url: &str, prefetch: bool, work: Duration) -> (f64, usize) {
    let client = client(url);
    let params = ListParams::new().limit(100);
    let start = Instant::now();
    let mut count = 0;
    if prefetch {
        let mut pages = client.customers().list(params).pages();
        while let Some(page) = pages.try_next().await.unwrap() {
            count += page.items.len();
            tokio::time::sleep(work).await;
        }
    } else {
        let mut params = params;
        loop {
            let page = client.customers().list(params.clone()).await.unwrap();
            count += page.items.len();
            tokio::time::sleep(work).await;
            match page.cursor {
                Some(cursor) if page.has_more => params = params.cursor(cursor),
                _ => break,
            }
        }
    }
    (start.elapsed().as_secs_f64(), count)
}

async fn b2(sandbox: &Path, runs: usize, out: &mut String) {
    const BOOK: usize = 20_000;
    out.push_str(&format!(
        "## B2 whole-book walk\n\n{BOOK} customers, pages of 100, {runs} runs, medians. \"Work\" is what \
         the caller does with each page before asking for the next (simulated by an async wait, \
         like writing the page to a warehouse); prefetching can only overlap the network with \
         such work.\n\n| server latency | work per page | sequential loop (s) | prefetching stream (s) | speed-up |\n|---|---|---|---|---|\n"
    ));
    for latency in [0u64, 5] {
        let sb = start_sandbox(sandbox, BOOK, latency, &[]);
        for work_ms in [0u64, 5] {
            let work = Duration::from_millis(work_ms);
            let (mut seq, mut pre) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let (t, n) = walk_time(sb.base_url(), false, work).await;
                assert_eq!(n, BOOK);
                seq.push(t);
                let (t, n) = walk_time(sb.base_url(), true, work).await;
                assert_eq!(n, BOOK);
                pre.push(t);
            }
            let (seq, pre) = (median(seq), median(pre));
            out.push_str(&format!(
                "| {latency} ms | {work_ms} ms | {seq:.3} | {pre:.3} | **{:.2}×** |\n",
                seq / pre
            ));
        }
    }
    out.push_str("\nGoal: ≥ 1.6× at 5 ms latency (with 5 ms of work per page).\n\n");
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

async fn walk(base_url: &str) {
    let client = client(base_url);
    let mut stream = client
        .customers()
        .list(ListParams::new().limit(100))
        .stream();
    let mut count = 0u64;
    while stream.try_next().await.unwrap().is_some() {
        count += 1;
    }
    println!("{count} {}", peak_rss_kib());
}

fn b3(sandbox: &Path, out: &mut String) {
    let mut rows = String::new();
    let mut peaks = Vec::new();
    for book in [10_000usize, 1_000_000] {
        let sb = start_sandbox(sandbox, book, 0, &[]);
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["walk", "--base-url", sb.base_url()])
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let mut parts = text.split_whitespace();
        let walked: usize = parts.next().unwrap().parse().unwrap();
        let peak: f64 = parts.next().unwrap().parse().unwrap();
        assert_eq!(walked, book);
        peaks.push(peak);
        rows.push_str(&format!("| {book} | {:.1} |\n", peak / 1024.0));
    }
    out.push_str(&format!(
        "## B3 memory of a walk\n\nPeak RSS (VmHWM) of a process that streams the whole book, pages \
         of 100; the sandbox runs in another process.\n\n| customers | peak RSS (MiB) |\n|---|---|\n{rows}\n\
         **Ratio 1,000,000 / 10,000: {:.3}×** (goal ≤ 1.1×)\n\n",
        peaks[1] / peaks[0]
    ));
}

fn b4(sandbox: &Path, cli: &PathBuf, runs: usize, out: &mut String) {
    const ROWS: usize = 10_000;
    let file = std::env::temp_dir().join(format!("plugipay-bench-{}.jsonl", std::process::id()));
    let mut f = std::fs::File::create(&file).unwrap();
    for i in 0..ROWS {
        writeln!(
            f,
            r#"{{"externalId":"bench_{i}","email":"b{i}@example.com","name":"Bench {i}"}}"#
        )
        .unwrap();
    }
    drop(f);
    let import = |concurrency: usize| {
        // A fresh book each time, so every row is a create.
        let sb = start_sandbox(sandbox, 0, 5, &[]);
        let start = Instant::now();
        let status = Command::new(cli)
            .args([
                "customers",
                "import",
                file.to_str().unwrap(),
                "--concurrency",
                &concurrency.to_string(),
            ])
            .env("PLUGIPAY_BASE_URL", sb.base_url())
            .env("PLUGIPAY_KEY_ID", KEY_ID)
            .env("PLUGIPAY_SECRET", SECRET)
            .env_remove("PLUGIPAY_API_KEY")
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        start.elapsed().as_secs_f64()
    };
    let (mut one, mut many) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        many.push(import(32));
        one.push(import(1));
    }
    let _ = std::fs::remove_file(&file);
    let (one, many) = (median(one), median(many));
    out.push_str(&format!(
        "## B4 import\n\n`plugipay customers import` of {ROWS} new customers, 5 ms server latency, {runs} runs, medians.\n\n\
         | concurrency | seconds | rows/s |\n|---|---|---|\n| 1 | {one:.2} | {:.0} |\n| 32 | {many:.2} | {:.0} |\n\n\
         **Speed-up 32 / 1: {:.1}×** (goal ≥ 8×)\n\n",
        ROWS as f64 / one,
        ROWS as f64 / many,
        one / many
    ));
}

async fn b5(sandbox: &Path, out: &mut String) {
    const WORKERS: usize = 16;
    let sb = start_sandbox(sandbox, 10_000, 0, &[]);
    let client = client(sb.base_url());
    let id = first_id(&client).await;
    let rate = |n: usize, secs: f64| n as f64 / secs;
    let run = |per_worker: usize, list: bool| {
        let (client, id) = (client.clone(), id.clone());
        async move {
            let start = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..WORKERS {
                let (client, id) = (client.clone(), id.clone());
                tasks.spawn(async move {
                    for _ in 0..per_worker {
                        if list {
                            client
                                .customers()
                                .list(ListParams::new().limit(100))
                                .await
                                .unwrap();
                        } else {
                            client.customers().get(&id).await.unwrap();
                        }
                    }
                });
            }
            tasks.join_all().await;
            start.elapsed().as_secs_f64()
        }
    };
    let gets = rate(WORKERS * 2_000, run(2_000, false).await);
    let pages = rate(WORKERS * 300, run(300, true).await);
    out.push_str(&format!(
        "## B5 sandbox throughput\n\n{WORKERS} concurrent SDK clients in one process, the sandbox in another \
         (both on this machine's 2 cores).\n\n| request | per second |\n|---|---|\n\
         | `get` | {gets:.0} |\n| list page of 100 | {pages:.0} |\n\n"
    ));
}

/// B6: how many concurrent `set_metadata` calls on one customer survive.
/// Each is a read and a whole-map write; a server that replaces the map
/// keeps only the last writer's view of the other keys. The tasks share one
/// client (whose metadata writes to a customer wait for each other), or each
/// has its own, as separate processes would.
async fn b6(sandbox: &Path, out: &mut String) {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 40;
    out.push_str(&format!(
        "## B6 metadata read-change-write race

{WRITERS} tasks each set their own metadata key \
         on one customer at the same moment (`customers().set_metadata`: a GET, then a PATCH \
         of the whole map), {ROUNDS} rounds; a key is lost when another task's write, made \
         from an older read, replaced the map without it. The tasks share one client (its \
         metadata writes to one customer take turns), or each has its own client, as \
         separate processes would (nothing in the API lets them take turns).\n\n\
         | server metadata mode | added latency | writers | keys lost |\n|---|---|---|---|\n"
    ));
    for (mode, latency_ms, shared) in [
        ("merge", 0, true),
        ("merge", 20, true),
        ("replace", 0, true),
        ("replace", 20, true),
        ("replace", 0, false),
        ("replace", 20, false),
    ] {
        {
            let sb = start_sandbox(sandbox, 0, latency_ms, &["--metadata-mode", mode]);
            let client = client(sb.base_url());
            let mut lost = 0;
            for _ in 0..ROUNDS {
                let customer = client
                    .customers()
                    .create(NewCustomer::new().metadata("plan", "pro"))
                    .await
                    .unwrap();
                let mut tasks = tokio::task::JoinSet::new();
                for writer in 0..WRITERS {
                    let client = if shared {
                        client.clone()
                    } else {
                        self::client(sb.base_url())
                    };
                    let id = customer.id.clone();
                    tasks.spawn(async move {
                        client
                            .customers()
                            .set_metadata(&id, format!("w{writer}"), "1")
                            .await
                            .unwrap();
                    });
                }
                tasks.join_all().await;
                let after = client.customers().get(&customer.id).await.unwrap();
                let kept = (0..WRITERS)
                    .filter(|w| after.metadata.contains_key(&format!("w{w}")))
                    .count();
                lost += WRITERS - kept;
            }
            let total = WRITERS * ROUNDS;
            let writers = if shared {
                "one client"
            } else {
                "a client each"
            };
            out.push_str(&format!(
                "| {mode} | {latency_ms} ms | {writers} | {lost} of {total} ({:.0}%) |\n",
                100.0 * lost as f64 / total as f64
            ));
        }
    }
    out.push('\n');
}

/// A whole process's cost: wall time, CPU time (user + system) and peak RSS.
struct Cost {
    wall: f64,
    cpu: f64,
    peak_kib: u64,
}

/// Runs `command` with its stdout in `out`, and what it cost; fails the
/// benchmark if it fails.
fn measure(mut command: Command, out: &std::path::Path) -> Cost {
    let file = std::fs::File::create(out).unwrap();
    let start = Instant::now();
    #[allow(
        clippy::zombie_processes,
        reason = "reaped by wait4 below, which also gives its resource usage"
    )]
    let child = command
        .stdout(file)
        .stderr(Stdio::null())
        .spawn()
        .expect("the command starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value; `wait4` fills it for
    // our own child, which nothing else waits for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // The peak RSS is the child's own high-water mark, read from /proc while
    // it runs (`ru_maxrss` would count this process's memory too: the child
    // starts as a copy sharing it).
    let mut peak_kib = 0;
    let waited = loop {
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if done != 0 {
            break done;
        }
        peak_kib = peak_kib.max(vm_hwm_kib(pid as u32));
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed"
    );
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Cost {
        wall,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        peak_kib,
    }
}

/// The high-water mark of a running process's resident memory, in KiB (0
/// once it has exited).
fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The customers of a JSON-lines file: how many lines, how many distinct
/// ids (read line by line, ids kept as hashes, so a million stay small).
fn lines_and_ids(path: &std::path::Path) -> (usize, usize) {
    use std::hash::{BuildHasher, RandomState};
    let hasher = RandomState::new();
    let mut ids = std::collections::HashSet::new();
    let mut lines = 0;
    for line in BufReader::new(std::fs::File::open(path).unwrap()).lines() {
        let line = line.unwrap();
        lines += 1;
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        ids.insert(hasher.hash_one(value["id"].as_str().unwrap_or_default()));
    }
    (lines, ids.len())
}

/// Makes the command of one side of B8, afresh for each run.
type CommandMaker<'a> = Box<dyn Fn() -> Command + 'a>;

/// B8: a whole book walked by whole processes, side by side: Plugipay's
/// official Python SDK following the cursor, our CLI's sequential walk,
/// its export on one cursor and its partitioned export; then our export of
/// a million customers (memory).
fn b8(
    sandbox: &Path,
    cli: &PathBuf,
    python: Result<PathBuf, String>,
    runs: usize,
    out: &mut String,
) {
    const BOOK: usize = 20_000;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/walk_book.py");
    let file = std::env::temp_dir().join(format!("plugipay-b8-{}.jsonl", std::process::id()));
    let ours = |args: &[&str], url: &str| {
        let mut command = Command::new(cli);
        command
            .args(args)
            .env("PLUGIPAY_BASE_URL", url)
            .env("PLUGIPAY_KEY_ID", KEY_ID)
            .env("PLUGIPAY_SECRET", SECRET)
            .env_remove("PLUGIPAY_API_KEY")
            .env_remove("PLUGIPAY_ON_BEHALF_OF");
        command
    };
    let mut rows = String::new();
    let mut ratios = Vec::new();
    for latency in [0u64, 20] {
        // A book that grew over a year, as a real one did.
        let sb = start_sandbox(sandbox, BOOK, latency, &["--seed-span-days", "365"]);
        let mut sides: Vec<(&str, CommandMaker)> = vec![
            (
                "`plugipay customers list --all` (sequential walk, typed)",
                Box::new(|| ours(&["customers", "list", "--all"], sb.base_url())),
            ),
            (
                "`plugipay customers export --parallel 1` (one cursor)",
                Box::new(|| ours(&["customers", "export", "--parallel", "1"], sb.base_url())),
            ),
            (
                "`plugipay customers export` (16 ranges)",
                Box::new(|| ours(&["customers", "export"], sb.base_url())),
            ),
        ];
        if let Ok(python) = &python {
            let (python, script, url) = (python.clone(), script.clone(), sb.base_url().to_owned());
            sides.insert(
                0,
                (
                    "official Python SDK, cursor loop (`tests/python/walk_book.py`)",
                    Box::new(move || {
                        let mut command = Command::new(&python);
                        command.arg(&script).arg(&url);
                        command
                    }),
                ),
            );
        }
        let mut medians = Vec::new();
        for (name, command) in &sides {
            let (mut walls, mut cpus) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let cost = measure(command(), &file);
                assert_eq!(
                    lines_and_ids(&file),
                    (BOOK, BOOK),
                    "{name}: each customer once"
                );
                walls.push(cost.wall);
                cpus.push(cost.cpu);
            }
            let (wall, cpu) = (median(walls), median(cpus));
            rows.push_str(&format!(
                "| {latency} ms | {name} | {wall:.3} | {:.0} |\n",
                cpu * 1e3
            ));
            medians.push((*name, wall, cpu));
        }
        if python.is_ok() {
            let (_, py_wall, py_cpu) = medians[0];
            let (_, wall, cpu) = medians[medians.len() - 1];
            ratios.push((latency, py_wall / wall, py_cpu / cpu));
        }
    }
    let sb = start_sandbox(sandbox, 1_000_000, 0, &[]);
    let big = measure(ours(&["customers", "export"], sb.base_url()), &file);
    assert_eq!(lines_and_ids(&file), (1_000_000, 1_000_000));
    drop(sb);
    let sb = start_sandbox(sandbox, BOOK, 0, &[]);
    let small = measure(ours(&["customers", "export"], sb.base_url()), &file);
    // Start-up: a command that makes one call, most of its CPU its own.
    let one_call_runs = runs.max(9);
    let one_call = median(
        (0..one_call_runs)
            .map(|_| {
                measure(
                    ours(&["customers", "list", "--limit", "1"], sb.base_url()),
                    &file,
                )
                .cpu
            })
            .collect(),
    );
    drop(sb);
    let _ = std::fs::remove_file(&file);
    out.push_str(&format!(
        "## B8 whole-book walks as whole processes\n\n\
         {BOOK} customers created over a year (`--seed-span-days 365`) in one sandbox per \
         latency, pages of 100, every customer's JSON line \
         written to a file; each process timed from start to exit (wall) and by the CPU it used \
         (user + system, from `wait4`), median of {runs} runs. Every run's output was checked: \
         {BOOK} lines, {BOOK} distinct ids.\n\n\
         | added latency | walker | wall (s) | CPU (ms) |\n|---|---|---|---|\n{rows}\n"
    ));
    match &python {
        Ok(_) => {
            for (latency, wall, cpu) in ratios {
                out.push_str(&format!(
                    "**At {latency} ms: export vs the Python SDK's cursor loop: {wall:.1}× faster, \
         {cpu:.1}× less CPU.**\n\n"
                ));
            }
            out.push_str("Goals: ≥ 10× faster at 20 ms; ≥ 10× less CPU at 0 ms.\n\n");
        }
        Err(why) => out.push_str(&format!("The Python SDK's rows are missing: {why}.\n\n")),
    }
    out.push_str(&format!(
        "One-call command (`plugipay customers list --limit 1`, start-up included): **{:.1} ms** \
         of CPU, median of {one_call_runs} runs.\n\n",
        one_call * 1e3
    ));
    out.push_str(&format!(
        "Export memory: peak RSS {:.1} MiB for 1,000,000 customers, {:.1} MiB for {BOOK} \
         (**{:.2}×**; {:.1} s for the million).\n\n",
        big.peak_kib as f64 / 1024.0,
        small.peak_kib as f64 / 1024.0,
        big.peak_kib as f64 / small.peak_kib as f64,
        big.wall
    ));
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    match cli.command {
        Cmd::Walk { base_url } => runtime.block_on(walk(&base_url)),
        Cmd::B6 { sandbox } => {
            let mut out = String::new();
            runtime.block_on(b6(&sandbox, &mut out));
            print!("{out}");
        }
        Cmd::B1 { sandbox, runs } => {
            let mut out = String::new();
            runtime.block_on(b1(&sandbox, runs, &mut out));
            print!("{out}");
        }
        Cmd::All {
            sandbox,
            cli,
            runs,
            python,
            no_python_because,
        } => {
            let mut out = String::new();
            runtime.block_on(b1(&sandbox, runs, &mut out));
            runtime.block_on(b2(&sandbox, runs, &mut out));
            b3(&sandbox, &mut out);
            b4(&sandbox, &cli, runs.min(3), &mut out);
            runtime.block_on(b5(&sandbox, &mut out));
            runtime.block_on(b6(&sandbox, &mut out));
            let python = python.ok_or(no_python_because.unwrap_or_default());
            b8(&sandbox, &cli, python.clone(), runs.min(3), &mut out);
            runtime.block_on(limits::b9(&sandbox, &cli, python, &mut out));
            runtime.block_on(limits::b10(&sandbox, &cli, &mut out));
            runtime.block_on(share::b11(&sandbox, &cli, &mut out));
            runtime.block_on(limits::b13(&sandbox, &cli, &mut out));
            print!("{out}");
        }
        Cmd::B13 { sandbox, cli } => {
            let mut out = String::new();
            runtime.block_on(limits::b13(&sandbox, &cli, &mut out));
            print!("{out}");
        }
        Cmd::B11 { sandbox, cli } => {
            let mut out = String::new();
            runtime.block_on(share::b11(&sandbox, &cli, &mut out));
            print!("{out}");
        }
        Cmd::B10 { sandbox, cli } => {
            let mut out = String::new();
            runtime.block_on(limits::b10(&sandbox, &cli, &mut out));
            print!("{out}");
        }
        Cmd::B9 {
            sandbox,
            cli,
            python,
        } => {
            let mut out = String::new();
            let python = python.ok_or_else(|| "no --python given".to_owned());
            runtime.block_on(limits::b9(&sandbox, &cli, python, &mut out));
            print!("{out}");
        }
        Cmd::B8 {
            sandbox,
            cli,
            runs,
            python,
        } => {
            let mut out = String::new();
            let python = python.ok_or_else(|| "no --python given".to_owned());
            b8(&sandbox, &cli, python, runs, &mut out);
            print!("{out}");
        }
    }
}

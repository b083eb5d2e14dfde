//! B11: bulk jobs beside an app that shares the workspace. Under the
//! published rate limits, a `plugipay` bulk job (an import of new rows, an
//! export of a large book) runs as one process while this harness stands
//! in for the app, sending one single call every half second through its
//! own counting proxy: the app's latency and 429s, and the job's time
//! against its floor, at the default bulk share (80 %) and at the whole
//! budget (`--rate-share 1`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plugipay::NewCustomer;
use plugipay_sandbox::{FaultProxy, ProxyFaults};

use crate::{KEY_ID, SECRET, start_sandbox};

/// Rows the import brings (all new).
const ROWS: usize = 600;
/// The book the export walks.
const BOOK: usize = 50_000;
/// Added latency, each way of the sandbox.
const LATENCY_MS: u64 = 20;
/// How often the app sends a call.
const APP_EVERY: Duration = Duration::from_millis(500);

/// What the app saw while the job ran.
struct AppFigures {
    latencies_ms: Vec<f64>,
    failed: usize,
    throttled: u64,
}

impl AppFigures {
    fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        if sorted.is_empty() {
            return 0.0;
        }
        let at = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[at]
    }
}

/// Runs `job` (a whole process) while the app calls `app` every half
/// second through `app_proxy`: the job's seconds and success, and what the
/// app saw.
async fn beside<F, Fut>(job: Command, app_proxy: &FaultProxy, app: F) -> (f64, bool, AppFigures)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<(), plugipay::Error>>,
{
    let before = app_proxy
        .upstream_statuses()
        .get(&429)
        .copied()
        .unwrap_or(0);
    let start = Instant::now();
    let mut job = job;
    let handle = tokio::task::spawn_blocking(move || {
        job.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let mut figures = AppFigures {
        latencies_ms: Vec::new(),
        failed: 0,
        throttled: 0,
    };
    let mut n = 0u64;
    let mut ticks = tokio::time::interval(APP_EVERY);
    while !handle.is_finished() {
        ticks.tick().await;
        let sent = Instant::now();
        let result = app(n).await;
        figures
            .latencies_ms
            .push(sent.elapsed().as_secs_f64() * 1_000.0);
        figures.failed += usize::from(result.is_err());
        n += 1;
    }
    let ok = handle.await.unwrap_or(false);
    let seconds = start.elapsed().as_secs_f64();
    let after = app_proxy
        .upstream_statuses()
        .get(&429)
        .copied()
        .unwrap_or(0);
    figures.throttled = after - before;
    (seconds, ok, figures)
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

fn row(
    out: &mut String,
    job: &str,
    share: &str,
    (seconds, ok, app): (f64, bool, AppFigures),
    floor: f64,
) {
    out.push_str(&format!(
        "| {job} | {share} | {seconds:.1} | **{:.2}×** | {} | {} | {:.0} | {:.0} | **{:.0}** | {} | {} |\n",
        seconds / floor,
        if ok { "yes" } else { "**no**" },
        app.latencies_ms.len(),
        app.quantile(0.5),
        app.quantile(0.99),
        app.quantile(1.0),
        app.throttled,
        app.failed,
    ));
}

/// B11, one run of each job at each share.
pub async fn b11(sandbox: &Path, cli: &Path, out: &mut String) {
    out.push_str(&format!(
        "## B11 bulk jobs beside an app\n\n\
         The sandbox with Plugipay's published limits on (100 reads and 20 writes a second per \
         workspace, 429 with `Retry-After: 12` past them) and {LATENCY_MS} ms of latency. A bulk \
         job runs as one `plugipay` process while this harness stands in for the app sharing \
         the workspace, with a client of its own: one create (beside the import) or one get \
         (beside the export) every {} ms, each timed from send to answer, 429s counted by a \
         proxy in front of the app only. The job runs at the default bulk share (80 %) and at \
         the whole budget (`--rate-share 1`, as before bulk shares); one run each. The floor is \
         the job's requests at its bucket's rate ({ROWS} creates ÷ 20/s; {} pages ÷ 100/s).\n\n\
         | job | share | seconds | vs floor | done | app calls | app p50 ms | app p99 ms | app max ms | app 429s | app failures |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
        APP_EVERY.as_millis(),
        BOOK / 100,
    ));
    let limited = ["--rate-limits", "published"];
    for (label, share) in [("80 % (default)", "80%"), ("1 (whole)", "1")] {
        // The import of new rows beside an app creating customers.
        let sb = start_sandbox(sandbox, 0, LATENCY_MS, &limited);
        let app_proxy = FaultProxy::start(sb.base_url(), ProxyFaults::default())
            .await
            .unwrap();
        let rows = std::env::temp_dir().join(format!("plugipay-b11-{}.jsonl", std::process::id()));
        let text: String = (0..ROWS)
            .map(|i| format!("{{\"externalId\":\"b11_{i}\",\"name\":\"Row {i}\"}}\n"))
            .collect();
        std::fs::write(&rows, text).unwrap();
        let job = plugipay(
            cli,
            sb.base_url(),
            &[
                "customers",
                "import",
                rows.to_str().unwrap(),
                "--rate-share",
                share,
            ],
        );
        let app = crate::client(app_proxy.base_url());
        let figures = beside(job, &app_proxy, |n| {
            let app = app.clone();
            async move {
                app.customers()
                    .create(NewCustomer::new().name(format!("Signup {n}")))
                    .await
                    .map(drop)
            }
        })
        .await;
        row(
            out,
            &format!("`customers import` of {ROWS} new rows"),
            label,
            figures,
            ROWS as f64 / 20.0,
        );
        let _ = std::fs::remove_file(&rows);
        drop(sb);

        // The export of a large book beside an app reading customers.
        let sb = start_sandbox(
            sandbox,
            BOOK,
            LATENCY_MS,
            &[limited[0], limited[1], "--seed-span-days", "365"],
        );
        let app_proxy = FaultProxy::start(sb.base_url(), ProxyFaults::default())
            .await
            .unwrap();
        let app = crate::client(app_proxy.base_url());
        let id = crate::first_id(&app).await;
        let job = plugipay(
            cli,
            sb.base_url(),
            &[
                "customers",
                "export",
                "--parallel",
                "8",
                "--rate-share",
                share,
            ],
        );
        let figures = beside(job, &app_proxy, |_| {
            let (app, id) = (app.clone(), id.clone());
            async move { app.customers().get(&id).await.map(drop) }
        })
        .await;
        row(
            out,
            &format!("`customers export --parallel 8` of {BOOK}"),
            label,
            figures,
            (BOOK / 100) as f64 / 100.0,
        );
    }
    out.push_str(
        "\nGoal: at the default share the app's calls all succeed, none takes more than a second \
         (no 429 reaches the app) and the job stays within 1.3× its floor. At the whole budget \
         the job runs at the ceiling, as before bulk shares, and the app waits for the bucket: \
         paced by this SDK it waits for a token (up to a second here); an app that does not pace \
         itself meets 429s and their 12 s `Retry-After`.\n\n",
    );
}

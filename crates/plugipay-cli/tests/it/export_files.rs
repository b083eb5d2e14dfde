//! `customers export --out`: what each kind of destination ends up holding,
//! and what is left behind when exports race, fail or are interrupted.
//!
//! These tests measure other things than pacing and set up more than the
//! published rate limits allow quickly: their sandboxes run without them
//! (the limits themselves are tested in plugipay-sandbox's `rate_limits` tests).
#![cfg(unix)]

use std::collections::HashSet;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{plugipay_at, plugipay_command, sandbox, stderr, temp_file};
use plugipay_sandbox::{Faults, Sandbox, TEST_ACCOUNT_ID};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A new, empty directory of this test's own.
fn empty_dir() -> PathBuf {
    let placeholder = temp_file("placeholder", "");
    std::fs::remove_file(&placeholder).unwrap();
    placeholder.parent().unwrap().to_path_buf()
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The ids of an export, one per line; every line must be whole JSON.
fn ids(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let customer: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            customer["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Asserts that `text` holds each customer of the sandbox's book once.
fn assert_whole_book(text: &str, sandbox: &Sandbox) {
    let ids = ids(text);
    let distinct: HashSet<_> = ids.iter().cloned().collect();
    let book: HashSet<_> = sandbox
        .customers(TEST_ACCOUNT_ID)
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(distinct.len(), ids.len(), "no customer twice");
    assert!(
        distinct == book,
        "{} lines, {} in the book",
        ids.len(),
        book.len()
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn export_to(out: &Path) -> Vec<String> {
    vec![
        "customers".into(),
        "export".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ]
}

async fn run(base_url: &str, args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    plugipay_at(base_url, &args).await
}

/// Four exports to one file at once: each succeeds, and the file is one of
/// them whole (the last to finish), never a mix of their lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exports_to_one_file_leave_one_whole_book() {
    // A little latency on every page keeps the four walks overlapping.
    let sb = Sandbox::start(
        crate::common::unpaced()
            .seed_customers(4_000)
            .faults(Faults {
                latency: Duration::from_millis(5),
                ..Faults::default()
            }),
    )
    .await
    .unwrap();
    let dir = empty_dir();
    let path = dir.join("book.jsonl");
    std::fs::write(&path, "{\"id\":\"cus_yesterday\"}\n").unwrap();
    let mut args = export_to(&path);
    args.extend(["--parallel".into(), "4".into()]);
    let base = sb.base_url();
    let (a, b, c, d) = tokio::join!(
        run(base, &args),
        run(base, &args),
        run(base, &args),
        run(base, &args)
    );
    for out in [a, b, c, d] {
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("exported 4000 customers"),
            "{}",
            stderr(&out)
        );
    }
    assert_whole_book(&std::fs::read_to_string(&path).unwrap(), &sb);
    assert_eq!(entries(&dir), ["book.jsonl"], "no temporary file left");
}

/// `--out` naming a symbolic link: the file it leads to gets the book (and
/// keeps its permissions); the link stays a link. A link to a file not yet
/// there creates that file.
#[tokio::test(flavor = "multi_thread")]
async fn a_symlink_is_followed_and_stays_a_link() {
    let sb = sandbox(25).await;
    let dir = empty_dir();
    let real = dir.join("real.jsonl");
    std::fs::write(&real, "{\"id\":\"cus_yesterday\"}\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.join("book.jsonl");
    std::os::unix::fs::symlink("real.jsonl", &link).unwrap();

    let out = run(sb.base_url(), &export_to(&link)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("real.jsonl"));
    assert_whole_book(&std::fs::read_to_string(&real).unwrap(), &sb);
    assert_eq!(mode(&real), 0o640, "the replaced file keeps its mode");

    let dangling = dir.join("new.jsonl");
    std::os::unix::fs::symlink(dir.join("made.jsonl"), &dangling).unwrap();
    let out = run(sb.base_url(), &export_to(&dangling)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
    assert_whole_book(
        &std::fs::read_to_string(dir.join("made.jsonl")).unwrap(),
        &sb,
    );
    assert_eq!(
        entries(&dir),
        ["book.jsonl", "made.jsonl", "new.jsonl", "real.jsonl"]
    );
}

/// A new export file holds personal data: only its owner may read it. A
/// file it replaces keeps the mode it had.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_file_is_private_and_a_replaced_one_keeps_its_mode() {
    let sb = sandbox(5).await;
    let dir = empty_dir();
    let fresh = dir.join("fresh.jsonl");
    let out = run(sb.base_url(), &export_to(&fresh)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&fresh), 0o600);

    let shared = dir.join("shared.jsonl");
    std::fs::write(&shared, "").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o664)).unwrap();
    let out = run(sb.base_url(), &export_to(&shared)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&shared), 0o664);
    assert_whole_book(&std::fs::read_to_string(&shared).unwrap(), &sb);
}

/// A destination that cannot take a file is refused with one line saying
/// why, before any request is sent, and nothing is left in the directory.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_destination_is_refused_before_any_request() {
    // A listener nobody accepts on: a connection attempt would wait in its
    // backlog, to be found below.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());

    let dir = empty_dir();
    let outdir = dir.join("outdir");
    std::fs::create_dir(&outdir).unwrap();
    let file = dir.join("file");
    std::fs::write(&file, "").unwrap();
    let with_slash = format!("{}/", dir.join("notyet").display());
    let mut cases = vec![
        (outdir.clone(), "is a directory"),
        (PathBuf::from(&with_slash), "names a directory"),
        (dir.join("missing").join("book.jsonl"), "does not exist"),
        (file.join("book.jsonl"), "is not a directory"),
    ];
    // Directory permissions bind everyone but root.
    let locked = dir.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(locked.join("probe"), "").is_err() {
        cases.push((locked.join("book.jsonl"), "cannot write in"));
    } else {
        std::fs::remove_file(locked.join("probe")).unwrap();
    }

    for (out, expected) in cases {
        let mut args: Vec<String> = ["--timeout", "1", "--max-retries", "0"]
            .map(String::from)
            .to_vec();
        args.extend(export_to(&out));
        let result = run(&base_url, &args).await;
        let err = stderr(&result);
        assert!(!result.status.success(), "{}: {err}", out.display());
        assert!(err.contains(expected), "{}: {err}", out.display());
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{}: a request was sent",
            out.display()
        );
        assert_eq!(entries(&dir), ["file", "locked", "outdir"]);
        assert!(entries(&outdir).is_empty() && entries(&locked).is_empty());
    }
}

/// A server whose first list page says more follow, and which then holds
/// every later request unanswered, telling `stalled` each time: an export
/// against it is mid-walk, one page written, when `stalled` hears.
async fn stalling_server() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let body = r#"{"data":[{"id":"cus_first","accountId":"acct_1","createdAt":"2026-11-25T00:00:00Z","updatedAt":"2026-11-25T00:00:00Z"}],"error":null,"meta":{"requestId":"req_1","cursor":"page_2","hasMore":true}}"#;
    let page = Arc::new(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ));
    let (stalled, heard) = tokio::sync::mpsc::unbounded_channel();
    let served = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (page, stalled, served) = (page.clone(), stalled.clone(), served.clone());
            tokio::spawn(async move {
                // GETs only: a request ends at its blank line.
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        if served.fetch_add(1, Ordering::SeqCst) > 0 {
                            let _ = stalled.send(());
                        } else if stream.write_all(page.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (base_url, heard, task)
}

/// SIGINT or SIGTERM in the middle of the walk: the temporary file goes,
/// the previous file stays as it was, and the exit status is 130.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_export_leaves_the_previous_file_and_no_temporary_one() {
    for signal in ["INT", "TERM"] {
        let (base_url, mut stalled, server) = stalling_server().await;
        let yesterday = "{\"id\":\"cus_yesterday\"}\n";
        let path = temp_file("book.jsonl", yesterday);
        let dir = path.parent().unwrap();
        let mut args = export_to(&path);
        args.extend(["--parallel".into(), "1".into()]);
        let child = plugipay_command(
            &base_url,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
        stalled.recv().await.expect("the second page is asked for");
        assert_eq!(
            entries(dir).len(),
            2,
            "a temporary file: {:?}",
            entries(dir)
        );

        let pid = child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().await.unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "SIG{signal}: {err}");
        assert!(
            err.contains(&format!("interrupted by SIG{signal}")) && err.contains("as it was"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), yesterday);
        assert_eq!(entries(dir), ["book.jsonl"], "SIG{signal}");
        server.abort();
    }
}

/// SIGINT in the middle of an export to stdout: what was written stays,
/// and the last line says how far it got and that it is not the whole book
/// (a CSV without --columns has written no row yet, and says so).
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_stdout_export_says_how_far_it_got() {
    for (format, said) in [
        ("json", "written: not the whole book"),
        ("csv", "no CSV row was written (they come at the end)"),
    ] {
        let (base_url, mut stalled, server) = stalling_server().await;
        let child = plugipay_command(
            &base_url,
            &["customers", "export", "--parallel", "1", "--output", format],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
        stalled.recv().await.expect("the second page is asked for");
        let pid = child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-s", "INT", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().await.unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "{format}: {err}");
        assert!(
            err.contains("interrupted by SIGINT") && err.contains(said),
            "{format}: {err}"
        );
        if format == "json" {
            // The count said is the lines written (0 or 1, by when the
            // signal came).
            let said: usize = err
                .split("interrupted by SIGINT: ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("a count: {err}"));
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).lines().count(),
                said,
                "{err}"
            );
        }
        server.abort();
    }
}

/// A FIFO is written through, not replaced: its reader gets the whole book
/// as it is fetched. A reader that leaves early makes the export fail.
#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_is_written_through() {
    let sb = sandbox(3_000).await;
    let dir = empty_dir();
    let fifo = dir.join("book.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Opening a FIFO waits for its other end: the reader runs on its own
    // thread, which the export's opening releases.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = run(sb.base_url(), &export_to(&fifo)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "still a FIFO"
    );
    assert_whole_book(&reader.join().unwrap(), &sb);
    assert_eq!(entries(&dir), ["book.fifo"]);

    // A reader that takes one byte and goes: the book (far more than a
    // pipe holds) cannot all be written.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut byte = [0u8; 1];
            std::fs::File::open(fifo)
                .unwrap()
                .read_exact(&mut byte)
                .unwrap();
        })
    };
    let out = run(sb.base_url(), &export_to(&fifo)).await;
    reader.join().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("went away"), "{}", stderr(&out));
}

/// Devices are written through: a link to /dev/null swallows the book and
/// stays a link, /dev/full's "no space" is reported, and /dev/stdout (an
/// open descriptor) is the command's own stdout. Through links in a
/// directory of the test's own, so no real device could be replaced.
#[tokio::test(flavor = "multi_thread")]
async fn devices_are_written_through() {
    let sb = sandbox(25).await;
    let dir = empty_dir();
    let null = dir.join("null");
    std::os::unix::fs::symlink("/dev/null", &null).unwrap();
    let out = run(sb.base_url(), &export_to(&null)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("exported 25 customers"));
    assert!(std::fs::symlink_metadata(&null).unwrap().is_symlink());
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );

    let full = dir.join("full");
    std::os::unix::fs::symlink("/dev/full", &full).unwrap();
    let out = run(sb.base_url(), &export_to(&full)).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    assert!(std::fs::symlink_metadata(&full).unwrap().is_symlink());

    let stdout = dir.join("stdout");
    std::os::unix::fs::symlink("/dev/stdout", &stdout).unwrap();
    let out = run(sb.base_url(), &export_to(&stdout)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_whole_book(&String::from_utf8(out.stdout).unwrap(), &sb);
    assert!(std::fs::symlink_metadata(&stdout).unwrap().is_symlink());
    assert_eq!(entries(&dir), ["full", "null", "stdout"]);
}

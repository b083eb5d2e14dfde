//! `cargo xtask generate [--check]`: regenerate the plugipay-api client from
//! the spec, or check that the committed file is what the spec produces.

mod dep_weight;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask generate [--check] | cargo xtask bench [--runs N] | cargo xtask bench dep-weight

  generate          rewrite crates/plugipay-api/src/generated.rs (the client),
                    generated_mock.rs (typed httpmock helpers) and the CLI's
                    crates/plugipay-cli/src/spec_args.rs from openapi/customers.yaml
  generate --check  exit 1 and print a unified diff when a committed file is stale
  bench             run the benchmarks (release builds) and write BENCHMARKS.md
  bench dep-weight  measure B12 alone (two cold builds of a small app) and print its section";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["generate"] => generate(false),
        ["generate", "--check"] => generate(true),
        ["bench"] => bench(5),
        ["bench", "dep-weight"] => match dep_weight::measure(&xtask::workspace_root()) {
            Ok(section) => {
                print!("{section}");
                ExitCode::SUCCESS
            }
            Err(why) => {
                eprintln!("error: B12: {why}");
                ExitCode::FAILURE
            }
        },
        ["bench", "--runs", n] => match n.parse() {
            Ok(runs) if runs > 0 => bench(runs),
            _ => {
                eprintln!("{USAGE}");
                ExitCode::from(2)
            }
        },
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn generate(check: bool) -> ExitCode {
    // progenitor's own assertions are reported by xtask::generate as errors;
    // keep the default panic hook from printing them a second time.
    std::panic::set_hook(Box::new(|_| {}));
    let root = xtask::workspace_root();
    let files = match xtask::generate_files(&root.join(xtask::SPEC_PATH), xtask::SPEC_PATH) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut status = ExitCode::SUCCESS;
    for (path, fresh) in files {
        let out = root.join(path);
        let committed = std::fs::read_to_string(&out).unwrap_or_default();
        if check {
            if committed == fresh {
                println!("{path} is up to date with {}", xtask::SPEC_PATH);
            } else {
                print!("{}", xtask::unified_diff(path, &committed, &fresh));
                eprintln!(
                    "error: {path} is stale or was edited by hand; run `cargo xtask generate`"
                );
                status = ExitCode::FAILURE;
            }
        } else if committed == fresh {
            println!("{path} unchanged");
        } else if let Err(e) = std::fs::write(&out, &fresh) {
            eprintln!("error: cannot write {path}: {e}");
            status = ExitCode::FAILURE;
        } else {
            println!("wrote {path}");
        }
    }
    status
}

/// The first line a command prints, or `unknown`.
fn first_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// The version of Plugipay's official Python SDK B8 compares against.
const PYTHON_SDK: &str = "forjio-plugipay==0.6.0";

/// A Python in `target/bench-venv` with the official SDK installed from
/// PyPI, or why there is none (no `python3`, PyPI unreachable, …).
fn official_python_sdk(root: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let venv = root.join("target/bench-venv");
    let python = venv.join("bin/python");
    let run = |program: &std::path::Path, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))
            .and_then(|o| {
                if o.status.success() {
                    Ok(())
                } else {
                    let err = String::from_utf8_lossy(&o.stderr);
                    let last = err.lines().last().unwrap_or("").trim().to_owned();
                    Err(format!("{} failed: {last}", program.display()))
                }
            })
    };
    if !python.exists() {
        let venv = venv.to_string_lossy();
        run(std::path::Path::new("python3"), &["-m", "venv", &venv])?;
    }
    let pip = venv.join("bin/pip");
    run(
        &pip,
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
            "20",
            PYTHON_SDK,
        ],
    )
    .map_err(|e| format!("cannot install {PYTHON_SDK} from PyPI ({e})"))?;
    Ok(python)
}

/// `cargo xtask bench`: B7 (code generation) and B12 (dependency weight) here, B1–B6, B8–B11 and B13 by the
/// release-built harness, all written to BENCHMARKS.md.
fn bench(runs: usize) -> ExitCode {
    let root = xtask::workspace_root();
    let spec = std::fs::read_to_string(root.join(xtask::SPEC_PATH)).expect("the spec is readable");
    let mut times: Vec<f64> = (0..runs.max(5))
        .map(|_| {
            let start = std::time::Instant::now();
            xtask::generate(&spec, xtask::SPEC_PATH).expect("the spec generates");
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    let generate_ms = times[times.len() / 2];

    println!("building the release binaries…");
    let built = std::process::Command::new(env!("CARGO"))
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "plugipay-bench",
            "-p",
            "plugipay-sandbox",
            "-p",
            "plugipay-cli",
        ])
        .status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("error: the release build failed");
        return ExitCode::FAILURE;
    }
    println!("installing Plugipay's official Python SDK for B8…");
    let python = official_python_sdk(&root);
    if let Err(why) = &python {
        println!("note: B8 runs without the Python SDK: {why}");
    }
    println!("running the benchmarks ({runs} runs each; this takes a few minutes)…");
    let release = root.join("target/release");
    let mut harness = std::process::Command::new(release.join("plugipay-bench"));
    harness
        .arg("all")
        .arg("--sandbox")
        .arg(release.join("plugipay-sandbox"))
        .arg("--cli")
        .arg(release.join("plugipay"))
        .args(["--runs", &runs.to_string()]);
    match &python {
        Ok(python) => harness.arg("--python").arg(python),
        Err(why) => harness.arg("--no-python-because").arg(why),
    };
    let output = harness.output();
    let results = match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => {
            eprintln!(
                "error: the harness failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: cannot run the harness: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("measuring B12 (two cold builds of a small app)…");
    let dep_weight = match dep_weight::measure(&root) {
        Ok(section) => section,
        Err(why) => {
            eprintln!("error: B12: {why}");
            return ExitCode::FAILURE;
        }
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let text = format!(
        "# Benchmarks\n\n\
         Reproduce with `cargo xtask bench` (or `cargo xtask bench --runs N`), which rewrites this file.\n\
         Every figure compares two things measured side by side in one run against the same local \
         sandbox (release builds, the sandbox in its own process), median of the runs.\n\n\
         B1–B8 run the sandbox with its rate limits off: they measure the SDK itself, at speeds \
         the live API does not allow (its published limits are 100 reads and 20 writes a second \
         per workspace). B9 and B10 run bulk jobs and an events catch-up under those limits, \
         against their floor, at the default bulk share (80 % of each limit, which leaves the rest \
         to the apps sharing the workspace: a floor of its own 1.25× the ceiling's); B11 runs a \
         bulk job beside such an app, at that share and at the whole budget.\n\n\
         Machine: {cores} cores, {cpu}; {}.\n\n\
         {results}\
         {dep_weight}\
         ## B7 code generation\n\n\
         `xtask::generate` (parse, check and generate `openapi/customers.yaml`, then format): \
         **{generate_ms:.1} ms** median of {} runs (debug build of xtask, as `cargo xtask generate` runs it).\n",
        first_line("rustc", &["--version"]),
        runs.max(5)
    );
    match std::fs::write(root.join("BENCHMARKS.md"), text) {
        Ok(()) => {
            println!("wrote BENCHMARKS.md");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write BENCHMARKS.md: {e}");
            ExitCode::FAILURE
        }
    }
}

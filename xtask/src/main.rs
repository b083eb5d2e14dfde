//! `cargo xtask generate [--check]`: regenerate the plugipay-api client from
//! the spec, or check that the committed file is what the spec produces.

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask generate [--check]

  generate          rewrite crates/plugipay-api/src/generated.rs from openapi/customers.yaml
  generate --check  exit 1 and print a unified diff when the committed file is stale";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["generate"] => generate(false),
        ["generate", "--check"] => generate(true),
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
    let fresh = match xtask::generate_file(&root.join(xtask::SPEC_PATH), xtask::SPEC_PATH) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = root.join(xtask::OUTPUT_PATH);
    let committed = std::fs::read_to_string(&out).unwrap_or_default();
    if check {
        if committed == fresh {
            println!(
                "{} is up to date with {}",
                xtask::OUTPUT_PATH,
                xtask::SPEC_PATH
            );
            return ExitCode::SUCCESS;
        }
        print!(
            "{}",
            xtask::unified_diff(xtask::OUTPUT_PATH, &committed, &fresh)
        );
        eprintln!(
            "error: {} is stale or was edited by hand; run `cargo xtask generate`",
            xtask::OUTPUT_PATH
        );
        return ExitCode::FAILURE;
    }
    if committed == fresh {
        println!("{} unchanged", xtask::OUTPUT_PATH);
    } else if let Err(e) = std::fs::write(&out, &fresh) {
        eprintln!("error: cannot write {}: {e}", xtask::OUTPUT_PATH);
        return ExitCode::FAILURE;
    } else {
        println!("wrote {}", xtask::OUTPUT_PATH);
    }
    ExitCode::SUCCESS
}

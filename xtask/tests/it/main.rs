//! The `xtask` binary as CI and developers run it.

use std::process::Command;

/// `cargo xtask generate --check` passes on the committed tree (the generated
/// client, its mock and the CLI's spec arguments are what the spec gives) and
/// says so for each file. The library's side of this is in the workspace's
/// `codegen` tests; this runs the command itself, which CI also runs.
#[test]
fn generate_check_passes_on_the_committed_tree() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["generate", "--check"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "crates/plugipay-api/src/generated.rs",
        "crates/plugipay-api/src/generated_mock.rs",
        "crates/plugipay-cli/src/spec_args.rs",
    ] {
        assert!(
            stdout.contains(&format!("{file} is up to date")),
            "{file}: {stdout}"
        );
    }
}

/// An unknown command is a usage error (exit 2) naming what exists, not a
/// silent success.
#[test]
fn an_unknown_command_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("generat")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("generate"));
}

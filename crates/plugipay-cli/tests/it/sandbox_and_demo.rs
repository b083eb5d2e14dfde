//! `plugipay sandbox` and `plugipay demo`.

use crate::common::{stderr, stdout_json};
use plugipay_sandbox::{TEST_KEY_ID, TEST_SECRET};

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_tells_the_story_and_exits_zero() {
    let out = crate::common::plugipay_bare()
        .args(["demo", "--seed-customers", "150"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let story = String::from_utf8(out.stdout).unwrap();
    for chapter in [
        "1. Create",
        "2. Fetch",
        "3. Two customers",
        "4. Find-or-create",
        "5. Errors",
        "6. Update",
        "7. A lost answer",
        "8. Retire",
        "9. Walk",
    ] {
        assert!(story.contains(chapter), "{chapter} missing:\n{story}");
    }
    assert!(story.contains("gives 2 customers"), "{story}");
    assert!(
        story.contains("same Idempotency-Key")
            && story.contains("2 requests sent, 1 customer created"),
        "{story}"
    );
    assert!(
        story.contains(": deleted (it never paid)") && story.contains(": archived instead"),
        "{story}"
    );
    assert!(
        story.contains("conflict (409)") && story.contains("not_found (404)"),
        "{story}"
    );
    assert!(
        story.contains("walked 154 customers (1 archived), each exactly once"),
        "{story}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugipay_sandbox_prints_its_address() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_plugipay"));
    command
        .args(["sandbox", "--addr", "127.0.0.1:0", "--seed-customers", "5"])
        .env("PLUGIPAY_CONFIG_DIR", crate::common::config_dir())
        .stderr(std::process::Stdio::null());
    // Ready once it has printed its address.
    let process = plugipay_sandbox::SandboxProcess::spawn(command).unwrap();
    let base = process.base_url();
    let out = crate::common::plugipay_bare()
        .args(["customers", "list", "--all"])
        .env("PLUGIPAY_BASE_URL", base)
        .env("PLUGIPAY_KEY_ID", TEST_KEY_ID)
        .env("PLUGIPAY_SECRET", TEST_SECRET)
        .output()
        .await
        .unwrap();
    assert_eq!(stdout_json(&out).len(), 5);
}

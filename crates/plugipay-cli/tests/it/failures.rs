//! What every command shares when things go wrong: one-line errors, exit statuses, `-v`, hints, usage, completions.

use crate::common::{
    plugipay, plugipay_at, plugipay_command, plugipay_without_credentials, sandbox,
    sandbox_speaking, stderr, stdout_json,
};
use plugipay_sandbox::{
    Dialect, FaultKind, FaultProxy, ProxyFaults, Sandbox, TEST_ACCOUNT_ID, TEST_KEY_ID, TEST_SECRET,
};

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_one_clear_line() {
    let sb = sandbox(0).await;
    let out = plugipay(&sb, &["customers", "get", "cus_00000000000000000000000000"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: Plugipay API error not_found (404): ")
            && err.contains("[request req_"),
        "{err}"
    );

    // Refused before the network, by the range the spec documents: a bad
    // invocation.
    let out = plugipay(&sb, &["customers", "list", "--limit", "0"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--limit") && stderr(&out).contains("1..=100"),
        "{}",
        stderr(&out)
    );

    let out = plugipay(&sb, &["customers", "list", "--order", "sideways"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--order"), "{}", stderr(&out));

    let out = plugipay(
        &sb,
        &[
            "customers",
            "update",
            "cus_x",
            "--phone",
            "1",
            "--clear-phone",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));

    let out = plugipay_without_credentials(&["customers", "get", "cus_x"]).await;
    assert_eq!(out.status.code(), Some(3), "no credentials configured");
    let err = stderr(&out);
    assert!(
        err.contains("PLUGIPAY_KEY_ID") && err.contains("PLUGIPAY_API_KEY"),
        "{err}"
    );
    assert!(!err.contains("panicked"));

    let out = crate::common::plugipay_bare()
        .args([
            "--secret",
            "sk_super_secret",
            "--key-id",
            "ak",
            "--base-url",
            "not a url",
            "customers",
            "get",
            "x",
        ])
        .output()
        .await
        .unwrap();
    // A base URL that is not one: a bad invocation.
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("base_url") && !stderr(&out).contains("sk_super_secret"));
}

/// Usage lines on errors show the command, not the connection settings the
/// environment fills; a set-but-empty variable is refused by name; the SDK
/// alone judges which credentials go together.
#[tokio::test(flavor = "multi_thread")]
async fn usage_lines_and_credentials_come_from_one_place() {
    let run = |args: &'static [&'static str], env: &'static [(&'static str, &'static str)]| async move {
        let mut command = plugipay_command("http://127.0.0.1:9", args);
        command.envs(env.iter().copied());
        command.output().await.unwrap()
    };
    let out = run(&["customers", "list", "--active", "--archived"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let usage = stderr(&out);
    assert!(
        usage.contains("Usage: plugipay customers list --active\n"),
        "{usage}"
    );
    assert!(
        !usage.contains("--key-id") && !usage.contains("--secret"),
        "{usage}"
    );
    assert!(
        !usage.contains(TEST_SECRET) && !usage.contains(TEST_KEY_ID),
        "{usage}"
    );

    let out = run(&["customers", "get", "cus_x"], &[("PLUGIPAY_BASE_URL", "")]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("PLUGIPAY_BASE_URL is set but empty"),
        "{}",
        stderr(&out)
    );

    // A flag overrides its variable; the combination is the SDK's to judge.
    let out = run(
        &["--api-key", "pk_test_x", "customers", "get", "cus_x"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("both an HMAC key pair") && err.contains("API key"),
        "{err}"
    );
    assert!(
        !err.contains(TEST_SECRET) && !err.contains("pk_test_x"),
        "{err}"
    );
}

/// A write's Idempotency-Key can be given; the same key with other fields
/// exits with status 64, as Plugipay's own CLI does.
#[tokio::test(flavor = "multi_thread")]
async fn a_reused_idempotency_key_exits_64() {
    for dialect in Dialect::ALL {
        let sb = sandbox_speaking(0, dialect).await;
        let create = |name: &'static str| {
            let sb = &sb;
            async move {
                plugipay(
                    sb,
                    &[
                        "customers",
                        "create",
                        "--name",
                        name,
                        "--idempotency-key",
                        "idem_cli_once",
                    ],
                )
                .await
            }
        };
        let first = stdout_json(&create("Ani").await);
        // The same write again: replayed, the same customer.
        let again = stdout_json(&create("Ani").await);
        assert_eq!(first[0]["id"], again[0]["id"]);
        assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 1);
        // The same key, another name: refused, exit 64.
        let other = create("Budi").await;
        assert_eq!(other.status.code(), Some(64), "{}", stderr(&other));
        assert!(
            stderr(&other).contains("idempotency_mismatch"),
            "{}",
            stderr(&other)
        );
        assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 1);
    }
}

/// The exit statuses are listed in `--help`, and each is what it says: 0
/// ok, 1 an error, 2 a bad invocation, 3 no credentials (64 and 130 have
/// their own tests: `a_reused_idempotency_key_exits_64`,
/// `an_interrupted_import_stops_cleanly_and_a_rerun_converges`).
#[tokio::test(flavor = "multi_thread")]
async fn exit_statuses_are_listed_and_kept() {
    let help = plugipay_without_credentials(&["--help"]).await;
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for line in [
        "Exit status:",
        "0    ok",
        "1    error",
        "2    bad invocation",
        "3    no credentials configured",
        "64   Idempotency-Key reused",
        "130  interrupted",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }

    let sb = sandbox(0).await;
    let missing = plugipay(&sb, &["customers", "get", "cus_nobody"]).await;
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    let usage = plugipay(&sb, &["customers", "get", "--no-such-flag"]).await;
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
    let nothing = plugipay_without_credentials(&["customers", "list"]).await;
    assert_eq!(nothing.status.code(), Some(3), "{}", stderr(&nothing));
    assert!(
        stderr(&nothing).contains("no credentials"),
        "{}",
        stderr(&nothing)
    );
    // Credentials given but incomplete: an ordinary error.
    let half = crate::common::plugipay_bare()
        .args(["--key-id", "ak_test_x", "customers", "list"])
        .env_remove("PLUGIPAY_KEY_ID")
        .env_remove("PLUGIPAY_SECRET")
        .env_remove("PLUGIPAY_API_KEY")
        .output()
        .await
        .unwrap();
    assert_eq!(half.status.code(), Some(1), "{}", stderr(&half));
}

/// `-v` (or `PLUGIPAY_LOG=debug`) shows each call's attempts, retries and
/// rate budget on stderr, and never the secret; without it, none of that.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_shows_attempts_and_retries_but_no_secret() {
    // The published rate limits: every answer says what budget is left.
    let sb = Sandbox::start(
        crate::common::unpaced()
            .seed_customers(250)
            .rate_limits(plugipay_sandbox::RateLimits::published()),
    )
    .await
    .unwrap();
    let proxy = FaultProxy::start(
        sb.base_url(),
        ProxyFaults {
            rate: 0.5,
            kinds: vec![FaultKind::ServiceUnavailable],
            retry_after_secs: 0,
            seed: 11,
            ..ProxyFaults::default()
        },
    )
    .await
    .unwrap();
    let args = [
        "--key-id",
        TEST_KEY_ID,
        "--secret",
        TEST_SECRET,
        "--max-retries",
        "30",
        "customers",
        "list",
        "--all",
        "--output",
        "ids",
    ];
    let run = |verbose: Option<&'static str>, log: Option<&'static str>| {
        let mut command = plugipay_command(proxy.base_url(), &args);
        command
            .env_remove("PLUGIPAY_KEY_ID")
            .env_remove("PLUGIPAY_SECRET");
        if let Some(flag) = verbose {
            command.arg(flag);
        }
        match log {
            Some(level) => command.env("PLUGIPAY_LOG", level),
            None => command.env_remove("PLUGIPAY_LOG"),
        };
        command.output()
    };
    for (verbose, log) in [(Some("-v"), None), (None, Some("debug"))] {
        let out = run(verbose, log).await.unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 250);
        let list =
            <plugipay::api::endpoints::ListCustomers as plugipay::api::endpoint::Endpoint>::PATH;
        for part in [
            format!("plugipay: GET {list}?limit=100 → 200 in "),
            format!("plugipay: GET {list}?"),
            "→ 503 in ".to_owned(),
            "plugipay: retrying in ".to_owned(),
            "left in the read budget".to_owned(),
            ", request req_".to_owned(),
        ] {
            assert!(err.contains(&part), "{part}: {err}");
        }
        // One line per event: no span bookkeeping, no timestamps.
        assert!(err.lines().all(|l| l.starts_with("plugipay: ")), "{err}");
        assert!(!err.contains("time.busy"), "{err}");
        assert!(!err.contains(TEST_SECRET), "{err}");
    }
    // -vv adds the headers, the signature and secret never.
    let out = run(Some("-vv"), None).await.unwrap();
    let err = stderr(&out);
    assert!(
        err.contains("plugipay: > authorization: Plugipay-HMAC-SHA256 keyId="),
        "{err}"
    );
    assert!(err.contains("plugipay: < x-ratelimit-remaining: "), "{err}");
    assert!(
        !err.contains(TEST_SECRET) && !err.contains("scope=*"),
        "{err}"
    );
    assert!(proxy.counts().values().sum::<u64>() > 0);
    let quiet = run(None, None).await.unwrap();
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert_eq!(stderr(&quiet), "");
    let bad = run(None, Some("loud")).await.unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

/// Common failures carry a hint, on the same line: a refused connection
/// (is the sandbox running? is --base-url right?), a wrong secret.
#[tokio::test(flavor = "multi_thread")]
async fn common_failures_carry_a_hint() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = plugipay_at(
        &format!("http://127.0.0.1:{port}"),
        &["customers", "get", "cus_1", "--max-retries", "0"],
    )
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("is the sandbox running? is --base-url"),
        "{err}"
    );

    let sb = sandbox(0).await;
    let out = plugipay_command(sb.base_url(), &["customers", "list"])
        .env("PLUGIPAY_SECRET", "sk_test_not_the_secret")
        .output()
        .await
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("signature_invalid") && err.contains("check the secret"),
        "{err}"
    );
    assert!(!err.contains("sk_test_not_the_secret"), "{err}");
}

/// `plugipay completions SHELL` prints a script that knows the commands.
#[tokio::test(flavor = "multi_thread")]
async fn completion_scripts_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = crate::common::plugipay_bare()
            .args(["completions", shell])
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("customers"), "{shell}: {script}");
    }
    let bash = crate::common::plugipay_bare()
        .args(["completions", "bash"])
        .output()
        .await
        .unwrap();
    let script = String::from_utf8(bash.stdout).unwrap();
    for word in [
        "customers",
        "import",
        "export",
        "--dry-run",
        "--profile",
        "config",
    ] {
        assert!(script.contains(word), "{word}");
    }
    let out = crate::common::plugipay_bare()
        .args(["completions", "tcsh"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

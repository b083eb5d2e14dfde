//! The `plugipay` binary under each published reading of Plugipay (the
//! sandbox's `Dialect::ALL`) and with a user's real setup: keys as the API
//! keys page mints them, the official CLI's config file and variables,
//! `--json`, and a machine clock far from the server's.

use std::collections::HashSet;
use std::process::Output;

use crate::common::{
    config_dir, plugipay_at, plugipay_bare, plugipay_command, sandbox_speaking, stderr,
};
use plugipay_sandbox::{ApiKey, Dialect, Sandbox, TEST_ACCOUNT_ID};
use serde_json::Value;

fn lines(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "failed: {}", stderr(out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn document(out: &Output) -> Value {
    assert!(out.status.success(), "failed: {}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The whole book, the whole events log and one customer per external id,
/// in either reading.
#[tokio::test(flavor = "multi_thread")]
async fn walks_and_ensure_under_either_reading() {
    for dialect in Dialect::ALL {
        let sb = sandbox_speaking(500, dialect).await;
        let all = lines(&plugipay_at(sb.base_url(), &["customers", "list", "--all"]).await);
        let ids: HashSet<_> = all.iter().map(|c| c["id"].clone()).collect();
        assert_eq!((all.len(), ids.len()), (500, 500), "{dialect}");

        for _ in 0..2 {
            let out = plugipay_at(
                sb.base_url(),
                &[
                    "customers",
                    "ensure",
                    "--external-id",
                    "crm_77",
                    "--name",
                    "Sari",
                ],
            )
            .await;
            assert!(out.status.success(), "{dialect}: {}", stderr(&out));
        }
        let found = lines(
            &plugipay_at(
                sb.base_url(),
                &["customers", "list", "--external-id", "crm_77"],
            )
            .await,
        );
        assert_eq!(found.len(), 1, "{dialect}");
        assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 501, "{dialect}");

        // Seeds make no events; the ensure made one.
        let id = found[0]["id"].as_str().unwrap();
        for args in [
            &["events", "list", "--all"][..],
            &["events", "list", "--all", "--parallel", "3"][..],
        ] {
            let events = lines(&plugipay_at(sb.base_url(), args).await);
            assert_eq!(events.len(), 1, "{dialect} {args:?}");
            let event = &events[0];
            let about = match dialect {
                Dialect::Sdk => &event["data"]["object"]["id"],
                Dialect::Docs => &event["data"]["id"],
            };
            assert_eq!(about, id, "{dialect}: printed as the server sent it");
        }
    }
}

/// A key as Plugipay's API keys page mints it: an `pk_test_…` key id with
/// its `sk_test_…` secret, as two variables or as `PLUGIPAY_API_KEY`'s
/// `keyId:secret`.
#[tokio::test(flavor = "multi_thread")]
async fn pk_key_ids_from_the_variables() {
    let sb = Sandbox::start(crate::common::unpaced().seed_customers(2).key(ApiKey::hmac(
        "pk_test_docs",
        "sk_test_docs",
        TEST_ACCOUNT_ID,
    )))
    .await
    .unwrap();
    let pair = plugipay_command(sb.base_url(), &["customers", "list"])
        .env("PLUGIPAY_KEY_ID", "pk_test_docs")
        .env("PLUGIPAY_SECRET", "sk_test_docs")
        .output()
        .await
        .unwrap();
    assert_eq!(lines(&pair).len(), 2);
    let joined = plugipay_command(sb.base_url(), &["customers", "list"])
        .env_remove("PLUGIPAY_KEY_ID")
        .env_remove("PLUGIPAY_SECRET")
        .env("PLUGIPAY_API_KEY", "pk_test_docs:sk_test_docs")
        .output()
        .await
        .unwrap();
    assert_eq!(lines(&joined).len(), 2);
}

/// `~/.plugipay/config.json` as Plugipay's own CLI writes it works as it
/// is; its mode (or `PLUGIPAY_MODE`) must agree with the key's prefix;
/// `default_account` (or `PLUGIPAY_ACCOUNT_ID`) is not sent.
#[tokio::test(flavor = "multi_thread")]
async fn the_official_clis_config_file_works_as_written() {
    let sb = Sandbox::start(crate::common::unpaced().seed_customers(3).key(ApiKey::hmac(
        "pk_test_docs",
        "sk_test_docs",
        TEST_ACCOUNT_ID,
    )))
    .await
    .unwrap();
    let run = |mode: &str, env: &[(&str, &str)], args: &[&str]| {
        let dir = config_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let file = serde_json::json!({
            "token": "pk_test_docs:sk_test_docs",
            "api_url": sb.base_url(),
            "default_account": "acc_01HOTHERWORKSPACE",
            "default_mode": mode,
        });
        std::fs::write(dir.join("config.json"), file.to_string()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(dir.join("config.json"), mode).unwrap();
        }
        let mut command = plugipay_bare();
        command
            .env("PLUGIPAY_CONFIG_DIR", &dir)
            .env_remove("PLUGIPAY_KEY_ID")
            .env_remove("PLUGIPAY_SECRET")
            .env_remove("PLUGIPAY_API_KEY")
            .env_remove("PLUGIPAY_BASE_URL")
            .env_remove("PLUGIPAY_MODE")
            .env_remove("PLUGIPAY_ACCOUNT_ID")
            .args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        async move { command.output().await.unwrap() }
    };
    let listed = run("test", &[], &["customers", "list"]).await;
    assert_eq!(lines(&listed).len(), 3, "no change to the file needed");
    let with_account = run(
        "test",
        &[("PLUGIPAY_ACCOUNT_ID", "acc_other")],
        &["customers", "list"],
    )
    .await;
    assert_eq!(lines(&with_account).len(), 3, "the account is not sent");

    let live = run("live", &[], &["customers", "list"]).await;
    assert_eq!(live.status.code(), Some(2), "{}", stderr(&live));
    assert!(stderr(&live).contains("test key"), "{}", stderr(&live));
    let env_live = run("test", &[("PLUGIPAY_MODE", "live")], &["customers", "list"]).await;
    assert_eq!(env_live.status.code(), Some(2), "{}", stderr(&env_live));
    assert!(
        stderr(&env_live).contains("PLUGIPAY_MODE"),
        "{}",
        stderr(&env_live)
    );
    let nonsense = run(
        "test",
        &[("PLUGIPAY_MODE", "staging")],
        &["customers", "list"],
    )
    .await;
    assert_eq!(nonsense.status.code(), Some(2), "{}", stderr(&nonsense));

    let shown = run("test", &[], &["config", "show"]).await;
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("pk_test_docs:(redacted)"), "{shown}");
    assert!(!shown.contains("sk_test_docs"), "{shown}");
    assert!(shown.contains("acc_01HOTHERWORKSPACE"), "{shown}");
}

/// `--json` prints one document with `data`, as Plugipay's scripting page
/// shows; a walk that fails leaves no document a reader could take whole.
#[tokio::test(flavor = "multi_thread")]
async fn json_prints_one_document() {
    let sb = sandbox_speaking(120, Dialect::Docs).await;
    let list =
        document(&plugipay_at(sb.base_url(), &["customers", "list", "--all", "--json"]).await);
    assert_eq!(list["data"].as_array().unwrap().len(), 120);
    let id = list["data"][0]["id"].as_str().unwrap().to_owned();
    let one = document(&plugipay_at(sb.base_url(), &["customers", "get", &id, "--json"]).await);
    assert_eq!(one["data"]["id"], id.as_str());
    let page = document(
        &plugipay_at(
            sb.base_url(),
            &["customers", "list", "--limit", "5", "--json"],
        )
        .await,
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 5);
    let events = document(&plugipay_at(sb.base_url(), &["events", "list", "--json"]).await);
    assert_eq!(events["data"], serde_json::json!([]));
    let both = plugipay_at(
        sb.base_url(),
        &["customers", "list", "--json", "--output", "csv"],
    )
    .await;
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
}

/// A machine clock ten minutes ahead of the server's: the first call of a
/// fresh process succeeds, and `-v` says by how much the clocks differ.
#[tokio::test(flavor = "multi_thread")]
async fn a_clock_ten_minutes_ahead_is_corrected() {
    for dialect in Dialect::ALL {
        let sb = Sandbox::start(
            crate::common::unpaced()
                .seed_customers(4)
                .dialect(dialect)
                .clock_offset_secs(-600),
        )
        .await
        .unwrap();
        let out = plugipay_at(sb.base_url(), &["-v", "customers", "list"]).await;
        assert_eq!(lines(&out).len(), 4, "{dialect}");
        let log = stderr(&out);
        assert!(
            ["599", "600", "601"]
                .iter()
                .any(|secs| log.contains(&format!("{secs} s ahead of the server's"))),
            "{dialect}: {log}"
        );
        let created = plugipay_at(sb.base_url(), &["customers", "create", "--name", "Tari"]).await;
        assert_eq!(lines(&created).len(), 1);
        assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 5, "{dialect}");
    }
}

//! `events` and `webhooks`: listing, saved deliveries, forwarding.

use crate::common::{
    plugipay, plugipay_without_credentials, sandbox, stderr, stdout_json, temp_file,
};

/// `events list` / `events get` read the events API; `webhooks verify`
/// checks a saved delivery against its secret.
#[tokio::test(flavor = "multi_thread")]
async fn events_and_saved_deliveries() {
    let sb = sandbox(0).await;
    let created = stdout_json(&plugipay(&sb, &["customers", "create", "--name", "Ani"]).await);
    let id = created[0]["id"].as_str().unwrap();
    plugipay(&sb, &["customers", "update", id, "--name", "Ani S"]).await;
    let events = stdout_json(&plugipay(&sb, &["events", "list", "--all", "--order", "asc"]).await);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "plugipay.customer.created.v1",
            "plugipay.customer.updated.v1"
        ]
    );
    let one =
        stdout_json(&plugipay(&sb, &["events", "get", events[1]["id"].as_str().unwrap()]).await);
    assert_eq!(one[0], events[1]);
    let updated =
        stdout_json(&plugipay(&sb, &["events", "list", "--type", "customer.updated"]).await);
    assert_eq!(updated.len(), 1);
    // Every event once, walked as time ranges at once.
    let parallel =
        stdout_json(&plugipay(&sb, &["events", "list", "--all", "--parallel", "4"]).await);
    let mut ids: Vec<&str> = parallel.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut want: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    want.sort_unstable();
    assert_eq!(ids, want);

    // A saved delivery, signed as the sandbox signs them.
    let body = events[0].to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = plugipay::api::webhook::signature_header(b"whsec_cli", now, body.as_bytes());
    let file = temp_file("delivery.json", &body);
    let path = file.to_str().unwrap();
    let verified = plugipay_without_credentials(&[
        "webhooks",
        "verify",
        path,
        "--signature",
        &header,
        "--webhook-secret",
        "whsec_cli",
    ])
    .await;
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(
        stderr(&verified).contains("signature valid"),
        "{}",
        stderr(&verified)
    );
    let tampered = temp_file("tampered.json", &body.replace("Ani", "Anu"));
    let refused = plugipay_without_credentials(&[
        "webhooks",
        "verify",
        tampered.to_str().unwrap(),
        "--signature",
        &header,
        "--webhook-secret",
        "whsec_cli",
    ])
    .await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("signature_invalid"),
        "{}",
        stderr(&refused)
    );
    let stale = plugipay_without_credentials(&[
        "webhooks",
        "verify",
        path,
        "--signature",
        &header,
        "--webhook-secret",
        "whsec_cli",
        "--at",
        &(now + 3600).to_string(),
    ])
    .await;
    assert!(
        stderr(&stale).contains("signature_stale"),
        "{}",
        stderr(&stale)
    );
    // The secret from the variable, a global --secret (the API's) beside
    // it: the webhook secret is still the variable's.
    let from_env = crate::common::plugipay_bare()
        .args([
            "--secret",
            "sk_test_api_secret",
            "webhooks",
            "verify",
            path,
            "--signature",
            &header,
        ])
        .env("PLUGIPAY_WEBHOOK_SECRET", "whsec_cli")
        .output()
        .await
        .unwrap();
    assert!(from_env.status.success(), "{}", stderr(&from_env));
    // No secret, an empty one, a clock out of range: a bad invocation (2),
    // not a verdict on the delivery.
    for (args, secret_env) in [
        (vec!["--signature", header.as_str()], None),
        (vec!["--signature", header.as_str()], Some("")),
        (
            vec![
                "--signature",
                header.as_str(),
                "--webhook-secret",
                "whsec_cli",
                "--at",
                "99999999999999999",
            ],
            None,
        ),
    ] {
        let mut command = crate::common::plugipay_bare();
        command.args(["webhooks", "verify", path]).args(&args);
        if let Some(value) = secret_env {
            command.env("PLUGIPAY_WEBHOOK_SECRET", value);
        }
        let out = command.output().await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("does not verify"),
            "{}",
            stderr(&out)
        );
    }

    // Bad invocations of events list: refused before the network (2).
    for args in [
        vec!["events", "list", "--limit", "0"],
        vec!["events", "list", "--limit", "101"],
        vec![
            "events",
            "list",
            "--all",
            "--parallel",
            "4",
            "--order",
            "desc",
        ],
        vec!["--output", "csv", "events", "list"],
    ] {
        let out = plugipay(&sb, &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("walk stopped"), "{}", stderr(&out));
    }
    // Before credentials are looked for: the same with none.
    let out = plugipay_without_credentials(&["--output", "csv", "events", "list"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `plugipay sandbox --forward-to` a text that is not an http(s) URL is a
/// bad invocation (2) that never shows the text (it may hold a token).
#[tokio::test(flavor = "multi_thread")]
async fn forwarding_to_what_is_not_a_url_is_refused() {
    for url in [
        "127.0.0.1:3000/hooks?token=t0ken",
        "ftp://host/x",
        "http://",
    ] {
        let out = crate::common::plugipay_bare()
            .args(["sandbox", "--addr", "127.0.0.1:0", "--forward-to", url])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("webhook URL 1 is not an http://"), "{err}");
        assert!(!err.contains("t0ken") && !err.contains("host/x"), "{err}");
    }
    // The signing secret from the variable: an empty one is refused, one
    // of the user's own is used and never printed.
    let empty = crate::common::plugipay_bare()
        .args(["sandbox", "--forward-to", "http://127.0.0.1:9/x"])
        .env("PLUGIPAY_WEBHOOK_SECRET", "")
        .output()
        .await
        .unwrap();
    assert_eq!(empty.status.code(), Some(2), "{}", stderr(&empty));
    assert!(stderr(&empty).contains("empty"), "{}", stderr(&empty));

    use tokio::io::AsyncBufReadExt as _;
    let mut child = crate::common::plugipay_bare()
        .args(["sandbox", "--addr", "127.0.0.1:0"])
        .args(["--forward-to", "http://127.0.0.1:9/x"])
        .env("PLUGIPAY_WEBHOOK_SECRET", "whsec_env_42")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    // The start-up line, once it is printed (no waiting on a clock).
    let line = loop {
        let line = lines.next_line().await.unwrap().expect("a start-up line");
        if line.starts_with("credentials:") {
            break line;
        }
    };
    child.kill().await.unwrap();
    assert!(
        line.contains("signed with the secret given (--webhook-secret or PLUGIPAY_WEBHOOK_SECRET)"),
        "{line}"
    );
    assert!(
        !line.contains("whsec_env_42") && !line.contains("whsec_sandbox"),
        "{line}"
    );
}

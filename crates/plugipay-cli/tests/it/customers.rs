//! The `customers` commands one by one: create, get, list, update, delete, ensure, archive; their flags, help and output formats.

use std::process::Output;

use crate::common::{
    plugipay, plugipay_at, plugipay_command, sandbox, stderr, stdout_json, temp_file, with_stdout,
};
use plugipay_sandbox::{PLATFORM_KEY_ID, PLATFORM_SECRET, TEST_ACCOUNT_ID};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn the_customer_commands() {
    let sb = sandbox(0).await;
    let created = stdout_json(
        &plugipay(
            &sb,
            &[
                "customers",
                "create",
                "--email",
                "a@example.com",
                "--name",
                "A",
                "--phone",
                "1",
                "--external-id",
                "crm_1",
                "--tax-id",
                "T",
                "--metadata",
                "plan=pro",
                "--metadata",
                "k=v=w",
            ],
        )
        .await,
    );
    let c = &created[0];
    let id = c["id"].as_str().unwrap();
    assert_eq!(c["metadata"]["plan"], "pro");
    assert_eq!(c["metadata"]["k"], "v=w");

    let got = stdout_json(&plugipay(&sb, &["customers", "get", id]).await);
    assert_eq!(got[0]["email"], "a@example.com");

    let updated = stdout_json(
        &plugipay(
            &sb,
            &[
                "customers",
                "update",
                id,
                "--clear-phone",
                "--name",
                "B",
                "--metadata",
                "tier=gold",
            ],
        )
        .await,
    );
    assert_eq!(updated[0]["phone"], Value::Null);
    assert_eq!(updated[0]["name"], "B");
    assert_eq!(updated[0]["email"], "a@example.com");
    assert_eq!(updated[0]["metadata"]["plan"], "pro");
    assert_eq!(updated[0]["metadata"]["tier"], "gold");

    let out = plugipay(
        &sb,
        &[
            "customers",
            "ensure",
            "--external-id",
            "crm_1",
            "--name",
            "ignored",
        ],
    )
    .await;
    assert_eq!(stdout_json(&out)[0]["id"], id);
    assert!(stderr(&out).starts_with("found "), "{}", stderr(&out));
    let out = plugipay(&sb, &["customers", "ensure", "--external-id", "crm_2"]).await;
    assert!(stderr(&out).starts_with("created "), "{}", stderr(&out));

    let archived = stdout_json(&plugipay(&sb, &["customers", "archive", id]).await);
    assert_eq!(archived[0]["metadata"]["archived"], "true");
    let active = stdout_json(&plugipay(&sb, &["customers", "list", "--active"]).await);
    assert_eq!(active.len(), 1);
    let only_archived =
        stdout_json(&plugipay(&sb, &["customers", "list", "--archived", "--all"]).await);
    assert_eq!(only_archived[0]["id"], id);
    let back = stdout_json(&plugipay(&sb, &["customers", "unarchive", id]).await);
    assert_eq!(back[0]["metadata"]["archived"], "false");
    assert_eq!(back[0]["metadata"]["plan"], "pro", "the other keys stay");

    // delete and remove
    let bare = stdout_json(&plugipay(&sb, &["customers", "create"]).await);
    let bare = bare[0]["id"].as_str().unwrap();
    let out = plugipay(&sb, &["customers", "delete", bare]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim(), format!("deleted {bare}"));
    let out = plugipay(&sb, &["customers", "get", bare]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not_found"), "{}", stderr(&out));
    let held = stdout_json(
        &plugipay(
            &sb,
            &[
                "customers",
                "create",
                "--metadata",
                "sandbox_money_history=true",
            ],
        )
        .await,
    );
    let held = held[0]["id"].as_str().unwrap();
    let out = plugipay(&sb, &["customers", "delete", held]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("money history"), "{}", stderr(&out));
    let out = plugipay(&sb, &["customers", "remove", held]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!("archived {held}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout_json(&out)[0]["metadata"]["archived"], "true");
    let doomed = stdout_json(&plugipay(&sb, &["customers", "create"]).await);
    let doomed = doomed[0]["id"].as_str().unwrap();
    let out = plugipay(&sb, &["customers", "remove", doomed]).await;
    assert_eq!(stderr(&out).trim(), format!("deleted {doomed}"));
    assert!(stdout_json(&out).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn list_pages_and_filters() {
    let sb = sandbox(250).await;
    assert_eq!(
        stdout_json(&plugipay(&sb, &["customers", "list"]).await).len(),
        25
    );
    assert_eq!(
        stdout_json(&plugipay(&sb, &["customers", "list", "--limit", "7"]).await).len(),
        7
    );
    let all = stdout_json(
        &plugipay(
            &sb,
            &[
                "customers",
                "list",
                "--all",
                "--limit",
                "100",
                "--order",
                "asc",
            ],
        )
        .await,
    );
    assert_eq!(all.len(), 250);
    assert_eq!(all[0]["externalId"], "seed_0000001");
    let one =
        stdout_json(&plugipay(&sb, &["customers", "list", "--external-id", "seed_0000042"]).await);
    assert_eq!(one.len(), 1);
    let by_email = stdout_json(
        &plugipay(
            &sb,
            &["customers", "list", "--email", "customer7@example.test"],
        )
        .await,
    );
    assert_eq!(by_email[0]["externalId"], "seed_0000007");
}

/// An update that changes nothing is refused before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_update_is_refused() {
    let sb = sandbox(1).await;
    let before = sb.customers(TEST_ACCOUNT_ID).remove(0);
    let out = plugipay(&sb, &["customers", "update", &before.id]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing to change"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        sb.customers(TEST_ACCOUNT_ID).remove(0).updated_at,
        before.updated_at
    );
}

/// `list` says when more pages follow and takes `--cursor`; `… | head`
/// ends quietly; a closed stderr is no crash; connection failures name
/// their cause; `--help` keeps the connection flags apart.
#[tokio::test(flavor = "multi_thread")]
async fn list_hints_pipes_and_help() {
    let sb = sandbox(3_000).await;
    let out = plugipay(&sb, &["customers", "list"]).await;
    assert_eq!(stdout_json(&out).len(), 25);
    let hint = stderr(&out);
    let cursor = hint
        .split("--cursor ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no cursor hint in {hint:?}"));
    let next = plugipay(
        &sb,
        &["customers", "list", "--cursor", cursor, "--limit", "100"],
    )
    .await;
    let next = stdout_json(&next);
    assert_eq!(next.len(), 100);

    // The reader goes away after one line.
    let mut child = plugipay_command(sb.base_url(), &["customers", "list", "--all"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(lines.next_line().await.unwrap().is_some());
    } // stdout closed here
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).to_lowercase().contains("broken pipe"),
        "{}",
        stderr(&out)
    );

    // The demo and the import schema into a pipe nobody reads (its read
    // end closed before they start): every write fails, and none panics.
    for args in [
        &["demo", "--seed-customers", "0"][..],
        &["customers", "import", "--schema"][..],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = with_stdout(args, writer).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    // A stdout that cannot take the story (a full disk): said, exit 1.
    #[cfg(target_os = "linux")]
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = with_stdout(&["demo", "--seed-customers", "0"], full).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot write the demo"),
            "{}",
            stderr(&out)
        );
    }

    // Nobody reads stderr: the command still finishes its work and exits 0.
    let rows = temp_file("quiet.jsonl", "{\"externalId\":\"quiet_1\"}\n");
    let mut child = plugipay_command(
        sb.base_url(),
        &["customers", "import", rows.to_str().unwrap()],
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    drop(child.stderr.take());
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 3_001);

    // Nothing listens on port 1: the cause is shown.
    let out = plugipay_at(
        "http://127.0.0.1:1",
        &["customers", "get", "cus_1", "--max-retries", "0"],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).to_lowercase().contains("refused"),
        "{}",
        stderr(&out)
    );

    let help = plugipay(&sb, &["customers", "list", "--help"]).await;
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let (own, connection) = help
        .split_once("Connection (every command):")
        .unwrap_or_else(|| panic!("no connection heading in {help}"));
    assert!(
        own.contains("--cursor") && !own.contains("--key-id"),
        "{help}"
    );
    assert!(connection.contains("--key-id"), "{help}");
}

/// `--output json|csv|ids` for get, list and export; a CSV export imports
/// back; `-q` silences notes but not errors.
#[tokio::test(flavor = "multi_thread")]
async fn output_formats_and_quiet() {
    let sb = sandbox(0).await;
    let rows = "{\"externalId\":\"of_1\",\"name\":\"Ani, Jr\",\"metadata\":{\"plan\":\"pro\"}}\n\
                {\"externalId\":\"of_2\",\"email\":\"b@example.com\",\"metadata\":{\"tier\":\"gold\"}}\n\
                {\"externalId\":\"of_3\"}\n";
    let file = temp_file("of.jsonl", rows);
    // Quiet: nothing on stderr when all goes well.
    let out = plugipay(&sb, &["customers", "import", file.to_str().unwrap(), "-q"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let id = sb
        .customers(TEST_ACCOUNT_ID)
        .into_iter()
        .find(|c| c.external_id.as_deref() == Some("of_1"))
        .unwrap()
        .id;
    let text = |out: &Output| {
        assert!(out.status.success(), "{}", stderr(out));
        String::from_utf8(out.stdout.clone()).unwrap()
    };

    // json: today's JSON lines.
    let json = stdout_json(&plugipay(&sb, &["customers", "get", &id, "--output", "json"]).await);
    assert_eq!(json[0]["id"], id.as_str());
    // ids
    let ids = text(&plugipay(&sb, &["customers", "get", &id, "--output", "ids"]).await);
    assert_eq!(ids, format!("{id}\n"));
    let ids = text(&plugipay(&sb, &["customers", "list", "--output", "ids"]).await);
    assert_eq!(ids.lines().count(), 3);
    assert!(ids.lines().all(|l| l.starts_with("cus_")), "{ids}");
    let ids = text(&plugipay(&sb, &["customers", "export", "--output", "ids"]).await);
    assert_eq!(ids.lines().count(), 3);
    // csv: a header row of the customer's fields and metadata.KEY columns.
    let csv = text(&plugipay(&sb, &["customers", "get", &id, "--output", "csv"]).await);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "id");
    assert_eq!(&header[1], "externalId");
    assert!(header.iter().any(|h| h == "metadata.plan"), "{csv}");
    let record = reader.records().next().unwrap().unwrap();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&record[at("name")], "Ani, Jr");
    assert_eq!(&record[at("metadata.plan")], "pro");
    let csv = text(&plugipay(&sb, &["customers", "list", "--all", "--output", "csv"]).await);
    assert_eq!(
        csv::Reader::from_reader(csv.as_bytes()).records().count(),
        3
    );

    // A CSV export imports back, here and into another workspace.
    let book = file.with_file_name("book.csv");
    let book_arg = book.to_str().unwrap();
    let out = plugipay(
        &sb,
        &["customers", "export", "--output", "csv", "--out", book_arg],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let header = std::fs::read_to_string(&book).unwrap();
    let header = header.lines().next().unwrap();
    assert!(header.contains("metadata.plan") && header.contains("metadata.tier"));
    let again = plugipay(&sb, &["customers", "import", book_arg]).await;
    let err = stderr(&again);
    assert!(again.status.success(), "{err}");
    assert!(err.contains("0 created, 3 found, 0 failed"), "{err}");
    assert_eq!(err.matches("skipped keys").count(), 1, "{err}");
    let other = plugipay_command(sb.base_url(), &["customers", "import", book_arg])
        .env("PLUGIPAY_KEY_ID", PLATFORM_KEY_ID)
        .env("PLUGIPAY_SECRET", PLATFORM_SECRET)
        .env("PLUGIPAY_ON_BEHALF_OF", "acct_csv")
        .output()
        .await
        .unwrap();
    assert!(other.status.success(), "{}", stderr(&other));
    let copied = sb.customers("acct_csv");
    assert_eq!(copied.len(), 3);
    let c = copied
        .iter()
        .find(|c| c.external_id.as_deref() == Some("of_2"))
        .unwrap();
    assert_eq!(c.email.as_deref(), Some("b@example.com"));
    assert_eq!(c.metadata["tier"], "gold");
    assert!(
        !c.metadata.contains_key("plan"),
        "an empty cell is no entry"
    );

    // Quiet still shows errors.
    let bad = temp_file(
        "bad.jsonl",
        "{\"externalId\":\"of_9\",\"email\":\"nope\"}\n",
    );
    let out = plugipay(&sb, &["customers", "import", bad.to_str().unwrap(), "-q"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.jsonl:1: "), "{err}");
    assert!(!err.contains("read the book"), "{err}");
    let out = plugipay(&sb, &["-q", "customers", "get", "cus_nobody"]).await;
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

/// `--help` ends with typical invocations (`-h` stays short); `create`
/// takes a default payment token and `update` clears it.
#[tokio::test(flavor = "multi_thread")]
async fn help_examples_and_the_default_payment_token() {
    for command in [
        &["customers", "--help"][..],
        &["customers", "create", "--help"],
        &["customers", "update", "--help"],
        &["customers", "list", "--help"],
        &["customers", "export", "--help"],
        &["customers", "import", "--help"],
    ] {
        let out = crate::common::plugipay_bare()
            .args(command)
            .output()
            .await
            .unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "{command:?}");
        assert!(
            help.contains("Examples:\n  plugipay customers "),
            "{command:?}: {help}"
        );
    }
    let short = crate::common::plugipay_bare()
        .args(["customers", "create", "-h"])
        .output()
        .await
        .unwrap();
    let short = String::from_utf8(short.stdout).unwrap();
    assert!(!short.contains("Examples:"), "{short}");
    assert!(short.contains("--default-payment-token-id"), "{short}");

    let sb = sandbox(0).await;
    let created = stdout_json(
        &plugipay(
            &sb,
            &[
                "customers",
                "create",
                "--name",
                "Sari",
                "--default-payment-token-id",
                "pt_01HXAB7K3M9N2P5QRS8TVWXY3Z",
            ],
        )
        .await,
    );
    assert_eq!(
        created[0]["defaultPaymentTokenId"],
        "pt_01HXAB7K3M9N2P5QRS8TVWXY3Z"
    );
    let id = created[0]["id"].as_str().unwrap();
    let cleared = stdout_json(
        &plugipay(
            &sb,
            &[
                "customers",
                "update",
                id,
                "--clear-default-payment-token-id",
            ],
        )
        .await,
    );
    assert_eq!(cleared[0]["defaultPaymentTokenId"], Value::Null);
    assert_eq!(cleared[0]["name"], "Sari");
}

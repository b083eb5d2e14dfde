//! The `plugipay` binary against an in-process sandbox. The export, the
//! import round trip and the exit status of a reused Idempotency-Key run
//! under both published readings of Plugipay (`Dialect::ALL`).
//!
//! These tests measure other things than pacing and set up more than the
//! published rate limits allow quickly: their sandboxes run without them
//! (the limits themselves are tested in plugipay-sandbox's rate_limits.rs).

mod common;

use std::collections::HashSet;
use std::process::Output;

use common::{
    plugipay_at, plugipay_command, plugipay_without_credentials, sandbox, sandbox_speaking, stderr,
    temp_file,
};
use plugipay_sandbox::{
    Dialect, FaultKind, FaultProxy, Faults, PLATFORM_KEY_ID, PLATFORM_SECRET, ProxyFaults, Sandbox,
    TEST_ACCOUNT_ID, TEST_KEY_ID, TEST_SECRET,
};
use serde_json::Value;

async fn plugipay(sandbox: &Sandbox, args: &[&str]) -> Output {
    plugipay_at(sandbox.base_url(), args).await
}

fn stdout_json(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

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

#[tokio::test(flavor = "multi_thread")]
async fn import_twice_creates_nothing_new_and_reports_bad_rows_by_line() {
    let sb = sandbox(0).await;
    let rows = [
        r#"{"externalId":"imp_1","email":"one@example.com","metadata":{"src":"crm"}}"#,
        r#"{"externalId":"imp_2","name":"Two"}"#,
        r#"{"externalId":"imp_3","email":"not-an-email"}"#,
        "",
        r#"{"name":"no external id"}"#,
        r#"{"externalId":"imp_4","nickname":"unknown field"}"#,
        r#"{"externalId":"imp_5","phone":"+62"}"#,
    ];
    let file = temp_file("rows.jsonl", &rows.join("\n"));
    let file = file.to_str().unwrap();

    let first = plugipay(&sb, &["customers", "import", file, "--concurrency", "4"]).await;
    assert!(
        !first.status.success(),
        "bad rows make the exit status non-zero"
    );
    let err = stderr(&first);
    assert!(
        err.contains(&format!("{file}:3: ")) && err.contains("email"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:5: externalId is missing")),
        "{err}"
    );
    // A key neither the create request nor a customer answer has refuses
    // its row (its data would be lost), which is copied out with the others.
    assert!(
        err.contains(&format!(
            "{file}:6: not a customer row: unknown field \"nickname\""
        )),
        "{err}"
    );
    // Bad rows are reported in file order, whatever order they finished in.
    let at = |line: &str| err.find(&format!("{file}:{line}: ")).unwrap();
    assert!(at("3") < at("5") && at("5") < at("6"), "{err}");
    assert!(err.contains("3 created, 0 found, 3 failed"), "{err}");
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 3);
    let not_done = std::path::Path::new(file).with_file_name("rows.failed.jsonl");
    let not_done = std::fs::read_to_string(not_done).unwrap();
    assert!(
        not_done.contains("nickname") && not_done.lines().count() == 3,
        "{not_done}"
    );

    let second = plugipay(&sb, &["customers", "import", file]).await;
    assert!(
        stderr(&second).contains("0 created, 3 found, 3 failed"),
        "{}",
        stderr(&second)
    );
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 3);
    // The import runs rows concurrently: find imp_1 by its externalId, not
    // by its place in the book.
    let book = sb.customers(TEST_ACCOUNT_ID);
    let mut ids: Vec<_> = book.iter().filter_map(|c| c.external_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["imp_1", "imp_2", "imp_5"]);
    let one = book
        .iter()
        .find(|c| c.external_id.as_deref() == Some("imp_1"))
        .expect("imp_1 was imported");
    assert_eq!(one.metadata["src"], "crm");
}

#[tokio::test(flavor = "multi_thread")]
async fn import_csv_through_faults_makes_no_duplicates() {
    let sb = sandbox(0).await;
    let mut csv = String::from("externalId,email,name,metadata.tier\n");
    for i in 0..60 {
        csv.push_str(&format!("csv_{i},c{i}@example.com,Customer {i},gold\n"));
    }
    let file = temp_file("rows.csv", &csv);
    // Writes dropped after commit by the sandbox, and 500s and 503s from a
    // fault proxy in front of it.
    sb.set_faults(Faults {
        drop_after_commit_rate: 0.3,
        ..Faults::default()
    });
    let proxy = FaultProxy::start(
        sb.base_url(),
        ProxyFaults {
            rate: 0.1,
            kinds: vec![FaultKind::ServiceUnavailable, FaultKind::HtmlError],
            retry_after_secs: 0,
            seed: 3,
            ..ProxyFaults::default()
        },
    )
    .await
    .unwrap();
    let out = plugipay_at(
        proxy.base_url(),
        &[
            "--max-retries",
            "12",
            "customers",
            "import",
            file.to_str().unwrap(),
            "--concurrency",
            "16",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    sb.set_faults(Faults::default());
    assert!(proxy.counts().values().sum::<u64>() > 0, "faults were met");
    let book = sb.customers(TEST_ACCOUNT_ID);
    assert_eq!(book.len(), 60);
    let ids: HashSet<_> = book.iter().map(|c| c.external_id.clone()).collect();
    assert_eq!(ids.len(), 60);
    assert!(book.iter().all(|c| c.metadata["tier"] == "gold"));
    // A re-run finds everything.
    let again = plugipay(&sb, &["customers", "import", file.to_str().unwrap()]).await;
    assert!(
        stderr(&again).contains("0 created, 60 found, 0 failed"),
        "{}",
        stderr(&again)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn export_writes_the_whole_book() {
    for dialect in Dialect::ALL {
        let sb = sandbox_speaking(321, dialect).await;
        let dir = temp_file("placeholder", "");
        let out_file = dir.with_file_name("book.jsonl");
        let out = plugipay(
            &sb,
            &["customers", "export", "--out", out_file.to_str().unwrap()],
        )
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("exported 321 customers"),
            "{}",
            stderr(&out)
        );
        let text = std::fs::read_to_string(&out_file).unwrap();
        let ids: HashSet<_> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(ids.len(), 321);
        // To stdout as well, and as time ranges walked at once.
        let lines = stdout_json(&plugipay(&sb, &["customers", "export"]).await);
        assert_eq!(lines.len(), 321, "{dialect}");
        let ranged = stdout_json(&plugipay(&sb, &["customers", "export", "--parallel", "4"]).await);
        let ranged: HashSet<_> = ranged.iter().map(|c| c["id"].clone()).collect();
        assert_eq!(ranged.len(), 321, "{dialect}");
    }
}

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

    let out = common::plugipay_bare()
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

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_tells_the_story_and_exits_zero() {
    let out = common::plugipay_bare()
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
    use tokio::io::AsyncBufReadExt;
    let mut child = common::plugipay_bare()
        .args(["sandbox", "--addr", "127.0.0.1:0", "--seed-customers", "5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let line = tokio::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next_line()
        .await
        .unwrap()
        .unwrap();
    let base = line
        .strip_prefix("listening on ")
        .expect("the listening line")
        .to_owned();
    let out = common::plugipay_bare()
        .args(["customers", "list", "--all"])
        .env("PLUGIPAY_BASE_URL", &base)
        .env("PLUGIPAY_KEY_ID", TEST_KEY_ID)
        .env("PLUGIPAY_SECRET", TEST_SECRET)
        .output()
        .await
        .unwrap();
    assert_eq!(stdout_json(&out).len(), 5);
    child.kill().await.unwrap();
}

/// The import row's JSON Schema, printed without credentials, is the spec's
/// create request: the same fields, strings and a string map, nothing else.
#[tokio::test]
async fn the_import_row_schema_is_the_specs_create_request() {
    let out = plugipay_without_credentials(&["customers", "import", "--schema"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let spec: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../../../openapi/customers.yaml")).unwrap();
    let wanted = &spec["components"]["schemas"]["CreateCustomerRequest"]["properties"];
    let wanted: std::collections::BTreeMap<String, String> = wanted
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let kind = v["type"].as_str().unwrap_or("object").to_owned();
            (k.as_str().unwrap().to_owned(), kind)
        })
        .collect();
    let got: std::collections::BTreeMap<String, String> = schema["properties"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            // Optional fields are `["string", "null"]`; a map is an object.
            let kind = match &v["type"] {
                Value::String(t) => t.clone(),
                Value::Array(types) => types
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| *t != "null")
                    .unwrap_or_default()
                    .to_owned(),
                _ => String::new(),
            };
            (k.clone(), kind)
        })
        .collect();
    assert_eq!(got, wanted, "{schema}");
    assert_eq!(
        schema["additionalProperties"],
        Value::Bool(false),
        "{schema}"
    );
    assert_eq!(
        schema["required"],
        serde_json::json!(["externalId"]),
        "{schema}"
    );
    assert_eq!(
        schema["properties"]["metadata"]["additionalProperties"]["type"],
        "string"
    );
}

/// A failed export leaves the file it would have replaced as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_export_keeps_the_previous_file() {
    let sb = sandbox(30).await;
    let yesterday = "{\"id\":\"cus_yesterday\"}\n";
    let path = temp_file("book.jsonl", yesterday);
    let out = common::plugipay_bare()
        .args(["customers", "export", "--out", path.to_str().unwrap()])
        .env("PLUGIPAY_BASE_URL", sb.base_url())
        .env("PLUGIPAY_KEY_ID", TEST_KEY_ID)
        .env("PLUGIPAY_SECRET", "not-the-secret")
        .env_remove("PLUGIPAY_API_KEY")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("signature_invalid"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), yesterday);
    let dir: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        dir,
        vec![std::ffi::OsString::from("book.jsonl")],
        "no partial file left"
    );

    let out = plugipay(
        &sb,
        &["customers", "export", "--out", path.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(lines, 30, "a good export replaces it");
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

/// Import input that is not a file of rows gets one clear line; stdin, a
/// byte-order mark and repeated external ids are handled; errors are capped.
#[tokio::test(flavor = "multi_thread")]
async fn import_input_is_checked() {
    let sb = sandbox(0).await;
    let dir = temp_file("x.jsonl", "").parent().unwrap().to_owned();
    let out = plugipay(&sb, &["customers", "import", dir.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));

    let binary = temp_file("blob.jsonl", "\u{0}\u{1}\u{2}garbage\n");
    let out = plugipay(&sb, &["customers", "import", binary.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("looks binary"), "{}", stderr(&out));

    // A byte-order mark, then a repeated externalId with other data.
    let rows = "\u{feff}{\"externalId\":\"bom_1\",\"name\":\"A\"}\n\
                {\"externalId\":\"bom_2\"}\n\
                {\"externalId\":\"bom_1\",\"name\":\"B\"}\n";
    let file = temp_file("bom.jsonl", rows);
    let out = plugipay(&sb, &["customers", "import", file.to_str().unwrap()]).await;
    assert!(!out.status.success(), "the repeat is an error");
    let err = stderr(&out);
    assert!(
        err.contains("bom.jsonl:3: externalId \"bom_1\" repeats line 1"),
        "{err}"
    );
    assert!(err.contains("2 created, 0 found, 1 failed"), "{err}");
    let names: HashSet<_> = sb
        .customers(TEST_ACCOUNT_ID)
        .into_iter()
        .filter_map(|c| c.name)
        .collect();
    assert_eq!(
        names,
        HashSet::from(["A".to_owned()]),
        "the first row's data stands"
    );

    // Standard input.
    let mut child = plugipay_command(sb.base_url(), &["customers", "import", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"{\"externalId\":\"stdin_1\"}\n{\"externalId\":\"stdin_2\"}\n")
            .await
            .unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 created"), "{}", stderr(&out));

    // Many bad rows: the first 20 are shown, the rest counted.
    let bad: String = (0..50).map(|i| format!("not json {i}\n")).collect();
    let file = temp_file("bad.jsonl", &bad);
    let out = plugipay(&sb, &["customers", "import", file.to_str().unwrap()]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(
        err.lines().filter(|l| l.contains("bad.jsonl:")).count(),
        20,
        "{err}"
    );
    assert!(
        err.contains("… and 30 more rows not done, not shown"),
        "{err}"
    );
    assert!(err.contains("0 created, 0 found, 50 failed"), "{err}");
    // All 50 are copied out as they were, ready to be fixed and imported.
    let not_done = file.with_file_name("bad.failed.jsonl");
    assert!(
        err.contains(&format!(
            "the 50 rows not done are in {}",
            not_done.display()
        )),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&not_done).unwrap(), bad);
    // A second run never overwrites the first run's file.
    let out = plugipay(&sb, &["customers", "import", file.to_str().unwrap()]).await;
    assert!(
        stderr(&out).contains("bad.failed-2.jsonl"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&not_done).unwrap(), bad);

    // A rows-not-done file that cannot be made (its name is one the file
    // system refuses as too long) stops nothing: every row is still
    // imported, and the end says the rows not done are in no file.
    let name = format!("{}.jsonl", "x".repeat(245));
    let rows = "not json\n{\"externalId\":\"after_the_bad_row\"}\nnot json either\n";
    let file = temp_file(&name, rows);
    let out = plugipay(&sb, &["customers", "import", file.to_str().unwrap()]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("1 created, 0 found, 2 failed"), "{err}");
    assert!(err.contains("cannot write the rows not done to"), "{err}");
    assert!(
        err.contains("the 2 rows not done are not all in a file: import the whole file again"),
        "{err}"
    );

    // CSV: the rows not done go out under the same header.
    let csv = "externalId,name,metadata.plan\r\ncsv_1,Ani,pro\r\n,Nameless,free\r\ncsv_3,\"Budi, Jr\",pro\r\n";
    let file = temp_file("book.csv", csv);
    let out = plugipay(&sb, &["customers", "import", file.to_str().unwrap()]).await;
    assert!(
        stderr(&out).contains("2 created, 0 found, 1 failed"),
        "{}",
        stderr(&out)
    );
    let not_done = std::fs::read_to_string(file.with_file_name("book.failed.csv")).unwrap();
    assert_eq!(not_done, "externalId,name,metadata.plan\n,Nameless,free\n");
}

/// Runs `plugipay args` (no connection settings) writing its stdout to
/// `stdout`, its stderr captured.
async fn with_stdout(args: &[&str], stdout: impl Into<std::process::Stdio>) -> Output {
    common::plugipay_bare()
        .args(args)
        .env_remove("PLUGIPAY_BASE_URL")
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        // Not `output()`, which would capture stdout in a pipe of its own.
        .spawn()
        .unwrap()
        .wait_with_output()
        .await
        .unwrap()
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

/// A CSV saved by Excel: a byte-order mark and CRLF line endings. Bad rows
/// are reported at their real line.
#[tokio::test(flavor = "multi_thread")]
async fn a_crlf_csv_with_a_bom_reports_real_lines() {
    let sb = sandbox(0).await;
    let csv = "\u{feff}externalId,email,metadata.plan\r\n\
               csv_1,a@example.com,pro\r\n\
               csv_2,not-an-email,pro\r\n\
               csv_3,c@example.com,\r\n";
    let file = temp_file("excel.csv", csv);
    let out = plugipay(&sb, &["customers", "import", file.to_str().unwrap()]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("excel.csv:3: Plugipay API error validation_error"),
        "{err}"
    );
    assert!(err.contains("2 created, 0 found, 1 failed"), "{err}");
    let plans: Vec<_> = sb
        .customers(TEST_ACCOUNT_ID)
        .into_iter()
        .filter_map(|c| c.metadata.get("plan").cloned())
        .collect();
    assert_eq!(plans, ["pro"], "an empty cell is left out");
}

/// 100 CRM rows, the first `changed` of them with a new name (and every
/// third of those with a new metadata entry too).
fn crm_rows(changed: usize) -> String {
    (0..100)
        .map(|i| {
            let (name, extra) = match i < changed {
                true if i % 3 == 0 => (format!("Renamed {i}"), r#","tier":"gold""#),
                true => (format!("Renamed {i}"), ""),
                false => (format!("Customer {i}"), ""),
            };
            format!(
                r#"{{"externalId":"crm_{i:03}","name":"{name}","email":"c{i}@example.com","metadata":{{"src":"crm"{extra}}}}}"#
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn import_update_syncs_only_what_changed() {
    let sb = sandbox(0).await;
    let original = temp_file("crm.jsonl", &crm_rows(0));
    let first = plugipay(&sb, &["customers", "import", original.to_str().unwrap()]).await;
    assert!(
        stderr(&first).contains("100 created, 0 found, 0 failed"),
        "{}",
        stderr(&first)
    );
    // An operator archived one: a sync must keep metadata keys rows do not name.
    let book = sb.customers(TEST_ACCOUNT_ID);
    let crm_000 = book
        .iter()
        .find(|c| c.external_id.as_deref() == Some("crm_000"))
        .unwrap();
    let archived = plugipay(&sb, &["customers", "archive", &crm_000.id]).await;
    assert!(archived.status.success(), "{}", stderr(&archived));

    let changed = temp_file("crm.jsonl", &crm_rows(10));
    let changed = changed.to_str().unwrap();
    let before = sb.customers(TEST_ACCOUNT_ID);

    // A dry run lists the ten rows and writes nothing.
    let dry = plugipay(
        &sb,
        &["customers", "import", changed, "--update", "--dry-run"],
    )
    .await;
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(
        stderr(&dry).contains(
            "nothing written: 100 rows: 0 to create, 10 to update, 90 unchanged, 0 failed"
        ),
        "{}",
        stderr(&dry)
    );
    let plan = String::from_utf8(dry.stdout.clone()).unwrap();
    let planned: HashSet<&str> = plan.lines().collect();
    assert_eq!(planned.len(), 10, "{plan}");
    assert!(
        planned.iter().all(|l| l.contains(": update crm_00")),
        "{plan}"
    );
    let crm_003 = before
        .iter()
        .find(|c| c.external_id.as_deref() == Some("crm_003"))
        .unwrap();
    assert!(
        planned
            .contains(format!(
                "line 4: update crm_003 ({}): name \"Customer 3\" → \"Renamed 3\", metadata.tier (none) → \"gold\"",
                crm_003.id
            ).as_str()),
        "{plan}"
    );
    assert_eq!(
        sb.customers(TEST_ACCOUNT_ID),
        before,
        "a dry run writes nothing"
    );

    let sync = plugipay(&sb, &["customers", "import", changed, "--update"]).await;
    assert!(sync.status.success(), "{}", stderr(&sync));
    assert!(
        stderr(&sync).contains("100 rows in")
            && stderr(&sync).contains("0 created, 10 updated, 90 unchanged, 0 failed"),
        "{}",
        stderr(&sync)
    );
    let again = plugipay(&sb, &["customers", "import", changed, "--update"]).await;
    assert!(
        stderr(&again).contains("0 created, 0 updated, 100 unchanged, 0 failed"),
        "{}",
        stderr(&again)
    );

    let after = sb.customers(TEST_ACCOUNT_ID);
    assert_eq!(after.len(), 100);
    let by_external = |id: &str| {
        after
            .iter()
            .find(|c| c.external_id.as_deref() == Some(id))
            .unwrap()
            .clone()
    };
    let c0 = by_external("crm_000");
    assert_eq!(c0.name.as_deref(), Some("Renamed 0"));
    assert_eq!(c0.metadata["tier"], "gold");
    assert_eq!(
        c0.metadata["archived"], "true",
        "keys rows do not name are kept"
    );
    assert_eq!(by_external("crm_005").name.as_deref(), Some("Renamed 5"));
    assert_eq!(by_external("crm_050").name.as_deref(), Some("Customer 50"));
    // Unchanged customers were not written to at all.
    let untouched = before
        .iter()
        .find(|c| c.external_id.as_deref() == Some("crm_050"))
        .unwrap();
    assert_eq!(by_external("crm_050").updated_at, untouched.updated_at);
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

/// A dry run points out, by line, rows past the limits Plugipay publishes,
/// before anything is sent for them.
#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_flags_rows_past_published_limits() {
    let sb = sandbox(0).await;
    let long = "n".repeat(256);
    let rows = [
        r#"{"externalId":"ok_1","name":"Fine"}"#.to_owned(),
        format!(r#"{{"externalId":"long_name","name":"{long}"}}"#),
        format!(r#"{{"externalId":"{long}"}}"#),
        r#"{"externalId":"tok","defaultPaymentTokenId":"ptok_1","phone":""}"#.to_owned(),
    ]
    .join("\n");
    let file = temp_file("limits.jsonl", &rows);
    let path = file.to_str().unwrap();
    let out = plugipay(&sb, &["customers", "import", path, "--dry-run"]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{path}:2: the server will refuse this row (published limits): name has 256 \
             characters; at most 255 are allowed"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{path}:3: ")) && err.contains("externalId has 256"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{path}:4: "))
            && err.contains("defaultPaymentTokenId must start with `pt_`")
            && err.contains("phone has 0 characters; at least 1 are needed"),
        "{err}"
    );
    assert!(
        err.contains("1 to create") && err.contains("3 failed"),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "line 1: create ok_1",
        "only the good row is planned"
    );
    assert_eq!(
        sb.customer_count(TEST_ACCOUNT_ID),
        0,
        "a dry run writes nothing"
    );
}

/// An import learns which rows exist by reading the book (one walk: pages of
/// 100), so a re-run writes nothing and a sync writes only the rows that
/// changed: reads are five times cheaper than writes against the live
/// API's rate limits.
#[tokio::test(flavor = "multi_thread")]
async fn a_re_import_reads_instead_of_writing() {
    let sb = sandbox(0).await;
    // A pass-through proxy counts what reaches the sandbox.
    let proxy = plugipay_sandbox::FaultProxy::start(sb.base_url(), Default::default())
        .await
        .unwrap();
    let rows = temp_file("crm.jsonl", &crm_rows(0));
    let rows = rows.to_str().unwrap();
    let first = plugipay_at(proxy.base_url(), &["customers", "import", rows]).await;
    assert!(stderr(&first).contains("100 created"), "{}", stderr(&first));
    assert!(stderr(&first).contains("read the book: 0 of the 100 rows' customers exist"));
    let after_first = proxy.requests();
    assert!(
        after_first <= 103,
        "one create per row and a short walk: {after_first}"
    );

    let again = plugipay_at(proxy.base_url(), &["customers", "import", rows]).await;
    assert!(
        stderr(&again).contains("0 created, 100 found, 0 failed"),
        "{}",
        stderr(&again)
    );
    let reads = proxy.requests() - after_first;
    assert!(
        reads <= 20,
        "a walk of one or two pages per range, no write: {reads} requests"
    );

    let changed = temp_file("changed.jsonl", &crm_rows(10));
    let before = proxy.requests();
    let sync = plugipay_at(
        proxy.base_url(),
        &["customers", "import", changed.to_str().unwrap(), "--update"],
    )
    .await;
    assert!(
        stderr(&sync).contains("0 created, 10 updated, 90 unchanged, 0 failed"),
        "{}",
        stderr(&sync)
    );
    let requests = proxy.requests() - before;
    // The rows that change metadata (one in three) read their customer
    // again before writing it (find + GET), so keys written since the walk
    // are kept.
    assert!(
        requests <= 40,
        "ten PATCHes, eight fresh reads and a walk: {requests} requests"
    );
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 100);
}

/// What `export` writes, `import` reads: the answer-only fields are left
/// out with one note, into the same workspace (every row found, or
/// unchanged) or another one (every row created).
#[tokio::test(flavor = "multi_thread")]
async fn an_export_imports_back() {
    for dialect in Dialect::ALL {
        let sb = sandbox_speaking(0, dialect).await;
        let rows: String = (0..40)
            .map(|i| {
                let phone = if i % 2 == 0 { format!(",\"phone\":\"+62{i}\"") } else { String::new() };
                format!(
                    "{{\"externalId\":\"rt_{i:03}\",\"name\":\"N {i}\"{phone},\"metadata\":{{\"k\":\"{i}\"}}}}\n"
                )
            })
            .collect();
        let source = temp_file("source.jsonl", &rows);
        let out = plugipay(&sb, &["customers", "import", source.to_str().unwrap()]).await;
        assert!(out.status.success(), "{}", stderr(&out));

        let book = source.with_file_name("book.jsonl");
        let book_arg = book.to_str().unwrap();
        let out = plugipay(&sb, &["customers", "export", "--out", book_arg]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let first: Value = serde_json::from_str(
            std::fs::read_to_string(&book)
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        assert!(first["accountId"].is_string() && first["createdAt"].is_string());

        let again = plugipay(&sb, &["customers", "import", book_arg]).await;
        let err = stderr(&again);
        assert!(again.status.success(), "{err}");
        assert!(err.contains("0 created, 40 found, 0 failed"), "{err}");
        let notes: Vec<_> = err.lines().filter(|l| l.contains("skipped keys")).collect();
        assert_eq!(notes.len(), 1, "{err}");
        for key in ["id", "accountId", "createdAt", "updatedAt"] {
            assert!(notes[0].contains(key), "{err}");
        }
        assert!(!notes[0].contains("externalId"), "{err}");
        let sync = plugipay(&sb, &["customers", "import", book_arg, "--update"]).await;
        assert!(sync.status.success(), "{}", stderr(&sync));
        assert!(
            stderr(&sync).contains("0 created, 0 updated, 40 unchanged"),
            "{}",
            stderr(&sync)
        );
        assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 40);

        // Another workspace, through the platform key.
        let other = plugipay_command(sb.base_url(), &["customers", "import", book_arg])
            .env("PLUGIPAY_KEY_ID", PLATFORM_KEY_ID)
            .env("PLUGIPAY_SECRET", PLATFORM_SECRET)
            .env("PLUGIPAY_ON_BEHALF_OF", "acct_elsewhere")
            .output()
            .await
            .unwrap();
        assert!(other.status.success(), "{}", stderr(&other));
        assert!(
            stderr(&other).contains("40 created, 0 found, 0 failed"),
            "{}",
            stderr(&other)
        );
        let copied = sb.customers("acct_elsewhere");
        assert_eq!(copied.len(), 40);
        let c = copied
            .iter()
            .find(|c| c.external_id.as_deref() == Some("rt_002"))
            .unwrap();
        assert_eq!(c.phone.as_deref(), Some("+622"));
        assert_eq!(c.name.as_deref(), Some("N 2"));
        assert_eq!(c.metadata["k"], "2");
        assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 40);
    }
}

/// SIGINT in the middle of an import (and of a sync): no new rows are
/// sent, the counts so far and the rows not done are written out, the
/// exit status is 130, and running it again finishes the book with no
/// customer twice.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_import_stops_cleanly_and_a_rerun_converges() {
    const ROWS: usize = 400;
    let rows: String = (0..ROWS)
        .map(|i| format!("{{\"externalId\":\"int_{i:04}\",\"name\":\"N{i}\"}}\n"))
        .collect();
    let file = temp_file("big.jsonl", &rows);
    let file_arg = file.to_str().unwrap();
    for update in [false, true] {
        // Latency on every request keeps the import running long enough
        // to be interrupted in the middle.
        let sb = Sandbox::start(common::unpaced().faults(Faults {
            latency: std::time::Duration::from_millis(10),
            ..Faults::default()
        }))
        .await
        .unwrap();
        let mut args = vec!["customers", "import", file_arg, "--concurrency", "2"];
        if update {
            args.push("--update");
        }
        let child = plugipay_command(sb.base_url(), &args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Progress, read from the server: some rows are in (polled, as
        // the sandbox announces no count; bounded, so an import that died
        // early fails the test instead of hanging it).
        tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while sb.customer_count(TEST_ACCOUNT_ID) < 10 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the import makes progress");
        let pid = child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-s", "INT", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().await.unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(err.contains("import interrupted by SIGINT"), "{err}");
        assert!(err.contains("a rerun is safe"), "{err}");
        let verb = if update { "synced" } else { "imported" };
        assert!(err.contains(&format!("{verb} ")), "{err}");
        let on_server = sb.customer_count(TEST_ACCOUNT_ID);
        assert!(on_server < ROWS, "stopped before the end: {err}");
        // The rows not done are copied out; with those on the server they
        // cover the whole file.
        let said = err
            .lines()
            .find_map(|l| l.split(" rows not done are in ").nth(1))
            .unwrap_or_else(|| panic!("{err}"));
        let not_done_path = said.split(':').next().unwrap();
        let not_done = std::fs::read_to_string(not_done_path).unwrap();
        assert!(on_server + not_done.lines().count() >= ROWS, "{err}");
        // The copied rows, imported, finish the book.
        let rest = plugipay(&sb, &["customers", "import", not_done_path]).await;
        assert!(rest.status.success(), "{}", stderr(&rest));
        assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), ROWS);
        std::fs::remove_file(not_done_path).unwrap();
        // The whole file again: every row there once.
        let out = plugipay(&sb, &["customers", "import", file_arg]).await;
        assert!(
            stderr(&out).contains(&format!("0 created, {ROWS} found")),
            "{}",
            stderr(&out)
        );
        let ids: HashSet<_> = sb
            .customers(TEST_ACCOUNT_ID)
            .into_iter()
            .filter_map(|c| c.external_id)
            .collect();
        assert_eq!(ids.len(), ROWS);
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
    let half = common::plugipay_bare()
        .args(["--key-id", "ak_test_x", "customers", "list"])
        .env_remove("PLUGIPAY_KEY_ID")
        .env_remove("PLUGIPAY_SECRET")
        .env_remove("PLUGIPAY_API_KEY")
        .output()
        .await
        .unwrap();
    assert_eq!(half.status.code(), Some(1), "{}", stderr(&half));
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

/// A CSV header is checked once against the row's schema: every unknown
/// column named, the valid ones listed, `--schema` mentioned, and no row
/// sent.
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_csv_column_is_one_error() {
    let sb = sandbox(0).await;
    let rows: String = std::iter::once("externalId,emial,nickname,metadata.plan\n".to_owned())
        .chain((0..30).map(|i| format!("h_{i},a@example.com,N,pro\n")))
        .collect();
    let file = temp_file("crm.csv", &rows);
    let out = plugipay(&sb, &["customers", "import", file.to_str().unwrap()]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    for part in [
        "\"emial\"",
        "\"nickname\"",
        "email",
        "externalId",
        "--schema",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 0);
}

/// `-v` (or `PLUGIPAY_LOG=debug`) shows each call's attempts, retries and
/// rate budget on stderr, and never the secret; without it, none of that.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_shows_attempts_and_retries_but_no_secret() {
    // The published rate limits: every answer says what budget is left.
    let sb = Sandbox::start(
        common::unpaced()
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
    let from_env = common::plugipay_bare()
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
        let mut command = common::plugipay_bare();
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
        let out = common::plugipay_bare()
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
    let empty = common::plugipay_bare()
        .args(["sandbox", "--forward-to", "http://127.0.0.1:9/x"])
        .env("PLUGIPAY_WEBHOOK_SECRET", "")
        .output()
        .await
        .unwrap();
    assert_eq!(empty.status.code(), Some(2), "{}", stderr(&empty));
    assert!(stderr(&empty).contains("empty"), "{}", stderr(&empty));

    use tokio::io::AsyncBufReadExt as _;
    let mut child = common::plugipay_bare()
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

/// Runs `plugipay` with its profiles in `dir`, no credentials in its
/// environment but `env`, and `stdin` on its standard input.
async fn with_profiles(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Output {
    use tokio::io::AsyncWriteExt as _;
    let mut command = common::plugipay_bare();
    command
        .args(args)
        .env("PLUGIPAY_CONFIG_DIR", dir)
        .env_remove("PLUGIPAY_KEY_ID")
        .env_remove("PLUGIPAY_SECRET")
        .env_remove("PLUGIPAY_API_KEY")
        .env_remove("PLUGIPAY_BASE_URL")
        .env_remove("PLUGIPAY_ON_BEHALF_OF")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // A command refused before it reads its input may have exited already:
    // the pipe is then closed, which says nothing about the command.
    match input.write_all(stdin.as_bytes()).await {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing stdin: {e}"),
        _ => {}
    }
    drop(input);
    child.wait_with_output().await.unwrap()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Profiles as Plugipay's CLI keeps them: `config.json` and
/// `config-NAME.json`, written 0600 in a 0700 directory; precedence flag >
/// variable > file > default; `config show` never prints a secret.
#[tokio::test(flavor = "multi_thread")]
async fn profiles_and_their_precedence() {
    let sb = sandbox(0).await;
    let dir = common::config_dir().join("nested");
    let base: &'static str = sb.base_url().to_owned().leak();
    let run = |args: &[&str], env: Vec<(&'static str, String)>, stdin: &'static str| {
        let dir = dir.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            with_profiles(&dir, &args, &env, stdin).await
        }
    };
    let ok = |out: &Output| {
        assert!(out.status.success(), "{}", stderr(out));
        String::from_utf8(out.stdout.clone()).unwrap()
    };

    // Paths: the default profile, a named one by flag or by variable.
    let path = ok(&run(&["config", "path"], vec![], "").await);
    assert_eq!(path.trim(), dir.join("config.json").to_str().unwrap());
    let named = ok(&run(&["--profile", "staging", "config", "path"], vec![], "").await);
    assert_eq!(
        named.trim(),
        dir.join("config-staging.json").to_str().unwrap()
    );
    let by_env = ok(&run(
        &["config", "path"],
        vec![("PLUGIPAY_PROFILE", "staging".into())],
        "",
    )
    .await);
    assert_eq!(by_env, named);
    let bad = run(&["--profile", "../x", "config", "path"], vec![], "").await;
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));

    // Nothing anywhere: exit 3, naming the profile as a way out.
    let none = run(&["customers", "list"], vec![], "").await;
    assert_eq!(none.status.code(), Some(3), "{}", stderr(&none));
    assert!(
        stderr(&none).contains("plugipay config set"),
        "{}",
        stderr(&none)
    );

    // The default profile: the secret from stdin, never on the command line.
    ok(&run(&["config", "set", "keyId", TEST_KEY_ID], vec![], "").await);
    ok(&run(&["config", "set", "secret", "-"], vec![], "sk_test_wrong\n").await);
    ok(&run(&["config", "set", "base-url", base], vec![], "").await);
    let file = dir.join("config.json");
    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["keyId"], TEST_KEY_ID);
    assert_eq!(saved["baseUrl"], sb.base_url());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "config.json")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The file's secret is wrong: the variable's wins over it, a flag's
    // over the variable's.
    let out = run(&["customers", "list"], vec![], "").await;
    assert!(
        stderr(&out).contains("signature_invalid"),
        "{}",
        stderr(&out)
    );
    ok(&run(
        &["customers", "list"],
        vec![("PLUGIPAY_SECRET", TEST_SECRET.into())],
        "",
    )
    .await);
    let out = run(
        &["customers", "list"],
        vec![("PLUGIPAY_SECRET", "sk_test_also_wrong".into())],
        "",
    )
    .await;
    assert!(
        stderr(&out).contains("signature_invalid"),
        "{}",
        stderr(&out)
    );
    ok(&run(
        &["--secret", TEST_SECRET, "customers", "list"],
        vec![("PLUGIPAY_SECRET", "sk_test_also_wrong".into())],
        "",
    )
    .await);
    // --secret-stdin: one line of standard input.
    ok(&run(
        &["--secret-stdin", "customers", "list"],
        vec![],
        "sk_test_sandbox\n",
    )
    .await);
    let both = run(
        &["--secret-stdin", "customers", "import", "-"],
        vec![],
        "x\n",
    )
    .await;
    // Two readers of one stdin: a bad invocation.
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    // A setting's value it cannot take: a bad invocation (and the next
    // commands still read the profile as it was).
    for (key, value) in [("maxRetries", "many"), ("timeout", "soon"), ("keyId", " ")] {
        let out = run(&["config", "set", key, value], vec![], "").await;
        assert_eq!(out.status.code(), Some(2), "{key}: {}", stderr(&out));
    }
    ok(&run(&["config", "set", "secret", TEST_SECRET], vec![], "").await);
    ok(&run(&["customers", "list"], vec![], "").await);
    // The base URL likewise: a variable over the file, a flag over both.
    let dead = "http://127.0.0.1:9";
    let out = run(
        &["customers", "list", "--max-retries", "0"],
        vec![("PLUGIPAY_BASE_URL", dead.into())],
        "",
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    ok(&run(
        &["--base-url", base, "customers", "list"],
        vec![("PLUGIPAY_BASE_URL", dead.into())],
        "",
    )
    .await);

    // show: each setting, where it comes from; no secret.
    let shown = ok(&run(
        &["--base-url", base, "config", "show"],
        vec![("PLUGIPAY_ON_BEHALF_OF", TEST_ACCOUNT_ID.into())],
        "",
    )
    .await);
    assert!(!shown.contains(TEST_SECRET), "{shown}");
    let line = |key: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("{key}: {shown}"))
            .to_owned()
    };
    assert!(
        line("keyId").contains(TEST_KEY_ID) && line("keyId").ends_with("file"),
        "{shown}"
    );
    assert!(line("secret").contains("(redacted)"), "{shown}");
    assert!(line("baseUrl").ends_with("--base-url"), "{shown}");
    assert!(
        line("onBehalfOf").ends_with("PLUGIPAY_ON_BEHALF_OF"),
        "{shown}"
    );
    assert!(line("maxRetries").ends_with("default"), "{shown}");

    // A named profile with an API key; the default profile is untouched.
    ok(&run(
        &["--profile", "bearer", "config", "set", "apiKey", "-"],
        vec![],
        "pk_test_sandbox\n",
    )
    .await);
    ok(&run(
        &["config", "set", "baseUrl", base],
        vec![("PLUGIPAY_PROFILE", "bearer".into())],
        "",
    )
    .await);
    ok(&run(
        &["customers", "list"],
        vec![("PLUGIPAY_PROFILE", "bearer".into())],
        "",
    )
    .await);
    let bearer: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config-bearer.json")).unwrap())
            .unwrap();
    assert_eq!(bearer["apiKey"], "pk_test_sandbox");
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("config-bearer.json")), 0o600);
    let shown = ok(&run(&["--profile", "bearer", "config", "show"], vec![], "").await);
    assert!(
        shown.contains("pk_test_(redacted)") && !shown.contains("pk_test_sandbox"),
        "{shown}"
    );
    // Credentials of the other kind from the environment are not mixed
    // with the file's.
    ok(&run(
        &["--profile", "bearer", "customers", "list"],
        vec![
            ("PLUGIPAY_KEY_ID", TEST_KEY_ID.into()),
            ("PLUGIPAY_SECRET", TEST_SECRET.into()),
        ],
        "",
    )
    .await);
    // A profile that does not exist is an error, not the default.
    let out = run(&["--profile", "nope", "customers", "list"], vec![], "").await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no profile \"nope\""),
        "{}",
        stderr(&out)
    );

    // unset; a file others can read is warned about.
    ok(&run(&["config", "unset", "secret"], vec![], "").await);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(saved.get("secret").is_none() && saved["keyId"] == TEST_KEY_ID);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = run(&["config", "show"], vec![], "").await;
        assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
        ok(&run(&["config", "set", "maxRetries", "1"], vec![], "").await);
        assert_eq!(mode(&file), 0o600, "a rewrite makes it private again");
    }
}

/// A settings file that cannot be read or written is an error saying so,
/// and destroys nothing: the directory and its files are as they were,
/// with no temporary file left behind. (File modes are no obstacle to
/// root, so the failures come from what the paths are.)
#[tokio::test(flavor = "multi_thread")]
async fn a_config_change_that_fails_loses_nothing() {
    // The profile's file is a directory (with a file in it).
    let dir = common::config_dir().join("blocked");
    std::fs::create_dir_all(dir.join("config.json")).unwrap();
    std::fs::write(dir.join("config.json").join("keep"), "mine").unwrap();
    std::fs::write(
        dir.join("config-other.json"),
        "{\"keyId\": \"ak_test_other\"}\n",
    )
    .unwrap();
    let before = listing(&dir);
    let out = with_profiles(&dir, &["config", "set", "keyId", "ak_test_x"], &[], "").await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("config.json"), "{}", stderr(&out));
    assert_eq!(listing(&dir), before, "nothing added, removed or changed");

    // The settings directory's parent is a file.
    let base = common::config_dir();
    std::fs::create_dir_all(&base).unwrap();
    let file = base.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let out = with_profiles(
        &file.join("sub"),
        &["config", "set", "keyId", "ak_test_x"],
        &[],
        "",
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("a-file"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

/// Every path under `dir` with its contents (files) or `/` (directories).
fn listing(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                all.push((name, "/".to_owned()));
                todo.push(path);
            } else {
                all.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    all.sort();
    all
}

/// `plugipay completions SHELL` prints a script that knows the commands.
#[tokio::test(flavor = "multi_thread")]
async fn completion_scripts_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = common::plugipay_bare()
            .args(["completions", shell])
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("customers"), "{shell}: {script}");
    }
    let bash = common::plugipay_bare()
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
    let out = common::plugipay_bare()
        .args(["completions", "tcsh"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
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
        let out = common::plugipay_bare()
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
    let short = common::plugipay_bare()
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

/// Bulk work runs at a share of the rate limits (80 % unless told) and
/// says so: the import's summary and `-v` give the rate it allowed itself
/// and why; `--rate-share` and the profile's `rateShare` set it; a share
/// that is none is a bad invocation.
#[tokio::test(flavor = "multi_thread")]
async fn bulk_work_says_its_share_of_the_limits() {
    // The published limits, as the live API has them.
    let sb = Sandbox::start(plugipay_sandbox::SandboxConfig::new())
        .await
        .unwrap();
    let rows: String = (0..30)
        .map(|i| format!("{{\"externalId\":\"share_{i}\",\"name\":\"N {i}\"}}\n"))
        .collect();
    let file = temp_file("rows.jsonl", &rows);
    let out = plugipay(&sb, &["-v", "customers", "import", file.to_str().unwrap()]).await;
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("writes at most 16/s (80% of the 20/s write limit)"),
        "{err}"
    );
    assert!(
        err.contains("bulk work draws at most 16.0 requests a second"),
        "{err}"
    );

    let out = plugipay(
        &sb,
        &[
            "--rate-share",
            "10/s",
            "customers",
            "export",
            "--out",
            file.with_file_name("book.jsonl").to_str().unwrap(),
        ],
    )
    .await;
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("reads at most 10/s (10/s of the 100/s read limit)"),
        "{err}"
    );

    let whole = plugipay(&sb, &["--rate-share", "1", "customers", "export"]).await;
    assert!(
        stderr(&whole).contains("reads the whole 100/s read limit"),
        "{}",
        stderr(&whole)
    );
    for bad in ["0", "150%", "fast", "-2/s"] {
        let out = plugipay(&sb, &["--rate-share", bad, "customers", "list"]).await;
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
}

/// `plugipay api OPERATION NAME=VALUE …`: any operation of the spec by its
/// operationId, through the same pipeline; parameters the spec refuses
/// exit 2 before the network.
#[tokio::test(flavor = "multi_thread")]
async fn the_api_command_reaches_any_operation() {
    let sb = sandbox(130).await;
    let listed = plugipay(&sb, &["api", "list_customers", "--all"]).await;
    let book = stdout_json(&listed);
    assert_eq!(book.len(), 130);
    let id = book[0]["id"].as_str().unwrap();
    let one = stdout_json(&plugipay(&sb, &["api", "get_customer", &format!("id={id}")]).await);
    assert_eq!(one[0]["id"], id);
    let page = plugipay(&sb, &["api", "list_customers", "limit=5"]).await;
    assert_eq!(stdout_json(&page).len(), 5);
    assert!(stderr(&page).contains("--cursor"), "{}", stderr(&page));

    let created = plugipay(
        &sb,
        &[
            "api",
            "create_customer",
            "--body",
            r#"{"name":"Via api","externalId":"api_1"}"#,
            "--idempotency-key",
            "api-once",
        ],
    )
    .await;
    let created = stdout_json(&created);
    assert_eq!(created[0]["name"], "Via api");
    let again = plugipay(
        &sb,
        &[
            "api",
            "create_customer",
            "--body",
            r#"{"name":"Other"}"#,
            "--idempotency-key",
            "api-once",
        ],
    )
    .await;
    assert_eq!(again.status.code(), Some(64), "{}", stderr(&again));
    let deleted = plugipay(
        &sb,
        &[
            "api",
            "delete_customer",
            &format!("id={}", created[0]["id"].as_str().unwrap()),
        ],
    )
    .await;
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 130);

    for bad in [
        &["api", "list_customers", "limit=101"][..],
        &["api", "get_customer"][..],
        &["api", "list_customers", "nope=1"][..],
        &["api", "not_an_operation"][..],
    ] {
        let out = plugipay_at("http://127.0.0.1:9", bad).await;
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    let help = plugipay(&sb, &["api", "--help"]).await;
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for op in plugipay::api::endpoints::OPERATIONS {
        assert!(help.contains(op.id), "{} missing from {help}", op.id);
    }
}

/// `--output csv --columns …` writes each row as it comes, in the columns
/// named (customer fields and metadata.KEY); without it a list's CSV says
/// its rows come at the end; an unknown column is a bad invocation.
#[tokio::test(flavor = "multi_thread")]
async fn csv_columns_named_up_front_stream() {
    let sb = sandbox(0).await;
    for (i, plan) in ["pro", "free"].iter().enumerate() {
        let out = plugipay(
            &sb,
            &[
                "customers",
                "create",
                "--email",
                &format!("c{i}@example.com"),
                "--metadata",
                &format!("plan={plan}"),
            ],
        )
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let args = [
        "customers",
        "export",
        "--output",
        "csv",
        "--columns",
        "email,metadata.plan,id",
    ];
    let out = plugipay(&sb, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.remove(0), "email,metadata.plan,id");
    lines.sort_unstable();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("c0@example.com,pro,cus_"), "{text}");
    assert!(lines[1].starts_with("c1@example.com,free,cus_"), "{text}");
    assert!(!stderr(&out).contains("come once"), "{}", stderr(&out));

    let waiting = plugipay(&sb, &["customers", "list", "--all", "--output", "csv"]).await;
    assert!(
        stderr(&waiting).contains("--columns"),
        "{}",
        stderr(&waiting)
    );
    let bad = plugipay(
        &sb,
        &[
            "customers",
            "list",
            "--output",
            "csv",
            "--columns",
            "Email,colour",
        ],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("did you mean email"),
        "{}",
        stderr(&bad)
    );
}

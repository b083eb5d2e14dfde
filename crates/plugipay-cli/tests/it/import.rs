//! `customers import`: rows, dry runs, re-imports that read instead of writing, faults, interruptions, bad input.

use std::collections::HashSet;

use crate::common::{
    plugipay, plugipay_at, plugipay_command, plugipay_without_credentials, sandbox, stderr,
    temp_file,
};
use plugipay_sandbox::{FaultKind, FaultProxy, Faults, ProxyFaults, Sandbox, TEST_ACCOUNT_ID};
use serde_json::Value;

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

/// The import row's JSON Schema, printed without credentials, is the spec's
/// create request: the same fields, strings and a string map, nothing else.
#[tokio::test]
async fn the_import_row_schema_is_the_specs_create_request() {
    let out = plugipay_without_credentials(&["customers", "import", "--schema"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let spec: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../../../../openapi/customers.yaml")).unwrap();
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
        let sb = Sandbox::start(crate::common::unpaced().faults(Faults {
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
            .find_map(|l| {
                l.split_once(" not done are in ")
                    .or_else(|| l.split_once(" not done is in "))
                    .map(|(_, rest)| rest)
            })
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

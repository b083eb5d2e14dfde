//! `customers export`: the whole book, the file kept on failure, the round trip back through import, streamed CSV.

use std::collections::HashSet;

use crate::common::{
    plugipay, plugipay_command, sandbox, sandbox_speaking, stderr, stdout_json, temp_file,
};
use plugipay_sandbox::{Dialect, PLATFORM_KEY_ID, PLATFORM_SECRET, TEST_ACCOUNT_ID, TEST_KEY_ID};
use serde_json::Value;

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

/// A failed export leaves the file it would have replaced as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_export_keeps_the_previous_file() {
    let sb = sandbox(30).await;
    let yesterday = "{\"id\":\"cus_yesterday\"}\n";
    let path = temp_file("book.jsonl", yesterday);
    let out = crate::common::plugipay_bare()
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

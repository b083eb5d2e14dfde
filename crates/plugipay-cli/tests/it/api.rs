//! `plugipay api`: any operation of the spec.

use crate::common::{plugipay, plugipay_at, sandbox, stderr, stdout_json};
use plugipay_sandbox::TEST_ACCOUNT_ID;

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

//! Whatever a server answers becomes a typed error, never a panic: a table of
//! hostile responses, and server-supplied cursors and ids treated as
//! untrusted input.

use crate::common::scripted::{Reply, Scripted};
use crate::common::*;
use futures_util::TryStreamExt;
use plugipay::{Error, ErrorCode, ListParams};
use serde_json::json;

/// What a hostile answer must become.
#[derive(Debug)]
enum Expect {
    Decode(u16),
    Api(u16, ErrorCode),
}

#[tokio::test]
async fn hostile_responses_become_typed_errors() {
    let mut wrong_types = customer_json(CUSTOMER_ID);
    wrong_types["createdAt"] = json!(12);
    let nested = "[".repeat(100_000);
    let big = format!("{{\"data\":\"{}\"}}", "x".repeat(11 * 1024 * 1024));
    let table: Vec<(&str, Reply, Expect)> = vec![
        ("non-JSON", Reply::raw(200, "hello"), Expect::Decode(200)),
        (
            "truncated JSON",
            Reply::raw(200, &envelope(customer_json(CUSTOMER_ID)).to_string()[..40]),
            Expect::Decode(200),
        ),
        ("empty 200", Reply::raw(200, ""), Expect::Decode(200)),
        ("a 204", Reply::raw(204, ""), Expect::Decode(204)),
        (
            "wrong types",
            Reply::json(200, envelope(wrong_types)),
            Expect::Decode(200),
        ),
        (
            "data: null on success",
            Reply::json(200, envelope(json!(null))),
            Expect::Decode(200),
        ),
        (
            "a JSON array",
            Reply::raw(200, "[1,2,3]"),
            Expect::Decode(200),
        ),
        (
            "nesting beyond any limit",
            Reply::raw(200, nested),
            Expect::Decode(200),
        ),
        (
            "invalid UTF-8",
            Reply::raw(200, vec![b'{', 0xff, 0xfe, b'}']),
            Expect::Decode(200),
        ),
        (
            "a body over 10 MB",
            Reply::raw(200, big),
            Expect::Decode(200),
        ),
        (
            "an unknown error code",
            Reply::json(400, error_envelope("brand_new_code", "new")),
            Expect::Api(400, ErrorCode::Other("brand_new_code".into())),
        ),
        (
            "an error code of the wrong type",
            Reply::json(400, json!({"error": {"code": 5, "message": []}})),
            Expect::Decode(400),
        ),
        (
            "an error inside a 200",
            Reply::json(200, error_envelope("forbidden", "no")),
            Expect::Api(200, ErrorCode::Forbidden),
        ),
        (
            "a redirect",
            Reply::raw(301, "").header("location", "http://127.0.0.1:9/elsewhere"),
            Expect::Decode(301),
        ),
        (
            "an HTML 500",
            Reply::raw(500, "<html>oops</html>"),
            Expect::Decode(500),
        ),
        (
            "an unknown status",
            Reply::raw(299, "{}"),
            Expect::Decode(299),
        ),
    ];
    for (what, reply, expect) in table {
        let server = Scripted::start(vec![reply]).await;
        let err = client_for(&server.base_url)
            .customers()
            .get(CUSTOMER_ID)
            .await
            .expect_err(what);
        match (&expect, &err) {
            (Expect::Decode(status), Error::Decode(d)) => {
                assert_eq!(d.status.as_u16(), *status, "{what}");
                assert!(
                    d.excerpt.chars().count() <= 201,
                    "{what}: the excerpt stays short"
                );
            }
            (Expect::Api(status, code), Error::Api(a)) => {
                assert_eq!((a.status.as_u16(), &a.code), (*status, code), "{what}");
            }
            _ => panic!("{what}: expected {expect:?}, got {err:?}"),
        }
        assert_eq!(server.received().len(), 1, "{what}: nothing followed");
    }
}

#[tokio::test]
async fn an_oversized_body_is_not_read() {
    let big = format!(
        "{{\"data\":\"{}\"}}",
        "x".repeat(plugipay::MAX_RESPONSE_BYTES)
    );
    let server = Scripted::start(vec![Reply::raw(200, big)]).await;
    let err = client_for(&server.base_url)
        .customers()
        .get(CUSTOMER_ID)
        .await
        .unwrap_err();
    let Error::Decode(d) = &err else {
        panic!("{err:?}")
    };
    assert!(d.reason.contains("over 8388608 bytes"), "{}", d.reason);
}

#[tokio::test]
async fn server_cursors_are_sent_back_escaped() {
    let page = |cursor: Option<&str>| {
        Reply::json(
            200,
            json!({"data": [customer_json(CUSTOMER_ID)], "error": null,
                   "meta": {"requestId": "r", "cursor": cursor, "hasMore": cursor.is_some()}}),
        )
    };
    let server = Scripted::start(vec![page(Some("a&limit=1000#x y")), page(None)]).await;
    let all: Vec<_> = client_for(&server.base_url)
        .customers()
        .list(ListParams::new().limit(2))
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        server.received()[1].target,
        format!(
            "{}?cursor=a%26limit%3D1000%23x+y&limit=2",
            paths::customers()
        )
    );
}

#[tokio::test]
async fn server_ids_are_sent_back_as_one_path_segment() {
    let mut evil = customer_json("../admin?delete=1");
    evil["externalId"] = json!(null);
    let server = Scripted::start(vec![
        Reply::json(
            200,
            json!({"data": [evil], "error": null,
                                "meta": {"requestId": "r", "cursor": null, "hasMore": false}}),
        ),
        Reply::json(200, envelope(customer_json(CUSTOMER_ID))),
    ])
    .await;
    let client = client_for(&server.base_url);
    let page = client.customers().list(ListParams::new()).await.unwrap();
    client.customers().get(&page.items[0].id).await.unwrap();
    assert_eq!(
        server.received()[1].target,
        format!("{}/..%2Fadmin%3Fdelete%3D1", paths::customers())
    );
}

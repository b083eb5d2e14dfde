//! Successful answers are read as leniently as Plugipay's official SDKs read
//! them: a missing `meta`, a `null` metadata map, absent optional fields and
//! unknown fields never turn a success (and a created customer's id) into an
//! error. Empty 2xx answers to writes are successes.

use crate::common::scripted::{Reply, Scripted};
use crate::common::*;
use plugipay::{CustomerUpdate, Error, ListParams, NewCustomer};
use serde_json::json;

#[tokio::test]
async fn a_create_without_meta_returns_the_customer() {
    let server = Scripted::start(vec![Reply::json(
        201,
        json!({"data": customer_json(CUSTOMER_ID)}),
    )])
    .await;
    let customer = client_for(&server.base_url)
        .customers()
        .create(NewCustomer::new())
        .await
        .unwrap();
    assert_eq!(customer.id, CUSTOMER_ID);
}

#[tokio::test]
async fn null_metadata_absent_optionals_and_unknown_fields_are_accepted() {
    let sparse = json!({
        "id": CUSTOMER_ID,
        "accountId": "acct_1",
        "metadata": null,
        "createdAt": "2026-11-25T01:02:03Z",
        "updatedAt": "2026-11-25T01:02:03.456Z",
        "loyaltyTier": "gold",
    });
    let server = Scripted::start(vec![Reply::json(
        200,
        json!({"data": sparse, "error": null, "meta": {"something": 1}, "extra": [1]}),
    )])
    .await;
    let customer = client_for(&server.base_url)
        .customers()
        .get(CUSTOMER_ID)
        .await
        .unwrap();
    assert!(customer.metadata.is_empty());
    assert_eq!((customer.email, customer.arn), (None, None));
}

#[tokio::test]
async fn a_list_without_meta_is_the_last_page() {
    let server = Scripted::start(vec![Reply::json(
        200,
        json!({"data": [customer_json(CUSTOMER_ID)]}),
    )])
    .await;
    let page = client_for(&server.base_url)
        .customers()
        .list(ListParams::new())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(!page.has_more && page.cursor.is_none() && page.request_id.is_none());
}

#[tokio::test]
async fn an_empty_answer_to_an_update_is_read_back() {
    let server = Scripted::start(vec![
        Reply::raw(204, ""),
        Reply::json(200, envelope(customer_json(CUSTOMER_ID))),
    ])
    .await;
    let customer = client_for(&server.base_url)
        .customers()
        .update(CUSTOMER_ID, CustomerUpdate::new().name("B"))
        .await
        .unwrap();
    assert_eq!(customer.id, CUSTOMER_ID);
    let received = server.received();
    assert_eq!(received[0].method, "PATCH");
    assert_eq!(
        (received[1].method.as_str(), received[1].target.as_str()),
        ("GET", paths::customer(CUSTOMER_ID).as_str())
    );
}

#[tokio::test]
async fn an_empty_answer_to_a_create_is_found_by_its_external_id() {
    let server = Scripted::start(vec![
        Reply::raw(201, ""),
        Reply::json(
            200,
            json!({"data": [customer_json(CUSTOMER_ID)], "meta": {"hasMore": false}}),
        ),
    ])
    .await;
    let customer = client_for(&server.base_url)
        .customers()
        .create(NewCustomer::new().external_id("user_19823"))
        .await
        .unwrap();
    assert_eq!(customer.id, CUSTOMER_ID);
    assert_eq!(
        server.received()[1].target,
        format!("{}?externalId=user_19823&limit=1", paths::customers())
    );
}

#[tokio::test]
async fn an_empty_answer_to_an_anonymous_create_says_it_was_accepted() {
    let server = Scripted::start(vec![Reply::raw(201, "")]).await;
    let err = client_for(&server.base_url)
        .customers()
        .create(NewCustomer::new())
        .await
        .unwrap_err();
    // Applied, its answer unknown: never a plain failure.
    let Error::OutcomeUnknown(last) = &err else {
        panic!("{err:?}")
    };
    let Error::Decode(decode) = &**last else {
        panic!("{err:?}")
    };
    assert_eq!(decode.status.as_u16(), 201);
    assert!(decode.reason.contains("the create was accepted"), "{last}");
    assert_eq!(server.received().len(), 1, "nothing was sent again");
}

//! The exact request on the wire for every operation, with signatures checked
//! independently on the server side.

use crate::common::*;
use httpmock::prelude::*;
use plugipay::{CustomerUpdate, Error, ListParams, NewCustomer, SortOrder};
use serde_json::json;

#[tokio::test]
async fn create_sends_a_signed_idempotent_post() {
    let server = MockServer::start_async().await;
    let seen = Captured::default();
    server
        .mock_async(|when, then| {
            seen.on(when.method(POST).path(paths::customers()));
            then.status(201)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;

    let customer = hmac_client(&server)
        .customers()
        .create(
            NewCustomer::new()
                .email("alice@example.com")
                .name("Alice Tan")
                .external_id("user_19823")
                .metadata("plan", "pro"),
        )
        .await
        .unwrap();

    let req = seen.one();
    assert_eq!(target(&req), paths::customers());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(req.body_ref()).unwrap(),
        json!({"email": "alice@example.com", "name": "Alice Tan",
               "externalId": "user_19823", "metadata": {"plan": "pro"}})
    );
    assert_eq!(
        header(&req, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(header(&req, "accept").as_deref(), Some("application/json"));
    assert_eq!(
        header(&req, "user-agent"),
        Some(format!("plugipay-rs/{}", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(header(&req, "x-plugipay-on-behalf-of"), None);
    assert_fresh_idempotency_key(&req);
    assert_signed(&req);

    assert_eq!(customer.id, CUSTOMER_ID);
    assert_eq!(customer.external_id.as_deref(), Some("user_19823"));
    assert_eq!(customer.phone, None);
    assert_eq!(customer.metadata["plan"], "pro");
    assert_eq!(
        customer.created_at.to_rfc3339(),
        "2026-11-25T01:02:03+00:00"
    );
}

#[tokio::test]
async fn every_write_gets_its_own_key_unless_one_is_given() {
    let server = MockServer::start_async().await;
    let seen = Captured::default();
    server
        .mock_async(|when, then| {
            seen.on(when.method(POST).path(paths::customers()));
            // Any 2xx is success, not only the 201 the spec declares.
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;
    let client = hmac_client(&server);
    client.customers().create(NewCustomer::new()).await.unwrap();
    client.customers().create(NewCustomer::new()).await.unwrap();
    client
        .customers()
        .create(NewCustomer::new())
        .idempotency_key("crm-import-row-17")
        .on_behalf_of("acct_merchant")
        .await
        .unwrap();

    let reqs = seen.all();
    assert_eq!(reqs.len(), 3);
    let (a, b) = (
        assert_fresh_idempotency_key(&reqs[0]),
        assert_fresh_idempotency_key(&reqs[1]),
    );
    assert_ne!(a, b);
    assert_eq!(reqs[0].body_ref(), b"{}");
    assert_eq!(
        header(&reqs[2], "idempotency-key").as_deref(),
        Some("crm-import-row-17")
    );
    assert_eq!(
        header(&reqs[2], "x-plugipay-on-behalf-of").as_deref(),
        Some("acct_merchant")
    );
    reqs.iter().for_each(assert_signed);
}

#[tokio::test]
async fn get_sends_a_signed_get_without_key_or_body() {
    let server = MockServer::start_async().await;
    let seen = Captured::default();
    server
        .mock_async(|when, then| {
            seen.on(when.method(GET));
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;

    let merchant = hmac_client(&server).for_merchant("acct_m1").unwrap();
    let customer = merchant.customers().get(CUSTOMER_ID).await.unwrap();

    let req = seen.one();
    assert_eq!(target(&req), paths::customer(CUSTOMER_ID));
    assert_eq!(header(&req, "idempotency-key"), None);
    assert_eq!(header(&req, "content-type"), None);
    assert!(req.body_ref().is_empty());
    assert_eq!(
        header(&req, "x-plugipay-on-behalf-of").as_deref(),
        Some("acct_m1")
    );
    assert_signed(&req);
    assert_eq!(customer.account_id, "acct_wire");
}

#[tokio::test]
async fn ids_are_escaped_as_one_path_segment() {
    let server = MockServer::start_async().await;
    let seen = Captured::default();
    server
        .mock_async(|when, then| {
            seen.on(when.method(GET));
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;

    hmac_client(&server)
        .customers()
        .get("a/b?c%d e")
        .await
        .unwrap();

    let req = seen.one();
    assert_eq!(
        target(&req),
        format!("{}/a%2Fb%3Fc%25d%20e", paths::customers())
    );
    assert_signed(&req);
}

#[tokio::test]
async fn list_sends_every_filter_in_a_signed_query() {
    let server = MockServer::start_async().await;
    let seen = Captured::default();
    server
        .mock_async(|when, then| {
            seen.on(when.method(GET).path(paths::customers()));
            then.status(200).json_body(json!({
                "data": [customer_json("cus_A"), customer_json("cus_B")],
                "error": null,
                "meta": {"requestId": "req_list", "cursor": "cur_2", "hasMore": true}
            }));
        })
        .await;

    let created_after = "2026-01-02T03:04:05Z".parse().unwrap();
    let page = hmac_client(&server)
        .customers()
        .list(
            ListParams::new()
                .limit(2)
                .cursor("cur_1")
                .email("alice@example.com")
                .external_id("user 1")
                .created_after(created_after)
                .order(SortOrder::Asc),
        )
        .await
        .unwrap();

    let req = seen.one();
    assert_eq!(
        target(&req),
        format!(
            "{}?createdAfter=2026-01-02T03%3A04%3A05Z&cursor=cur_1\
             &email=alice%40example.com&externalId=user+1&limit=2&order=asc",
            paths::customers()
        )
    );
    assert_signed(&req);
    let ids: Vec<_> = page.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["cus_A", "cus_B"]);
    assert_eq!(page.cursor.as_deref(), Some("cur_2"));
    assert!(page.has_more);
    assert_eq!(page.request_id.as_deref(), Some("req_list"));
}

#[tokio::test]
async fn list_without_params_sends_no_query_and_reads_the_last_page() {
    let server = MockServer::start_async().await;
    let seen = Captured::default();
    server
        .mock_async(|when, then| {
            seen.on(when.method(GET).path(paths::customers()));
            then.status(200).json_body(json!({
                "data": [], "error": null,
                "meta": {"requestId": "req_last", "cursor": null, "hasMore": false}
            }));
        })
        .await;
    let page = hmac_client(&server)
        .customers()
        .list(ListParams::new())
        .await
        .unwrap();
    assert_eq!(target(&seen.one()), paths::customers());
    assert!(page.items.is_empty() && !page.has_more && page.cursor.is_none());
}

#[tokio::test]
async fn update_sends_null_to_clear_and_leaves_absent_fields_out() {
    let server = MockServer::start_async().await;
    let seen = Captured::default();
    server
        .mock_async(|when, then| {
            seen.on(when.method("PATCH").path(paths::customer(CUSTOMER_ID)));
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;

    hmac_client(&server)
        .customers()
        .update(
            CUSTOMER_ID,
            CustomerUpdate::new()
                .clear_phone()
                .tax_id("01.234.567.8-901.000")
                .default_payment_token_id("ptok_1")
                .set_metadata("archived", "true")
                .remove_metadata("trial"),
        )
        .await
        .unwrap();

    let req = seen.one();
    assert_eq!(
        std::str::from_utf8(req.body_ref()).unwrap(),
        r#"{"defaultPaymentTokenId":"ptok_1","metadata":{"archived":"true","trial":null},"phone":null,"taxId":"01.234.567.8-901.000"}"#
    );
    assert_eq!(
        header(&req, "content-type").as_deref(),
        Some("application/json")
    );
    assert_fresh_idempotency_key(&req);
    assert_signed(&req);
}

#[tokio::test]
async fn bearer_mode_sends_the_key_and_no_signature() {
    let server = MockServer::start_async().await;
    let seen = Captured::default();
    server
        .mock_async(|when, then| {
            seen.on(when.method(GET));
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;
    bearer_client(&server)
        .customers()
        .get(CUSTOMER_ID)
        .await
        .unwrap();
    let req = seen.one();
    assert_eq!(
        header(&req, "authorization"),
        Some(format!("Bearer {API_KEY}"))
    );
    assert_eq!(header(&req, "x-plugipay-timestamp"), None);
}

#[tokio::test]
async fn the_generated_client_is_signed_the_same_way() {
    let server = MockServer::start_async().await;
    let seen = Captured::default();
    server
        .mock_async(|when, then| {
            seen.on(when.method(GET));
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;
    let client = hmac_client(&server);
    let raw = client
        .api()
        .get_customer()
        .id(CUSTOMER_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.into_inner().data.id, CUSTOMER_ID);
    let req = seen.one();
    assert_signed(&req);
    assert!(
        header(&req, "user-agent")
            .unwrap()
            .starts_with("plugipay-rs/")
    );
    // progenitor's `api-version` header is Plugipay's to define, not ours.
    assert!(header(&req, "api-version").is_none());
}

#[tokio::test]
async fn invalid_arguments_are_refused_before_the_network() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_, then| {
            then.status(500);
        })
        .await;
    let client = hmac_client(&server);
    let customers = client.customers();

    let field_of = |result: Result<_, Error>| match result {
        Err(Error::InvalidArgument { field, reason }) => {
            assert!(!reason.is_empty());
            field
        }
        other => panic!("expected an invalid argument, got {other:?}"),
    };
    for limit in [0, 101] {
        let err = customers.list(ListParams::new().limit(limit)).await;
        if let Err(e) = &err {
            assert!(e.to_string().contains("from 1 to 100"), "{e}");
        }
        assert_eq!(field_of(err.map(|_| ())), "limit");
    }
    assert_eq!(field_of(customers.get("").await.map(|_| ())), "id");
    assert_eq!(field_of(customers.get("..").await.map(|_| ())), "id");
    assert_eq!(field_of(customers.get("a\nb").await.map(|_| ())), "id");
    assert_eq!(
        field_of(
            customers
                .create(NewCustomer::new())
                .idempotency_key("has space")
                .await
                .map(|_| ())
        ),
        "idempotency_key"
    );
    assert_eq!(
        field_of(
            customers
                .get(CUSTOMER_ID)
                .on_behalf_of("")
                .await
                .map(|_| ())
        ),
        "on_behalf_of"
    );
    // A range the spec documents for any operation's query, through the
    // generic call, its pages and its walk.
    use plugipay::api::endpoints::ListEvents;
    use plugipay::api::params::ListEventsParams;
    for limit in [0, 101] {
        let events = || ListEvents {
            query: ListEventsParams::new().limit(limit),
        };
        let err = client.call(events()).await.map(|_| ());
        if let Err(e) = &err {
            assert!(e.to_string().contains("from 1 to 100"), "{e}");
        }
        assert_eq!(field_of(err), "limit");
        assert_eq!(
            field_of(client.call(events()).paginated().await.map(|_| ())),
            "limit"
        );
        let walked = futures_util::TryStreamExt::try_collect::<Vec<_>>(
            client.call(events()).paginated().stream(),
        )
        .await;
        assert_eq!(field_of(walked.map(|_| ())), "limit");
        // A partitioned walk sets its own page size for its first requests:
        // the limit asked for is still checked before them.
        let ranges = futures_util::TryStreamExt::try_collect::<Vec<_>>(
            client.call(events()).paginated().partitioned(4),
        )
        .await;
        assert_eq!(field_of(ranges.map(|_| ())), "limit");
        let ranges = futures_util::TryStreamExt::try_collect::<Vec<_>>(
            customers
                .list(ListParams::new().limit(limit))
                .partitioned(4),
        )
        .await;
        assert_eq!(field_of(ranges.map(|_| ())), "limit");
    }
    any.assert_calls_async(0).await;
}

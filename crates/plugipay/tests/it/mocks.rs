//! The generated typed mocks (`plugipay::api::mock`, feature `mock`) in an
//! application-style test: script a `get` and a `create` on an httpmock
//! server and run the SDK against it. The README shows the same test.

use httpmock::MockServer;
use plugipay::NewCustomer;
use plugipay::api::mock::MockServerExt;
use plugipay::api::types::{Customer, CustomerEnvelope, ErrorBody, ErrorEnvelope, Meta};

fn customer(id: &str, email: &str) -> Customer {
    serde_json::from_value(serde_json::json!({
        "id": id, "accountId": "acct_test", "email": email,
        "createdAt": "2026-11-27T00:00:00Z", "updatedAt": "2026-11-27T00:00:00Z"
    }))
    .unwrap()
}

fn envelope(customer: Customer) -> CustomerEnvelope {
    CustomerEnvelope {
        data: customer,
        error: None,
        meta: Meta {
            request_id: "req_test".into(),
            timestamp: None,
        },
    }
}

#[tokio::test]
async fn an_application_test_with_typed_mocks() {
    let server = MockServer::start_async().await;
    let get = server.get_customer(|when, then| {
        when.id("cus_1");
        then.ok(&envelope(customer("cus_1", "budi@example.com")));
    });
    let missing = server.get_customer(|when, then| {
        when.id("cus_404");
        then.not_found(&ErrorEnvelope {
            error: ErrorBody {
                code: "not_found".into(),
                message: "no such customer".into(),
                doc_url: None,
                field: None,
                details: None,
            },
            meta: None,
        });
    });
    let create = server.create_customer(|when, then| {
        when.body(&NewCustomer::new().email("sari@example.com"));
        then.success(201, &envelope(customer("cus_2", "sari@example.com")));
    });

    let client = plugipay::Client::builder()
        .key_id("ak_test_app")
        .secret("sk_test_app")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let budi = client.customers().get("cus_1").await.unwrap();
    assert_eq!(budi.email.as_deref(), Some("budi@example.com"));
    let err = client.customers().get("cus_404").await.unwrap_err();
    assert_eq!(err.code(), Some(&plugipay::ErrorCode::NotFound));
    let sari = client
        .customers()
        .create(NewCustomer::new().email("sari@example.com"))
        .await
        .unwrap();
    assert_eq!(sari.id, "cus_2");

    get.assert();
    missing.assert();
    create.assert();
}

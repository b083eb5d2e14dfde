//! Every way a call can fail becomes the right typed `Error`.

use std::time::Duration;

use crate::common::*;
use httpmock::prelude::*;
use plugipay::{Error, ErrorCode, NewCustomer};
use serde_json::json;

async fn get_with_response(status: u16, body: &str, headers: &[(&str, &str)]) -> Error {
    let server = MockServer::start_async().await;
    let (body, headers) = (body.to_owned(), headers.to_vec());
    server
        .mock_async(move |when, then| {
            when.method(GET);
            let mut then = then.status(status).body(body);
            for (name, value) in headers {
                then = then.header(name, value);
            }
        })
        .await;
    hmac_client(&server)
        .customers()
        .get(CUSTOMER_ID)
        .await
        .expect_err("the call should fail")
}

#[tokio::test]
async fn every_error_code_maps_to_its_variant() {
    let table = [
        (400, "validation_error", ErrorCode::ValidationError),
        (401, "unauthorized", ErrorCode::Unauthorized),
        (401, "signature_invalid", ErrorCode::SignatureInvalid),
        (401, "timestamp_skew", ErrorCode::TimestampSkew),
        (401, "invalid_timestamp", ErrorCode::InvalidTimestamp),
        (401, "INVALID_SIGNATURE", ErrorCode::SignatureInvalid),
        (401, "invalid_key", ErrorCode::InvalidKey),
        (403, "insufficient_scope", ErrorCode::InsufficientScope),
        (403, "forbidden", ErrorCode::Forbidden),
        (404, "not_found", ErrorCode::NotFound),
        (404, "NOT_FOUND", ErrorCode::NotFound),
        (409, "conflict", ErrorCode::Conflict),
        (409, "idempotency_mismatch", ErrorCode::IdempotencyMismatch),
        (400, "VALIDATION_ERROR", ErrorCode::ValidationError),
        (429, "rate_limited", ErrorCode::RateLimited),
        (500, "internal_error", ErrorCode::InternalError),
        (503, "internal_error", ErrorCode::InternalError),
        (418, "teapot_mode", ErrorCode::Other("teapot_mode".into())),
    ];
    for (status, code, expected) in table {
        let body = error_envelope(code, "it went wrong").to_string();
        let err = get_with_response(status, &body, &[]).await;
        let api = err.as_api().unwrap_or_else(|| panic!("{code}: {err:?}"));
        assert_eq!(api.code, expected, "{code}");
        assert_eq!(api.status.as_u16(), status, "{code}");
        assert_eq!(api.message, "it went wrong");
        assert_eq!(err.request_id(), Some("req_err_1"));
        assert_eq!(
            err.is_retryable(),
            matches!(status, 429 | 500 | 503),
            "{code}"
        );
        let shown = err.to_string();
        assert!(
            shown.contains(expected.as_str()) || code == "invalid_timestamp",
            "{shown}"
        );
        assert!(shown.contains("req_err_1"), "{shown}");
    }
}

#[tokio::test]
async fn validation_errors_keep_the_field_and_rate_limits_the_wait() {
    let body = json!({"data": null,
        "error": {"code": "validation_error", "message": "bad email", "field": "email",
                  "docUrl": "https://plugipay.com/docs/errors#validation_error"},
        "meta": {"requestId": "req_v"}});
    let err = get_with_response(400, &body.to_string(), &[]).await;
    let api = err.as_api().unwrap();
    assert_eq!(api.field.as_deref(), Some("email"));
    assert_eq!(api.details, None);
    assert!(
        api.doc_url
            .as_deref()
            .unwrap()
            .ends_with("#validation_error")
    );

    // An idempotency mismatch names the field that differs, with details.
    let body = json!({"data": null,
        "error": {"code": "IDEMPOTENCY_MISMATCH", "message": "key reused", "field": "name",
                  "details": {"sent": "B", "first": "A"}},
        "meta": {"requestId": "req_m"}});
    let err = get_with_response(409, &body.to_string(), &[]).await;
    let api = err.as_api().unwrap();
    assert_eq!(api.code, ErrorCode::IdempotencyMismatch);
    assert_eq!(api.field.as_deref(), Some("name"));
    assert_eq!(api.details.as_ref().unwrap()["first"], "A");
    // Details that are not an object are not what is documented: left out,
    // the error still read.
    let body = json!({"error": {"code": "conflict", "message": "m", "details": [1]}});
    let err = get_with_response(409, &body.to_string(), &[]).await;
    assert_eq!(err.as_api().unwrap().details, None);

    let body = error_envelope("rate_limited", "slow down").to_string();
    let err = get_with_response(429, &body, &[("Retry-After", "3")]).await;
    assert_eq!(
        err.as_api().unwrap().retry_after,
        Some(Duration::from_secs(3))
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_non_json_500_is_a_decode_error_with_its_status() {
    let err = get_with_response(
        500,
        "Internal Server Error",
        &[("X-Request-Id", "req_proxy")],
    )
    .await;
    let Error::Decode(decode) = &err else {
        panic!("expected a decode error, got {err:?}")
    };
    assert_eq!(decode.status.as_u16(), 500);
    assert_eq!(decode.excerpt, "Internal Server Error");
    assert_eq!(err.request_id(), Some("req_proxy"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_html_502_is_a_decode_error_with_its_status() {
    let html = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>";
    let err = get_with_response(502, html, &[("Content-Type", "text/html")]).await;
    let Error::Decode(decode) = &err else {
        panic!("expected a decode error, got {err:?}")
    };
    assert_eq!(decode.status.as_u16(), 502);
    assert!(
        decode.excerpt.starts_with("<html>\\n<head><title>502"),
        "{}",
        decode.excerpt
    );
    assert!(err.is_retryable());
    assert!(err.to_string().contains("502"), "{err}");
}

#[tokio::test]
async fn undecodable_declared_statuses_keep_their_status() {
    // 404 is declared in the spec: progenitor's own decoding of it loses the
    // status, the SDK must not.
    let err = get_with_response(404, "<h1>Not Found</h1>", &[]).await;
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert!(!err.is_retryable());

    // A truncated success body.
    let full = envelope(customer_json(CUSTOMER_ID)).to_string();
    let err = get_with_response(200, &full[..full.len() / 2], &[]).await;
    let Error::Decode(decode) = &err else {
        panic!("expected a decode error, got {err:?}")
    };
    assert_eq!(decode.status.as_u16(), 200);
    assert!(decode.reason.contains("EOF"), "{}", decode.reason);

    // An empty 200, and data: null on success.
    let err = get_with_response(200, "", &[]).await;
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    let err = get_with_response(
        200,
        r#"{"data":null,"error":null,"meta":{"requestId":"r"}}"#,
        &[],
    )
    .await;
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn an_error_in_a_success_envelope_is_an_api_error() {
    let body = error_envelope("conflict", "externalId taken").to_string();
    let err = get_with_response(200, &body, &[]).await;
    assert_eq!(err.code(), Some(&ErrorCode::Conflict));
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start_async().await;
    let elsewhere = server
        .mock_async(|when, then| {
            when.path("/elsewhere");
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path_includes(paths::customers());
            then.status(302).header("Location", "/elsewhere");
        })
        .await;
    let err = hmac_client(&server)
        .customers()
        .get(CUSTOMER_ID)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(302));
    elsewhere.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_slow_response_times_out() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(201)
                .delay(Duration::from_secs(5))
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;
    let err = hmac_client(&server)
        .customers()
        .create(NewCustomer::new())
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    // The create may have been applied while the answer was on its way.
    let Error::OutcomeUnknown(last) = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(**last, Error::Timeout), "{last:?}");
    assert!(err.is_retryable());

    // A read that times out is a timeout.
    server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(200).delay(Duration::from_secs(5));
        })
        .await;
    let err = hmac_client(&server)
        .customers()
        .get(CUSTOMER_ID)
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_transport_error() {
    // Bind a loopback port, then free it: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = plugipay::Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let err = client.customers().get(CUSTOMER_ID).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn no_secret_in_errors_or_debug_output() {
    let body = error_envelope("signature_invalid", "bad signature").to_string();
    let err = get_with_response(401, &body, &[]).await;
    let server = MockServer::start_async().await;
    let client = hmac_client(&server);
    let shown = format!("{err} {err:?} {client:?} {:?}", client.api());
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains(KEY_ID));
    let bearer = format!("{:?}", bearer_client(&server));
    assert!(!bearer.contains(API_KEY), "{bearer}");
}

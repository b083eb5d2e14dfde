//! The sandbox end to end: the SDK and an independent raw client against a
//! real server, every operation and every error code; every response is
//! checked against the spec by the raw client.
//!
//! These tests measure other things than pacing and set up more than the
//! published rate limits allow quickly: their sandboxes run without them
//! (the limits themselves are tested in plugipay-sandbox's `rate_limits` tests).

use std::collections::HashSet;
use std::time::Duration;

use crate::common::*;
use plugipay::{CustomerUpdate, Error, ErrorCode, ListParams, NewCustomer, SortOrder};
use plugipay_sandbox::{
    ApiKey, FaultKind, FaultProxy, Faults, Limits, MONEY_HISTORY_KEY, MetadataMode,
    PLATFORM_KEY_ID, PLATFORM_SECRET, ProxyFaults, Sandbox, Scope, TEST_ACCOUNT_ID, TEST_API_KEY,
};
use serde_json::json;

async fn sandbox() -> Sandbox {
    Sandbox::start(crate::common::unpaced()).await.unwrap()
}

#[tokio::test]
async fn the_sdk_runs_every_operation() {
    let sb = sandbox().await;
    let customers = sdk(sb.base_url());
    let customers = customers.customers();

    let alice = customers
        .create(
            NewCustomer::new()
                .email("alice@example.com")
                .name("Alice Tan")
                .phone("+62812000000")
                .external_id("user_19823")
                .tax_id("01.234")
                .metadata("plan", "pro"),
        )
        .await
        .unwrap();
    assert_eq!(alice.account_id, TEST_ACCOUNT_ID);
    assert_eq!(alice.metadata["plan"], "pro");
    assert!(alice.arn.as_deref().unwrap().ends_with(&alice.id));

    let fetched = customers.get(&alice.id).await.unwrap();
    assert_eq!(fetched, alice);

    let bare = customers.create(NewCustomer::new()).await.unwrap();
    assert_eq!((bare.email.clone(), bare.external_id.clone()), (None, None));

    let updated = customers
        .update(
            &alice.id,
            CustomerUpdate::new().clear_phone().name("Alice T. Wijaya"),
        )
        .await
        .unwrap();
    assert_eq!(updated.phone, None);
    assert_eq!(updated.name.as_deref(), Some("Alice T. Wijaya"));
    assert_eq!(updated.email, alice.email, "absent fields are untouched");
    assert_eq!(updated.tax_id, alice.tax_id);
    assert_eq!(
        updated.metadata, alice.metadata,
        "absent metadata is untouched"
    );
    assert!(updated.updated_at > alice.updated_at);
    assert_eq!(updated.created_at, alice.created_at);
    let tiered = customers
        .set_metadata(&alice.id, "tier", "gold")
        .await
        .unwrap();
    assert_eq!(tiered.metadata.len(), 2, "the other key is kept");

    let page = customers.list(ListParams::new()).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        ids,
        [bare.id.clone(), alice.id.clone()],
        "newest first by default"
    );
    assert!(!page.has_more && page.cursor.is_none());
    let page = customers
        .list(ListParams::new().order(SortOrder::Asc))
        .await
        .unwrap();
    assert_eq!(page.items[0].id, alice.id);
    let by_ext = customers
        .list(ListParams::new().external_id("user_19823"))
        .await
        .unwrap();
    assert_eq!(by_ext.items.len(), 1);
    let by_email = customers
        .list(ListParams::new().email("alice@example.com"))
        .await
        .unwrap();
    assert_eq!(by_email.items.len(), 1);

    customers.delete(&alice.id).await.unwrap();
    for filter in [
        ListParams::new().external_id("user_19823"),
        ListParams::new().email("alice@example.com"),
    ] {
        let found = customers.list(filter).await.unwrap();
        assert!(
            found.items.is_empty(),
            "a deleted customer leaves the filters"
        );
    }
    customers.delete(&bare.id).await.unwrap();
    let err = customers.get(&bare.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
    let page = customers.list(ListParams::new()).await.unwrap();
    assert!(page.items.is_empty(), "deleted customers leave the list");
}

#[tokio::test]
async fn delete_frees_the_external_id_and_refuses_money_history() {
    let sb = sandbox().await;
    let client = sdk(sb.base_url());
    let customers = client.customers();
    let first = customers
        .create(NewCustomer::new().external_id("crm_1"))
        .await
        .unwrap();
    customers.delete(&first.id).await.unwrap();
    let again = customers
        .create(NewCustomer::new().external_id("crm_1"))
        .await
        .unwrap();
    assert_ne!(again.id, first.id, "the externalId is free again");
    let err = customers.delete(&first.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));

    // Money history, by the library call and by the metadata marker.
    assert!(sb.set_money_history(TEST_ACCOUNT_ID, &again.id, true));
    assert!(!sb.set_money_history(TEST_ACCOUNT_ID, "cus_missing", true));
    let err = customers.delete(&again.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Conflict));
    assert!(err.to_string().contains("money history"), "{err}");
    let marked = customers
        .create(NewCustomer::new().metadata(MONEY_HISTORY_KEY, "true"))
        .await
        .unwrap();
    let err = customers.delete(&marked.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Conflict));
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 2);
    assert!(sb.set_money_history(TEST_ACCOUNT_ID, &again.id, false));
    customers.delete(&again.id).await.unwrap();
}

#[tokio::test]
async fn a_repeated_delete_replays_its_answer() {
    let sb = sandbox().await;
    let raw = RawClient::sandbox(sb.base_url());
    let created = raw.create("{}", &fresh_key()).await;
    let path = paths::customer(created.body["data"]["id"].as_str().unwrap());
    let key = fresh_key();
    let first = raw.send("DELETE", &path, None, Some(&key)).await;
    assert_eq!(first.status, 204);
    assert!(first.headers.get("content-type").is_none());
    let again = raw.send("DELETE", &path, None, Some(&key)).await;
    assert_eq!(again.status, 204, "the same key replays the first answer");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = raw.send("DELETE", &path, None, Some(&fresh_key())).await;
    assert_eq!((other.status, other.code()), (404, "not_found"));
    let keyless = raw.send("DELETE", &path, None, None).await;
    assert_eq!(keyless.status, 400, "a delete is a write: it needs a key");
}

#[tokio::test]
async fn patch_semantics_when_metadata_merges() {
    let sb = Sandbox::start(crate::common::unpaced().metadata_mode(MetadataMode::Merge))
        .await
        .unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    let created = raw
        .create(
            r#"{"email":"a@b.c","phone":"1","metadata":{"a":"1","b":"2","archived":"false"}}"#,
            &fresh_key(),
        )
        .await;
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let path = paths::customer(&id);
    let patched = raw
        .send(
            "PATCH",
            &path,
            Some(r#"{"phone":null,"metadata":{"b":null,"archived":"true","c":"3"}}"#),
            Some(&fresh_key()),
        )
        .await;
    let data = &patched.body["data"];
    assert_eq!(data["phone"], json!(null));
    assert_eq!(data["email"], json!("a@b.c"));
    assert_eq!(
        data["metadata"],
        json!({"a": "1", "archived": "true", "c": "3"})
    );
    let cleared = raw
        .send(
            "PATCH",
            &path,
            Some(r#"{"metadata":null}"#),
            Some(&fresh_key()),
        )
        .await;
    assert_eq!(cleared.body["data"]["metadata"], json!({}));
    let unchanged = raw
        .send("PATCH", &path, Some("{}"), Some(&fresh_key()))
        .await;
    assert_eq!(unchanged.status, 200);
    let instant = |answer: &Answer| {
        let text = answer.body["data"]["updatedAt"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(text).unwrap()
    };
    assert!(instant(&unchanged) > instant(&cleared), "updatedAt moves");
}

#[tokio::test]
async fn patch_semantics_when_metadata_is_replaced() {
    let sb = sandbox().await;
    let raw = RawClient::sandbox(sb.base_url());
    let created = raw
        .create(
            r#"{"phone":"1","metadata":{"a":"1","b":"2"}}"#,
            &fresh_key(),
        )
        .await;
    let path = paths::customer(created.body["data"]["id"].as_str().unwrap());
    let patched = raw
        .send(
            "PATCH",
            &path,
            Some(r#"{"metadata":{"c":"3"}}"#),
            Some(&fresh_key()),
        )
        .await;
    assert_eq!(patched.body["data"]["metadata"], json!({"c": "3"}));
    assert_eq!(patched.body["data"]["phone"], json!("1"));
    let refused = raw
        .send(
            "PATCH",
            &path,
            Some(r#"{"metadata":{"c":null}}"#),
            Some(&fresh_key()),
        )
        .await;
    assert_eq!((refused.status, refused.code()), (400, "validation_error"));
    assert!(refused.message().contains("metadata"), "{refused:?}");
}

/// Every metadata write of the SDK's gives one result whatever the server's
/// metadata semantics.
#[tokio::test]
async fn metadata_helpers_agree_under_merge_and_replace() {
    let mut results = Vec::new();
    for mode in [MetadataMode::Merge, MetadataMode::Replace] {
        let sb = Sandbox::start(crate::common::unpaced().metadata_mode(mode))
            .await
            .unwrap();
        let client = sdk(sb.base_url());
        let customers = client.customers();
        let c = customers
            .create(
                NewCustomer::new()
                    .metadata("plan", "pro")
                    .metadata("seats", "5"),
            )
            .await
            .unwrap();
        let mut seen = Vec::new();
        let archived = customers.archive(&c.id).await.unwrap();
        assert!(archived.is_archived(), "{mode:?}");
        seen.push(archived.metadata);
        let again = customers.archive(&c.id).await.unwrap();
        assert_eq!(
            again.updated_at, archived.updated_at,
            "archiving twice writes nothing"
        );
        let active = customers.unarchive(&c.id).await.unwrap();
        assert!(!active.is_archived(), "{mode:?}");
        seen.push(active.metadata);
        let tiered = customers.set_metadata(&c.id, "tier", "gold").await.unwrap();
        seen.push(tiered.metadata);
        let reread = customers.get(&c.id).await.unwrap();
        seen.push(reread.metadata);
        results.push(seen);
    }
    assert_eq!(
        results[0], results[1],
        "merge and replace give the same result"
    );
    let last = &results[0][3];
    assert_eq!(
        last.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        ["archived=false", "plan=pro", "seats=5", "tier=gold"]
    );
}

/// No length is refused by the client: the sandbox's configured limits answer.
#[tokio::test]
async fn lengths_are_judged_by_the_server() {
    let sb = sandbox().await;
    let client = sdk(sb.base_url());
    let customers = client.customers();
    let long_name = NewCustomer::new().name("n".repeat(300));
    let many_keys = (0..60).fold(NewCustomer::new(), |c, i| c.metadata(format!("k{i}"), "v"));
    for attrs in [long_name.clone(), many_keys.clone()] {
        let err = customers.create(attrs).await.unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::ValidationError), "{err}");
        assert!(err.request_id().is_some(), "answered by the server: {err}");
    }
    let mut roomy = Limits::default();
    roomy.name_max_chars = 1_000;
    roomy.metadata_max_keys = 100;
    let sb = Sandbox::start(crate::common::unpaced().limits(roomy))
        .await
        .unwrap();
    let client = sdk(sb.base_url());
    let named = client.customers().create(long_name).await.unwrap();
    assert_eq!(named.name.map(|n| n.len()), Some(300));
    let keyed = client.customers().create(many_keys).await.unwrap();
    assert_eq!(keyed.metadata.len(), 60);
}

#[tokio::test]
async fn every_error_code() {
    let sb = Sandbox::start(
        crate::common::unpaced().key(
            ApiKey::hmac("ak_test_read_only", "sk_test_read_only", TEST_ACCOUNT_ID)
                .with_scopes(&[Scope::Read]),
        ),
    )
    .await
    .unwrap();
    let base = sb.base_url();
    let raw = RawClient::sandbox(base);
    let list = paths::customers();

    // validation_error: bad email, too long, unknown field, metadata limits, list params, no key
    let cases = [
        (r#"{"email":"nope"}"#, "email"),
        (&*format!(r#"{{"name":"{}"}}"#, "n".repeat(257)), "name"),
        (r#"{"nickname":"x"}"#, "nickname"),
        (
            &*format!(r#"{{"metadata":{{"{}":"v"}}}}"#, "k".repeat(41)),
            "metadata",
        ),
        (
            &*format!(r#"{{"metadata":{{"k":"{}"}}}}"#, "v".repeat(501)),
            "metadata",
        ),
        (r#"{"externalId":""}"#, "externalId"),
        (r#"{"taxId":null}"#, "taxId"),
        ("not json", "body"),
    ];
    for (body, field) in cases {
        let a = raw.create(body, &fresh_key()).await;
        assert_eq!((a.status, a.code()), (400, "validation_error"), "{body}");
        assert!(a.message().contains(field), "{body}: {a:?}");
    }
    let many: serde_json::Map<_, _> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let a = raw
        .create(&json!({ "metadata": many }).to_string(), &fresh_key())
        .await;
    assert_eq!(a.status, 400);
    assert!(a.message().contains("metadata"), "{a:?}");
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("order=sideways", "order"),
        ("createdAfter=yesterday", "createdAfter"),
        ("cursor=forged.0000", "cursor"),
    ] {
        let a = raw
            .send("GET", &format!("{list}?{query}"), None, None)
            .await;
        assert_eq!((a.status, a.code()), (400, "validation_error"), "{query}");
        assert!(a.message().contains(field), "{query}: {a:?}");
    }
    let a = raw.send("POST", list, Some("{}"), None).await;
    assert_eq!(a.status, 400);
    assert!(a.message().contains("Idempotency-Key"), "{a:?}");

    // unauthorized, signature_invalid, timestamp_skew
    let mut unknown = RawClient::hmac(base, "ak_nobody", "sk");
    let a = unknown.send("GET", list, None, None).await;
    assert_eq!((a.status, a.code()), (401, "unauthorized"));
    unknown.auth = Auth::Bearer("pk_nobody".into());
    assert_eq!(
        unknown.send("GET", list, None, None).await.code(),
        "unauthorized"
    );
    let wrong = RawClient::hmac(base, plugipay_sandbox::TEST_KEY_ID, "sk_wrong");
    let a = wrong.send("GET", list, None, None).await;
    assert_eq!((a.status, a.code()), (401, "signature_invalid"));
    for offset in [-301, 301] {
        let mut skewed = RawClient::sandbox(base);
        skewed.clock_offset_secs = offset;
        let a = skewed.send("GET", list, None, None).await;
        assert_eq!((a.status, a.code()), (401, "timestamp_skew"), "{offset}");
    }
    for timestamp in [None, Some("yesterday")] {
        let mut undated = RawClient::sandbox(base);
        undated.timestamp_override = Some(timestamp.map(str::to_owned));
        let a = undated.send("GET", list, None, None).await;
        assert_eq!(
            (a.status, a.code()),
            (401, "invalid_timestamp"),
            "{timestamp:?}"
        );
    }
    let mut slightly = RawClient::sandbox(base);
    slightly.clock_offset_secs = -250;
    assert_eq!(slightly.send("GET", list, None, None).await.status, 200);

    // insufficient_scope: missing scope; forbidden: on-behalf-of with a
    // non-platform key
    let reader = RawClient::hmac(base, "ak_test_read_only", "sk_test_read_only");
    let a = reader.create("{}", &fresh_key()).await;
    assert_eq!((a.status, a.code()), (403, "insufficient_scope"));
    assert_eq!(reader.send("GET", list, None, None).await.status, 200);
    let mut acting = RawClient::sandbox(base);
    acting.on_behalf_of = Some("acct_other".into());
    assert_eq!(
        acting.send("GET", list, None, None).await.code(),
        "forbidden"
    );

    // not_found, conflict, idempotency_mismatch, method_not_allowed
    let a = raw
        .send(
            "GET",
            &paths::customer("cus_00000000000000000000000000"),
            None,
            None,
        )
        .await;
    assert_eq!((a.status, a.code()), (404, "not_found"));
    raw.create(r#"{"externalId":"dup"}"#, &fresh_key()).await;
    let a = raw.create(r#"{"externalId":"dup"}"#, &fresh_key()).await;
    assert_eq!((a.status, a.code()), (409, "conflict"));
    assert!(a.message().contains("externalId"), "{a:?}");
    // On update too: taking another customer's externalId conflicts.
    let other = raw.create(r#"{"externalId":"mine"}"#, &fresh_key()).await;
    let other_path = paths::customer(other.body["data"]["id"].as_str().unwrap());
    let a = raw
        .send(
            "PATCH",
            &other_path,
            Some(r#"{"externalId":"dup"}"#),
            Some(&fresh_key()),
        )
        .await;
    assert_eq!((a.status, a.code()), (409, "conflict"));
    let keep = raw
        .send(
            "PATCH",
            &other_path,
            Some(r#"{"externalId":"mine"}"#),
            Some(&fresh_key()),
        )
        .await;
    assert_eq!(
        keep.status, 200,
        "keeping its own externalId is no conflict"
    );
    let key = fresh_key();
    raw.create(r#"{"name":"first"}"#, &key).await;
    let a = raw.create(r#"{"name":"second"}"#, &key).await;
    assert_eq!((a.status, a.code()), (409, "idempotency_mismatch"));
    assert_eq!(a.body["error"]["field"], "name");
    let a = raw.send("PUT", &paths::customer("cus_x"), None, None).await;
    assert_eq!(a.status, 405);
    let a = reader
        .send(
            "DELETE",
            &paths::customer("cus_x"),
            None,
            Some(&fresh_key()),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (403, "insufficient_scope"),
        "delete needs its scope"
    );

    // rate_limited and service_unavailable, injected by a fault proxy in
    // front of the sandbox
    let only = |kind| ProxyFaults {
        rate: 1.0,
        kinds: vec![kind],
        retry_after_secs: 7,
        ..ProxyFaults::default()
    };
    let proxy = FaultProxy::start(base, only(FaultKind::RateLimited))
        .await
        .unwrap();
    let through = RawClient::sandbox(proxy.base_url());
    let a = through.send("GET", list, None, None).await;
    assert_eq!((a.status, a.code()), (429, "rate_limited"));
    assert_eq!(a.headers["retry-after"], "7");
    proxy.set_faults(only(FaultKind::ServiceUnavailable));
    let a = through.send("GET", list, None, None).await;
    assert_eq!((a.status, a.code()), (503, "service_unavailable"), "{a:?}");
    assert_eq!(proxy.upstream_statuses().values().sum::<u64>(), 0);
}

#[tokio::test]
async fn the_sdk_sees_each_error_as_its_code() {
    let sb = sandbox().await;
    let client = sdk(sb.base_url());
    let customers = client.customers();
    customers
        .create(NewCustomer::new().external_id("x1"))
        .await
        .unwrap();
    let code = |r: Result<plugipay::Customer, Error>| r.unwrap_err().code().cloned();
    assert_eq!(
        code(customers.create(NewCustomer::new().external_id("x1")).await),
        Some(ErrorCode::Conflict)
    );
    assert_eq!(
        code(customers.get("cus_missing").await),
        Some(ErrorCode::NotFound)
    );
    let wrong = plugipay::Client::builder()
        .key_id(plugipay_sandbox::TEST_KEY_ID)
        .secret("not-the-secret")
        .base_url(sb.base_url())
        .build()
        .unwrap();
    assert_eq!(
        code(wrong.customers().get("cus_x").await),
        Some(ErrorCode::SignatureInvalid)
    );
    let err = client
        .for_merchant("acct_x")
        .unwrap()
        .customers()
        .get("cus_x")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Forbidden));
    assert!(err.request_id().unwrap().starts_with("req_"));
}

#[tokio::test]
async fn bearer_keys_and_platform_keys() {
    let sb = sandbox().await;
    let bearer = plugipay::Client::builder()
        .api_key(TEST_API_KEY)
        .base_url(sb.base_url())
        .build()
        .unwrap();
    let c = bearer.customers().create(NewCustomer::new()).await.unwrap();
    assert_eq!(c.account_id, TEST_ACCOUNT_ID);

    let platform = plugipay::Client::builder()
        .key_id(PLATFORM_KEY_ID)
        .secret(PLATFORM_SECRET)
        .base_url(sb.base_url())
        .build()
        .unwrap();
    let merchant = platform.for_merchant("acct_merchant_1").unwrap();
    let m = merchant
        .customers()
        .create(NewCustomer::new().name("M"))
        .await
        .unwrap();
    assert_eq!(m.account_id, "acct_merchant_1");
    // Workspaces do not see each other's customers.
    let err = bearer.customers().get(&m.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
    assert_eq!(sb.customer_count("acct_merchant_1"), 1);
    let err = merchant.customers().get(&c.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
}

#[tokio::test]
async fn idempotent_replay_changes_nothing() {
    let sb = sandbox().await;
    let raw = RawClient::sandbox(sb.base_url());
    let key = fresh_key();
    let first = raw
        .create(r#"{"name":"Once","externalId":"once"}"#, &key)
        .await;
    // Same request, same key (the body may be spelled differently).
    let again = raw
        .create(r#"{ "externalId": "once", "name": "Once" }"#, &key)
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 1);

    // A recorded conflict replays as the same conflict.
    let key = fresh_key();
    let conflict = raw.create(r#"{"externalId":"once"}"#, &key).await;
    let replay = raw.create(r#"{"externalId":"once"}"#, &key).await;
    assert_eq!((conflict.status, replay.status), (409, 409));
    assert_eq!(replay.body, conflict.body);

    // Keys are scoped per workspace.
    let mut other = RawClient::hmac(sb.base_url(), PLATFORM_KEY_ID, PLATFORM_SECRET);
    other.on_behalf_of = Some("acct_elsewhere".into());
    let elsewhere = other
        .create(r#"{"name":"Once","externalId":"once"}"#, &fresh_key())
        .await;
    assert_eq!(elsewhere.status, 201);
    let same_key = other.create(r#"{"name":"Other"}"#, &key).await;
    assert_eq!(
        same_key.status, 201,
        "a key used in one workspace is free in another"
    );
}

#[tokio::test]
async fn concurrent_requests_with_one_key_execute_once() {
    let sb = sandbox().await;
    let key = fresh_key();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let raw = RawClient::sandbox(sb.base_url());
        let key = key.clone();
        tasks.spawn(async move { raw.create(r#"{"name":"racer"}"#, &key).await });
    }
    let answers = tasks.join_all().await;
    let ids: HashSet<_> = answers
        .iter()
        .map(|a| a.body["data"]["id"].clone())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.headers.get("idempotent-replayed").is_none())
            .count(),
        1
    );
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 1);
}

#[tokio::test]
async fn one_winner_per_external_id_among_32_tasks() {
    let sb = sandbox().await;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..32 {
        let client = sdk(sb.base_url());
        tasks.spawn(async move {
            let mut outcomes = Vec::new();
            for n in 0..8 {
                let ext = format!("shared_{}", (task + n) % 8);
                let r = client
                    .customers()
                    .create(NewCustomer::new().external_id(&ext))
                    .await;
                outcomes.push((ext, r.map(|c| c.id).map_err(|e| e.code().cloned())));
            }
            outcomes
        });
    }
    let outcomes: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
    for n in 0..8 {
        let ext = format!("shared_{n}");
        let wins = outcomes
            .iter()
            .filter(|(e, r)| *e == ext && r.is_ok())
            .count();
        let conflicts = outcomes
            .iter()
            .filter(|(e, r)| *e == ext && *r == Err(Some(ErrorCode::Conflict)))
            .count();
        assert_eq!((wins, conflicts), (1, 31), "{ext}");
    }
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 8);
}

async fn walk(client: &plugipay::Client, params: ListParams) -> Vec<String> {
    let mut ids = Vec::new();
    let mut params = params;
    loop {
        let page = client.customers().list(params.clone()).await.unwrap();
        ids.extend(page.items.iter().map(|c| c.id.clone()));
        match page.cursor {
            Some(cursor) if page.has_more => params = params.cursor(cursor),
            _ => return ids,
        }
    }
}

#[tokio::test]
async fn a_walk_during_inserts_sees_everything_once() {
    let sb = Sandbox::start(crate::common::unpaced().seed_customers(1_000))
        .await
        .unwrap();
    let before: HashSet<String> = sb
        .customers(TEST_ACCOUNT_ID)
        .into_iter()
        .map(|c| c.id)
        .collect();
    let writer = {
        let client = sdk(sb.base_url());
        tokio::spawn(async move {
            for _ in 0..200 {
                client.customers().create(NewCustomer::new()).await.unwrap();
            }
        })
    };
    let client = sdk(sb.base_url());
    for order in [SortOrder::Desc, SortOrder::Asc] {
        let ids = walk(&client, ListParams::new().limit(37).order(order)).await;
        let seen: HashSet<_> = ids.iter().cloned().collect();
        assert_eq!(seen.len(), ids.len(), "no duplicates ({order:?})");
        assert!(
            before.is_subset(&seen),
            "nothing that existed was missed ({order:?})"
        );
    }
    writer.await.unwrap();
    let all = walk(&client, ListParams::new().limit(100)).await;
    assert_eq!(all.len(), 1_200);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first");
}

#[tokio::test]
async fn filters_and_cursors() {
    let sb = sandbox().await;
    let client = sdk(sb.base_url());
    let customers = client.customers();
    for i in 0..5 {
        customers
            .create(
                NewCustomer::new()
                    .email("shared@example.com")
                    .name(format!("s{i}")),
            )
            .await
            .unwrap();
    }
    let other = customers
        .create(NewCustomer::new().email("solo@example.com"))
        .await
        .unwrap();
    let shared = walk(
        &client,
        ListParams::new().email("shared@example.com").limit(2),
    )
    .await;
    assert_eq!(shared.len(), 5);
    let after = walk(
        &client,
        ListParams::new().created_after(other.created_at - chrono::Duration::milliseconds(1)),
    )
    .await;
    assert!(after.contains(&other.id));
    let none = walk(&client, ListParams::new().created_after(other.created_at)).await;
    assert!(!none.contains(&other.id));

    // A cursor only continues the query it came from.
    let page = customers
        .list(ListParams::new().email("shared@example.com").limit(2))
        .await
        .unwrap();
    let cursor = page.cursor.unwrap();
    let err = customers
        .list(ListParams::new().email("solo@example.com").cursor(&cursor))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
    let mut tampered = cursor.clone();
    tampered.replace_range(0..2, if &cursor[0..2] == "63" { "64" } else { "63" });
    let err = customers
        .list(ListParams::new().cursor(tampered))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
}

#[tokio::test]
async fn drop_after_commit_really_commits() {
    let sb = sandbox().await;
    sb.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let client = sdk(sb.base_url());
    let key = "idem_dropped_once";
    // Without an externalId the SDK cannot read it back: of unknown outcome.
    let err = client
        .customers()
        .create(NewCustomer::new().name("Dropped"))
        .idempotency_key(key)
        .max_retries(0)
        .await
        .unwrap_err();
    let Error::OutcomeUnknown(last) = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(**last, Error::Transport(_)), "{last:?}");
    assert!(err.is_retryable());
    assert_eq!(
        sb.customer_count(TEST_ACCOUNT_ID),
        1,
        "the write was applied"
    );

    // The retry with the same key replays; nothing is created twice.
    sb.set_faults(Faults::default());
    let customer = client
        .customers()
        .create(NewCustomer::new().name("Dropped"))
        .idempotency_key(key)
        .await
        .unwrap();
    assert_eq!(customer.name.as_deref(), Some("Dropped"));
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 1);

    // With an externalId the SDK reads the dropped create back.
    sb.set_faults(Faults {
        drop_after_commit_rate: 1.0,
        ..Faults::default()
    });
    let customer = client
        .customers()
        .create(NewCustomer::new().external_id("dropped"))
        .max_retries(0)
        .await
        .unwrap();
    assert_eq!(customer.external_id.as_deref(), Some("dropped"));
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 2);
}

#[tokio::test]
async fn latency_is_added() {
    let sb = sandbox().await;
    sb.set_faults(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    });
    let err = sdk(sb.base_url())
        .customers()
        .list(ListParams::new())
        .timeout(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
}

#[tokio::test]
async fn an_independent_client_with_its_own_query_encoding() {
    let sb = sandbox().await;
    let raw = RawClient::sandbox(sb.base_url());
    raw.create(r#"{"email":"o'neil+tag@example.com"}"#, "my-own-key-1")
        .await;
    // %20 instead of +, keys in another order, lower-case escapes: signed as sent.
    let a = raw
        .send(
            "GET",
            &format!(
                "{}?order=asc&email=o%27neil%2btag%40example.com&limit=5",
                paths::customers()
            ),
            None,
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_binary_prints_its_address_and_serves() {
    // Readiness: the address is printed once the port is bound.
    let process = crate::common::sandbox_binary(&["--seed-customers", "3"]);
    let base = process.base_url();
    assert!(
        base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"),
        "{base}"
    );
    let page = sdk(base).customers().list(ListParams::new()).await.unwrap();
    assert_eq!(page.items.len(), 3);
}

/// A write to a missing customer is not kept as an idempotency record: the
/// same request answers 404 again, and a flood of them costs no memory.
#[tokio::test]
async fn writes_to_missing_customers_are_not_recorded() {
    let sb = sandbox().await;
    let raw = RawClient::sandbox(sb.base_url());
    let key = fresh_key();
    let path = paths::customer(&format!("cus_{}", "x".repeat(2_000)));
    for _ in 0..2 {
        let a = raw
            .send("PATCH", &path, Some(r#"{"name":"x"}"#), Some(&key))
            .await;
        assert_eq!((a.status, a.code()), (404, "not_found"));
        assert!(
            a.headers.get("idempotent-replayed").is_none(),
            "not a replay"
        );
    }
}

/// Paths and methods the sandbox does not serve answer with the error
/// envelope, in the live API's order: an unknown path before
/// authentication, a wrong method after it.
#[tokio::test]
async fn unknown_paths_and_methods_answer_the_envelope() {
    let sb = sandbox().await;
    let raw = RawClient::sandbox(sb.base_url());
    let mut stranger = RawClient::sandbox(sb.base_url());
    stranger.auth = Auth::Bearer("pk_nobody".into());
    let list = paths::customers();
    for path in [
        "/nope".to_owned(),
        format!("{list}/"),
        format!("{list}/a/b"),
    ] {
        let a = stranger.send("GET", &path, None, None).await;
        assert_eq!((a.status, a.code()), (404, "not_found"), "{path}");
    }
    let a = stranger.send("PUT", paths::customers(), None, None).await;
    assert_eq!((a.status, a.code()), (401, "unauthorized"));
    let a = raw.send("PUT", paths::customers(), None, None).await;
    assert_eq!((a.status, a.code()), (405, "method_not_allowed"));
}

/// Idempotency records stay within their byte budget, the oldest dropped
/// first; a key whose record was dropped is unknown again, so its request
/// executes again (as after the TTL), while recent keys still replay.
#[tokio::test]
async fn idempotency_records_stay_within_their_byte_budget() {
    let budget = 8 * 1024;
    let sb = Sandbox::start(crate::common::unpaced().idempotency_budget_bytes(budget))
        .await
        .unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    let keys: Vec<String> = (0..40).map(|_| fresh_key()).collect();
    for (n, key) in keys.iter().enumerate() {
        let a = raw.create(&format!(r#"{{"name":"n{n}"}}"#), key).await;
        assert_eq!(a.status, 201);
        assert!(
            sb.idempotency_bytes() <= budget,
            "{}",
            sb.idempotency_bytes()
        );
    }
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 40);
    // The newest key replays: nothing is created.
    let newest = raw.create(r#"{"name":"n39"}"#, &keys[39]).await;
    assert_eq!(newest.headers["idempotent-replayed"], "true");
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 40);
    // The oldest was evicted: the same request executes again.
    let oldest = raw.create(r#"{"name":"n0"}"#, &keys[0]).await;
    assert_eq!(oldest.status, 201);
    assert!(oldest.headers.get("idempotent-replayed").is_none());
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 41);
    assert!(sb.idempotency_bytes() <= budget);
}

/// The binary's stderr names every default credential, the platform key
/// included, once it is listening.
#[tokio::test]
async fn the_binary_prints_its_credentials() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugipay-sandbox"))
        .args(["--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let line = tokio::io::BufReader::new(stderr)
        .lines()
        .next_line()
        .await
        .unwrap()
        .unwrap();
    for credential in [
        plugipay_sandbox::TEST_KEY_ID,
        plugipay_sandbox::TEST_SECRET,
        plugipay_sandbox::TEST_API_KEY,
        PLATFORM_KEY_ID,
        PLATFORM_SECRET,
    ] {
        assert!(line.contains(credential), "{credential}: {line}");
    }
    child.kill().await.unwrap();
}

/// The binary listens on a fixed port unless told (a profile's base URL
/// stays right across restarts); a port already taken is one clear line
/// that says what to do, and exit status 1.
#[tokio::test]
async fn a_taken_port_is_said_plainly() {
    assert_eq!(plugipay_sandbox::DEFAULT_ADDR, "127.0.0.1:8765");
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugipay-sandbox"))
        .args(["--addr", &addr])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&addr) && stderr.contains("already listens") && stderr.contains("--addr"),
        "{stderr}"
    );
}

/// One workspace updates a customer under a key; another floods writes;
/// the first workspace's retry with the same key is then still a replay,
/// not a second update.
#[tokio::test]
async fn a_flood_in_one_workspace_cannot_make_another_apply_a_key_twice() {
    let budget = 16 * 1024;
    let sb = Sandbox::start(crate::common::unpaced().idempotency_budget_bytes(budget))
        .await
        .unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    let created = raw.create(r#"{"name":"before"}"#, &fresh_key()).await;
    let path = paths::customer(created.body["data"]["id"].as_str().unwrap());
    let key = fresh_key();
    let patch = r#"{"name":"after"}"#;
    let first = raw.send("PATCH", &path, Some(patch), Some(&key)).await;
    assert_eq!(first.status, 200);

    // Far more than the whole budget of records, in another workspace.
    let flood = platform_for(sb.base_url(), "acct_flood");
    for n in 0..100 {
        let a = flood
            .create(&format!(r#"{{"name":"flood {n}"}}"#), &fresh_key())
            .await;
        assert!(
            a.status == 201 || (a.status, a.code()) == (429, "rate_limited"),
            "{a:?}"
        );
        assert!(sb.idempotency_bytes() <= budget);
    }

    let again = raw.send("PATCH", &path, Some(patch), Some(&key)).await;
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true"),
        "the update ran again: {again:?}"
    );
    assert_eq!(again.body["data"], first.body["data"]);
    let now = raw.send("GET", &path, None, None).await;
    assert_eq!(
        now.body["data"]["updatedAt"],
        first.body["data"]["updatedAt"]
    );
}

/// With a budget per workspace, a flooding workspace keeps writing, making
/// room by dropping only its own oldest records; another workspace's keys
/// still replay. When the other workspaces leave less than a workspace's
/// budget of the total free, its writes are refused before they run.
#[tokio::test]
async fn each_workspace_makes_room_only_from_its_own_records() {
    let (total, each) = (64 * 1024, 16 * 1024);
    let sb = Sandbox::start(
        crate::common::unpaced()
            .idempotency_budget_bytes(total)
            .idempotency_workspace_budget_bytes(each),
    )
    .await
    .unwrap();
    let raw = RawClient::sandbox(sb.base_url());
    let kept = fresh_key();
    let first = raw.create(r#"{"name":"kept"}"#, &kept).await;
    assert_eq!(first.status, 201);

    let flood = platform_for(sb.base_url(), "acct_flood");
    let keys: Vec<String> = (0..200).map(|_| fresh_key()).collect();
    for (n, key) in keys.iter().enumerate() {
        let a = flood.create(&format!(r#"{{"name":"f{n}"}}"#), key).await;
        assert_eq!(a.status, 201, "{a:?}");
        assert!(sb.idempotency_bytes() <= total);
    }
    assert_eq!(sb.customer_count("acct_flood"), 200);
    // The flood's newest key replays; its oldest was dropped by the flood
    // itself, so that request runs again.
    let newest = flood.create(r#"{"name":"f199"}"#, &keys[199]).await;
    assert_eq!(newest.headers["idempotent-replayed"], "true");
    let oldest = flood.create(r#"{"name":"f0"}"#, &keys[0]).await;
    assert!(oldest.headers.get("idempotent-replayed").is_none());
    assert_eq!(sb.customer_count("acct_flood"), 201);
    // The other workspace's key still replays.
    let again = raw.create(r#"{"name":"kept"}"#, &kept).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(sb.customer_count(TEST_ACCOUNT_ID), 1);

    // Many workspaces, each within its budget, fill the total: a write in
    // a workspace that cannot make room from its own records is refused
    // before it runs, and takes nothing from anyone.
    let mut refused = None;
    'workspaces: for n in 0..200 {
        let account = format!("acct_many_{n}");
        let many = platform_for(sb.base_url(), &account);
        for _ in 0..10 {
            let before = sb.customer_count(&account);
            let a = many.create(r#"{"name":"m"}"#, &fresh_key()).await;
            if a.status == 429 {
                assert_eq!(a.code(), "rate_limited");
                assert_eq!(sb.customer_count(&account), before, "refused before it ran");
                refused = Some(account);
                break 'workspaces;
            }
            assert_eq!(a.status, 201, "{a:?}");
        }
    }
    assert!(refused.is_some(), "the total fills up");
    assert!(sb.idempotency_bytes() <= total);
    let again = raw.create(r#"{"name":"kept"}"#, &kept).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let newest = flood.create(r#"{"name":"f199"}"#, &keys[199]).await;
    assert_eq!(newest.headers["idempotent-replayed"], "true");
}

/// Reads and failed writes naming workspaces that do not exist (a platform
/// key's `X-Plugipay-On-Behalf-Of`, new each time) leave no workspace
/// behind; only a successful write makes one.
#[tokio::test]
async fn on_behalf_of_churn_leaves_no_workspaces() {
    let sb = sandbox().await;
    let missing = &paths::customer("cus_00000000000000000000000000");
    for n in 0..100 {
        let raw = platform_for(sb.base_url(), &format!("acct_churn_{n}"));
        let a = raw
            .send(
                "PATCH",
                missing,
                Some(r#"{"name":"x"}"#),
                Some(&fresh_key()),
            )
            .await;
        assert_eq!(a.status, 404);
        let a = raw.send("DELETE", missing, None, Some(&fresh_key())).await;
        assert_eq!(a.status, 404);
        let a = raw.send("GET", missing, None, None).await;
        assert_eq!(a.status, 404);
        let a = raw.send("GET", paths::customers(), None, None).await;
        assert_eq!(a.status, 200);
        let a = raw.create(r#"{"email":"nope"}"#, &fresh_key()).await;
        assert_eq!(a.status, 400);
    }
    assert_eq!(sb.workspace_count(), 0);
    assert_eq!(sb.customer_count("acct_churn_0"), 0);
    let raw = platform_for(sb.base_url(), "acct_churn_0");
    assert_eq!(raw.create("{}", &fresh_key()).await.status, 201);
    assert_eq!(sb.workspace_count(), 1);
}

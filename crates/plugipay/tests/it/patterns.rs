//! The guide's common patterns as SDK calls: walking the book (streams with
//! prefetch), find-or-create by externalId, and the archive convention.

use std::sync::Arc;
use std::time::Duration;

use crate::common::scripted::{Reply, Scripted};
use crate::common::*;
use futures_util::{StreamExt, TryStreamExt};
use httpmock::prelude::*;
use plugipay::{Client, Error, ErrorCode, InMemoryCustomerIdCache, ListParams, NewCustomer};
use plugipay_sandbox::{Dialect, MetadataMode, Sandbox, SandboxConfig, TEST_ACCOUNT_ID};
use serde_json::json;

fn page(ids: &[&str], cursor: Option<&str>) -> Reply {
    Reply::json(
        200,
        json!({
            "data": ids.iter().map(|id| customer_json(id)).collect::<Vec<_>>(),
            "error": null,
            "meta": {"requestId": "req_p", "cursor": cursor, "hasMore": cursor.is_some()}
        }),
    )
}

fn sandbox_client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .key_id(plugipay_sandbox::TEST_KEY_ID)
        .secret(plugipay_sandbox::TEST_SECRET)
        .base_url(sandbox.base_url())
        .build()
        .unwrap()
}

fn ids(customers: &[plugipay::Customer]) -> Vec<String> {
    customers.iter().map(|c| c.id.clone()).collect()
}

#[tokio::test]
async fn a_stream_of_no_customers() {
    let server = Scripted::start(vec![page(&[], None)]).await;
    let all: Vec<_> = client_for(&server.base_url)
        .customers()
        .list(ListParams::new())
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(all.is_empty());
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_stream_of_exactly_one_page() {
    let server = Scripted::start(vec![page(&["a", "b", "c"], None)]).await;
    let all: Vec<_> = client_for(&server.base_url)
        .customers()
        .list(ListParams::new().limit(3))
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&all), ["a", "b", "c"]);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_stream_of_many_pages_follows_the_cursors() {
    let server = Scripted::start(vec![
        page(&["a", "b"], Some("c2")),
        page(&["c", "d"], Some("c3")),
        page(&["e"], None),
    ])
    .await;
    let client = client_for(&server.base_url);
    let all: Vec<_> = client
        .customers()
        .list(ListParams::new().limit(2).email("x@y.z"))
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&all), ["a", "b", "c", "d", "e"]);
    let targets: Vec<_> = server.received().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            format!("{}?email=x%40y.z&limit=2", paths::customers()),
            format!("{}?cursor=c2&email=x%40y.z&limit=2", paths::customers()),
            format!("{}?cursor=c3&email=x%40y.z&limit=2", paths::customers()),
        ]
    );

    // The page stream hands out the same pages, for batch work.
    let server = Scripted::start(vec![page(&["a", "b"], Some("c2")), page(&["c"], None)]).await;
    let pages: Vec<_> = client_for(&server.base_url)
        .customers()
        .list(ListParams::new())
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [2, 1]
    );
}

#[tokio::test]
async fn an_error_mid_walk_is_yielded_and_ends_the_stream() {
    let server = Scripted::start(vec![
        page(&["a", "b"], Some("c2")),
        Reply::json(400, error_envelope("validation_error", "cursor expired")),
        page(&["never"], None),
    ])
    .await;
    let mut stream = client_for(&server.base_url)
        .customers()
        .list(ListParams::new())
        .stream();
    assert_eq!(stream.next().await.unwrap().unwrap().id, "a");
    assert_eq!(stream.next().await.unwrap().unwrap().id, "b");
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
    assert!(stream.next().await.is_none());
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn the_next_page_is_fetched_while_the_caller_works() {
    let server = Scripted::start(vec![
        page(&["a", "b"], Some("c2")),
        page(&["c", "d"], Some("c3")),
        page(&["e"], None),
    ])
    .await;
    let mut stream = client_for(&server.base_url)
        .customers()
        .list(ListParams::new())
        .stream();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.id, "a");
    // Without asking the stream for anything more, the second page is
    // requested: the caller's work on page 1 overlaps the wait for page 2.
    tokio::time::timeout(Duration::from_secs(10), server.wait_for_requests(2))
        .await
        .expect("page 2 was prefetched");
    // But never further ahead than one page.
    assert_eq!(server.received().len(), 2);
    let rest: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(ids(&rest), ["b", "c", "d", "e"]);
}

#[tokio::test]
async fn ensure_creates_then_finds() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(SandboxConfig::new().dialect(dialect))
            .await
            .unwrap();
        let client = sandbox_client(&sandbox);
        let attrs = NewCustomer::new().email("budi@example.com").name("Budi");
        let created = client
            .customers()
            .ensure("crm_1", attrs.clone())
            .await
            .unwrap();
        assert!(created.created);
        assert_eq!(created.customer.external_id.as_deref(), Some("crm_1"));
        assert_eq!(created.customer.name.as_deref(), Some("Budi"));
        let found = client.customers().ensure("crm_1", attrs).await.unwrap();
        assert!(!found.created);
        assert_eq!(found.customer.id, created.customer.id);
        assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 1);
    }
}

#[tokio::test]
async fn sync_creates_updates_what_differs_and_then_rests() {
    use plugipay::SyncAction;
    for mode in [MetadataMode::Replace, MetadataMode::Merge] {
        let sandbox = Sandbox::start(SandboxConfig::new().metadata_mode(mode))
            .await
            .unwrap();
        let client = sandbox_client(&sandbox);
        let customers = client.customers();
        assert_eq!(customers.find("crm_9").await.unwrap(), None);

        let row = NewCustomer::new()
            .email("sari@example.com")
            .metadata("src", "crm");
        let created = customers
            .sync("crm_9", row.clone())
            .idempotency_key("sync-crm_9-v1")
            .await
            .unwrap();
        assert_eq!(created.action, SyncAction::Created);
        let id = created.customer.id.clone();
        assert_eq!(
            customers.find("crm_9").await.unwrap().map(|c| c.id),
            Some(id.clone())
        );
        customers.archive(&id).await.unwrap();

        // Only the differing fields are sent; keys the row does not name stay.
        let row = row.name("Sari").metadata("tier", "gold");
        let updated = customers
            .sync("crm_9", row.clone())
            .idempotency_key("sync-crm_9-v2")
            .await
            .unwrap();
        assert_eq!(
            updated.action,
            SyncAction::Updated(vec!["name".into(), "metadata".into()]),
            "{mode:?}"
        );
        assert_eq!(updated.customer.id, id);
        assert_eq!(updated.customer.name.as_deref(), Some("Sari"));
        assert!(
            updated.customer.is_archived(),
            "{mode:?}: {:?}",
            updated.customer.metadata
        );
        assert_eq!(updated.customer.metadata["tier"], "gold");

        let rest = customers.sync("crm_9", row).await.unwrap();
        assert_eq!(rest.action, SyncAction::Unchanged);
        assert_eq!(rest.customer.updated_at, updated.customer.updated_at);
        assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 1);
    }
}

/// A sync handed the customer it already read (a walk of the book) decides
/// from it, by the same rule `SyncPlan::decide` states: a record the
/// customer holds costs no request, a difference is one PATCH of just those
/// fields, and a customer with another external id is refused before the
/// network.
#[tokio::test]
async fn sync_decides_from_a_customer_already_read() {
    use plugipay::{SyncAction, SyncPlan};
    let current: plugipay::Customer = serde_json::from_value(customer_json(CUSTOMER_ID)).unwrap();
    let held = NewCustomer::new()
        .email("alice@example.com")
        .metadata("plan", "pro");
    let renamed = held.clone().name("Alice T.");
    assert!(matches!(
        SyncPlan::decide(Some(&current), &held),
        SyncPlan::Unchanged(_)
    ));
    match SyncPlan::decide(Some(&current), &renamed) {
        SyncPlan::Update(change) => assert_eq!(change.fields, ["name"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(SyncPlan::decide(None, &held), SyncPlan::Create);

    let mut patched = customer_json(CUSTOMER_ID);
    patched["name"] = "Alice T.".into();
    let server = Scripted::start(vec![Reply::json(200, envelope(patched))]).await;
    let client = client_for(&server.base_url);
    let customers = client.customers();

    let rest = customers
        .sync("user_19823", held)
        .current(current.clone())
        .await
        .unwrap();
    assert_eq!(rest.action, SyncAction::Unchanged);
    assert!(server.received().is_empty(), "nothing sent");

    let updated = customers
        .sync("user_19823", renamed.clone())
        .current(current.clone())
        .await
        .unwrap();
    assert_eq!(updated.action, SyncAction::Updated(vec!["name".into()]));
    let sent = server.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].method.as_str(), sent[0].target.clone()),
        ("PATCH", paths::customer(CUSTOMER_ID))
    );
    let body: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body, json!({ "name": "Alice T." }));

    let refused = customers
        .sync("crm_other", renamed)
        .current(current)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::InvalidArgument { field, .. } if field == "current"),
        "{refused:?}"
    );
    assert_eq!(server.received().len(), 1, "the refusal sent nothing");
}

#[tokio::test]
async fn sixty_four_concurrent_ensures_make_one_customer() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(crate::common::unpaced().dialect(dialect))
            .await
            .unwrap();
        let client = sandbox_client(&sandbox);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let client = client.clone();
            tasks.spawn(async move {
                client
                    .customers()
                    .ensure("crm_race", NewCustomer::new())
                    .await
            });
        }
        let results: Vec<_> = tasks
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let ids: std::collections::HashSet<_> =
            results.iter().map(|e| e.customer.id.clone()).collect();
        assert_eq!(ids.len(), 1);
        assert_eq!(results.iter().filter(|e| e.created).count(), 1);
        assert_eq!(sandbox.customer_count(TEST_ACCOUNT_ID), 1);
    }
}

/// Mocks a server whose list ignores the externalId filter: create
/// conflicts, the list returns someone else, `get` knows the customer.
/// Returns the create mock.
async fn without_the_filter(server: &MockServer) -> httpmock::Mock<'_> {
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path(paths::customers());
            then.status(409)
                .json_body(error_envelope("conflict", "taken"));
        })
        .await;
    let mut someone_else = customer_json("cus_someone_else");
    someone_else["externalId"] = json!("crm_other");
    server
        .mock_async(|when, then| {
            when.method(GET).path(paths::customers());
            then.status(200).json_body(json!({
                "data": [someone_else], "error": null,
                "meta": {"requestId": "r", "cursor": null, "hasMore": false}
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(paths::customer(CUSTOMER_ID));
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;
    create
}

#[tokio::test]
async fn ensure_falls_back_on_the_id_cache_and_never_creates_twice() {
    let server = MockServer::start_async().await;
    let creates = without_the_filter(&server).await;
    let cache = Arc::new(InMemoryCustomerIdCache::new());
    use plugipay::CustomerIdCache;
    // customer_json has externalId "user_19823".
    cache.put("user_19823", CUSTOMER_ID).await;
    let client = Client::builder()
        .key_id(KEY_ID)
        .secret(SECRET)
        .base_url(server.base_url())
        .customer_id_cache(cache)
        .build()
        .unwrap();
    let found = client
        .customers()
        .ensure("user_19823", NewCustomer::new())
        .await
        .unwrap();
    assert!(!found.created);
    assert_eq!(found.customer.id, CUSTOMER_ID);

    // Without a cache: a clear error, and still one create only.
    let plain = hmac_client(&server);
    let err = plain
        .customers()
        .ensure("user_19823", NewCustomer::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unresolved { external_id, source: None } if external_id == "user_19823"),
        "{err:?}"
    );
    assert!(err.to_string().contains("user_19823"));
    // One create per ensure call, never a second one.
    creates.assert_calls_async(2).await;
}

#[tokio::test]
async fn ensure_remembers_what_it_creates() {
    let sandbox = Sandbox::start(SandboxConfig::new()).await.unwrap();
    let cache = Arc::new(InMemoryCustomerIdCache::new());
    let client = Client::builder()
        .key_id(plugipay_sandbox::TEST_KEY_ID)
        .secret(plugipay_sandbox::TEST_SECRET)
        .base_url(sandbox.base_url())
        .customer_id_cache(cache.clone())
        .build()
        .unwrap();
    let created = client
        .customers()
        .ensure("crm_9", NewCustomer::new())
        .await
        .unwrap();
    use plugipay::CustomerIdCache;
    assert_eq!(cache.get("crm_9").await, Some(created.customer.id));
}

#[tokio::test]
async fn archiving_keeps_other_metadata_and_is_idempotent() {
    for dialect in Dialect::ALL {
        let sandbox = Sandbox::start(SandboxConfig::new().dialect(dialect))
            .await
            .unwrap();
        let client = sandbox_client(&sandbox);
        let customers = client.customers();
        let c = customers
            .create(
                NewCustomer::new()
                    .metadata("plan", "pro")
                    .metadata("sales_rep", "budi"),
            )
            .await
            .unwrap();
        let other = customers.create(NewCustomer::new()).await.unwrap();
        assert!(!c.is_archived());

        let archived = customers.archive(&c.id).await.unwrap();
        assert!(archived.is_archived());
        assert_eq!(archived.metadata["plan"], "pro");
        assert_eq!(archived.metadata["sales_rep"], "budi");
        let again = customers.archive(&c.id).await.unwrap();
        assert_eq!(
            again.updated_at, archived.updated_at,
            "a second archive writes nothing"
        );

        let active = customers.list(ListParams::new()).active().await.unwrap();
        assert_eq!(ids(&active.items), vec![other.id.clone()]);
        let only_archived: Vec<_> = customers
            .list(ListParams::new())
            .archived()
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(ids(&only_archived), vec![c.id.clone()]);

        let back = customers.unarchive(&c.id).await.unwrap();
        assert!(!back.is_archived());
        // "false", not a removed key: one write that is right under merge and replace.
        assert_eq!(back.metadata["archived"], "false");
        assert_eq!(back.metadata.len(), 3);
    }
}

#[tokio::test]
async fn archive_sends_the_whole_metadata_map() {
    // Safe with a server that replaces metadata on PATCH instead of merging.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;
    let patch = server
        .mock_async(|when, then| {
            when.method("PATCH")
                .json_body(json!({"metadata": {"plan": "pro", "archived": "true"}}));
            then.status(200)
                .json_body(envelope(customer_json(CUSTOMER_ID)));
        })
        .await;
    hmac_client(&server)
        .customers()
        .archive(CUSTOMER_ID)
        .await
        .unwrap();
    patch.assert_calls_async(1).await;
}

/// Plugipay writes codes in lower and UPPER case: ensure and remove read a
/// `CONFLICT` as the conflict it is.
#[tokio::test]
async fn ensure_and_remove_read_codes_in_either_case() {
    let conflict = Reply::json(409, error_envelope("CONFLICT", "taken"));
    let server = Scripted::start(vec![conflict.clone(), page(&[CUSTOMER_ID], None)]).await;
    let ensured = client_for(&server.base_url)
        .customers()
        .ensure("user_19823", NewCustomer::new())
        .await
        .unwrap();
    assert!(!ensured.created);
    assert_eq!(ensured.customer.id, CUSTOMER_ID);

    // remove: the delete is refused (money history), so it archives.
    let customer = Reply::json(200, envelope(customer_json(CUSTOMER_ID)));
    let mut archived = customer_json(CUSTOMER_ID);
    archived["metadata"]["archived"] = json!("true");
    let server = Scripted::start(vec![
        conflict,
        customer,
        Reply::json(200, envelope(archived)),
    ])
    .await;
    let removed = client_for(&server.base_url)
        .customers()
        .remove(CUSTOMER_ID)
        .await
        .unwrap();
    assert!(
        matches!(removed, plugipay::Removed::Archived(_)),
        "{removed:?}"
    );
}

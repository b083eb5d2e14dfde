//! The events API through the SDK: every customer change is an event, and a
//! catch-up walk over them (`client.call(ListEvents ..).paginated()`) sees
//! each event once while customers keep being created.

mod common;

use std::collections::HashSet;

use common::sandbox_client;
use futures_util::TryStreamExt;
use plugipay::api::endpoints::{GetEvent, ListEvents};
use plugipay::api::params::ListEventsParams;
use plugipay::{CustomerUpdate, ErrorCode, NewCustomer};
use plugipay_sandbox::{Sandbox, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_an_event_and_a_walk_sees_each_once() {
    let sandbox = Sandbox::start(SandboxConfig::new()).await.unwrap();
    let client = sandbox_client(sandbox.base_url());
    let customers = client.customers();
    let budi = customers
        .create(NewCustomer::new().name("Budi"))
        .await
        .unwrap();
    customers
        .update(&budi.id, CustomerUpdate::new().name("Budi S"))
        .await
        .unwrap();
    customers.delete(&budi.id).await.unwrap();

    let events: Vec<_> = client
        .call(ListEvents {
            query: ListEventsParams::new().order(plugipay::SortOrder::Asc),
        })
        .paginated()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.type_.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "plugipay.customer.created.v1",
            "plugipay.customer.updated.v1",
            "plugipay.customer.deleted.v1"
        ]
    );
    // The delete carries the customer as it was.
    assert_eq!(events[2].data.object["name"], "Budi S");
    assert_eq!(events[2].data.aggregate_id, budi.id);
    // One by id; an unknown id is 404.
    let one = client
        .call(GetEvent {
            id: events[1].id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(one, events[1]);
    let missing = client
        .call(GetEvent {
            id: "evt_missing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some(&ErrorCode::NotFound));
    // The short spelling of a type filters too.
    let updated: Vec<_> = client
        .call(ListEvents {
            query: ListEventsParams::new().type_("customer.updated"),
        })
        .paginated()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(updated.len(), 1);

    // 150 creations, then a walk (newest first, pages of 20) while 100 more
    // customers are created: every event that existed comes once.
    for n in 0..150 {
        customers
            .create(NewCustomer::new().name(format!("Row {n}")))
            .await
            .unwrap();
    }
    let creating = {
        let client = client.clone();
        tokio::spawn(async move {
            for n in 0..100 {
                client
                    .customers()
                    .create(NewCustomer::new().name(format!("Late {n}")))
                    .await
                    .unwrap();
            }
        })
    };
    let walked: Vec<_> = client
        .call(ListEvents {
            query: ListEventsParams::new().limit(20),
        })
        .paginated()
        .stream()
        .try_collect()
        .await
        .unwrap();
    creating.await.unwrap();
    let ids: HashSet<&str> = walked.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), walked.len(), "each event once");
    let rows = walked
        .iter()
        .filter(|e| {
            e.data.object["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Row "))
        })
        .count();
    assert_eq!(rows, 150, "every event that existed when the walk began");
}

//! The spec's fields reach users with no hand edit: every field the spec
//! gives both `CreateCustomerRequest` and `Customer` is set by a generated
//! `NewCustomer` setter and comes back from the sandbox, create → get.

use std::collections::BTreeSet;

use crate::common::sandbox_client;
use plugipay::NewCustomer;
use serde_json::{Value, json};

fn spec() -> serde_yaml::Value {
    serde_yaml::from_str(include_str!("../../../../openapi/customers.yaml")).unwrap()
}

fn properties(spec: &serde_yaml::Value, schema: &str) -> BTreeSet<String> {
    spec["components"]["schemas"][schema]["properties"]
        .as_mapping()
        .unwrap_or_else(|| panic!("no properties for {schema}"))
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// A value the sandbox accepts for a create field of this schema: the
/// spec's example when it gives one (a field the spec adds without one gets
/// a plain string).
fn sample(field: &str, schema: &serde_yaml::Value) -> Value {
    match (schema["type"].as_str(), schema["example"].as_str()) {
        (Some("object"), _) => json!({"k": "v"}),
        (_, Some(example)) => json!(example),
        _ => json!(format!("sample-{field}")),
    }
}

#[tokio::test]
async fn every_shared_field_round_trips_through_the_sandbox() {
    let spec = spec();
    let create = properties(&spec, "CreateCustomerRequest");
    let customer = properties(&spec, "Customer");
    let shared: Vec<&String> = create.intersection(&customer).collect();
    assert!(shared.len() >= 7, "{shared:?}");

    let mut body = serde_json::Map::new();
    for field in &shared {
        let schema =
            &spec["components"]["schemas"]["CreateCustomerRequest"]["properties"][field.as_str()];
        body.insert((*field).clone(), sample(field, schema));
    }
    // The generated request type carries every one of them.
    let request: NewCustomer = serde_json::from_value(Value::Object(body.clone())).unwrap();
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        Value::Object(body.clone())
    );

    let sandbox = plugipay_sandbox::Sandbox::start(plugipay_sandbox::SandboxConfig::new())
        .await
        .unwrap();
    let client = sandbox_client(sandbox.base_url());
    let created = client.customers().create(request).await.unwrap();
    let fetched = client.customers().get(&created.id).await.unwrap();
    let fetched = serde_json::to_value(&fetched).unwrap();
    for (field, sent) in &body {
        assert_eq!(&fetched[field], sent, "{field} did not come back");
    }
    // Every field of the customer is served, null when unset.
    for field in &customer {
        assert!(
            fetched.get(field).is_some(),
            "{field} missing from {fetched}"
        );
    }
}

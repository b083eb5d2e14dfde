//! Find-or-create by your own id (a CRM id), safe under concurrency: ten
//! tasks ensure the same external id and get the same customer.
//!
//! `cargo run -p plugipay --example ensure`

mod support;

use plugipay::NewCustomer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _sandbox) = support::connect(0).await?;
    let attrs = NewCustomer::new()
        .email("finance@bigcorp.id")
        .name("BigCorp Indonesia");

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (client, attrs) = (client.clone(), attrs.clone());
        tasks.spawn(async move { client.customers().ensure("crm_88012", attrs).await });
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for ensured in tasks.join_all().await {
        let ensured = ensured?;
        created += usize::from(ensured.created);
        ids.insert(ensured.customer.id);
    }
    println!(
        "10 ensures of crm_88012: {} customer ({ids:?}), created {created} time(s)",
        ids.len()
    );
    Ok(())
}

//! Retire a customer that cannot be deleted (it has money history): archive
//! it (metadata.archived = "true"), keep its other metadata, and leave it
//! out of active listings. (`customers().remove(id)` deletes when it can and
//! archives when it cannot.)
//!
//! `cargo run -p plugipay --example archive`

mod support;

use plugipay::{ListParams, NewCustomer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _sandbox) = support::connect(0).await?;
    let customers = client.customers();
    let leaving = customers
        .create(
            NewCustomer::new()
                .email("leaving@example.com")
                .metadata("accounting_ref", "AR-2026-0118"),
        )
        .await?;
    customers
        .create(NewCustomer::new().email("staying@example.com"))
        .await?;

    let archived = customers.archive(&leaving.id).await?;
    println!("archived {}: {:?}", archived.id, archived.metadata);
    // Archiving again changes nothing.
    customers.archive(&leaving.id).await?;

    let active = customers.list(ListParams::new()).active().await?;
    let archived_only = customers.list(ListParams::new()).archived().await?;
    println!(
        "{} active, {} archived",
        active.items.len(),
        archived_only.items.len()
    );

    let back = customers.unarchive(&leaving.id).await?;
    println!("unarchived: archived = {}", back.is_archived());
    Ok(())
}

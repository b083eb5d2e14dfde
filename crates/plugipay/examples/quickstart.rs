//! Create, fetch, update and list customers.
//!
//! `cargo run -p plugipay --example quickstart`

mod support;

use plugipay::{CustomerUpdate, ListParams, NewCustomer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _sandbox) = support::connect(0).await?;
    let customers = client.customers();

    let alice = customers
        .create(
            NewCustomer::new()
                .email("alice@example.com")
                .name("Alice Tan")
                .phone("+62812000001")
                .metadata("plan", "pro"),
        )
        .await?;
    println!("created {} ({:?})", alice.id, alice.name);

    let fetched = customers.get(&alice.id).await?;
    println!("fetched {} created at {}", fetched.id, fetched.created_at);

    let updated = customers
        .update(
            &alice.id,
            CustomerUpdate::new().name("Alice T. Wijaya").clear_phone(),
        )
        .await?;
    println!(
        "renamed to {:?}, phone now {:?}",
        updated.name, updated.phone
    );

    let page = customers
        .list(ListParams::new().email("alice@example.com"))
        .await?;
    println!("{} customer(s) with that email", page.items.len());
    Ok(())
}

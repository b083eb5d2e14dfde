//! What failures look like: typed API errors with codes and request ids,
//! arguments refused before the network, and what is worth retrying.
//!
//! `cargo run -p plugipay --example error_handling`

mod support;

use plugipay::{Error, ErrorCode, ListParams, NewCustomer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _sandbox) = support::connect(0).await?;
    let customers = client.customers();

    customers
        .create(NewCustomer::new().external_id("user_1"))
        .await?;
    match customers
        .create(NewCustomer::new().external_id("user_1"))
        .await
    {
        Err(e) if e.code() == Some(&ErrorCode::Conflict) => {
            println!("conflict, as expected: {e} (request {:?})", e.request_id());
        }
        other => println!("unexpected: {other:?}"),
    }

    match customers.get("cus_does_not_exist").await {
        Err(Error::Api(api)) => println!("{} {}: {}", api.status, api.code, api.message),
        other => println!("unexpected: {other:?}"),
    }

    // Refused before anything is sent: the page size has a documented range.
    match customers.list(ListParams::new().limit(500)).await {
        Err(e @ Error::InvalidArgument { .. }) => println!("{e}; retryable: {}", e.is_retryable()),
        other => println!("unexpected: {other:?}"),
    }
    // Judged by the server: formats and lengths have no published rules.
    match customers
        .create(NewCustomer::new().email("not-an-email"))
        .await
    {
        Err(e) if e.code() == Some(&ErrorCode::ValidationError) => {
            println!("the server refused it: {e}")
        }
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}

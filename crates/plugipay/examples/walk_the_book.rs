//! Walk every customer of the workspace, page after page, with the next page
//! fetched while the current one is processed.
//!
//! `cargo run -p plugipay --example walk_the_book`

mod support;

use futures_util::TryStreamExt;
use plugipay::ListParams;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _sandbox) = support::connect(1_234).await?;
    let mut book = client
        .customers()
        .list(ListParams::new().limit(100))
        .stream();
    let (mut total, mut with_email) = (0, 0);
    while let Some(customer) = book.try_next().await? {
        total += 1;
        with_email += usize::from(customer.email.is_some());
    }
    println!("walked {total} customers, {with_email} with an email address");

    // Or in batches: one page at a time.
    let pages: Vec<_> = client
        .customers()
        .list(ListParams::new().limit(100))
        .pages()
        .try_collect()
        .await?;
    println!("the same book in {} pages of up to 100", pages.len());
    Ok(())
}

//! `plugipay demo`: the customers API's story, told end to end against an
//! embedded sandbox, so it runs on a fresh machine with no account.

use futures_util::TryStreamExt;
use plugipay::{Client, CustomerUpdate, Error, ErrorCode, ListParams, NewCustomer, Removed};
use plugipay_sandbox::{
    FaultKind, FaultProxy, ProxyFaults, Sandbox, SandboxConfig, TEST_ACCOUNT_ID, TEST_KEY_ID,
    TEST_SECRET,
};

use crate::cli::DemoArgs;
use crate::failure::Failure;
use crate::output::progress;

/// One line of the story on stdout. A failed write ends the demo: a reader
/// that went away (`demo | head`) quietly, anything else (a full disk) as
/// an error; never a panic, as `println!` would.
fn line(text: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{text}").map_err(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe => Failure::Closed,
        _ => Failure::Other(format!("cannot write the demo: {e}")),
    })
}

fn chapter(n: u32, title: &str) -> Result<(), Failure> {
    line(&format!("\n{n}. {title}"))
}

fn say(text: impl AsRef<str>) -> Result<(), Failure> {
    line(&format!("   {}", text.as_ref()))
}

fn brief(c: &plugipay::Customer) -> String {
    format!(
        "{} {} <{}>",
        c.id,
        c.name.as_deref().unwrap_or("(no name)"),
        c.email.as_deref().unwrap_or("no email")
    )
}

/// Expects `result` to fail with `code`; anything else ends the demo.
fn expect_error<T>(result: Result<T, Error>, code: ErrorCode) -> Result<Error, Failure> {
    match result {
        Err(e) if e.code() == Some(&code) => Ok(e),
        Err(e) => Err(e.into()),
        Ok(_) => Err(Failure::Other(format!(
            "expected a {code} error, the call succeeded"
        ))),
    }
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> Result<(), Failure> {
    line("Plugipay customers, end to end")?;
    line("==============================")?;
    let sandbox = Sandbox::start(SandboxConfig::new().seed_customers(args.seed_customers))
        .await
        .map_err(|e| Failure::Other(format!("cannot start the sandbox: {e}")))?;
    say(format!(
        "A local Plugipay sandbox is listening on {} with {} customers already in its book.",
        sandbox.base_url(),
        args.seed_customers
    ))?;
    say(format!(
        "We sign every request with the test key {TEST_KEY_ID} (HMAC-SHA256)."
    ))?;
    let client = Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(sandbox.base_url())
        .build()?;
    let customers = client.customers();

    chapter(1, "Create a customer, with metadata for reconciliation")?;
    let alice = customers
        .create(
            NewCustomer::new()
                .email("alice@example.com")
                .name("Alice Tan")
                .phone("+62812000001")
                .external_id("user_19823")
                .metadata("plan", "pro")
                .metadata("signup_source", "web"),
        )
        .await?;
    say(format!("created {}", brief(&alice)))?;
    say(format!(
        "metadata {:?}; a fresh Idempotency-Key made the create safe to retry",
        alice.metadata
    ))?;

    chapter(2, "Fetch her back by id")?;
    let fetched = customers.get(&alice.id).await?;
    say(format!(
        "got {} (created {})",
        brief(&fetched),
        fetched.created_at.format("%Y-%m-%d %H:%M:%S UTC")
    ))?;

    chapter(3, "Two customers may share one email: list by email")?;
    let business = customers
        .create(
            NewCustomer::new()
                .email("alice@example.com")
                .name("Alice Tan (PT Tan Jaya)"),
        )
        .await?;
    say(format!("created {} for her business", brief(&business)))?;
    let shared = customers
        .list(ListParams::new().email("alice@example.com"))
        .await?;
    say(format!(
        "listing email alice@example.com gives {} customers:",
        shared.items.len()
    ))?;
    for c in &shared.items {
        say(format!("  - {}", brief(c)))?;
    }

    chapter(4, "Find-or-create by your CRM id, twice")?;
    let attrs = NewCustomer::new()
        .email("finance@bigcorp.id")
        .name("BigCorp Indonesia");
    let first = customers.ensure("crm_88012", attrs.clone()).await?;
    say(format!(
        "ensure crm_88012 → {} ({})",
        first.customer.id,
        if first.created { "created" } else { "found" }
    ))?;
    let second = customers.ensure("crm_88012", attrs).await?;
    say(format!(
        "ensure crm_88012 → {} ({})",
        second.customer.id,
        if second.created { "created" } else { "found" }
    ))?;
    if first.customer.id != second.customer.id {
        return Err(Failure::Other(
            "ensure returned two different customers".into(),
        ));
    }
    say("same customer both times: no duplicate")?;

    chapter(5, "Errors are typed: a 409 and a 404, handled")?;
    let conflict = expect_error(
        customers
            .create(NewCustomer::new().external_id("user_19823"))
            .await,
        ErrorCode::Conflict,
    )?;
    say(format!(
        "creating externalId user_19823 again → {}",
        conflict.report()
    ))?;
    let missing = expect_error(
        customers.get("cus_00000000000000000000000000").await,
        ErrorCode::NotFound,
    )?;
    say(format!("getting an unknown id → {}", missing.report()))?;

    chapter(6, "Update: rename her and clear her phone number")?;
    let updated = customers
        .update(
            &alice.id,
            CustomerUpdate::new().name("Alice T. Wijaya").clear_phone(),
        )
        .await?;
    say(format!(
        "now {}; phone {}; email and metadata untouched ({} keys)",
        brief(&updated),
        updated.phone.as_deref().unwrap_or("cleared (null)"),
        updated.metadata.len()
    ))?;

    chapter(
        7,
        "A lost answer: the server created her, the reply never came back",
    )?;
    // A fault proxy between client and sandbox drops the first answer after
    // the sandbox acted (seed 16 makes exactly the first request meet it).
    let proxy = FaultProxy::start(
        sandbox.base_url(),
        ProxyFaults {
            rate: 0.5,
            kinds: vec![FaultKind::DropAfterForward],
            seed: 16,
            ..ProxyFaults::default()
        },
    )
    .await
    .map_err(|e| Failure::Other(format!("cannot start the fault proxy: {e}")))?;
    let flaky = Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(proxy.base_url())
        .build()?;
    let before = sandbox.customer_count(TEST_ACCOUNT_ID);
    let dewi = flaky
        .customers()
        .create(
            NewCustomer::new()
                .email("dewi@example.com")
                .name("Dewi Lestari"),
        )
        .await?;
    let lost = proxy.counts()[&FaultKind::DropAfterForward];
    let created = sandbox.customer_count(TEST_ACCOUNT_ID) - before;
    if lost != 1 || created != 1 {
        return Err(Failure::Other(format!(
            "expected one lost answer and one customer, saw {lost} and {created}"
        )));
    }
    say("attempt 1: the sandbox created the customer, then the connection closed with no answer")?;
    say(format!(
        "attempt 2: the SDK retried with the same Idempotency-Key; the sandbox replayed its \
         first answer → {}",
        brief(&dewi)
    ))?;
    say(format!(
        "{} requests sent, {created} customer created: a retried create never makes a duplicate",
        proxy.requests()
    ))?;

    chapter(
        8,
        "Retire customers: delete one that never paid, archive one with money history",
    )?;
    let trial = customers
        .create(NewCustomer::new().email("trial@example.com"))
        .await?;
    match customers.remove(&trial.id).await? {
        Removed::Deleted => say(format!("removed {}: deleted (it never paid)", trial.id))?,
        Removed::Archived(c) => say(format!("removed {}: archived", c.id))?,
    }
    // In the sandbox, we say the business customer has invoices.
    sandbox.set_money_history(TEST_ACCOUNT_ID, &business.id, true);
    let refused = expect_error(customers.delete(&business.id).await, ErrorCode::Conflict)?;
    say(format!("deleting {} → {}", business.id, refused.report()))?;
    match customers.remove(&business.id).await? {
        Removed::Archived(archived) => say(format!(
            "removed {}: archived instead (metadata.archived = \"{}\", its other metadata kept)",
            archived.id,
            archived.metadata.get("archived").map_or("", String::as_str)
        ))?,
        Removed::Deleted => {
            return Err(Failure::Other(
                "a customer with money history was deleted".into(),
            ));
        }
    }
    let active = customers
        .list(ListParams::new().email("alice@example.com"))
        .active()
        .await?;
    say(format!(
        "active customers with alice@example.com: {}",
        active.items.len()
    ))?;
    for c in &active.items {
        say(format!("  - {}", brief(c)))?;
    }

    chapter(
        9,
        "Walk the whole book, 100 a page, the next page fetched while we count",
    )?;
    let bar = progress(None, "customers walked");
    let mut seen = std::collections::HashSet::new();
    let mut archived_seen = 0u64;
    let mut book = customers.list(ListParams::new().limit(100)).stream();
    while let Some(c) = book.try_next().await? {
        archived_seen += u64::from(c.is_archived());
        if !seen.insert(c.id) {
            return Err(Failure::Other("the walk returned a customer twice".into()));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    say(format!(
        "walked {} customers ({archived_seen} archived), each exactly once",
        seen.len()
    ))?;

    line(
        "\nDone: create, get, list, ensure, errors, update, a safe retry, delete, archive and a full walk.",
    )?;
    line(
        "Try it yourself: plugipay sandbox --seed-customers 1000, then plugipay customers --help.",
    )?;
    Ok(())
}

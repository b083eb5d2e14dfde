//! The customer subcommands and `plugipay sandbox`.

use futures_util::TryStreamExt;
use plugipay::{Client, CustomerUpdate, ListParams, NewCustomer, Removed};
use plugipay_sandbox::SandboxArgs;

use crate::Failure;
use crate::cli::{Attributes, Clear, CustomersCommand, ListArgs};
use crate::output::{Sink, print_customer};
use crate::{export, import, rows};

/// The attributes as a new customer.
pub fn new_customer(external_id: Option<String>, a: Attributes) -> NewCustomer {
    let mut customer = NewCustomer::new();
    customer.external_id = external_id;
    customer.email = a.email;
    customer.name = a.name;
    customer.phone = a.phone;
    customer.tax_id = a.tax_id;
    customer.default_payment_token_id = a.default_payment_token_id;
    customer.metadata = a.metadata.into_iter().collect();
    customer
}

fn update(external_id: Option<String>, a: Attributes, clear: Clear) -> CustomerUpdate {
    let mut update = CustomerUpdate::new();
    let set = |value: Option<String>, clear: bool| match (value, clear) {
        (Some(v), _) => plugipay::Patch::Set(v),
        (None, true) => plugipay::Patch::Null,
        (None, false) => plugipay::Patch::Absent,
    };
    update.email = set(a.email, clear.clear_email);
    update.name = set(a.name, clear.clear_name);
    update.phone = set(a.phone, clear.clear_phone);
    update.tax_id = set(a.tax_id, clear.clear_tax_id);
    update.default_payment_token_id = set(
        a.default_payment_token_id,
        clear.clear_default_payment_token_id,
    );
    update.external_id = set(external_id, false);
    update
}

fn list_params(args: &ListArgs) -> ListParams {
    let mut params = ListParams::new();
    // A whole walk goes in the largest pages unless told otherwise.
    params.limit = args.limit.or(args.all.then_some(100));
    params.cursor = args.cursor.clone();
    params.email = args.email.clone();
    params.external_id = args.external_id.clone();
    params.created_after = args.created_after;
    params.order = args.order;
    params
}

/// Runs `plugipay customers …`.
pub async fn customers(client: &Client, command: CustomersCommand) -> Result<(), Failure> {
    let customers = client.customers();
    match command {
        CustomersCommand::Create {
            external_id,
            attributes,
            key,
        } => {
            let mut create = customers.create(new_customer(external_id, attributes));
            if let Some(key) = key.idempotency_key {
                create = create.idempotency_key(key);
            }
            print_customer(&create.await?)
        }
        CustomersCommand::Get { id } => print_customer(&customers.get(id).await?),
        CustomersCommand::Update {
            id,
            external_id,
            mut attributes,
            clear,
            key,
        } => {
            let entries = std::mem::take(&mut attributes.metadata);
            let mut change = update(external_id, attributes, clear);
            if change.is_empty() && entries.is_empty() {
                return Err(Failure::Other(
                    "nothing to change: give at least one field flag (see --help)".into(),
                ));
            }
            if !entries.is_empty() {
                // The whole map, so the other keys survive whether the server
                // merges PATCHed metadata or replaces it.
                let mut metadata = customers.get(&id).await?.metadata;
                metadata.extend(entries);
                change = change.metadata_map(metadata);
            }
            let mut update = customers.update(id, change);
            if let Some(key) = key.idempotency_key {
                update = update.idempotency_key(key);
            }
            print_customer(&update.await?)
        }
        CustomersCommand::Delete { id, key } => {
            let mut delete = customers.delete(&id);
            if let Some(key) = key.idempotency_key {
                delete = delete.idempotency_key(key);
            }
            delete.await?;
            note!("deleted {id}");
            Ok(())
        }
        CustomersCommand::Remove { id } => match customers.remove(&id).await? {
            Removed::Deleted => {
                note!("deleted {id}");
                Ok(())
            }
            Removed::Archived(customer) => {
                note!("archived {id}: it has money history, so it cannot be deleted");
                print_customer(&customer)
            }
        },
        CustomersCommand::Ensure {
            external_id,
            attributes,
        } => {
            let ensured = customers
                .ensure(external_id, new_customer(None, attributes))
                .await?;
            let verb = if ensured.created { "created" } else { "found" };
            note!("{verb} {}", ensured.customer.id);
            print_customer(&ensured.customer)
        }
        CustomersCommand::Archive { id } => print_customer(&customers.archive(id).await?),
        CustomersCommand::Unarchive { id } => print_customer(&customers.unarchive(id).await?),
        CustomersCommand::List(args) => {
            let mut request = customers.list(list_params(&args));
            if args.active {
                request = request.active();
            }
            if args.archived {
                request = request.archived();
            }
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let mut sink = Sink::new(stdout, crate::output::format(), terminal)?;
            if args.all {
                let mut stream = request.stream();
                let mut read = 0u64;
                loop {
                    match stream.try_next().await {
                        Ok(Some(customer)) => {
                            sink.customer(&customer)?;
                            read += 1;
                        }
                        Ok(None) => break,
                        // An argument refused before the network: no walk began.
                        Err(e @ plugipay::Error::InvalidArgument { .. }) => return Err(e.into()),
                        Err(e) => {
                            let noun = if read == 1 { "customer" } else { "customers" };
                            report!(
                                "the walk stopped after {read} {noun}: \
                                 what was printed is not the whole book"
                            );
                            return Err(e.into());
                        }
                    }
                }
            } else {
                let page = request.await?;
                for customer in &page.items {
                    sink.customer(customer)?;
                }
                if args.active || args.archived {
                    note!("(archive filter applied to this page only; add --all for every page)");
                }
                crate::output::page_end(&page, "customers");
            }
            sink.finish()
        }
        CustomersCommand::Export { out, parallel } => {
            export::export(&client.bulk(), out, usize::from(parallel)).await
        }
        CustomersCommand::Import {
            file,
            concurrency,
            update,
            dry_run,
            ..
        } => match file {
            Some(file) => {
                let mode = import::ImportMode {
                    update,
                    dry_run,
                    concurrency: usize::from(concurrency),
                };
                import::import(&client.bulk(), &file, mode).await
            }
            None => rows::print_row_schema(),
        },
    }
}

/// Runs `plugipay sandbox`: the same flags and readiness line as `plugipay-sandbox`.
pub async fn sandbox(args: SandboxArgs) -> Result<(), Failure> {
    plugipay_sandbox::run(args).await.map_err(|e| match e {
        plugipay_sandbox::RunError::Config(why) => Failure::Usage(why),
        e => Failure::Other(e.to_string()),
    })
}

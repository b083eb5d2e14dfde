//! The customer subcommands and `plugipay sandbox`.

use futures_util::TryStreamExt;
use plugipay::{Client, CustomerUpdate, ListParams, NewCustomer, Removed};
use plugipay_sandbox::SandboxArgs;

use crate::cli::{CustomersCommand, ListArgs};
use crate::failure::Failure;
use crate::output::{Sink, print_customer};
use crate::{export, import, rows};

/// A generated argument struct's flags as the SDK's request: a value the
/// spec's type refuses is a bad invocation (exit 2).
fn request<T>(converted: Result<T, String>) -> Result<T, Failure> {
    converted.map_err(|e| Failure::Usage(format!("the flags do not make a request: {e}")))
}

/// A list's parameters: the generated flags, and pages of 100 for a walk
/// unless told.
fn list_params(args: &ListArgs) -> Result<ListParams, Failure> {
    if args.all && args.query.cursor.is_some() {
        return Err(Failure::Usage(
            "--cursor starts one page; --all walks every page from the first: give one".into(),
        ));
    }
    let mut params = request(args.query.to_params())?;
    params.limit = params.limit.or(args.all.then_some(100));
    Ok(params)
}

/// Runs `plugipay customers …`.
pub async fn customers(client: &Client, command: CustomersCommand) -> Result<(), Failure> {
    let customers = client.customers();
    match command {
        CustomersCommand::Create { body, key } => {
            let mut create = customers.create(request(body.to_request())?);
            if let Some(key) = key.idempotency_key {
                create = create.idempotency_key(key);
            }
            print_customer(&create.await?)
        }
        CustomersCommand::Get { id } => print_customer(&customers.get(id).await?),
        CustomersCommand::Update { id, mut body, key } => {
            let entries = std::mem::take(&mut body.metadata);
            let mut change: CustomerUpdate = request(body.to_request())?;
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
        CustomersCommand::Ensure { mut body, .. } => {
            // Required by the command's arguments.
            let external_id = body.external_id.take().unwrap_or_default();
            let ensured = customers
                .ensure(external_id, request::<NewCustomer>(body.to_request())?)
                .await?;
            let verb = if ensured.created { "created" } else { "found" };
            note!("{verb} {}", ensured.customer.id);
            print_customer(&ensured.customer)
        }
        CustomersCommand::Archive { id } => print_customer(&customers.archive(id).await?),
        CustomersCommand::Unarchive { id } => print_customer(&customers.unarchive(id).await?),
        CustomersCommand::List(args) => {
            let mut list = customers.list(list_params(&args)?);
            if args.active {
                list = list.active();
            }
            if args.archived {
                list = list.archived();
            }
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let mut sink = Sink::new(stdout, crate::output::format(), terminal)?;
            if args.all {
                crate::output::note_csv_waits();
                let mut stream = list.stream();
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
                let page = list.await?;
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
        CustomersCommand::Changes { since } => changes(client, &since).await,
        CustomersCommand::Mirror {
            target,
            resync,
            verify,
            follow,
            every,
        } => {
            let mode = crate::mirror::MirrorMode {
                resync,
                verify,
                follow: follow.then_some(every),
            };
            crate::mirror::mirror(client, &target, mode).await
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

/// `customers changes --since CHECKPOINT`: the changes as JSON lines, each
/// with the checkpoint after it; the last checkpoint on stderr.
async fn changes(client: &Client, since: &str) -> Result<(), Failure> {
    let since = match since {
        "latest" => plugipay::Checkpoint::latest(client).await?,
        text => text
            .parse::<plugipay::Checkpoint>()
            .map_err(|e| Failure::Usage(format!("--since {text:?}: {e}, or `latest`")))?,
    };
    let mut stream = client.bulk().customers().changes(&since);
    let stdout = std::io::stdout();
    let terminal = std::io::IsTerminal::is_terminal(&stdout);
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut count = 0u64;
    let mut last = since.clone();
    loop {
        let next = stream.try_next().await;
        let changed = match next {
            Ok(Some(changed)) => changed,
            Ok(None) => break,
            Err(e) => {
                // What was printed stands, each line with its checkpoint.
                crate::terminal::flush(&mut out)?;
                return Err(e.into());
            }
        };
        let checkpoint = changed.checkpoint.to_string();
        let line = match &changed.change {
            plugipay::Change::Upsert(customer) => serde_json::json!({
                "change": "upsert", "customer": customer, "checkpoint": checkpoint,
            }),
            plugipay::Change::Deleted { id, at } => serde_json::json!({
                "change": "deleted", "id": id, "at": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "checkpoint": checkpoint,
            }),
            _ => continue,
        };
        let text = line.to_string();
        // On a terminal, invisible and control characters a server sent
        // are shown escaped, as every JSON output does.
        let text = if terminal {
            crate::terminal::json_terminal_safe(&text)
        } else {
            text.as_str().into()
        };
        crate::terminal::text_line(&mut out, &text)?;
        count += 1;
        last = changed.checkpoint;
    }
    crate::terminal::flush(&mut out)?;
    note!(
        "{} since {since}; to go on: --since '{last}'",
        crate::terminal::plural(count, "change", "changes")
    );
    Ok(())
}

/// Runs `plugipay sandbox`: the same flags and readiness line as `plugipay-sandbox`.
pub async fn sandbox(args: SandboxArgs) -> Result<(), Failure> {
    plugipay_sandbox::run(args).await.map_err(|e| match e {
        plugipay_sandbox::RunError::Config(why) => Failure::Usage(why),
        e => Failure::Other(e.to_string()),
    })
}

//! `plugipay api OPERATION [NAME=VALUE …]`: any operation of the spec,
//! chosen by its operationId from the generated operations table, its
//! parameters checked as the spec documents them before the network, sent
//! through the SDK's one pipeline (signing, Idempotency-Key, retries,
//! pacing, typed errors). An operation added to the spec is callable here
//! with no hand edit.

use std::io::{Read, Write};

use futures_util::TryStreamExt;
use plugipay::api::endpoint::OperationInfo;
use plugipay::{Client, Method};
use serde_json::Value;

use crate::cli::{ApiArgs, operations_help};
use crate::failure::Failure;
use crate::output::{DataArray, Format, data_document, format};
use crate::terminal::{flush, json_terminal_safe, text_line};

/// A usage error about the invocation (exit 2).
fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(message.into())
}

/// The operation `args` name, its path, query and body, checked before
/// anything is sent.
struct Call {
    op: &'static OperationInfo,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
}

/// Reads `args` against the operation it names in `table`.
fn prepare(table: &'static [OperationInfo], args: &ApiArgs) -> Result<Call, Failure> {
    let Some(id) = args.operation.as_deref() else {
        return Err(usage(format!(
            "name an operation: plugipay api OPERATION [NAME=VALUE …]\n{}",
            operations_help(table)
        )));
    };
    let op = table.iter().find(|op| op.id == id).ok_or_else(|| {
        let known: Vec<&str> = table.iter().map(|op| op.id).collect();
        usage(format!(
            "no operation {id:?} in the spec: one of {}",
            known.join(", ")
        ))
    })?;
    let mut path_values = Vec::new();
    let mut query = Vec::new();
    for pair in &args.params {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(usage(format!("{pair:?} is not NAME=VALUE")));
        };
        if op.path_params.contains(&name) {
            path_values.push((name.to_owned(), value.to_owned()));
        } else if let Some(param) = op.query_param(name) {
            param
                .check(value)
                .map_err(|e| usage(format!("{}: {}", e.field, e.reason)))?;
            query.push((name.to_owned(), value.to_owned()));
        } else {
            let mut names: Vec<&str> = op.path_params.to_vec();
            names.extend(op.query.iter().map(|q| q.name));
            return Err(usage(format!(
                "`{}` takes no parameter {name:?}: {}",
                op.id,
                if names.is_empty() {
                    "it takes none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        }
    }
    let path = op
        .path_with(|name| {
            path_values
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        })
        .map_err(|e| usage(format!("{}: {} ({}=…)", e.field, e.reason, e.field)))?;
    let body = match (&args.body, op.body) {
        (Some(_), false) => {
            return Err(usage(format!("`{}` takes no body", op.id)));
        }
        (None, true) => {
            return Err(usage(format!(
                "`{}` takes a JSON body: --body JSON, --body @FILE or --body - (stdin); \
                 --body '{{}}' for none",
                op.id
            )));
        }
        (None, false) => None,
        (Some(body), true) => Some(read_body(body)?),
    };
    if args.all && !(op.list && op.query_param("cursor").is_some()) {
        return Err(usage(format!(
            "`{}` is not a paginated list: --all walks list operations only",
            op.id
        )));
    }
    if args.idempotency_key.is_some() && !op.idempotency_key {
        return Err(usage(format!(
            "`{}` is not a write: it takes no Idempotency-Key",
            op.id
        )));
    }
    Ok(Call {
        op,
        path,
        query,
        body,
    })
}

/// `--body`: JSON text, `@FILE`, or `-` for standard input.
fn read_body(body: &str) -> Result<Value, Failure> {
    let text = if body == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Other(format!("--body -: cannot read standard input: {e}")))?;
        text
    } else if let Some(file) = body.strip_prefix('@') {
        std::fs::read_to_string(file)
            .map_err(|e| Failure::Other(format!("--body @{file}: cannot read it: {e}")))?
    } else {
        body.to_owned()
    };
    serde_json::from_str(&text).map_err(|e| usage(format!("--body is not JSON: {e}")))
}

/// Runs `plugipay api …` with the spec's operations.
pub async fn api(client: &Client, args: ApiArgs) -> Result<(), Failure> {
    run(client, plugipay::api::endpoints::OPERATIONS, args).await
}

/// Runs `plugipay api …` against the operations of `table`.
pub async fn run(
    client: &Client,
    table: &'static [OperationInfo],
    args: ApiArgs,
) -> Result<(), Failure> {
    if format() == Format::Csv {
        return Err(usage(
            "`plugipay api` prints JSON: --output json (the default), ids or --json",
        ));
    }
    let call = prepare(table, &args)?;
    let method = Method::from_bytes(call.op.method.as_bytes())
        .map_err(|_| Failure::Other(format!("the spec's method {:?}", call.op.method)))?;
    let mut request = client.request(method, call.path);
    if !call.query.is_empty() {
        request = request.query(&call.query);
    }
    if let Some(body) = &call.body {
        request = request.json(body);
    }
    if let Some(key) = args.idempotency_key {
        request = request.idempotency_key(key);
    }
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.all {
        let mut items = request.paginated().stream();
        let mut array = DataArray::default();
        let mut printed = 0u64;
        loop {
            match items.try_next().await {
                Ok(Some(item)) => {
                    print_item(&mut out, &mut array, &item, terminal)?;
                    printed += 1;
                }
                Ok(None) => break,
                Err(e @ plugipay::Error::InvalidArgument { .. }) => return Err(e.into()),
                Err(e) => {
                    let _ = out.flush();
                    let noun = if printed == 1 { "item" } else { "items" };
                    report!(
                        "the walk stopped after {printed} {noun}: what was printed is not the \
                         whole list"
                    );
                    return Err(e.into());
                }
            }
        }
        if format() == Format::Document {
            array.close(&mut out)?;
        }
        return flush(&mut out);
    }
    if call.op.list {
        let page = request.paginated().await?;
        let mut array = DataArray::default();
        for item in &page.items {
            print_item(&mut out, &mut array, item, terminal)?;
        }
        if format() == Format::Document {
            array.close(&mut out)?;
        }
        flush(&mut out)?;
        crate::output::page_end(&page, "items");
        return Ok(());
    }
    let data: Value = request.await?;
    match (data, format()) {
        (Value::Null, _) => note!("done: {} {}", call.op.method, call.op.id),
        (data, Format::Document) => data_document(&mut out, &data.to_string(), terminal)?,
        (data, _) => print_item(&mut out, &mut DataArray::default(), &data, terminal)?,
    }
    flush(&mut out)
}

/// One item of an answer as `--output` (or `--json`) says: its JSON on a
/// line, its `id`, or an element of the document's array.
fn print_item(
    out: &mut impl Write,
    array: &mut DataArray,
    item: &Value,
    terminal: bool,
) -> Result<(), Failure> {
    let json = item.to_string();
    match format() {
        Format::Document => array.item(out, &json, terminal),
        Format::Ids => match item.get("id").and_then(Value::as_str) {
            Some(id) => text_line(out, &crate::terminal::terminal_safe(id)),
            None => Err(Failure::Other(
                "an item without a string id cannot be printed as an id".into(),
            )),
        },
        Format::Json | Format::Csv if terminal => text_line(out, &json_terminal_safe(&json)),
        Format::Json | Format::Csv => text_line(out, &json),
    }
}

#[cfg(test)]
mod tests {
    use plugipay::api::endpoint::{OperationInfo, ParamKind, QueryParam};

    use super::*;

    fn args(words: &[&str]) -> ApiArgs {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            api: ApiArgs,
        }
        Cli::try_parse_from(std::iter::once("api").chain(words.iter().copied()))
            .unwrap()
            .api
    }

    fn refused(words: &[&str]) -> String {
        match prepare(plugipay::api::endpoints::OPERATIONS, &args(words)) {
            Err(Failure::Usage(message)) => message,
            Err(other) => panic!("{words:?}: not a usage error: {other:?}"),
            Ok(_) => panic!("{words:?}: accepted"),
        }
    }

    #[test]
    fn parameters_are_checked_by_the_spec_before_the_network() {
        let table = plugipay::api::endpoints::OPERATIONS;
        let call = prepare(table, &args(&["get_customer", "id=cus 1/x"])).unwrap();
        assert!(call.path.ends_with("/cus%201%2Fx"), "{}", call.path);
        let call = prepare(
            table,
            &args(&["list_customers", "limit=5", "email=a@b.c", "order=asc"]),
        )
        .unwrap();
        assert_eq!(call.query.len(), 3);
        assert!(refused(&["list_customers", "limit=0"]).contains("limit"));
        assert!(refused(&["list_customers", "limit=ten"]).contains("whole number"));
        assert!(refused(&["list_customers", "order=sideways"]).contains("asc"));
        assert!(refused(&["list_customers", "createdAfter=yesterday"]).contains("RFC 3339"));
        assert!(refused(&["list_customers", "colour=red"]).contains("email"));
        assert!(refused(&["get_customer"]).contains("id"));
        assert!(refused(&["get_customer", "id=.."]).contains("id"));
        assert!(refused(&["create_customer"]).contains("--body"));
        assert!(refused(&["get_customer", "id=c", "--body", "{}"]).contains("no body"));
        assert!(refused(&["create_customer", "--body", "{oops"]).contains("not JSON"));
        assert!(refused(&["get_customer", "id=c", "--all"]).contains("list"));
        assert!(refused(&["no_such_thing"]).contains("list_customers"));
        assert!(refused(&[]).contains("Operations"));
    }

    /// An operation the CLI has no code for, only a table entry (as the
    /// generator writes one for an operation added to the spec): listed,
    /// and called through the same pipeline.
    #[tokio::test]
    async fn an_operation_of_the_table_is_callable_with_no_code_of_its_own() {
        static TABLE: &[OperationInfo] = &[OperationInfo {
            id: "list_invoices",
            summary: "List invoices",
            method: "GET",
            path: "/api/v1/invoices",
            idempotency_key: false,
            path_params: &[],
            query: &[
                QueryParam {
                    name: "cursor",
                    description: "",
                    kind: ParamKind::Text,
                },
                QueryParam {
                    name: "status",
                    description: "",
                    kind: ParamKind::OneOf(&["open", "paid"]),
                },
            ],
            body: false,
            list: true,
        }];
        assert!(operations_help(TABLE).contains("list_invoices"));
        let call = prepare(TABLE, &args(&["list_invoices", "status=paid", "--all"])).unwrap();
        assert_eq!(call.path, "/api/v1/invoices");
        assert!(prepare(TABLE, &args(&["list_invoices", "status=void"])).is_err());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            let body = r#"{"data":[{"id":"inv_1"}],"meta":{"hasMore":false}}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&seen).into_owned()
        });
        let client = Client::builder()
            .key_id("ak_test_t")
            .secret("sk_test_t")
            .base_url(&base)
            .build()
            .unwrap();
        run(&client, TABLE, args(&["list_invoices", "status=paid"]))
            .await
            .unwrap();
        let request = server.await.unwrap();
        assert!(
            request.starts_with("GET /api/v1/invoices?status=paid HTTP/1.1"),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: plugipay-hmac-sha256")
        );
    }
}

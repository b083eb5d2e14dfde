//! `plugipay-sandbox`: a local Plugipay customers server.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use plugipay_sandbox::SandboxArgs;

/// A local Plugipay customers server speaking the live wire protocol.
#[derive(Parser)]
#[command(name = "plugipay-sandbox", version)]
struct Cli {
    #[command(flatten)]
    sandbox: SandboxArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match plugipay_sandbox::run(cli.sandbox).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {e}");
            match e {
                // A bad invocation, as clap's own usage errors.
                plugipay_sandbox::RunError::Config(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

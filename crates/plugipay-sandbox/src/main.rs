//! `plugipay-sandbox`: a local Plugipay customers server.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use plugipay_sandbox::{
    PLATFORM_KEY_ID, PLATFORM_SECRET, Sandbox, SandboxArgs, TEST_ACCOUNT_ID, TEST_API_KEY,
    TEST_KEY_ID, TEST_SECRET,
};

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
    let sandbox = match Sandbox::start(cli.sandbox.config()).await {
        Ok(sandbox) => sandbox,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", cli.sandbox.addr);
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", sandbox.base_url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "credentials: key id {TEST_KEY_ID} / secret {TEST_SECRET}, or Bearer {TEST_API_KEY} \
         (workspace {TEST_ACCOUNT_ID}); platform key {PLATFORM_KEY_ID} / {PLATFORM_SECRET}"
    );
    tokio::select! {
        _ = sandbox.serve_forever() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    ExitCode::SUCCESS
}

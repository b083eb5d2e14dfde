//! How the examples connect: to the API named by `PLUGIPAY_BASE_URL` (with
//! the usual `PLUGIPAY_*` credentials), or, when it is unset, to an embedded
//! sandbox that lives as long as the returned guard.

use plugipay::Client;
use plugipay_sandbox::{Sandbox, SandboxConfig, TEST_KEY_ID, TEST_SECRET};

/// A client, and the sandbox it talks to when there is one.
pub async fn connect(
    seed_customers: usize,
) -> Result<(Client, Option<Sandbox>), Box<dyn std::error::Error>> {
    if std::env::var_os("PLUGIPAY_BASE_URL").is_some() {
        return Ok((Client::from_env()?, None));
    }
    let sandbox = Sandbox::start(SandboxConfig::new().seed_customers(seed_customers)).await?;
    eprintln!(
        "(PLUGIPAY_BASE_URL is unset: using an embedded sandbox at {})",
        sandbox.base_url()
    );
    let client = Client::builder()
        .key_id(TEST_KEY_ID)
        .secret(TEST_SECRET)
        .base_url(sandbox.base_url())
        .build()?;
    Ok((client, Some(sandbox)))
}

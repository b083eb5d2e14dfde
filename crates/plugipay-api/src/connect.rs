//! Building a generated [`Client`] configured the way Plugipay needs: no
//! redirects (a signed request must not be replayed elsewhere), the
//! plugipay-rs User-Agent, and the given timeouts.

use std::time::Duration;

use crate::Client;
use crate::auth::Credentials;
use crate::hooks::Context;

/// The `User-Agent` every request carries: `plugipay-rs/<version>`.
pub const USER_AGENT: &str = concat!("plugipay-rs/", env!("CARGO_PKG_VERSION"));

/// The live service.
pub const DEFAULT_BASE_URL: &str = "https://plugipay.com";

/// A `reqwest::ClientBuilder` with Plugipay's settings: redirects are not
/// followed, the User-Agent is set, and TLS (rustls, with the `rustls`
/// feature) is on. Add your own settings, then pass the built client to
/// [`client_with_http`].
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
}

/// [`http_client_builder`] for a client that only ever talks to
/// `base_url`: when that is plain `http://` (a local sandbox), no TLS root
/// certificates are loaded (with the `rustls` feature, reading the system's
/// roots is most of a short-lived process's start-up). Requests to other
/// URLs over HTTPS then fail, which is what a client bound to one
/// plain-HTTP base URL wants.
pub fn http_client_builder_for(base_url: &str) -> reqwest::ClientBuilder {
    let builder = http_client_builder();
    #[cfg(feature = "rustls")]
    let builder = if base_url.starts_with("http://") {
        builder.tls_certs_only(std::iter::empty())
    } else {
        builder
    };
    #[cfg(not(feature = "rustls"))]
    let _ = base_url;
    builder
}

/// A generated client for `base_url` (e.g. `https://plugipay.com`) that signs
/// with `credentials`, with a 30-second request timeout.
///
/// ```
/// use plugipay_api::auth::Credentials;
///
/// let creds = Credentials::hmac("ak_test_sandbox", "sk_test_sandbox").unwrap();
/// let client = plugipay_api::client("http://127.0.0.1:8080", creds).unwrap();
/// let _request = client.get_customer().id("cus_01HXAB7K3M9N2P5QRS8TVWXY3Z");
/// ```
pub fn client(base_url: &str, credentials: Credentials) -> reqwest::Result<Client> {
    let http = http_client_builder_for(base_url)
        .timeout(Duration::from_secs(30))
        .build()?;
    Ok(client_with_http(base_url, credentials, http))
}

/// A generated client over an existing `reqwest::Client`. Build it from
/// [`http_client_builder`] so that redirects stay off.
pub fn client_with_http(base_url: &str, credentials: Credentials, http: reqwest::Client) -> Client {
    Client::new_with_client(
        base_url.trim_end_matches('/'),
        http,
        Context::new(credentials),
    )
}

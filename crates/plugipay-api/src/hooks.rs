//! What runs before every generated operation of the low-level client: sign
//! the built request and stamp the User-Agent (dropping progenitor's
//! `api-version` header). Nothing else: sending, timeouts and reading are
//! the `reqwest::Client`'s, and retries, pacing, bounded reads and typed
//! errors are the `plugipay` SDK's, which sends through its own pipeline
//! (signed by the same [`Context::sign`]).

use progenitor_client::{ClientHooks, Error, OperationInfo};
use reqwest::header::{HeaderValue, USER_AGENT};

use crate::Client;
use crate::auth::Credentials;
use crate::clock::SigningClock;

/// The state the generated [`Client`] carries for its hooks: the credentials
/// every request is signed with, and the clock it is signed by.
#[derive(Clone, Debug)]
pub struct Context {
    credentials: Credentials,
    clock: SigningClock,
}

impl Context {
    /// A context that signs with `credentials`, by this machine's clock
    /// until an offset is learned.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            clock: SigningClock::default(),
        }
    }

    /// The credentials requests are signed with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The clock requests are signed by (shared by the clones of a client).
    pub fn clock(&self) -> &SigningClock {
        &self.clock
    }

    /// Signs a fully built request now: the one signer of every request,
    /// whichever path sends it.
    pub fn sign(&self, request: &mut reqwest::Request) -> Result<(), String> {
        self.credentials.authorize(request, self.clock.now_secs())
    }
}

impl ClientHooks<Context> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let headers = request.headers_mut();
        headers.insert(USER_AGENT, HeaderValue::from_static(crate::USER_AGENT));
        // progenitor stamps every request with `api-version: <info.version>`;
        // Plugipay defines no such header and its own SDKs do not send it.
        headers.remove("api-version");
        // Signed here, once per send: a retry builds and signs a new request.
        self.inner.sign(request).map_err(Error::Custom)
    }
}

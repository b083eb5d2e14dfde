//! Who is calling, in two steps: [`Keys::admit`] judges a request from its
//! headers (the key, the timestamp, the signature's form, the workspace it
//! acts on, in the mode its key's prefix names), before any of its body is
//! read; [`Admission::verify`] then
//! checks the HMAC signature (constant-time), which covers the body, over
//! the request as received, and [`Admission::principal`] says who the
//! caller acts for.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use hyper::http::HeaderMap;
use plugipay_api::auth::{
    HMAC_SCHEME, IDEMPOTENCY_KEY_HEADER, MAX_CLOCK_SKEW_SECS, TIMESTAMP_HEADER, string_to_sign,
};
use sha2::Sha256;

use crate::config::{ApiKey, Scope, Secret};
use crate::failure::Failure;
use crate::workspace::Mode;
use crate::workspace::WorkspaceId;

/// The header a platform key names the workspace it acts for in.
pub use plugipay_api::wire::ON_BEHALF_OF as ON_BEHALF_OF_HEADER;

/// The caller of a request, once authenticated.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The workspace the request acts on, in its key's mode.
    pub(crate) workspace: WorkspaceId,
}

/// A key the sandbox accepts, with the mode its prefix names.
struct Known {
    key: ApiKey,
    mode: Mode,
}

/// The keys a sandbox accepts, by key id and by Bearer token.
pub struct Keys {
    /// By key id: the secret and the key.
    hmac: HashMap<String, (String, Known)>,
    bearer: HashMap<String, Known>,
}

impl Keys {
    /// Indexes `keys`; a later key with the same id replaces an earlier
    /// one. Refuses a key whose prefix names no mode (see [`ApiKey::mode`]).
    pub fn new(keys: impl IntoIterator<Item = ApiKey>) -> Result<Self, String> {
        let mut hmac = HashMap::new();
        let mut bearer = HashMap::new();
        for key in keys {
            let mode = key.mode()?;
            match &key.secret {
                Secret::Hmac { key_id, secret } => {
                    let (key_id, secret) = (key_id.clone(), secret.clone());
                    hmac.insert(key_id, (secret, Known { key, mode }));
                }
                Secret::Bearer(token) => {
                    bearer.insert(token.clone(), Known { key, mode });
                }
            }
        }
        Ok(Self { hmac, bearer })
    }

    /// Judges a request from its headers alone, before its body is read:
    /// the Authorization header's shape, the key, and for an HMAC key the
    /// timestamp (present, Unix seconds, within the allowed skew) and the
    /// signature's form. A request refused here is refused whatever its
    /// body; one admitted still has its signature, which covers the body,
    /// to [verify](Admission::verify).
    pub fn admit(&self, headers: &HeaderMap, now_secs: u64) -> Result<Admission<'_>, Failure> {
        let unauthorized = |message: &str| Failure::new(401, "unauthorized", message);
        let auth = headers
            .get(hyper::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization header"))?
            .to_str()
            .map_err(|_| unauthorized("unreadable Authorization header"))?;
        let (key, signed) = if let Some(token) = auth.strip_prefix("Bearer ") {
            let key = self
                .bearer
                .get(token.trim())
                .ok_or_else(|| unauthorized("unknown API key"))?;
            (key, None)
        } else if let Some(params) = auth.strip_prefix(HMAC_SCHEME) {
            let (key, signed) = self.admit_hmac(params, headers, now_secs)?;
            (key, Some(signed))
        } else {
            return Err(unauthorized("unsupported Authorization scheme"));
        };
        Ok(Admission {
            key: &key.key,
            mode: key.mode,
            signed,
            account: acting_for(key, headers),
        })
    }

    fn admit_hmac(
        &self,
        params: &str,
        headers: &HeaderMap,
        now_secs: u64,
    ) -> Result<(&Known, Signed<'_>), Failure> {
        let field = |name: &str| {
            params.split(',').find_map(|part| {
                let (k, v) = part.trim().split_once('=')?;
                (k == name).then(|| v.trim())
            })
        };
        let (Some(key_id), Some(signature)) = (field("keyId"), field("signature")) else {
            return Err(Failure::new(
                401,
                "unauthorized",
                "the HMAC Authorization header needs keyId and signature",
            ));
        };
        let (secret, key) = self
            .hmac
            .get(key_id)
            .ok_or_else(|| Failure::new(401, "unauthorized", "unknown key id"))?;
        let invalid = |message: &str| Failure::new(401, "invalid_timestamp", message);
        let timestamp: u64 = headers
            .get(TIMESTAMP_HEADER)
            .ok_or_else(|| invalid("missing X-Plugipay-Timestamp header"))?
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| invalid("X-Plugipay-Timestamp is not Unix seconds"))?;
        if now_secs.abs_diff(timestamp) > MAX_CLOCK_SKEW_SECS {
            return Err(Failure::new(
                401,
                "timestamp_skew",
                format!(
                    "the timestamp is more than {MAX_CLOCK_SKEW_SECS} s from the server's clock"
                ),
            ));
        }
        // A signature that is not an HMAC-SHA256 in hex matches no body.
        let signature = hex::decode(signature)
            .ok()
            .filter(|s| s.len() == SIGNATURE_BYTES)
            .ok_or_else(bad_signature)?;
        let signed = Signed {
            secret,
            signature,
            timestamp,
        };
        Ok((key, signed))
    }
}

/// The length of an HMAC-SHA256.
const SIGNATURE_BYTES: usize = 32;

fn bad_signature() -> Failure {
    Failure::new(
        401,
        "signature_invalid",
        "the signature does not match the request",
    )
}

/// The workspace a key acts on, in the key's mode: its own, or the one it
/// names in `X-Plugipay-On-Behalf-Of` if it is a platform key.
fn acting_for(known: &Known, headers: &HeaderMap) -> Result<WorkspaceId, Failure> {
    let key = &known.key;
    let Some(value) = headers.get(ON_BEHALF_OF_HEADER) else {
        return Ok(WorkspaceId::new(key.account_id.clone(), known.mode));
    };
    let account = value.to_str().unwrap_or("").trim();
    if !key.platform {
        return Err(Failure::new(
            403,
            "forbidden",
            "only platform keys may use X-Plugipay-On-Behalf-Of",
        ));
    }
    if account.is_empty() {
        return Err(Failure::validation(
            "X-Plugipay-On-Behalf-Of",
            "X-Plugipay-On-Behalf-Of is empty",
        ));
    }
    Ok(WorkspaceId::new(account, known.mode))
}

/// What an HMAC signature needs besides the request itself.
struct Signed<'k> {
    secret: &'k str,
    signature: Vec<u8>,
    timestamp: u64,
}

/// A request whose headers passed: a known key, and for an HMAC key a
/// fresh timestamp and a well-formed signature, still to be checked
/// against the body.
pub struct Admission<'k> {
    key: &'k ApiKey,
    /// The mode its prefix names.
    mode: Mode,
    signed: Option<Signed<'k>>,
    /// The workspace (and mode) it acts on, or what it is answered once its
    /// signature holds (a key that may not act for another workspace).
    account: Result<WorkspaceId, Failure>,
}

impl Admission<'_> {
    /// Whether the answer depends on the body: an HMAC signature covers
    /// it; a Bearer key is judged by its headers alone.
    pub fn needs_body(&self) -> bool {
        self.signed.is_some()
    }

    /// Whether the key may act on the workspace the headers name: a
    /// failure here is the answer once the signature holds.
    pub fn check_acting(&self) -> Result<(), Failure> {
        self.account.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// 403 `insufficient_scope` unless the key holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), Failure> {
        if self.key.scopes.contains(&scope) {
            return Ok(());
        }
        Err(Failure::new(
            403,
            "insufficient_scope",
            format!("this key lacks the {} scope", scope.as_str()),
        ))
    }

    /// The workspace (in the key's mode) whose rate buckets the request
    /// draws on: the one it acts on, or the key's own when it may not act
    /// on the one it names.
    pub fn rate_workspace(&self) -> WorkspaceId {
        match &self.account {
            Ok(workspace) => workspace.clone(),
            Err(_) => WorkspaceId::new(self.key.account_id.clone(), self.mode),
        }
    }

    /// Checks the signature (constant-time) over the request as received:
    /// its method, its target (path and query) and its body bytes; 401
    /// `signature_invalid` when it does not match. A Bearer request has
    /// nothing to check. Once this passes, the request is authenticated.
    pub fn verify(
        &self,
        method: &str,
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Failure> {
        if let Some(signed) = &self.signed {
            let idempotency_key = headers
                .get(IDEMPOTENCY_KEY_HEADER)
                .and_then(|v| v.to_str().ok());
            let to_sign = string_to_sign(method, target, signed.timestamp, body, idempotency_key);
            let mut mac = Hmac::<Sha256>::new_from_slice(signed.secret.as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(to_sign.as_bytes());
            mac.verify_slice(&signed.signature)
                .map_err(|_| bad_signature())?;
        }
        Ok(())
    }

    /// The caller, once [verified](Self::verify): the workspace it acts
    /// on, or why it may not act on the one it names.
    pub fn principal(self) -> Result<Principal, Failure> {
        Ok(Principal {
            workspace: self.account?,
        })
    }
}

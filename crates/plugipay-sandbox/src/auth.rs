//! Who is calling: verifies the HMAC signature (constant-time) or the Bearer
//! key of a request as received, and resolves the workspace it acts on.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use hyper::http::HeaderMap;
use plugipay_api::auth::{
    HMAC_SCHEME, IDEMPOTENCY_KEY_HEADER, MAX_CLOCK_SKEW_SECS, TIMESTAMP_HEADER, string_to_sign,
};
use sha2::Sha256;

use crate::config::{ApiKey, Scope, Secret};
use crate::failure::Failure;

/// The header a platform key names the workspace it acts for in.
pub const ON_BEHALF_OF_HEADER: &str = "x-plugipay-on-behalf-of";

/// The caller of a request, once authenticated.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The workspace the request acts on.
    pub account_id: String,
    scopes: Vec<Scope>,
}

impl Principal {
    /// 403 `forbidden` unless the key holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), Failure> {
        if self.scopes.contains(&scope) {
            return Ok(());
        }
        Err(Failure::new(
            403,
            "forbidden",
            format!("this key lacks the {} scope", scope.as_str()),
        ))
    }
}

/// The keys a sandbox accepts, by key id and by Bearer token.
pub struct Keys {
    hmac: HashMap<String, (String, ApiKey)>,
    bearer: HashMap<String, ApiKey>,
}

impl Keys {
    /// Indexes `keys`; a later key with the same id replaces an earlier one.
    pub fn new(keys: impl IntoIterator<Item = ApiKey>) -> Self {
        let mut hmac = HashMap::new();
        let mut bearer = HashMap::new();
        for key in keys {
            match &key.secret {
                Secret::Hmac { key_id, secret } => {
                    hmac.insert(key_id.clone(), (secret.clone(), key));
                }
                Secret::Bearer(token) => {
                    bearer.insert(token.clone(), key);
                }
            }
        }
        Self { hmac, bearer }
    }

    /// Authenticates a request from what arrived: its method, its target
    /// (path and query, as received), its headers and its body bytes.
    pub fn authenticate(
        &self,
        method: &str,
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
        now_secs: u64,
    ) -> Result<Principal, Failure> {
        let unauthorized = |message: &str| Failure::new(401, "unauthorized", message);
        let auth = headers
            .get(hyper::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization header"))?
            .to_str()
            .map_err(|_| unauthorized("unreadable Authorization header"))?;
        let key = if let Some(token) = auth.strip_prefix("Bearer ") {
            self.bearer
                .get(token.trim())
                .ok_or_else(|| unauthorized("unknown API key"))?
        } else if let Some(params) = auth.strip_prefix(HMAC_SCHEME) {
            self.verify_hmac(params, method, target, headers, body, now_secs)?
        } else {
            return Err(unauthorized("unsupported Authorization scheme"));
        };
        let account_id = match headers.get(ON_BEHALF_OF_HEADER) {
            None => key.account_id.clone(),
            Some(value) => {
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
                account.to_owned()
            }
        };
        Ok(Principal {
            account_id,
            scopes: key.scopes.clone(),
        })
    }

    fn verify_hmac(
        &self,
        params: &str,
        method: &str,
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
        now_secs: u64,
    ) -> Result<&ApiKey, Failure> {
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
        let idempotency_key = headers
            .get(IDEMPOTENCY_KEY_HEADER)
            .and_then(|v| v.to_str().ok());
        let to_sign = string_to_sign(method, target, timestamp, body, idempotency_key);
        let bad_signature = || {
            Failure::new(
                401,
                "signature_invalid",
                "the signature does not match the request",
            )
        };
        let signature = hex::decode(signature).map_err(|_| bad_signature())?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(to_sign.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&signature).map_err(|_| bad_signature())?;
        Ok(key)
    }
}

//! The signature on customer webhook deliveries, defined once for the side
//! that signs (the sandbox) and the side that checks (`plugipay::webhooks`).
//!
//! A delivery carries `X-Plugipay-Signature: t=<unix seconds>,v1=<hex>`.
//! The hex is the lowercase HMAC-SHA256, keyed with the endpoint's secret
//! (`whsec_…`, its bytes as given), of the timestamp in decimal, a `.`, and
//! the body's bytes exactly as sent. A receiver refuses a timestamp more
//! than [`TOLERANCE_SECS`] away from its clock.
//!
//! ```
//! use plugipay_api::webhook::{signature_header, signature_hex, signature_matches};
//!
//! let body = br#"{"id":"evt_1"}"#;
//! let header = signature_header(b"whsec_test", 1_700_000_000, body);
//! assert_eq!(
//!     header,
//!     "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
//! );
//! assert!(header.ends_with(&signature_hex(b"whsec_test", 1_700_000_000, body)));
//!
//! // The receiver's check, in constant time, on the decoded hex.
//! let v1 = hex::decode(&header[header.len() - 64..]).unwrap();
//! assert!(signature_matches(b"whsec_test", 1_700_000_000, body, &v1));
//! assert!(!signature_matches(b"whsec_other", 1_700_000_000, body, &v1));
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries a delivery's signature (lowercase, as `http`
/// header names are).
pub const SIGNATURE_HEADER: &str = "x-plugipay-signature";
/// The same header as one page of Plugipay's portal spells it, without the
/// `X-`: receivers accept it too.
pub const SIGNATURE_HEADER_ALT: &str = "plugipay-signature";
/// The key of the timestamp in the header value.
pub const TIMESTAMP_KEY: &str = "t";
/// The key of a signature in the header value (the only scheme there is).
pub const SCHEME_V1: &str = "v1";
/// How far a delivery's timestamp may be from the receiver's clock, either
/// way, before it is refused as stale: five minutes.
pub const TOLERANCE_SECS: u64 = 300;
/// The length in bytes of a `v1` signature (HMAC-SHA256), before hex.
pub const SIGNATURE_LEN: usize = 32;

/// The event types of the customer webhooks, as Plugipay's official SDKs
/// spell them (the API reference shows them bare: `customer.created`).
pub mod event_type {
    /// A customer was created; the event carries it.
    pub const CUSTOMER_CREATED: &str = "plugipay.customer.created.v1";
    /// A customer was updated; the event carries it as it is now.
    pub const CUSTOMER_UPDATED: &str = "plugipay.customer.updated.v1";
    /// A customer was deleted; the event carries it as it was before.
    pub const CUSTOMER_DELETED: &str = "plugipay.customer.deleted.v1";
}

fn mac(secret: &[u8], timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The bare signature: the lowercase hex `v1` value (64 digits) of `body`
/// sent at `timestamp` (Unix seconds), keyed with the endpoint `secret`.
/// Not a header value: [`signature_header`] is the whole header.
pub fn signature_hex(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// The whole [`SIGNATURE_HEADER`] value a delivery carries for `body` sent
/// at `timestamp`: `t=<timestamp>,v1=<signature_hex>`. This is what a test
/// puts in the header to sign a delivery it makes.
pub fn signature_header(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    format!(
        "{TIMESTAMP_KEY}={timestamp},{SCHEME_V1}={}",
        signature_hex(secret, timestamp, body)
    )
}

/// The bare hex signature: the old name of [`signature_hex`].
#[deprecated(note = "renamed signature_hex: the bare hex, not the header (signature_header)")]
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    signature_hex(secret, timestamp, body)
}

/// The whole header value: the old name of [`signature_header`].
#[deprecated(note = "renamed signature_header: the whole header value, t=…,v1=…")]
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    signature_header(secret, timestamp, body)
}

/// Whether `candidate` (a `v1` signature decoded from hex) is the signature
/// of `body` at `timestamp` under `secret`, compared in constant time. A
/// candidate of the wrong length is never a match.
pub fn signature_matches(secret: &[u8], timestamp: u64, body: &[u8], candidate: &[u8]) -> bool {
    signature_matches_any(secret, timestamp, body, &[candidate])
}

/// Whether any of `candidates` is the signature of `body` at `timestamp`
/// under `secret`, each compared in constant time. The body is hashed once,
/// however many candidates there are (a header may carry many `v1` values).
pub fn signature_matches_any(
    secret: &[u8],
    timestamp: u64,
    body: &[u8],
    candidates: &[&[u8]],
) -> bool {
    let mac = mac(secret, timestamp, body);
    candidates
        .iter()
        .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_the_published_recipe() {
        // Computed independently (Python's hmac over b"1700000000.{...}").
        assert_eq!(
            signature_hex(b"whsec_test", 1_700_000_000, br#"{"id":"evt_1"}"#),
            "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }

    #[test]
    fn matches_only_its_own_signature() {
        let body = b"{}";
        let good = hex::decode(signature_hex(b"whsec_a", 5, body)).unwrap();
        assert!(signature_matches(b"whsec_a", 5, body, &good));
        assert!(!signature_matches(b"whsec_b", 5, body, &good));
        assert!(!signature_matches(b"whsec_a", 6, body, &good));
        assert!(!signature_matches(b"whsec_a", 5, b"{ }", &good));
        assert!(!signature_matches(b"whsec_a", 5, body, &good[..31]));
        assert!(!signature_matches(b"whsec_a", 5, body, &[]));
    }
}

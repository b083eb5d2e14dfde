//! Opaque list cursors: the last id of a page, tagged with an HMAC over the
//! workspace and the query's filters, so a cursor cannot be forged, edited,
//! or reused with other filters or in another workspace.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::failure::Failure;

/// Bytes of the tag kept in a cursor.
const TAG_BYTES: usize = 16;

/// Makes and checks cursors with a key of its own (new per sandbox).
pub struct CursorCodec {
    key: [u8; 32],
}

impl CursorCodec {
    /// A codec with a random key.
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self { key }
    }

    fn mac(&self, account_id: &str, filters: &str, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        for part in [account_id, filters, payload] {
            mac.update(part.as_bytes());
            mac.update(b"\0");
        }
        mac
    }

    /// The cursor that continues after `after_id`.
    pub fn encode(&self, account_id: &str, filters: &str, after_id: &str) -> String {
        let payload = hex::encode(after_id);
        let tag = self
            .mac(account_id, filters, &payload)
            .finalize()
            .into_bytes();
        format!("{payload}.{}", hex::encode(&tag[..TAG_BYTES]))
    }

    /// The id a cursor continues after; 400 for anything this codec did not
    /// issue for this workspace and these filters.
    pub fn decode(&self, account_id: &str, filters: &str, cursor: &str) -> Result<String, Failure> {
        let invalid = || {
            Failure::validation(
                "cursor",
                "the cursor is invalid, or was issued for other filters or another workspace",
            )
        };
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let tag = hex::decode(tag).map_err(|_| invalid())?;
        if tag.len() != TAG_BYTES {
            return Err(invalid());
        }
        // Constant-time comparison of the tag.
        self.mac(account_id, filters, payload)
            .verify_truncated_left(&tag)
            .map_err(|_| invalid())?;
        let id = hex::decode(payload).map_err(|_| invalid())?;
        String::from_utf8(id).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let codec = CursorCodec::new();
        let cursor = codec.encode("acct_a", "desc", "cus_1");
        assert_eq!(codec.decode("acct_a", "desc", &cursor).unwrap(), "cus_1");
        assert!(codec.decode("acct_b", "desc", &cursor).is_err());
        assert!(codec.decode("acct_a", "asc", &cursor).is_err());
        let forged = codec
            .encode("acct_a", "desc", "cus_2")
            .replace(&hex::encode("cus_2"), &hex::encode("cus_1"));
        assert!(codec.decode("acct_a", "desc", &forged).is_err());
        for junk in ["", ".", "zz.zz", "abc", &cursor[..cursor.len() - 2]] {
            let err = codec.decode("acct_a", "desc", junk).unwrap_err();
            assert_eq!(err.status, 400);
            assert!(err.message.contains("cursor"), "{err:?}");
        }
        assert!(
            CursorCodec::new()
                .decode("acct_a", "desc", &cursor)
                .is_err()
        );
    }
}

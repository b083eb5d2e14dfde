//! What a request's operation works with and answers: the sandbox's state
//! ([`App`]) and an operation's reply ([`Reply`]), shared by the routes and
//! the operations they dispatch to.

use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::auth::Keys;
use crate::config::Limits;
use crate::cursor::CursorCodec;
use crate::envelope::Voice;
use crate::faults::FaultDice;
use crate::rates::RateBuckets;
use crate::store::Store;

/// Everything a request may touch.
pub(crate) struct App {
    pub keys: Keys,
    pub store: Mutex<Store>,
    pub cursors: CursorCodec,
    pub dice: FaultDice,
    pub limits: Limits,
    pub rates: RateBuckets,
    /// How answers are written: the reading and the clock.
    pub voice: Voice,
}

impl App {
    /// The store, locked (a panic elsewhere does not poison it for good).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What an operation answers.
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    /// Replayed from an idempotency record.
    pub replayed: bool,
    /// Applied, but answered by closing the connection (an injected fault).
    pub hang_up: bool,
}

impl Reply {
    /// A success: the envelope around `data`, or no body at all for a 204.
    pub fn ok(voice: &Voice, status: u16, data: Value, request_id: &str) -> Reply {
        let body = if status == 204 {
            String::new()
        } else {
            voice.success_body(data, request_id)
        };
        Reply {
            status,
            body,
            replayed: false,
            hang_up: false,
        }
    }
}

//! The time requests are signed with: this machine's clock, corrected by
//! what the server's `Date` header showed of its own.
//!
//! Plugipay refuses a signature whose timestamp is more than
//! [`MAX_CLOCK_SKEW_SECS`](crate::auth::MAX_CLOCK_SKEW_SECS) from its clock
//! (401 `timestamp_skew` / `invalid_timestamp`). A machine whose clock has
//! drifted further (containers and CI runners do) would fail every call. A
//! [`SigningClock`] keeps the offset between the server's clock and this
//! one, learned from a refused answer's `Date` header, and signs with the
//! machine's time plus that offset.
//!
//! ```
//! use plugipay_api::clock::{SigningClock, server_offset};
//!
//! let clock = SigningClock::default();
//! let machine = clock.now_secs();
//! // A server ten minutes behind this machine.
//! let date = (chrono::Utc::now() - chrono::TimeDelta::seconds(600)).to_rfc2822();
//! let offset = server_offset(&date).unwrap();
//! assert!((-601..=-599).contains(&offset));
//! clock.set_offset_secs(offset);
//! assert!(machine - clock.now_secs() >= 599);
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// This machine's clock plus a shared offset (the server's clock minus
/// this one, in seconds). Clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct SigningClock {
    offset: Arc<AtomicI64>,
}

/// This machine's time, in Unix seconds (0 before 1970).
fn machine_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl SigningClock {
    /// The server's clock minus this machine's, in seconds, as last
    /// learned (0 until then).
    pub fn offset_secs(&self) -> i64 {
        self.offset.load(Ordering::Relaxed)
    }

    /// Signs from now on with the machine's time plus `secs`.
    pub fn set_offset_secs(&self, secs: i64) {
        self.offset.store(secs, Ordering::Relaxed);
    }

    /// Takes in the server's clock as an answer showed it (`offset`, from
    /// [`server_offset`]): kept when it differs from the offset in use by
    /// two seconds or more (a `Date` header has whole seconds, so smaller
    /// differences are its rounding, not the clocks'). Returns whether the
    /// offset changed.
    pub fn observe(&self, offset: i64) -> bool {
        let changed = offset.abs_diff(self.offset_secs()) >= 2;
        if changed {
            self.set_offset_secs(offset);
        }
        changed
    }

    /// Now by the server's clock, as far as this clock knows it.
    pub fn server_now(&self) -> chrono::DateTime<chrono::Utc> {
        let machine = chrono::Utc::now();
        machine
            .checked_add_signed(chrono::TimeDelta::seconds(self.offset_secs()))
            .unwrap_or(machine)
    }

    /// The time to sign with now: the machine's plus the offset, in Unix
    /// seconds (0 rather than a time before 1970).
    pub fn now_secs(&self) -> u64 {
        let now = machine_secs().saturating_add(self.offset_secs());
        u64::try_from(now).unwrap_or(0)
    }
}

/// The server's clock minus this machine's, in seconds, from the value of
/// the `Date` header of an answer just received (an HTTP date, as RFC 9110
/// writes it); `None` when it is not one.
pub fn server_offset(date: &str) -> Option<i64> {
    let server = chrono::DateTime::parse_from_rfc2822(date.trim()).ok()?;
    Some(server.timestamp().saturating_sub(machine_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_shared_and_dates_are_read() {
        let clock = SigningClock::default();
        let copy = clock.clone();
        copy.set_offset_secs(-30);
        assert_eq!(clock.offset_secs(), -30);
        let ahead = chrono::Utc::now() + chrono::TimeDelta::seconds(3_600);
        let date = ahead.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let offset = server_offset(&date).unwrap();
        assert!((3_599..=3_601).contains(&offset), "{offset}");
        assert_eq!(server_offset("yesterday"), None);
        // Rounding is not a change; a real difference is.
        clock.set_offset_secs(0);
        assert!(!clock.observe(1) && !clock.observe(-1));
        assert!(clock.observe(-2));
        assert_eq!(clock.offset_secs(), -2);
        // Never a time before 1970.
        clock.set_offset_secs(i64::MIN);
        assert_eq!(clock.now_secs(), 0);
    }
}

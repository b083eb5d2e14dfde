//! The sandbox's wall clock: the machine's, moved by a fixed offset so a
//! test can stand in for a server whose clock differs from the client's.
//! Everything the sandbox stamps reads it (signature windows, the `Date`
//! header, `meta.timestamp`, customers' and events' times, rate-limit
//! resets, webhook signatures).

use chrono::{DateTime, TimeDelta, Utc};

/// A clock `offset` away from the machine's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Clock {
    offset: TimeDelta,
}

impl Clock {
    /// The machine's clock moved by `offset` (ahead when positive).
    pub(crate) fn new(offset: TimeDelta) -> Self {
        Self { offset }
    }

    /// Now, by this clock (the machine's time when the offset would take
    /// it out of range).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let machine = Utc::now();
        machine.checked_add_signed(self.offset).unwrap_or(machine)
    }

    /// Now, in whole seconds since the Unix epoch; 0 before 1970.
    pub(crate) fn unix_secs(&self) -> u64 {
        u64::try_from(self.now().timestamp()).unwrap_or(0)
    }

    /// Now, in seconds since the Unix epoch, with their fraction.
    pub(crate) fn unix_secs_f64(&self) -> f64 {
        self.now().timestamp_micros() as f64 / 1e6
    }

    /// Now as an HTTP `Date` header writes it (RFC 9110's IMF-fixdate).
    pub(crate) fn http_date(&self) -> String {
        self.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_moves_every_reading() {
        let ahead = Clock::new(TimeDelta::seconds(600));
        let machine = Clock::default();
        let gap = ahead.unix_secs() as i64 - machine.unix_secs() as i64;
        assert!((599..=601).contains(&gap), "{gap}");
        let date = ahead.http_date();
        let parsed = DateTime::parse_from_rfc2822(&date).unwrap();
        assert!((parsed.timestamp() - machine.now().timestamp() - 600).abs() <= 1);
        assert!(date.ends_with(" GMT"), "{date}");
    }
}

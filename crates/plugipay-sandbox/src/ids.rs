//! Customer ids: `cus_` and a ULID (48-bit millisecond time, 80 random bits,
//! Crockford base32), strictly increasing within a sandbox so that id order is
//! creation order, and request ids.

use chrono::{DateTime, TimeZone, Utc};

use crate::rng::SplitMix64;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RANDOM_BITS: u32 = 80;
const RANDOM_MASK: u128 = (1 << RANDOM_BITS) - 1;

fn encode(value: u128) -> String {
    (0..26)
        .map(|i| CROCKFORD[((value >> (125 - 5 * i)) & 31) as usize] as char)
        .collect()
}

fn ulid(ms: u64, random: u128) -> u128 {
    ((ms as u128) << RANDOM_BITS) | (random & RANDOM_MASK)
}

fn to_millis(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

/// Hands out monotonic customer ids.
pub struct IdGenerator {
    last: u128,
    rng: SplitMix64,
}

impl IdGenerator {
    /// A generator whose random bits come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            last: 0,
            rng: SplitMix64::new(seed),
        }
    }

    /// A new id greater than every earlier one, and its creation time (the
    /// id's millisecond).
    pub fn next_customer_id(&mut self, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let random = ((self.rng.next_u64() as u128) << 16) | (self.rng.next_u64() as u128 & 0xffff);
        let fresh = ulid(to_millis(now), random);
        // Within one millisecond (or if the clock steps back), count up from the last id.
        self.last = if fresh > self.last {
            fresh
        } else {
            self.last + 1
        };
        let ms = (self.last >> RANDOM_BITS) as u64;
        let created = Utc
            .timestamp_millis_opt(ms as i64)
            .single()
            .unwrap_or_default();
        (format!("cus_{}", encode(self.last)), created)
    }

    /// A new event id (`evt_` and a ULID), greater than every earlier one
    /// of this generator, and the millisecond it holds: the event's time,
    /// so that events in id order are in time order too (even if the clock
    /// steps back).
    pub fn next_event_id(&mut self, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let (id, at) = self.next_customer_id(now);
        (id.replacen("cus_", "evt_", 1), at)
    }

    /// The smallest id a customer created strictly after `t` can have.
    pub fn lowest_id_after(t: DateTime<Utc>) -> String {
        format!("cus_{}", encode(ulid(to_millis(t) + 1, 0)))
    }
}

/// A fresh request id, `req_` and 26 random Crockford characters.
pub fn request_id() -> String {
    format!("req_{}", encode(uuid::Uuid::new_v4().as_u128() >> 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_plugipay_ids_and_increase() {
        let mut ids = IdGenerator::new(7);
        let now = Utc::now();
        let (a, t) = ids.next_customer_id(now);
        let (b, _) = ids.next_customer_id(now);
        let (c, _) = ids.next_customer_id(now - chrono::Duration::seconds(5));
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(a.len(), 30);
        assert!(a[4..].bytes().all(|ch| CROCKFORD.contains(&ch)), "{a}");
        assert_eq!(t.timestamp_millis(), now.timestamp_millis());
    }

    #[test]
    fn event_times_follow_their_ids_when_the_clock_steps_back() {
        let mut ids = IdGenerator::new(3);
        let now = Utc::now();
        let (a, at_a) = ids.next_event_id(now);
        let (b, at_b) = ids.next_event_id(now - chrono::Duration::seconds(5));
        assert!(a.starts_with("evt_") && a < b, "{a} {b}");
        assert!(at_a <= at_b, "{at_a} {at_b}");
        assert_eq!(at_a.timestamp_millis(), now.timestamp_millis());
    }

    #[test]
    fn the_created_after_bound_sits_between_milliseconds() {
        let t = Utc.timestamp_millis_opt(1_700_000_000_000).unwrap();
        let mut ids = IdGenerator::new(1);
        let (at_t, _) = ids.next_customer_id(t);
        let (after_t, _) = ids.next_customer_id(t + chrono::Duration::milliseconds(1));
        let bound = IdGenerator::lowest_id_after(t);
        assert!(at_t < bound && bound <= after_t, "{at_t} {bound} {after_t}");
    }
}

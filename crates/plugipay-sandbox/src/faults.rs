//! The fault dice: for each request, whether to answer with an injected
//! error, and for each write, whether to drop the connection after commit.

use std::sync::Mutex;

use crate::config::Faults;
use crate::failure::Failure;
use crate::rng::SplitMix64;

/// What happens to one request, decided when it arrives.
#[derive(Debug, PartialEq, Eq)]
pub enum Fate {
    /// Served normally.
    Serve,
    /// Answered with this failure (and `Retry-After`, if set) before any work.
    Fail(Failure, Option<u64>),
}

/// The current faults and the dice they are drawn with.
pub struct FaultDice {
    state: Mutex<(Faults, SplitMix64)>,
}

impl FaultDice {
    /// Dice for `faults`, seeded with `seed`.
    pub fn new(faults: Faults, seed: u64) -> Self {
        Self {
            state: Mutex::new((faults, SplitMix64::new(seed))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Faults, SplitMix64)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.lock().0.clone()
    }

    /// Replaces the faults in force.
    pub fn set(&self, faults: Faults) {
        self.lock().0 = faults;
    }

    /// The fate of a request that just arrived.
    pub fn roll(&self) -> Fate {
        let mut state = self.lock();
        let (faults, rng) = &mut *state;
        let retry_after = Some(faults.retry_after_secs);
        if rng.chance(faults.error_rate) {
            return if rng.next_u64() % 2 == 0 {
                Fate::Fail(
                    Failure::new(500, "internal_error", "injected fault: internal error"),
                    None,
                )
            } else {
                Fate::Fail(
                    Failure::new(503, "internal_error", "injected fault: service unavailable"),
                    retry_after,
                )
            };
        }
        if rng.chance(faults.rate_limit_rate) {
            return Fate::Fail(
                Failure::new(429, "rate_limited", "injected fault: too many requests"),
                retry_after,
            );
        }
        Fate::Serve
    }

    /// Whether a write that was just applied loses its response.
    pub fn drop_after_commit(&self) -> bool {
        let mut state = self.lock();
        let (faults, rng) = &mut *state;
        rng.chance(faults.drop_after_commit_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_of_zero_and_one() {
        let dice = FaultDice::new(Faults::default(), 1);
        assert!((0..1000).all(|_| dice.roll() == Fate::Serve && !dice.drop_after_commit()));
        dice.set(Faults {
            rate_limit_rate: 1.0,
            retry_after_secs: 2,
            drop_after_commit_rate: 1.0,
            ..Faults::default()
        });
        match dice.roll() {
            Fate::Fail(f, retry) => assert_eq!((f.status, retry), (429, Some(2))),
            Fate::Serve => panic!("expected a 429"),
        }
        assert!(dice.drop_after_commit());
    }

    #[test]
    fn rates_are_roughly_honoured_and_reproducible() {
        let faults = Faults {
            error_rate: 0.2,
            ..Faults::default()
        };
        let count = |seed| {
            let dice = FaultDice::new(faults.clone(), seed);
            (0..10_000).filter(|_| dice.roll() != Fate::Serve).count()
        };
        let n = count(42);
        assert!((1_700..2_300).contains(&n), "{n}");
        assert_eq!(n, count(42));
    }
}

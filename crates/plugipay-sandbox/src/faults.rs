//! The server's own fault dice: for each write that was applied, whether to
//! drop the connection instead of answering; and the latency in force.

use std::sync::Mutex;

use crate::config::Faults;
use crate::rng::SplitMix64;

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
        assert!((0..1000).all(|_| !dice.drop_after_commit()));
        dice.set(Faults {
            drop_after_commit_rate: 1.0,
            ..Faults::default()
        });
        assert!((0..1000).all(|_| dice.drop_after_commit()));
    }

    #[test]
    fn rates_are_roughly_honoured_and_reproducible() {
        let faults = Faults {
            drop_after_commit_rate: 0.2,
            ..Faults::default()
        };
        let count = |seed| {
            let dice = FaultDice::new(faults.clone(), seed);
            (0..10_000).filter(|_| dice.drop_after_commit()).count()
        };
        let n = count(42);
        assert!((1_700..2_300).contains(&n), "{n}");
        assert_eq!(n, count(42));
    }
}

//! The dice of a [`FaultProxy`](super::FaultProxy): which fault, if any,
//! each request meets, numbered and tallied as it is drawn.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::{FaultKind, ProxyFaults};
use crate::rng::SplitMix64;

/// What happens to one request, decided when it has been read.
pub(super) struct Plan {
    /// The request's number, from 1.
    pub number: u64,
    /// The fault it meets, if any.
    pub fault: Option<FaultKind>,
    /// How long a delay fault waits.
    pub delay: Duration,
    /// The `Retry-After` of a [`FaultKind::RateLimited`] answer.
    pub retry_after_secs: u64,
}

/// The faults in force and the dice they are drawn with.
struct Dice {
    faults: ProxyFaults,
    rng: SplitMix64,
}

impl Dice {
    fn new(faults: ProxyFaults) -> Self {
        let rng = SplitMix64::new(faults.seed);
        Self { faults, rng }
    }

    /// The fault a request meets, if any: one draw against the rate, then
    /// one to pick the kind.
    fn roll(&mut self) -> Option<FaultKind> {
        let kinds = &self.faults.kinds;
        if kinds.is_empty() || !self.rng.chance(self.faults.rate) {
            return None;
        }
        let pick = self.rng.next_u64() % kinds.len() as u64;
        Some(kinds[pick as usize])
    }
}

/// Plans each request: numbers it, rolls its fault, and counts both.
pub(super) struct Planner {
    dice: Mutex<Dice>,
    counts: [AtomicU64; FaultKind::ALL.len()],
    requests: AtomicU64,
}

impl Planner {
    /// A planner drawing `faults`, with nothing counted yet.
    pub fn new(faults: ProxyFaults) -> Self {
        Self {
            dice: Mutex::new(Dice::new(faults)),
            counts: Default::default(),
            requests: AtomicU64::new(0),
        }
    }

    fn dice(&self) -> MutexGuard<'_, Dice> {
        self.dice.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the faults in force and reseeds the dice; the counts stay.
    pub fn set(&self, faults: ProxyFaults) {
        *self.dice() = Dice::new(faults);
    }

    /// The plan of the next request.
    pub fn plan(&self) -> Plan {
        let mut dice = self.dice();
        // Under the lock, so numbers follow the order of the draws.
        let number = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let fault = dice.roll();
        if let Some(kind) = fault {
            self.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
        }
        Plan {
            number,
            fault,
            delay: dice.faults.delay,
            retry_after_secs: dice.faults.retry_after_secs,
        }
    }

    /// How many times `kind` was drawn.
    pub fn count(&self, kind: FaultKind) -> u64 {
        self.counts[kind.index()].load(Ordering::Relaxed)
    }

    /// How many requests were planned.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_follow_rate_and_kinds() {
        let mut never = Dice::new(ProxyFaults::default());
        assert!((0..1000).all(|_| never.roll().is_none()));
        let mut empty = Dice::new(ProxyFaults {
            rate: 1.0,
            kinds: Vec::new(),
            ..ProxyFaults::default()
        });
        assert!((0..1000).all(|_| empty.roll().is_none()));
        let mut always = Dice::new(ProxyFaults {
            rate: 1.0,
            ..ProxyFaults::default()
        });
        let drawn: Vec<_> = (0..1000).filter_map(|_| always.roll()).collect();
        assert_eq!(drawn.len(), 1000);
        assert!(FaultKind::ALL.iter().all(|k| drawn.contains(k)));
        let rolls = |seed| {
            let mut dice = Dice::new(ProxyFaults {
                rate: 0.3,
                seed,
                ..ProxyFaults::default()
            });
            (0..1000).map(|_| dice.roll()).collect::<Vec<_>>()
        };
        assert_eq!(rolls(9), rolls(9));
        let faulted = rolls(9).iter().filter(|r| r.is_some()).count();
        assert!((200..400).contains(&faulted), "{faulted}");
    }

    #[test]
    fn plans_are_numbered_and_counted() {
        let planner = Planner::new(ProxyFaults {
            rate: 1.0,
            kinds: vec![FaultKind::CutBody],
            retry_after_secs: 3,
            ..ProxyFaults::default()
        });
        let first = planner.plan();
        assert_eq!((first.number, first.fault), (1, Some(FaultKind::CutBody)));
        assert_eq!(first.retry_after_secs, 3);
        planner.set(ProxyFaults::default());
        let second = planner.plan();
        assert_eq!((second.number, second.fault), (2, None));
        assert_eq!(planner.requests(), 2);
        assert_eq!(planner.count(FaultKind::CutBody), 1);
        assert_eq!(planner.count(FaultKind::RateLimited), 0);
    }
}

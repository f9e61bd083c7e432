//! The `state` values of the manifest flow: random, kept in memory for a limited time, and
//! good for one callback. They stop a callback that this server's /setup page did not start
//! (a forged link carrying someone else's code) and a replay of one that already ran.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// GitHub's manifest codes expire after an hour; a state older than that cannot carry one.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// Bounds the memory a client reloading /setup in a loop can take.
const MAX_STATES: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateCheck {
    Valid,
    Expired,
    /// Never issued here, or already used (or this process restarted since).
    Unknown,
}

#[derive(Debug)]
pub struct States {
    ttl: Duration,
    issued: Mutex<HashMap<String, Instant>>,
}

impl States {
    pub fn new(ttl: Duration) -> Self {
        States {
            ttl,
            issued: Mutex::default(),
        }
    }

    /// A new state: 32 random bytes from the thread-local CSPRNG, as hex.
    pub fn issue(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes[..]);
        let state = hex::encode(bytes);
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        issued.retain(|_, at| at.elapsed() < self.ttl);
        if issued.len() >= MAX_STATES
            && let Some(oldest) = issued
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(s, _)| s.clone())
        {
            issued.remove(&oldest);
        }
        issued.insert(state.clone(), Instant::now());
        state
    }

    /// Whether `state` may be used, without using it.
    pub fn check(&self, state: &str) -> StateCheck {
        let issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        match issued.get(state) {
            None => StateCheck::Unknown,
            Some(at) if at.elapsed() >= self.ttl => StateCheck::Expired,
            Some(_) => StateCheck::Valid,
        }
    }

    /// Uses `state`: true once for a valid state, false ever after.
    pub fn take(&self, state: &str) -> bool {
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        matches!(issued.remove(state), Some(at) if at.elapsed() < self.ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_random_and_good_for_one_use() {
        let states = States::new(DEFAULT_TTL);
        let (a, b) = (states.issue(), states.issue());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(states.check(&a), StateCheck::Valid);
        assert_eq!(
            states.check(&a),
            StateCheck::Valid,
            "checking does not use it"
        );
        assert!(states.take(&a));
        assert!(!states.take(&a));
        assert_eq!(states.check(&a), StateCheck::Unknown);
        assert_eq!(states.check("made-up"), StateCheck::Unknown);
        assert_eq!(states.check(&b), StateCheck::Valid);
    }

    #[test]
    fn an_expired_state_is_refused() {
        let states = States::new(Duration::ZERO);
        let a = states.issue();
        assert_eq!(states.check(&a), StateCheck::Expired);
        assert!(!states.take(&a));
    }

    #[test]
    fn the_number_of_states_is_bounded() {
        let states = States::new(DEFAULT_TTL);
        let first = states.issue();
        for _ in 0..MAX_STATES {
            states.issue();
        }
        assert_eq!(states.issued.lock().unwrap().len(), MAX_STATES);
        assert_eq!(states.check(&first), StateCheck::Unknown, "the oldest goes");
    }
}

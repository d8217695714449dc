//! The injected clock.
//!
//! Libraries never read the wall clock themselves: whoever drives an episode
//! passes a [`Clock`]. Tests use [`FixedClock`], so traces are reproducible.

use std::sync::atomic::{AtomicI64, Ordering};

pub use formats::Timestamp;

/// A source of timestamps, passed down by whoever owns the real clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// A deterministic clock for tests and reproducible runs: starts at a given
/// instant and advances by `step_ms` on every reading.
#[derive(Debug)]
pub struct FixedClock {
    next: AtomicI64,
    step_ms: i64,
}

impl FixedClock {
    pub fn new(start: Timestamp, step_ms: i64) -> FixedClock {
        FixedClock { next: AtomicI64::new(start.0), step_ms }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.next.fetch_add(self.step_ms, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_steps() {
        let c = FixedClock::new(Timestamp(1000), 5);
        assert_eq!([c.now(), c.now()], [Timestamp(1000), Timestamp(1005)]);
    }
}

//! Injectable time. The only module allowed to read the system clock, so that
//! every expiry rule is testable with a fixed clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(u64);

impl UnixTime {
    /// From seconds since the Unix epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// This time plus `d`, in whole seconds (fractions are dropped;
    /// saturating).
    pub const fn plus(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.as_secs()))
    }

    /// The time from `self` until `later`, zero if `later` is not later.
    pub const fn until(self, later: Self) -> Duration {
        Duration::from_secs(later.0.saturating_sub(self.0))
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> UnixTime {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UnixTime(secs)
    }
}

/// A clock that reads a settable value: for tests and simulations.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicU64);

impl FixedClock {
    /// A clock stopped at `time`.
    pub fn new(time: UnixTime) -> Self {
        Self(AtomicU64::new(time.0))
    }

    /// Moves the clock to `time`.
    pub fn set(&self, time: UnixTime) {
        self.0.store(time.0, Ordering::SeqCst);
    }

    /// Moves the clock forward by `d`, in whole seconds.
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let c = FixedClock::new(UnixTime::from_secs(100));
        assert_eq!(c.now().as_secs(), 100);
        c.advance(Duration::from_millis(5_900));
        assert_eq!(c.now().as_secs(), 105);
        assert_eq!(
            UnixTime::from_secs(10).until(UnixTime::from_secs(4)),
            Duration::ZERO
        );
        assert_eq!(
            UnixTime::from_secs(4).plus(Duration::from_secs(6)),
            UnixTime::from_secs(10)
        );
    }
}

//! Time as the caller tells it: the machine never reads a clock.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time: a monotonic count of microseconds since an origin the
/// caller chooses (process start, boot, the start of a test). Only
/// differences between instants from the same origin mean anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Instant {
    micros: u64,
}

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant { micros: 0 };

    /// The instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Instant {
        Instant { micros }
    }

    /// The instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant {
            micros: millis.saturating_mul(1000),
        }
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.micros
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.micros.saturating_sub(earlier.micros))
    }

    /// The `std::time::Instant` `now` as an [`Instant`] counted from the
    /// `std::time::Instant` `origin` (zero if `now` is earlier). [`Clock`]
    /// keeps the origin for you.
    #[cfg(feature = "std")]
    pub fn from_std(origin: std::time::Instant, now: std::time::Instant) -> Instant {
        let micros = now.saturating_duration_since(origin).as_micros();
        Instant {
            micros: u64::try_from(micros).unwrap_or(u64::MAX),
        }
    }

    /// This instant as a `std::time::Instant`, counted from the
    /// `std::time::Instant` `origin`.
    #[cfg(feature = "std")]
    pub fn to_std(self, origin: std::time::Instant) -> std::time::Instant {
        origin + Duration::from_micros(self.micros)
    }
}

/// The machine's time from the system's monotonic clock (feature `std`):
/// the origin is when the clock was made, kept inside.
///
/// ```
/// let clock = impp_resolver::Clock::new();
/// let start = clock.now();
/// std::thread::sleep(std::time::Duration::from_millis(2));
/// assert!(clock.now() - start >= std::time::Duration::from_millis(2));
/// // And back, to wait until a deadline the machine gave:
/// let deadline: std::time::Instant = clock.to_std(start);
/// assert!(deadline <= std::time::Instant::now());
/// ```
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl Clock {
    /// A clock whose [`Instant::ZERO`] is now.
    pub fn new() -> Clock {
        Clock {
            origin: std::time::Instant::now(),
        }
    }

    /// The time now, to hand to the machine.
    pub fn now(&self) -> Instant {
        Instant::from_std(self.origin, std::time::Instant::now())
    }

    /// One of the machine's instants (a `poll_timeout` deadline, say) as a
    /// `std::time::Instant`.
    pub fn to_std(&self, instant: Instant) -> std::time::Instant {
        instant.to_std(self.origin)
    }
}

#[cfg(feature = "std")]
impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the end of time rather than overflowing.
    fn add(self, d: Duration) -> Instant {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Instant {
            micros: self.micros.saturating_add(micros),
        }
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!((t + Duration::from_millis(2)).as_micros(), 7_000);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_millis(5));
        assert_eq!((t + Duration::MAX).as_micros(), u64::MAX);
    }
}

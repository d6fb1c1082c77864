//! What each server's round trips have taken (RFC 6298, SPEC S23): a
//! smoothed round-trip time and its variance per server, from which a
//! question's retransmission timeout and the order of servers come, and the
//! fastest round trip seen, against which a queue shows.
//!
//! Every answer is a sample: a query sent again goes with an id of its
//! own, so an answer says which send it answers and how long that took
//! (what Karn's rule could not know when a resend repeated the id). An
//! attempt that times out backs the server off (RFC 6298 §5.5), so a dead
//! server sorts behind live ones until it answers again. An estimate unused
//! for [`FORGET_AFTER`] is forgotten: the network may have changed.

use alloc::vec::Vec;
use core::time::Duration;

use crate::config::Config;
use crate::time::Instant;

/// How long an estimate is kept without a new sample or timeout (as
/// unbound's infra cache keeps a host for 15 minutes).
pub(crate) const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// The wait exceeds the smoothed round trip by at least this fraction of
/// it, however steady the samples: a busy server's round trips are steady
/// while its queue is, and a hiccup of a few milliseconds must not make
/// every query in that queue look lost.
const QUEUE_MARGIN: u32 = 4;

/// Timeouts counted in a row, at most: 2^10 × any timeout is past every
/// deadline already.
const MAX_BACKOFF: u8 = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Estimate {
    /// Smoothed RTT and RTT variance (RFC 6298 §2), once sampled.
    smoothed: Option<(Duration, Duration)>,
    /// The fastest round trip sampled.
    fastest: Duration,
    /// Attempts timed out since the last answer.
    timeouts: u8,
    /// The last sample or timeout, for forgetting.
    last_seen: Instant,
}

/// One estimate per configured server (so at most `MAX_SERVERS`).
#[derive(Debug)]
pub(crate) struct RttTable {
    servers: Vec<Estimate>,
}

impl RttTable {
    pub(crate) fn new(servers: usize) -> Self {
        RttTable {
            servers: alloc::vec![Estimate::default(); servers],
        }
    }

    fn current(&self, server: usize, now: Instant) -> Estimate {
        match self.servers.get(server) {
            Some(e) if now - e.last_seen <= FORGET_AFTER => *e,
            _ => Estimate::default(),
        }
    }

    /// An answer to a query, `rtt` after it left (RFC 6298 §2.2–2.3). It
    /// also ends the server's backoff: it is alive.
    pub(crate) fn sample(&mut self, server: usize, rtt: Duration, now: Instant) {
        let current = self.current(server, now);
        let Some(e) = self.servers.get_mut(server) else {
            return;
        };
        e.smoothed = Some(match current.smoothed {
            None => (rtt, rtt / 2),
            Some((srtt, rttvar)) => {
                let error = srtt.abs_diff(rtt);
                (srtt * 7 / 8 + rtt / 8, rttvar * 3 / 4 + error / 4)
            }
        });
        e.fastest = match current.smoothed {
            None => rtt,
            Some(_) => current.fastest.min(rtt),
        };
        e.timeouts = 0;
        e.last_seen = now;
    }

    /// An attempt to `server` timed out (RFC 6298 §5.5: back off).
    pub(crate) fn timed_out(&mut self, server: usize, now: Instant) {
        let current = self.current(server, now);
        if let Some(e) = self.servers.get_mut(server) {
            *e = current;
            e.timeouts = e.timeouts.saturating_add(1).min(MAX_BACKOFF);
            e.last_seen = now;
        }
    }

    /// The retransmission timeout of a first attempt to `server`:
    /// SRTT + 4 × RTTVAR, and at least a quarter of SRTT more, within `[min_attempt_timeout, max_attempt_timeout]`,
    /// or `attempt_timeout` before any sample.
    pub(crate) fn timeout(&self, server: usize, now: Instant, config: &Config) -> Duration {
        match self.current(server, now).smoothed {
            None => config.attempt_timeout,
            Some((srtt, rttvar)) => (srtt + (rttvar * 4).max(srtt / QUEUE_MARGIN))
                .max(config.min_attempt_timeout)
                .min(config.max_attempt_timeout.max(config.min_attempt_timeout)),
        }
    }

    /// How soon `server` is expected to answer, for choosing among servers:
    /// its timeout, doubled for each timeout in a row.
    pub(crate) fn rank(&self, server: usize, now: Instant, config: &Config) -> Duration {
        let timeouts = self.current(server, now).timeouts;
        self.timeout(server, now, config)
            .saturating_mul(1 << u32::from(timeouts))
    }

    /// Attempts to `server` timed out since its last answer.
    pub(crate) fn silence(&self, server: usize, now: Instant) -> u32 {
        u32::from(self.current(server, now).timeouts)
    }

    /// Whether `server`'s smoothed round trip shows a queue
    /// ([`beyond_queue_free`]).
    pub(crate) fn is_queueing(&self, server: usize, now: Instant) -> bool {
        let e = self.current(server, now);
        e.smoothed
            .is_some_and(|(srtt, _)| beyond_queue_free(srtt, e.fastest))
    }

    /// Whether an answer after `rtt` came promptly: it shows no queue
    /// ([`beyond_queue_free`]). Measured against nothing yet, it is.
    pub(crate) fn is_prompt(&self, server: usize, rtt: Duration, now: Instant) -> bool {
        let e = self.current(server, now);
        e.smoothed.is_none() || !beyond_queue_free(rtt, e.fastest)
    }

    /// The smoothed round trip and its variance, once measured.
    pub(crate) fn smoothed(&self, server: usize, now: Instant) -> Option<(Duration, Duration)> {
        self.current(server, now).smoothed
    }

    /// Whether `server` has answered lately (it has a live sample).
    pub(crate) fn is_measured(&self, server: usize, now: Instant) -> bool {
        self.current(server, now).smoothed.is_some()
    }
}

/// The one rule for "a queue shows" (S23): a round trip more than twice
/// the fastest the server has shown, and at least 4 ms more (a loopback
/// server's jitter is not a queue).
fn beyond_queue_free(rtt: Duration, fastest: Duration) -> bool {
    rtt > fastest * 2 && rtt > fastest + Duration::from_millis(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::default()
    }

    #[test]
    fn converges_on_a_steady_delay() {
        let mut table = RttTable::new(1);
        let now = Instant::from_millis(1);
        assert_eq!(table.timeout(0, now, &config()), config().attempt_timeout);
        for _ in 0..40 {
            table.sample(0, Duration::from_millis(80), now);
        }
        // SRTT → 80 ms and RTTVAR → 0: the timeout approaches 80 ms and
        // the quarter more that a steady queue keeps.
        let timeout = table.timeout(0, now, &config());
        assert!(timeout >= Duration::from_millis(100), "{timeout:?}");
        assert!(timeout < Duration::from_millis(105), "{timeout:?}");
    }

    #[test]
    fn clamped_to_floor_and_ceiling() {
        let mut table = RttTable::new(2);
        let now = Instant::ZERO;
        table.sample(0, Duration::from_micros(50), now);
        table.sample(1, Duration::from_secs(30), now);
        assert_eq!(
            table.timeout(0, now, &config()),
            config().min_attempt_timeout
        );
        assert_eq!(
            table.timeout(1, now, &config()),
            config().max_attempt_timeout
        );
    }

    #[test]
    fn a_queue_shows_against_the_fastest_round_trip() {
        let mut table = RttTable::new(1);
        let now = Instant::from_millis(1);
        for _ in 0..10 {
            table.sample(0, Duration::from_millis(2), now);
        }
        assert!(!table.is_queueing(0, now));
        // Twice the fastest but only 2 ms more: jitter, not a queue.
        for _ in 0..40 {
            table.sample(0, Duration::from_millis(4), now);
        }
        assert!(!table.is_queueing(0, now));
        for _ in 0..40 {
            table.sample(0, Duration::from_millis(40), now);
        }
        assert!(table.is_queueing(0, now));
    }

    #[test]
    fn timeouts_back_a_server_off_until_it_answers_and_estimates_age_out() {
        let mut table = RttTable::new(2);
        let now = Instant::from_millis(10);
        table.sample(0, Duration::from_millis(100), now);
        table.sample(1, Duration::from_millis(100), now);
        let one = table.rank(0, now, &config());
        table.timed_out(0, now);
        table.timed_out(0, now);
        assert_eq!(table.rank(0, now, &config()), one * 4);
        assert!(table.rank(1, now, &config()) < table.rank(0, now, &config()));
        // An answer ends the backoff.
        table.sample(0, Duration::from_millis(100), now);
        assert_eq!(
            table.rank(0, now, &config()),
            table.timeout(0, now, &config())
        );
        let later = now + FORGET_AFTER + Duration::from_secs(1);
        assert!(!table.is_measured(0, later));
        assert_eq!(table.timeout(0, later, &config()), config().attempt_timeout);
    }
}

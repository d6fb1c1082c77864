//! How many queries each server may have on the wire at once (SPEC S23):
//! a window per server that grows while its answers come back promptly and
//! shrinks when they show a queue, as TCP's congestion window does (RFC
//! 5681, RFC 9002). A busy server that queues what it cannot answer yet
//! then holds a short queue, so its answers come back within the waits its
//! round trips taught, and nothing is asked of it twice. Questions beyond
//! every window wait in the line (S27); the window never exceeds
//! `Config::max_outstanding`.
//!
//! Loss alone does not shrink it: a lossy path with a prompt server keeps
//! its window and its short waits. What shrinks it is evidence of a queue:
//! an answer to a query that had already been sent again (it was waiting,
//! not lost), or a timeout while the server's round trips run well above
//! the fastest it has shown.

use crate::time::Instant;
use alloc::vec::Vec;

/// The smallest window (RFC 9002 §7.2 keeps two packets).
pub(crate) const MIN_WINDOW: u32 = 2;

/// The window of a server not yet heard from: a burst of lookups goes out
/// at once to a fast server, while a busy one is sent no more than this
/// before its answers have been timed (TCP and QUIC start at ten).
pub(crate) const INITIAL_WINDOW: u32 = 16;

#[derive(Debug, Clone, Copy)]
struct Window {
    size: u32,
    /// Slow start (one more per prompt answer) while `size` is below it;
    /// one more per window's worth of answers after.
    threshold: u32,
    /// Answers counted towards the next step after slow start.
    credit: u32,
    /// Queries on the wire to the server.
    outstanding: u32,
    /// When it last shrank: a query sent before then does not shrink it
    /// again, so one queue costs one halving (RFC 9002 §7.3.2).
    shrunk_at: Option<Instant>,
    /// When it last answered anything, and the latest time a query it has
    /// answered was sent: how far through its queue it has come.
    heard: Option<Instant>,
    progress: Instant,
}

impl Window {
    fn new() -> Self {
        Window {
            size: INITIAL_WINDOW,
            threshold: u32::MAX,
            credit: 0,
            outstanding: 0,
            shrunk_at: None,
            heard: None,
            progress: Instant::ZERO,
        }
    }
}

/// One window per configured server.
#[derive(Debug)]
pub(crate) struct Windows {
    servers: Vec<Window>,
    max: u32,
}

impl Windows {
    pub(crate) fn new(servers: usize, max_outstanding: usize) -> Self {
        let max = u32::try_from(max_outstanding).unwrap_or(u32::MAX).max(1);
        let mut window = Window::new();
        window.size = window.size.min(max);
        Windows {
            servers: alloc::vec![window; servers],
            max,
        }
    }

    /// Whether another query may go to `server` now.
    pub(crate) fn has_room(&self, server: usize) -> bool {
        self.servers
            .get(server)
            .is_some_and(|w| w.outstanding < w.size)
    }

    /// A query left for `server`.
    pub(crate) fn sent(&mut self, server: usize) {
        if let Some(w) = self.servers.get_mut(server) {
            w.outstanding += 1;
        }
    }

    /// A query to `server` is no longer on the wire (answered, given up,
    /// or its question ended).
    pub(crate) fn ended(&mut self, server: usize) {
        if let Some(w) = self.servers.get_mut(server) {
            w.outstanding = w.outstanding.saturating_sub(1);
        }
    }

    /// `server` answered a query it had not been asked again meanwhile:
    /// `promptly`, or slower than its fastest by enough to show a queue
    /// (`RttTable::is_prompt`). Grows the window while it is in use (a
    /// window twice what is outstanding says nothing of the server): by one
    /// per prompt answer until the first slow one (slow start, which ends
    /// before the queue it would build outruns the waits, as HyStart++,
    /// RFC 9406, ends it on a rising round trip), then by one per window's
    /// worth of answers.
    pub(crate) fn answered(&mut self, server: usize, promptly: bool) {
        let max = self.max;
        let Some(w) = self.servers.get_mut(server) else {
            return;
        };
        if !promptly && w.size < w.threshold {
            w.threshold = w.size;
        }
        if w.outstanding.saturating_mul(2) < w.size {
            return;
        }
        if w.size < w.threshold {
            w.size += 1;
        } else {
            w.credit += 1;
            if w.credit >= w.size {
                w.credit = 0;
                w.size += 1;
            }
        }
        w.size = w.size.min(max);
    }

    /// `server` answered a query sent at `sent_at`, now.
    pub(crate) fn heard(&mut self, server: usize, sent_at: Instant, now: Instant) {
        if let Some(w) = self.servers.get_mut(server) {
            w.heard = Some(now);
            w.progress = w.progress.max(sent_at);
        }
    }

    /// Whether a query sent to `server` at `sent_at` is still in its queue:
    /// since it left, the server has answered, but only queries sent
    /// before it. A server working through its queue in order will come to
    /// it; asking again would only add to the queue. (A lost query shows as
    /// answers to queries sent after it.)
    pub(crate) fn queued(&self, server: usize, sent_at: Instant) -> bool {
        self.servers
            .get(server)
            .is_some_and(|w| w.heard.is_some_and(|h| h > sent_at) && w.progress < sent_at)
    }

    /// Evidence that `server` queues what it is sent, from a query sent at
    /// `sent_at`: halve its window, once per episode.
    pub(crate) fn shrink(&mut self, server: usize, sent_at: Instant, now: Instant) {
        let max = self.max;
        let Some(w) = self.servers.get_mut(server) else {
            return;
        };
        if w.shrunk_at.is_some_and(|at| sent_at < at) {
            return;
        }
        w.size = (w.size / 2).max(MIN_WINDOW).min(max);
        w.threshold = w.size;
        w.credit = 0;
        w.shrunk_at = Some(now);
    }

    /// `server`'s window and the queries on the wire to it.
    pub(crate) fn get(&self, server: usize) -> (u32, u32) {
        self.servers
            .get(server)
            .map_or((0, 0), |w| (w.size, w.outstanding))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// Fills server 0's window with queries.
    fn fill(w: &mut Windows) {
        while w.has_room(0) {
            w.sent(0);
        }
    }

    /// Answers `n` of server 0's queries, `promptly` or not, sending a new
    /// one after each while the window has room, as a busy caller does.
    fn answer(w: &mut Windows, n: u32, promptly: bool) {
        for _ in 0..n {
            w.answered(0, promptly);
            w.ended(0);
            fill(w);
        }
    }

    #[test]
    fn slow_start_doubles_while_answers_stay_prompt_and_stops_at_the_cap() {
        let mut w = Windows::new(1, 100);
        assert_eq!(w.get(0), (INITIAL_WINDOW, 0));
        fill(&mut w);
        answer(&mut w, 16, true);
        assert_eq!(w.get(0), (32, 32));
        answer(&mut w, 32, true);
        assert_eq!(w.get(0).0, 64);
        answer(&mut w, 100, true);
        assert_eq!(w.get(0), (100, 100), "never beyond max_outstanding");
    }

    #[test]
    fn a_window_not_in_use_does_not_grow() {
        let mut w = Windows::new(1, 128);
        for _ in 0..100 {
            w.sent(0);
            w.answered(0, true);
            w.ended(0);
        }
        assert_eq!(w.get(0).0, INITIAL_WINDOW);
    }

    #[test]
    fn a_slow_answer_ends_slow_start() {
        let mut w = Windows::new(1, 1000);
        fill(&mut w);
        answer(&mut w, 16, true);
        assert_eq!(w.get(0).0, 32);
        // One answer shows a queue: slow start is over.
        answer(&mut w, 1, false);
        assert_eq!(w.get(0).0, 32);
        answer(&mut w, 31, true);
        // One more per window's worth of answers now, not one per answer.
        assert_eq!(w.get(0).0, 33);
        answer(&mut w, 33, false);
        assert_eq!(w.get(0).0, 34, "slow answers still grow it so");
    }

    #[test]
    fn shrinking_halves_once_per_episode_and_never_below_the_floor() {
        let mut w = Windows::new(1, 128);
        fill(&mut w);
        answer(&mut w, 16, true);
        assert_eq!(w.get(0).0, 32);
        w.shrink(0, ms(5), ms(100));
        assert_eq!(w.get(0).0, 16);
        // Queries sent before the shrink are the same queue.
        w.shrink(0, ms(50), ms(110));
        assert_eq!(w.get(0).0, 16);
        assert!(!w.has_room(0), "32 still out: none may go");
        for at in [200, 300, 400, 500, 600] {
            w.shrink(0, ms(at), ms(at + 1));
        }
        assert_eq!(w.get(0).0, MIN_WINDOW);
    }

    #[test]
    fn a_query_is_queued_while_the_server_answers_only_older_ones() {
        let mut w = Windows::new(1, 16);
        // Sent at 10 ms; nothing heard since: silence, not a queue.
        assert!(!w.queued(0, ms(10)));
        // An answer, at 20 ms, to a query sent at 5 ms: a queue ahead of it.
        w.heard(0, ms(5), ms(20));
        assert!(w.queued(0, ms(10)));
        // An answer to a query sent after it: it was passed over, so lost.
        w.heard(0, ms(12), ms(30));
        assert!(!w.queued(0, ms(10)));
        // A later query is still behind what was answered.
        assert!(w.queued(0, ms(25)));
    }

    #[test]
    fn room_follows_what_is_outstanding() {
        let mut w = Windows::new(2, 3);
        assert_eq!(w.get(0).0, 3, "the cap holds from the start");
        for _ in 0..3 {
            assert!(w.has_room(0));
            w.sent(0);
        }
        assert!(!w.has_room(0));
        assert!(w.has_room(1));
        w.ended(0);
        assert!(w.has_room(0));
        assert!(!w.has_room(7), "no such server");
        assert!(!w.queued(7, ms(1)));
        // The floor gives way to a cap below it.
        let mut one = Windows::new(1, 1);
        one.shrink(0, ms(1), ms(2));
        assert_eq!(one.get(0).0, 1);
    }
}

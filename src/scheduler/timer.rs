//! Deadlines in one heap, with lazy deletion: a deadline that no longer
//! matters stays in the heap until it reaches the top, where the owner's
//! `is_live` check throws it away. Cancelling is then free, and a heap of
//! `n` deadlines costs O(log n) per push and pop.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use crate::time::Instant;

/// Deadlines keyed by `K`, earliest first.
#[derive(Debug)]
pub(crate) struct Timers<K> {
    heap: BinaryHeap<Reverse<(Instant, K)>>,
}

impl<K: Ord + Copy> Timers<K> {
    pub(crate) fn new() -> Self {
        Timers {
            heap: BinaryHeap::new(),
        }
    }

    /// Schedules `key` for `due`.
    pub(crate) fn push(&mut self, due: Instant, key: K) {
        self.heap.push(Reverse((due, key)));
    }

    /// The earliest deadline still live, dropping dead ones on the way.
    pub(crate) fn next(&mut self, is_live: impl Fn(K) -> bool) -> Option<Instant> {
        while let Some(&Reverse((due, key))) = self.heap.peek() {
            if is_live(key) {
                return Some(due);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes and returns the earliest deadline due at `now`, live or not:
    /// the caller decides what a dead one means (usually: nothing).
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<K> {
        match self.heap.peek() {
            Some(&Reverse((due, key))) if due <= now => {
                self.heap.pop();
                Some(key)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_live_deadline_first() {
        let mut timers = Timers::new();
        timers.push(Instant::from_millis(30), 3);
        timers.push(Instant::from_millis(10), 1);
        timers.push(Instant::from_millis(20), 2);
        assert_eq!(timers.next(|_| true), Some(Instant::from_millis(10)));
        // 1 was cancelled: its deadline is skipped and dropped.
        assert_eq!(timers.next(|k| k != 1), Some(Instant::from_millis(20)));
        assert_eq!(timers.pop_due(Instant::from_millis(19)), None);
        assert_eq!(timers.pop_due(Instant::from_millis(25)), Some(2));
        assert_eq!(timers.pop_due(Instant::from_millis(25)), None);
        assert_eq!(timers.next(|_| false), None);
        assert_eq!(timers.pop_due(Instant::from_millis(99)), None);
    }
}

//! Who waits for which question (S24): several resolutions may share one
//! question on the wire, and one resolution may wait on a question in
//! several places.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::ops::RangeInclusive;

use crate::event::ResolutionId;
use crate::resolver::plan::Place;
use crate::scheduler::QuestionId;

/// (question, resolution, place) triples in one ordered set rather than a
/// set per question (a B-tree node each): a question's waiters, and one
/// resolution's waits on a question, are both a range, however many share
/// the question.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    set: BTreeSet<(QuestionId, ResolutionId, Place)>,
}

impl Waiters {
    /// Resolution `id` waits for `qid` to fill `place`.
    pub(crate) fn add(&mut self, qid: QuestionId, id: ResolutionId, place: Place) {
        self.set.insert((qid, id, place));
    }

    /// Everyone waiting on `qid`, who no longer are.
    pub(crate) fn take(&mut self, qid: QuestionId) -> Vec<(ResolutionId, Place)> {
        let list: Vec<_> = self.set.range(on(qid)).copied().collect();
        for key in &list {
            self.set.remove(key);
        }
        list.into_iter().map(|(_, id, place)| (id, place)).collect()
    }

    /// Resolution `id` stops waiting on `qid`. Returns whether anyone still
    /// does.
    pub(crate) fn remove(&mut self, qid: QuestionId, id: ResolutionId) -> bool {
        let mut mine = (self.set)
            .range((qid, id, Place::FIRST)..=(qid, id, Place::LAST))
            .copied();
        // Most often one place: the rest, empty, allocates nothing.
        let first = mine.next();
        let rest: Vec<_> = mine.collect();
        for key in first.into_iter().chain(rest) {
            self.set.remove(&key);
        }
        self.set.range(on(qid)).next().is_some()
    }
}

/// The keys of everyone waiting on `qid`.
fn on(qid: QuestionId) -> RangeInclusive<(QuestionId, ResolutionId, Place)> {
    (qid, ResolutionId(0), Place::FIRST)..=(qid, ResolutionId(u64::MAX), Place::LAST)
}

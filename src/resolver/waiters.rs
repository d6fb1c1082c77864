//! Who waits for which question (S24): several resolutions may share one
//! question on the wire, and one resolution may wait on a question in
//! several slots.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::ops::RangeInclusive;

use crate::event::ResolutionId;
use crate::resolver::plan::Slot;
use crate::scheduler::QuestionId;

/// (question, resolution, slot) triples in one ordered set rather than a
/// set per question (a B-tree node each): a question's waiters, and one
/// resolution's waits on a question, are both a range, however many share
/// the question.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    set: BTreeSet<(QuestionId, ResolutionId, Slot)>,
}

impl Waiters {
    /// Resolution `id` waits for `qid` to fill `slot`.
    pub(crate) fn add(&mut self, qid: QuestionId, id: ResolutionId, slot: Slot) {
        self.set.insert((qid, id, slot));
    }

    /// Everyone waiting on `qid`, who no longer are.
    pub(crate) fn take(&mut self, qid: QuestionId) -> Vec<(ResolutionId, Slot)> {
        let list: Vec<_> = self.set.range(on(qid)).copied().collect();
        for key in &list {
            self.set.remove(key);
        }
        list.into_iter().map(|(_, id, slot)| (id, slot)).collect()
    }

    /// Resolution `id` stops waiting on `qid`. Returns whether anyone still
    /// does.
    pub(crate) fn remove(&mut self, qid: QuestionId, id: ResolutionId) -> bool {
        let mine: Vec<_> = self
            .set
            .range((qid, id, Slot::FIRST)..=(qid, id, Slot::LAST))
            .copied()
            .collect();
        for key in mine {
            self.set.remove(&key);
        }
        self.set.range(on(qid)).next().is_some()
    }
}

/// The keys of everyone waiting on `qid`.
fn on(qid: QuestionId) -> RangeInclusive<(QuestionId, ResolutionId, Slot)> {
    (qid, ResolutionId(0), Slot::FIRST)..=(qid, ResolutionId(u64::MAX), Slot::LAST)
}

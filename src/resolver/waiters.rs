//! Who waits for which question (S24): several resolutions may share one
//! question on the wire, and one resolution may wait on a question in
//! several places.

use alloc::vec;
use alloc::vec::Vec;

use crate::event::ResolutionId;
use crate::map::{Map, map};
use crate::resolver::plan::Place;
use crate::scheduler::QuestionId;

/// One wait: a resolution, and the lookup of it the question answers.
type Wait = (ResolutionId, Place);

/// The waits on each question, looked up by the question: most questions
/// have one, kept without a heap allocation of its own. (An ordered set of
/// all the waits cost three tree walks each time a resolution stopped
/// waiting, 4% of a lookup, issue 24.)
#[derive(Debug)]
pub(crate) struct Waiters {
    on: Map<QuestionId, Waits>,
}

/// A question's waits, in order of resolution and place.
#[derive(Debug)]
enum Waits {
    One(Wait),
    Many(Vec<Wait>),
}

/// The waits taken off a question, in order: one without an allocation.
pub(crate) enum Taken {
    One(Option<Wait>),
    Many(vec::IntoIter<Wait>),
}

impl Iterator for Taken {
    type Item = Wait;

    fn next(&mut self) -> Option<Wait> {
        match self {
            Taken::One(wait) => wait.take(),
            Taken::Many(list) => list.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Taken::One(wait) => (
                usize::from(wait.is_some()),
                Some(usize::from(wait.is_some())),
            ),
            Taken::Many(list) => list.size_hint(),
        }
    }
}

impl ExactSizeIterator for Taken {}

impl Default for Waiters {
    fn default() -> Self {
        Waiters { on: map() }
    }
}

impl Waiters {
    /// Resolution `id` waits for `qid` to fill `place`.
    pub(crate) fn add(&mut self, qid: QuestionId, id: ResolutionId, place: Place) {
        let wait = (id, place);
        let Some(waits) = self.on.get_mut(&qid) else {
            self.on.insert(qid, Waits::One(wait));
            return;
        };
        if let Waits::One(only) = *waits {
            if only == wait {
                return;
            }
            *waits = Waits::Many(vec![only]);
        }
        if let Waits::Many(list) = waits
            && let Err(at) = list.binary_search(&wait)
        {
            list.insert(at, wait);
        }
    }

    /// Everyone waiting on `qid`, who no longer are.
    pub(crate) fn take(&mut self, qid: QuestionId) -> Taken {
        match self.on.remove(&qid) {
            None => Taken::One(None),
            Some(Waits::One(wait)) => Taken::One(Some(wait)),
            Some(Waits::Many(list)) => Taken::Many(list.into_iter()),
        }
    }

    /// Resolution `id` stops waiting on `qid`. Returns whether anyone still
    /// does.
    pub(crate) fn remove(&mut self, qid: QuestionId, id: ResolutionId) -> bool {
        let Some(waits) = self.on.get_mut(&qid) else {
            return false;
        };
        let left = match waits {
            Waits::One((waiter, _)) => *waiter != id,
            Waits::Many(list) => {
                list.retain(|(waiter, _)| *waiter != id);
                !list.is_empty()
            }
        };
        if !left {
            self.on.remove(&qid);
        }
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::plan::Family;

    fn q(n: u64) -> QuestionId {
        QuestionId::for_tests(n)
    }

    #[test]
    fn waits_are_taken_in_order_of_resolution_and_place_once_each() {
        let mut w = Waiters::default();
        let a = Place::Address {
            target: 0,
            family: Family::V4,
        };
        w.add(q(1), ResolutionId(9), a);
        w.add(q(1), ResolutionId(3), Place::Srv(1));
        w.add(q(1), ResolutionId(3), Place::Srv(0));
        w.add(q(1), ResolutionId(9), a);
        w.add(q(2), ResolutionId(3), Place::Srv(0));
        assert_eq!(
            w.take(q(1)).collect::<Vec<_>>(),
            [
                (ResolutionId(3), Place::Srv(0)),
                (ResolutionId(3), Place::Srv(1)),
                (ResolutionId(9), a)
            ]
        );
        assert_eq!(w.take(q(1)).len(), 0);
        assert_eq!(
            w.take(q(2)).collect::<Vec<_>>(),
            [(ResolutionId(3), Place::Srv(0))]
        );
    }

    #[test]
    fn a_resolution_leaving_says_whether_anyone_still_waits() {
        let mut w = Waiters::default();
        w.add(q(1), ResolutionId(1), Place::Srv(0));
        w.add(q(1), ResolutionId(2), Place::Srv(0));
        w.add(q(1), ResolutionId(2), Place::Srv(1));
        w.add(q(2), ResolutionId(1), Place::Srv(1));
        assert!(w.remove(q(1), ResolutionId(2)), "1 still waits");
        assert!(!w.remove(q(1), ResolutionId(1)));
        assert!(!w.remove(q(1), ResolutionId(1)), "gone already");
        assert!(
            w.remove(q(2), ResolutionId(7)),
            "7 never waited; 1 still does"
        );
        assert!(!w.remove(q(2), ResolutionId(1)));
        assert!(w.on.is_empty(), "no question kept for nobody");
    }
}

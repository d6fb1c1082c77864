//! One question's life on the wire: ids, servers, attempts, matching
//! (SPEC S18, S19, S23, S24). Knows nothing of SRV records or URIs.
//!
//! A question is asked of the configured servers in turn, once each, with a
//! per-attempt timeout. An answer is accepted only from the server and port
//! the query went to, with the query's id and question (S19); anything else
//! is dropped and counted. Two resolutions asking the same question share
//! one query (S24).

use alloc::collections::{BTreeMap, BinaryHeap, VecDeque};
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::net::SocketAddr;
use core::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use rand_core::CryptoRng;

use crate::message::{self, Mismatch, Reply};
use crate::time::Instant;

/// How a message travels to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// One UDP datagram.
    Udp,
}

/// A message for the caller to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The server to send it to.
    pub server: SocketAddr,
    /// How to send it.
    pub transport: Transport,
    /// The DNS message, ready for the wire.
    pub payload: Vec<u8>,
}

/// Counters of what the machine sent and received; a snapshot from
/// [`Resolver::stats`](crate::Resolver::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Queries handed to the caller to send.
    pub queries_sent: u64,
    /// Datagrams handed in by the caller.
    pub datagrams_received: u64,
    /// Datagrams accepted as the answer to a query.
    pub answers_accepted: u64,
    /// Dropped: no query in flight with this source address, port and id
    /// (a late, duplicate, stray or forged packet).
    pub dropped_unmatched: u64,
    /// Dropped: QR not set, or the question differs from the one asked.
    pub dropped_mismatched: u64,
    /// Dropped: too short or garbled to read a header and question.
    pub dropped_unreadable: u64,
    /// Questions currently on the wire.
    pub queries_in_flight: usize,
}

/// Identifies one question inside the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct QuestionId(u64);

/// How a question ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// A usable answer: records, an alias to chase, NXDOMAIN, NODATA or a loop.
    Answer(Reply),
    /// Every server failed; this is what the last one did.
    Failed(Failure),
}

/// Why no server gave a usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Timeout,
    ServerError(ResponseCode),
    Truncated,
    Referral,
    Malformed,
}

/// S18: a fresh unpredictable id for which `taken` is false.
///
/// At most half the ids of a server are ever taken (`max_queries` is capped
/// at 32 768), so random draws succeed at once almost always. Should a
/// broken generator keep repeating itself, a linear probe from its last draw
/// still terminates instead of spinning forever.
fn fresh_id<R: CryptoRng + ?Sized>(rng: &mut R, taken: impl Fn(u16) -> bool) -> u16 {
    let mut id = 0;
    for _ in 0..64 {
        let mut bytes = [0u8; 2];
        rng.fill_bytes(&mut bytes);
        id = u16::from_ne_bytes(bytes);
        if !taken(id) {
            return id;
        }
    }
    (0..=u16::MAX)
        .map(|step| id.wrapping_add(step))
        .find(|&candidate| !taken(candidate))
        .unwrap_or(id)
}

/// The transport settings a question needs.
#[derive(Debug, Clone)]
pub(crate) struct WireConfig {
    pub servers: Vec<SocketAddr>,
    pub attempt_timeout: Duration,
    pub edns_payload: Option<u16>,
    pub max_cname_hops: u8,
    /// At most half the 16-bit id space, so that a free id is always found.
    pub max_queries: usize,
}

struct Question {
    name: Name,
    rtype: RecordType,
    /// Index into the server list of the current attempt.
    server: usize,
    /// The message id of the current attempt.
    id: u16,
    /// Bumped per attempt so that stale timers are recognised.
    attempt: u32,
}

/// All questions on the wire.
pub(crate) struct Wire {
    config: WireConfig,
    next_id: u64,
    questions: BTreeMap<QuestionId, Question>,
    /// S24: one query per (lower-cased name, type).
    by_question: BTreeMap<(Name, RecordType), QuestionId>,
    /// S19: answers are looked up by the server they came from and their id.
    by_wire: BTreeMap<(SocketAddr, u16), QuestionId>,
    /// Attempt deadlines; entries whose attempt has moved on are skipped.
    timers: BinaryHeap<Reverse<(Instant, QuestionId, u32)>>,
    transmits: VecDeque<Transmit>,
    stats: Stats,
}

impl Wire {
    pub(crate) fn new(config: WireConfig) -> Self {
        Wire {
            config,
            next_id: 0,
            questions: BTreeMap::new(),
            by_question: BTreeMap::new(),
            by_wire: BTreeMap::new(),
            timers: BinaryHeap::new(),
            transmits: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.questions.len()
    }

    /// Asks `name`/`rtype`, or joins the identical question already on the
    /// wire. `None` when a new question would exceed `max_queries` (S27).
    pub(crate) fn ask<R: CryptoRng + ?Sized>(
        &mut self,
        name: &Name,
        rtype: RecordType,
        now: Instant,
        rng: &mut R,
    ) -> Option<QuestionId> {
        let key = (name.to_lowercase(), rtype);
        if let Some(&qid) = self.by_question.get(&key) {
            return Some(qid);
        }
        if self.questions.len() >= self.config.max_queries {
            return None;
        }
        let qid = QuestionId(self.next_id);
        self.next_id += 1;
        self.questions.insert(
            qid,
            Question {
                name: name.clone(),
                rtype,
                server: 0,
                id: 0,
                attempt: 0,
            },
        );
        self.by_question.insert(key, qid);
        self.send_attempt(qid, now, rng);
        Some(qid)
    }

    /// Stops asking a question nobody waits for any more.
    pub(crate) fn forget(&mut self, qid: QuestionId) {
        if let Some(q) = self.questions.remove(&qid) {
            self.by_question.remove(&(q.name.to_lowercase(), q.rtype));
            self.by_wire.remove(&(self.config.servers[q.server], q.id));
        }
    }

    fn send_attempt<R: CryptoRng + ?Sized>(&mut self, qid: QuestionId, now: Instant, rng: &mut R) {
        let Some(q) = self.questions.get_mut(&qid) else {
            return;
        };
        let server = self.config.servers[q.server];
        let id = fresh_id(rng, |id| self.by_wire.contains_key(&(server, id)));
        q.id = id;
        q.attempt += 1;
        self.by_wire.insert((server, id), qid);
        let payload = message::encode_query(id, &q.name, q.rtype, self.config.edns_payload);
        self.timers
            .push(Reverse((now + self.config.attempt_timeout, qid, q.attempt)));
        self.transmits.push_back(Transmit {
            server,
            transport: Transport::Udp,
            payload,
        });
        self.stats.queries_sent += 1;
    }

    /// Moves a question to its next server, or ends it with `failure`.
    fn fail_over<R: CryptoRng + ?Sized>(
        &mut self,
        qid: QuestionId,
        failure: Failure,
        now: Instant,
        rng: &mut R,
    ) -> Option<(QuestionId, Outcome)> {
        let q = self.questions.get_mut(&qid)?;
        self.by_wire.remove(&(self.config.servers[q.server], q.id));
        if q.server + 1 < self.config.servers.len() {
            q.server += 1;
            self.send_attempt(qid, now, rng);
            None
        } else {
            self.forget(qid);
            Some((qid, Outcome::Failed(failure)))
        }
    }

    /// Offers a received datagram. Returns the question it answers, if it
    /// completes one.
    pub(crate) fn handle_datagram<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        bytes: &[u8],
        rng: &mut R,
    ) -> Option<(QuestionId, Outcome)> {
        self.stats.datagrams_received += 1;
        // S19: source address, port and id first; an id alone is 16 bits of luck.
        let Some(id) = bytes.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
            self.stats.dropped_unreadable += 1;
            return None;
        };
        let Some((qid, q)) = self
            .by_wire
            .get(&(from, id))
            .and_then(|qid| Some((*qid, self.questions.get(qid)?)))
        else {
            self.stats.dropped_unmatched += 1;
            return None;
        };
        let header = match message::vet(bytes, &q.name, q.rtype) {
            Ok(header) => header,
            Err(Mismatch::Unreadable) => {
                self.stats.dropped_unreadable += 1;
                return None;
            }
            Err(Mismatch::NotResponse | Mismatch::WrongQuestion) => {
                self.stats.dropped_mismatched += 1;
                return None;
            }
        };
        self.stats.answers_accepted += 1;
        let reply =
            message::read_reply(bytes, &header, &q.name, q.rtype, self.config.max_cname_hops);
        let failure = match reply {
            Reply::ServerError(rcode) => Failure::ServerError(rcode),
            Reply::Truncated => Failure::Truncated,
            Reply::Referral => Failure::Referral,
            Reply::Malformed => Failure::Malformed,
            answer => {
                self.forget(qid);
                return Some((qid, Outcome::Answer(answer)));
            }
        };
        // S23: SERVFAIL, REFUSED, NOTIMP and the like move on to the next server.
        self.fail_over(qid, failure, now, rng)
    }

    /// Fires attempt timeouts due at `now`, returning the questions that ended.
    pub(crate) fn handle_timeout<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        ended: &mut Vec<(QuestionId, Outcome)>,
    ) {
        while let Some(&Reverse((due, qid, attempt))) = self.timers.peek() {
            if due > now {
                break;
            }
            self.timers.pop();
            let current = self
                .questions
                .get(&qid)
                .is_some_and(|q| q.attempt == attempt);
            if current {
                ended.extend(self.fail_over(qid, Failure::Timeout, now, rng));
            }
        }
    }

    /// The next attempt deadline, skipping timers of finished attempts.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((due, qid, attempt))) = self.timers.peek() {
            if self
                .questions
                .get(&qid)
                .is_some_and(|q| q.attempt == attempt)
            {
                return Some(due);
            }
            self.timers.pop();
        }
        None
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            queries_in_flight: self.questions.len(),
            ..self.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::convert::Infallible;
    use rand_core::{TryCryptoRng, TryRng};

    /// A "generator" that always says zero: what a careless fuzz harness passes.
    struct Zeros;

    impl TryRng for Zeros {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            Ok(0)
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            Ok(0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            dst.fill(0);
            Ok(())
        }
    }

    impl TryCryptoRng for Zeros {}

    #[test]
    fn fresh_id_terminates_with_a_stuck_generator() {
        assert_eq!(fresh_id(&mut Zeros, |id| id < 1000), 1000);
        assert_eq!(fresh_id(&mut Zeros, |id| id != 7), 7);
    }

    #[test]
    fn stuck_generator_still_gets_distinct_ids_per_server() {
        let server: SocketAddr = "192.0.2.1:53".parse().unwrap();
        let mut wire = Wire::new(WireConfig {
            servers: alloc::vec![server],
            attempt_timeout: Duration::from_secs(1),
            edns_payload: None,
            max_cname_hops: 8,
            max_queries: 100,
        });
        let mut ids = alloc::collections::BTreeSet::new();
        for i in 0..100 {
            let name = Name::from_ascii(alloc::format!("h{i}.example.")).unwrap();
            assert!(
                wire.ask(&name, RecordType::A, Instant::ZERO, &mut Zeros)
                    .is_some()
            );
            let t = wire.poll_transmit().unwrap();
            ids.insert(u16::from_be_bytes([t.payload[0], t.payload[1]]));
        }
        assert_eq!(ids.len(), 100);
        // The cap: a new question beyond it is refused, a repeated one joins.
        let extra = Name::from_ascii("extra.example.").unwrap();
        assert_eq!(
            wire.ask(&extra, RecordType::A, Instant::ZERO, &mut Zeros),
            None
        );
        let again = Name::from_ascii("H0.example.").unwrap();
        assert!(
            wire.ask(&again, RecordType::A, Instant::ZERO, &mut Zeros)
                .is_some()
        );
    }
}

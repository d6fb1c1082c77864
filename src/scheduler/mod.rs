//! The question scheduler: one question's life on the wire — ids, which
//! server to ask when, UDP and TCP, matching answers (SPEC S18–S24, S27).
//! Knows nothing of SRV records or URIs.
//!
//! A question is asked until it is answered or nobody waits for it, within
//! a budget of `attempts` rounds; each round asks every server still
//! allowed once, the one expected to answer soonest first (`rtt.rs`), and
//! each attempt waits twice as long as the one before it while the servers
//! stay silent (S23). A query asked again of the same server goes with an
//! id of its own, while the send before it stays open: an answer to either
//! counts, and says which send it answers, so a slow server's late answer
//! is never wasted and is told apart from a lost one. Queries to other
//! servers stay open too. An
//! answer is accepted only from the server, port and transport the query
//! went out on, with its id and question (S19); anything else is dropped and
//! counted. A server that answers with an error is not asked again; one that
//! answers FORMERR to EDNS is asked again without it (S21), and one that
//! truncates is asked again over TCP (S22). Two resolutions asking the same
//! question share one query (S24).
//!
//! At most `max_outstanding` questions are asked at once, and a question
//! starts only while some server's window (`window.rs`) has room for its
//! query; the rest wait for one to end, those of the oldest resolution
//! first (S27), so that work started earlier finishes first rather than
//! every resolution finishing late together. A burst of thousands of
//! resolutions thus overflows neither a server's receive buffer nor the
//! driver's, and a busy server holds a short queue. Each UDP query leaves
//! from a socket named by `sockets.rs` (S28).

pub(crate) mod rtt;
pub(crate) mod sockets;
pub(crate) mod timer;
pub(crate) mod window;

use crate::map::{Map, map};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;
use core::hash::{BuildHasher, Hasher};
use core::net::SocketAddr;
use core::time::Duration;

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use hickory_proto::rr::{Name, RecordType};
use rand_core::CryptoRng;

use crate::config::{Config, MAX_QUERIES_CAP, Transport};
use crate::error::ServerFailure;
use crate::scheduler::rtt::RttTable;
use crate::scheduler::sockets::{SocketId, Sockets};
use crate::scheduler::timer::Timers;
use crate::scheduler::window::Windows;
use crate::stats::{ServerStatus, Stats};
use crate::time::Instant;
use crate::wire::message::{self, Mismatch, Reply};
use crate::wire::name::{randomize_case, same_name, write_folded};
use crate::wire::tcp::{self, Connection, TooLong};

/// A message for the caller to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The server to send it to.
    pub server: SocketAddr,
    /// How to send it. For [`Transport::Tcp`], write it on the connection
    /// to `server`, opening one if there is none.
    pub transport: Transport,
    /// For UDP, the local socket to send it from (S28), opened the first
    /// time its id appears; `None` over TCP.
    pub socket: Option<SocketId>,
    /// The bytes to send: the DNS message, with its length prefix over TCP.
    pub payload: Vec<u8>,
}

/// Identifies one question inside the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct QuestionId(u64);

#[cfg(test)]
impl QuestionId {
    /// A question id made up by a test.
    pub(crate) fn for_tests(n: u64) -> Self {
        QuestionId(n)
    }
}

/// How a question ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// A usable answer: records, an alias to chase, NXDOMAIN, NODATA or a loop.
    Answer(Reply),
    /// No server gave one; what each server asked did, in server order.
    Failed(Vec<(SocketAddr, ServerFailure)>),
    /// A trusted validating resolver found the answer bogus (S36).
    Bogus((SocketAddr, ServerFailure)),
}

/// A question that ended, and how.
pub(crate) type Ended = (QuestionId, Outcome);

/// S18: a fresh unpredictable id for which `taken` is false.
///
/// At most half the ids of a server are ever taken (`max_queries` is capped
/// at 32 768 and a question keeps one query, one id, per server), so random draws
/// succeed at once almost always. Should a broken generator keep repeating
/// itself, a linear probe from its last draw still terminates.
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

/// Where answers are looked up (S19): the server (by the index of its
/// address's first place in the server list: 1 byte, not a 32-byte socket
/// address, in an index with an entry per query), how the query went, its id.
type WireKey = (u8, Transport, u16);

/// Where `Scheduler::by_question` files a question (S24): its type and
/// its name with letters lower-cased, hashed with a secret seed. Names that
/// DNS counts as one hash alike; no one who does not know the seed can
/// choose names that collide, so a hostile answer naming thousands of
/// targets cannot make each new question scan the others (issue 24: the
/// B-tree this replaces compared names, half of a lookup's cost in it).
fn question_hash(hasher: &FixedState, name: &Name, rtype: RecordType) -> u64 {
    let mut folded = [0; 255];
    let len = write_folded(name, &mut folded);
    let mut state = hasher.build_hasher();
    state.write_u16(u16::from(rtype));
    state.write_u8(u8::from(name.is_fqdn()));
    state.write(&folded[..len]);
    state.finish()
}

/// One query on the wire.
struct Sent {
    /// The server's place in the list: a byte, as at most `MAX_SERVERS`
    /// (64) are used, and every byte here is paid per query in flight.
    server_at: u8,
    transport: Transport,
    /// The UDP socket it left from: its answer is accepted on no other
    /// (S28). Meaningless over TCP ([`Sent::socket`]); kept bare rather
    /// than as an `Option`, which would take four bytes more a query.
    udp_socket: SocketId,
    id: u16,
    /// The exact name sent when its case was randomised (S20); boxed, as
    /// 0x20 is off by default.
    case: Option<Box<Name>>,
    /// Whether the query carried an OPT record (S21).
    edns: bool,
    /// When it left: its answer times the round trip.
    sent_at: Instant,
    /// Its transmit's place among all ever queued (see `transmits`).
    transmit: u32,
    /// Whether the question has been sent to the same server again since,
    /// with another id: an answer to this one then says the wait was too
    /// short (the server queues), not that a packet was lost.
    sent_again: bool,
}

/// Bit `i` of a server set.
fn bit(server: usize) -> u64 {
    1 << server
}

struct Question {
    name: Name,
    rtype: RecordType,
    /// Its [`question_hash`], which finds it in the index when it ends.
    hash: u64,
    /// Its place in the waiting line: the age of the oldest resolution
    /// asking it (lower is older).
    rank: u64,
    /// Attempts started (S23).
    attempts: u32,
    /// Servers asked in the current round: each is asked once a round.
    round: u64,
    /// The server whose attempt the timer is running for (its place in
    /// the list, as in `Sent`).
    current: u8,
    /// Bumped whenever the timer restarts, so stale timers are recognised.
    timer: u32,
    /// Queries on the wire, at most two per server: the latest, and the
    /// one sent before it.
    sent: Vec<Sent>,
    /// Servers that answered with an error: not asked again.
    done: u64,
    /// Servers that answered FORMERR to EDNS (S21).
    no_edns: u64,
    /// Servers that truncated over UDP: asked over TCP from now on (S22).
    over_tcp: u64,
    /// The latest failure of each server, in the order they happened.
    failures: Vec<(usize, ServerFailure)>,
}

impl Sent {
    fn server(&self) -> usize {
        usize::from(self.server_at)
    }

    /// The UDP socket it left from; none over TCP.
    fn socket(&self) -> Option<SocketId> {
        (self.transport == Transport::Udp).then_some(self.udp_socket)
    }

    /// Whether this is the query to `server` over `transport` with `id`.
    /// The server counts: ids are drawn per server, so one question's
    /// queries to two servers may share one.
    fn is(
        &self,
        server: SocketAddr,
        transport: Transport,
        id: u16,
        servers: &[SocketAddr],
    ) -> bool {
        self.id == id && self.transport == transport && servers[self.server()] == server
    }
}

impl Question {
    fn record(&mut self, server: usize, failure: ServerFailure) {
        self.failures.retain(|(s, _)| *s != server);
        self.failures.push((server, failure));
    }
}

/// All questions on the wire, and when each is asked of which server.
pub(crate) struct Scheduler {
    config: Config,
    next_id: u64,
    /// Boxed: a question is 192 bytes, and a tree node of eleven of them
    /// is past what the allocator keeps at hand, each split and merge a
    /// slow allocation, each insertion and removal a shift of kilobytes
    /// (issue 24).
    questions: BTreeMap<QuestionId, Box<Question>>,
    /// S24: one query per (name, type), names compared case-insensitively:
    /// each question with its [`question_hash`].
    by_question: HashTable<(u64, QuestionId)>,
    /// The secret seed of [`question_hash`].
    hasher: FixedState,
    /// S19: answers are looked up by where they came from and their id.
    by_wire: Map<WireKey, QuestionId>,
    /// Queries whose question ended, each with the number of its latest
    /// ending (wrapping): an answer to one of the last `max_queries` is
    /// late, not unmatched ([`Stats::late_answers`]). See `remember_ended`.
    ended: Map<WireKey, u32>,
    /// Queries ended so far (wrapping).
    endings: u32,
    /// Attempt deadlines, keyed by question and its timer generation:
    /// entries whose timer has moved on are skipped.
    timers: Timers<(QuestionId, u32)>,
    streams: Map<SocketAddr, Connection>,
    /// What the driver is to send, each with its place among all transmits
    /// ever queued (wrapping): a send older than the first still waiting
    /// was taken, which tells without a look through the queue.
    transmits: VecDeque<(u32, Transmit)>,
    transmits_queued: u32,
    closes: VecDeque<SocketAddr>,
    /// Round-trip estimates per server.
    rtt: RttTable,
    /// How many queries each server may have on the wire.
    windows: Windows,
    /// The UDP sockets queries leave from (S28).
    sockets: Sockets,
    /// Questions being asked: at most `max_outstanding`.
    active: usize,
    /// Questions waiting for one of those to end, by rank (then age).
    waiting: BTreeSet<(u64, QuestionId)>,
    /// The latest time handed in, for starting waiting questions when a
    /// question is forgotten without one.
    now: Instant,
    /// Since when nothing has been in flight or waiting, while sockets
    /// are still open: they are handed back `SOCKET_LINGER` later.
    idle_since: Option<Instant>,
    stats: Stats,
    /// Where each query is encoded before it is copied into its
    /// [`Transmit`]: kept, so that a query costs one allocation of its own
    /// size rather than the encoder's 512 bytes.
    scratch: Vec<u8>,
}

/// How long an idle machine keeps its sockets before handing them back
/// (S28): work that comes back within it reuses them, rather than paying
/// for a socket, its port and its registration with the driver's poll
/// every lookup (at one lookup at a time, about half the CPU of each).
pub(crate) const SOCKET_LINGER: Duration = Duration::from_secs(1);

/// One question in this many starts with another server than the best
/// (once the best has been measured), to notice when a slower or silent
/// server has recovered (as unbound probes servers outside its fastest
/// band now and then).
const PROBE_ONE_IN: u32 = 16;

impl Scheduler {
    /// `config` must be [`Config::normalized`]; `secret` seeds the hash of
    /// the questions' index, and must be drawn from the generator.
    pub(crate) fn new(config: Config, secret: u64) -> Self {
        Scheduler {
            rtt: RttTable::new(config.servers.len()),
            windows: Windows::new(config.servers.len(), config.max_outstanding),
            sockets: Sockets::new(config.queries_per_socket, config.servers.len()),
            active: 0,
            waiting: BTreeSet::new(),
            now: Instant::ZERO,
            idle_since: None,
            config,
            next_id: 0,
            questions: BTreeMap::new(),
            by_question: HashTable::new(),
            hasher: FixedState::with_seed(secret),
            by_wire: map(),
            ended: map(),
            endings: 0,
            timers: Timers::new(),
            streams: map(),
            transmits: VecDeque::new(),
            transmits_queued: 0,
            closes: VecDeque::new(),
            stats: Stats::default(),
            scratch: Vec::new(),
        }
    }

    /// The set of every configured server.
    fn all_servers(&self) -> u64 {
        match self.config.servers.len() {
            64 => u64::MAX,
            n => bit(n) - 1,
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.questions.len()
    }

    /// Asks `name`/`rtype`, or joins the identical question already on the
    /// wire, for work of `rank` (lower goes first when questions must wait).
    /// `None` when a new question would exceed `max_queries` (S27).
    pub(crate) fn ask<R: CryptoRng + ?Sized>(
        &mut self,
        name: &Name,
        rtype: RecordType,
        rank: u64,
        now: Instant,
        rng: &mut R,
    ) -> Option<QuestionId> {
        self.now = self.now.max(now);
        let hash = question_hash(&self.hasher, name, rtype);
        let questions = &self.questions;
        let same = |&(_, qid): &(u64, QuestionId)| {
            questions
                .get(&qid)
                .is_some_and(|q| q.rtype == rtype && same_name(&q.name, name))
        };
        if let Some(&(_, qid)) = self.by_question.find(hash, same) {
            // Older work joining a waiting question moves it up the line.
            if let Some(q) = self.questions.get_mut(&qid)
                && rank < q.rank
            {
                if self.waiting.remove(&(q.rank, qid)) {
                    self.waiting.insert((rank, qid));
                }
                q.rank = rank;
            }
            return Some(qid);
        }
        if self.questions.len() >= self.config.max_queries || self.config.servers.is_empty() {
            return None;
        }
        let qid = QuestionId(self.next_id);
        self.next_id += 1;
        self.questions.insert(
            qid,
            Box::new(Question {
                name: name.clone(),
                rtype,
                hash,
                rank,
                attempts: 0,
                round: 0,
                current: 0,
                timer: 0,
                // Usually one server is asked: no room for four up front.
                sent: Vec::with_capacity(1),
                done: 0,
                no_edns: 0,
                over_tcp: 0,
                failures: Vec::new(),
            }),
        );
        self.by_question
            .insert_unique(hash, (hash, qid), |&(hash, _)| hash);
        if self.may_start() {
            self.start(qid, now, rng);
        } else {
            self.waiting.insert((rank, qid));
        }
        Some(qid)
    }

    /// Whether a question may start now: fewer than `max_outstanding` are
    /// being asked, and some server's window has room for its query.
    fn may_start(&self) -> bool {
        self.active < self.config.max_outstanding && self.with_room() != 0
    }

    /// The servers whose windows have room.
    fn with_room(&self) -> u64 {
        (0..self.config.servers.len())
            .filter(|s| self.windows.has_room(*s))
            .fold(0, |set, s| set | bit(s))
    }

    /// Starts asking a question.
    fn start<R: CryptoRng + ?Sized>(&mut self, qid: QuestionId, now: Instant, rng: &mut R) {
        self.active += 1;
        // A fresh question has attempts left, so this cannot end it.
        let _ = self.next_attempt(qid, now, rng);
    }

    /// Stops asking a question that ended or that nobody waits for any
    /// more. Answers to its queries count as late from now on. Its place
    /// goes to a waiting question at [`start_waiting`](Self::start_waiting).
    pub(crate) fn forget(&mut self, qid: QuestionId) {
        let Some(q) = self.questions.remove(&qid) else {
            return;
        };
        if let Ok(entry) = self.by_question.find_entry(q.hash, |&(_, id)| id == qid) {
            entry.remove();
        }
        // The table keeps its room when emptied; after a burst it goes back
        // to what is left (amortised: only when an eighth is in use).
        if self.by_question.capacity() > 64
            && self.by_question.len() * 8 < self.by_question.capacity()
        {
            self.by_question
                .shrink_to(self.by_question.len() * 2, |&(hash, _)| hash);
        }
        for sent in q.sent {
            self.unregister(&sent);
            self.remember_ended(self.wire_key(&sent));
        }
        if q.attempts == 0 {
            self.waiting.remove(&(q.rank, qid));
            return;
        }
        self.active -= 1;
    }

    /// Starts waiting questions while there is room, best rank first. The
    /// caller calls it after handing on the questions that ended, so that
    /// the questions their answers lead to (a resolution's next stage) take
    /// their rank in the line first.
    pub(crate) fn start_waiting<R: CryptoRng + ?Sized>(&mut self, now: Instant, rng: &mut R) {
        // The input's own time, though it may have reached nothing else
        // here: the linger below counts from it.
        self.now = self.now.max(now);
        while self.may_start()
            && let Some((_, next)) = self.waiting.pop_first()
        {
            self.start(next, self.now, rng);
        }
        // The end of every input: with nothing in flight or in line, the
        // sockets linger a while, then go back to the driver, so an idle
        // one keeps no port open for long (S28). Within an input a
        // resolution asks its next questions before this, so moving on
        // from SRV to addresses never looks idle.
        if !self.is_idle() {
            self.idle_since = None;
        } else if self.sockets.open() > 0 && self.idle_since.is_none() {
            self.idle_since = Some(self.now);
        }
    }

    /// The latest time an input gave.
    pub(crate) fn latest(&self) -> Instant {
        self.now
    }

    /// Nothing on the wire, nothing waiting its turn.
    fn is_idle(&self) -> bool {
        self.by_wire.is_empty() && self.waiting.is_empty()
    }

    /// Hands every socket back now if nothing is in flight, rather than
    /// after the linger: for a driver about to stop running.
    pub(crate) fn close_idle_sockets(&mut self) {
        if self.is_idle() {
            self.sockets.close_all();
            self.idle_since = None;
        }
    }

    /// Where answers to `sent` are looked up.
    fn wire_key(&self, sent: &Sent) -> WireKey {
        let address = self.config.servers[sent.server()];
        let key = key_of(&self.config.servers, address).unwrap_or_default();
        (key, sent.transport, sent.id)
    }

    /// Remembers a query whose question ended, among the last
    /// `max_queries` (S27). A key can end more than once (ids are reused);
    /// its latest ending is the one that counts. One table write an
    /// ending: endings that left the window are swept out together once
    /// the table holds a quarter more than it, and at least once a window
    /// (so none stays until the count wraps), each looked at a few times
    /// at most, the table bounded (issue 24: a queue beside a table of
    /// counts made every ending two or three writes in a table too large
    /// for the cache, 1.4% of loadgen's CPU).
    fn remember_ended(&mut self, key: WireKey) {
        self.endings = self.endings.wrapping_add(1);
        self.ended.insert(key, self.endings);
        let window = self.ended_window();
        if self.ended.len() > window as usize + window as usize / 4
            || self.endings.is_multiple_of(window)
        {
            let endings = self.endings;
            self.ended
                .retain(|_, ending| endings.wrapping_sub(*ending) < window);
        }
    }

    /// Whether a query with `key` ended among the last `max_queries`.
    fn recently_ended(&self, key: &WireKey) -> bool {
        let window = self.ended_window();
        (self.ended.get(key)).is_some_and(|ending| self.endings.wrapping_sub(*ending) < window)
    }

    /// How many of the latest endings are remembered: `max_queries`, at
    /// most 32,768.
    fn ended_window(&self) -> u32 {
        self.config.max_queries.clamp(1, MAX_QUERIES_CAP) as u32
    }

    /// What each server asked has done so far, silent ones as timeouts.
    pub(crate) fn failures(&self, qid: QuestionId) -> Vec<(SocketAddr, ServerFailure)> {
        let Some(q) = self.questions.get(&qid) else {
            return Vec::new();
        };
        let mut out: Vec<(usize, ServerFailure)> = q.failures.clone();
        for sent in &q.sent {
            if !out.iter().any(|(s, _)| *s == sent.server()) {
                out.push((sent.server(), ServerFailure::Timeout));
            }
        }
        out.sort_by_key(|(s, _)| *s);
        out.into_iter()
            .map(|(s, f)| (self.config.servers[s], f))
            .collect()
    }

    /// Starts the question's next attempt at a server that may still be
    /// asked, or ends the question when none is left.
    fn next_attempt<R: CryptoRng + ?Sized>(
        &mut self,
        qid: QuestionId,
        now: Instant,
        rng: &mut R,
    ) -> Option<Ended> {
        let n = self.config.servers.len();
        let budget = u32::from(self.config.attempts) * n as u32;
        let all = self.all_servers();
        let q = self.questions.get_mut(&qid)?;
        if q.attempts >= budget || q.done & all == all {
            let failures = self.failures(qid);
            self.forget(qid);
            return Some((qid, Outcome::Failed(failures)));
        }
        // Every server still allowed is asked once before any is asked
        // again (S23).
        if (q.done | q.round) & all == all {
            q.round = 0;
        }
        let first = q.attempts == 0;
        // A first attempt goes to a server with room in its window (one
        // has, or the question would not have started); later ones go
        // where the round says: the question already holds its place.
        let mut open = all & !(q.done | q.round);
        let roomy = open & self.with_room();
        if first && roomy != 0 {
            open = roomy;
        }
        let q = self.questions.get_mut(&qid)?;
        let candidates = (0..n).filter(|s| open & bit(*s) != 0);
        let rtt = &self.rtt;
        let config = &self.config;
        let best = candidates
            .clone()
            .min_by_key(|s| (rtt.rank(*s, now, config), *s))
            .unwrap_or(0);
        let others = open.count_ones() - 1;
        // Probe only once the best is known: until then the list's order
        // is the preference, as in resolv.conf.
        let probe = first && others > 0 && self.rtt.is_measured(best, now);
        let server = if first && self.config.rotate {
            // resolv.conf's rotate: each question starts at the next server.
            let turn = (qid.0 % n as u64) as usize;
            (turn..n)
                .chain(0..turn)
                .find(|s| open & bit(*s) != 0)
                .unwrap_or(best)
        } else if probe && rng.next_u32().is_multiple_of(PROBE_ONE_IN) {
            let pick = rng.next_u32() % others;
            candidates
                .filter(|s| *s != best)
                .nth(pick as usize)
                .unwrap_or(best)
        } else {
            best
        };
        q.round |= bit(server);
        q.attempts += 1;
        if !first {
            self.stats.retransmissions += 1;
        }
        self.send(qid, server, true, now, rng);
        None
    }

    /// Sends the question to `server`, replacing that server's earlier
    /// query. With `timed`, this is the attempt the timer runs for.
    fn send<R: CryptoRng + ?Sized>(
        &mut self,
        qid: QuestionId,
        server: usize,
        timed: bool,
        now: Instant,
        rng: &mut R,
    ) {
        let Some(q) = self.questions.get_mut(&qid) else {
            return;
        };
        let transport = if q.over_tcp & bit(server) != 0 {
            Transport::Tcp
        } else {
            self.config.transport
        };
        let edns = self
            .config
            .edns_payload
            .filter(|_| q.no_edns & bit(server) == 0);
        let address = self.config.servers[server];
        let key = key_of(&self.config.servers, address).unwrap_or_default();
        let same_way =
            |s: &Sent| s.server() == server && s.transport == transport && s.edns == edns.is_some();
        // Each send has an id of its own, so that its answer says which
        // send it answers (S23). The latest earlier send stays open, as the
        // server may be answering it still; one before that is let go. A
        // query another way (another transport, or without EDNS) replaces
        // all of the server's.
        let mut gone: [Option<Sent>; 2] = [None, None];
        for slot in &mut gone {
            let Some(i) = (q.sent.iter())
                .position(|s| s.server() == server && (!same_way(s) || s.sent_again))
            else {
                break;
            };
            *slot = Some(q.sent.swap_remove(i));
        }
        if let Some(latest) = q.sent.iter_mut().find(|s| same_way(s)) {
            latest.sent_again = true;
        }
        let case = (transport == Transport::Udp && self.config.case_randomization)
            .then(|| Box::new(randomize_case(&q.name, rng)));
        let socket = (transport == Transport::Udp).then(|| self.sockets.assign(server));
        let by_wire = &self.by_wire;
        let id = fresh_id(rng, |id| by_wire.contains_key(&(key, transport, id)));
        // Its transmit's place in the queue, pushed below.
        let place = self.transmits_queued;
        q.sent.push(Sent {
            // At most MAX_SERVERS (64): it fits.
            server_at: server as u8,
            transport,
            // Over TCP, any: `Sent::socket` says none.
            udp_socket: socket.unwrap_or(SocketId(0)),
            id,
            case,
            edns: edns.is_some(),
            sent_at: now,
            transmit: place,
            sent_again: false,
        });
        let query_name = (q.sent.last())
            .and_then(|sent| sent.case.as_deref())
            .unwrap_or(&q.name);
        let scratch = &mut self.scratch;
        scratch.clear();
        if transport == Transport::Tcp {
            scratch.resize(tcp::PREFIX_LEN, 0);
        }
        let dnssec_ok = self.config.dnssec.is_some();
        message::encode_query(scratch, id, query_name, q.rtype, edns, dnssec_ok);
        if transport == Transport::Tcp {
            tcp::write_prefix(scratch);
        }
        // A copy of exactly the query's length.
        let payload = scratch.clone();
        for previous in gone.into_iter().flatten() {
            self.unregister(&previous);
            self.remember_ended(self.wire_key(&previous));
        }
        self.by_wire.insert((key, transport, id), qid);
        self.windows.sent(server);
        if transport == Transport::Tcp {
            self.streams.entry(address).or_default().pending += 1;
            // A close not yet drained would cut this query off.
            self.closes.retain(|s| *s != address);
            self.stats.tcp_queries_sent += 1;
        }
        self.stats.queries_sent += 1;
        self.idle_since = None;
        self.transmits_queued = place.wrapping_add(1);
        self.transmits.push_back((
            place,
            Transmit {
                server: address,
                transport,
                socket,
                payload,
            },
        ));
        if timed && let Some(q) = self.questions.get_mut(&qid) {
            let due = now + attempt_timeout(&self.rtt, &self.config, q, now);
            q.current = server as u8;
            q.timer += 1;
            self.timers.push(due, (qid, q.timer));
        }
    }

    /// Forgets a query's id; a connection nobody waits on may be closed.
    fn unregister(&mut self, sent: &Sent) {
        let address = self.config.servers[sent.server()];
        let key = key_of(&self.config.servers, address).unwrap_or_default();
        self.by_wire.remove(&(key, sent.transport, sent.id));
        // Not yet taken by the driver: it would leave from a socket (or on
        // a connection) handed back below, which a driver that takes its
        // closes first would open again and never close.
        let first_waiting =
            (self.transmits.front()).map_or(self.transmits_queued, |(place, _)| *place);
        let taken = first_waiting.wrapping_sub(sent.transmit) as i32 > 0;
        if !taken {
            self.transmits.retain(|(_, t)| {
                !(t.server == address && t.socket == sent.socket() && wire_id(t) == Some(sent.id))
            });
        }
        self.windows.ended(sent.server());
        if let Some(socket) = sent.socket() {
            self.sockets.release(socket);
        }
        if sent.transport == Transport::Tcp
            && let Some(stream) = self.streams.get_mut(&address)
        {
            stream.pending = stream.pending.saturating_sub(1);
            if stream.pending == 0 {
                self.streams.remove(&address);
                self.closes.push_back(address);
            }
        }
    }

    /// Offers a datagram received on `socket`. Returns the question it
    /// ends, if any.
    pub(crate) fn handle_datagram<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        socket: SocketId,
        from: SocketAddr,
        bytes: &[u8],
        rng: &mut R,
    ) -> Option<Ended> {
        self.now = self.now.max(now);
        self.stats.datagrams_received += 1;
        self.accept(now, from, Some(socket), bytes, rng)
    }

    /// Offers bytes read from the TCP connection to `server`, in any
    /// fragmentation (S22). Questions they end are pushed to `ended`.
    pub(crate) fn handle_stream<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        server: SocketAddr,
        mut bytes: &[u8],
        rng: &mut R,
        ended: &mut Vec<Ended>,
    ) {
        self.now = self.now.max(now);
        let max = usize::from(self.config.max_tcp_message);
        while !bytes.is_empty() {
            let Some(connection) = self.streams.get_mut(&server) else {
                // Nothing pending over TCP to this server: stray bytes.
                self.stats.dropped_stream_bytes += bytes.len() as u64;
                return;
            };
            match connection.next_message(&mut bytes, max) {
                Ok(None) => {}
                Ok(Some(message)) => {
                    self.stats.stream_messages_received += 1;
                    ended.extend(self.accept(now, server, None, &message, rng));
                }
                Err(TooLong) => {
                    // S27: a message longer than allowed breaks the connection.
                    let dropped = connection.buffered() + bytes.len();
                    self.stats.dropped_stream_bytes += dropped as u64;
                    self.break_stream(now, server, ServerFailure::TooLarge, rng, ended);
                    return;
                }
            }
        }
    }

    /// The TCP connection to `server` closed, was reset or never opened:
    /// its queries fail over as if they had timed out.
    pub(crate) fn handle_stream_closed<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        server: SocketAddr,
        rng: &mut R,
        ended: &mut Vec<Ended>,
    ) {
        self.now = self.now.max(now);
        self.break_stream(now, server, ServerFailure::Closed, rng, ended);
    }

    /// The datagram `transmit` could not be sent (S23): its server fails
    /// that question's attempt at once, as a closed connection does for
    /// TCP, and the next server is asked without waiting for a timeout.
    pub(crate) fn handle_send_failed<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        transmit: &Transmit,
        rng: &mut R,
        ended: &mut Vec<Ended>,
    ) {
        self.now = self.now.max(now);
        let (Some(socket), Some(id)) = (
            transmit.socket,
            transmit
                .payload
                .get(..2)
                .map(|b| u16::from_be_bytes([b[0], b[1]])),
        ) else {
            return;
        };
        let server = transmit.server;
        let Some(key) = key_of(&self.config.servers, server) else {
            return;
        };
        let Some(&qid) = self.by_wire.get(&(key, Transport::Udp, id)) else {
            return;
        };
        let servers = &self.config.servers;
        let Some(q) = self.questions.get_mut(&qid) else {
            return;
        };
        let Some(i) = q
            .sent
            .iter()
            .position(|s| s.is(server, Transport::Udp, id, servers) && s.socket() == Some(socket))
        else {
            return;
        };
        let sent = q.sent.swap_remove(i);
        q.record(sent.server(), ServerFailure::Unsendable);
        // Asking it again would fail the same way.
        q.done |= bit(sent.server());
        let move_on =
            q.current == sent.server_at || q.done & self.all_servers() == self.all_servers();
        self.unregister(&sent);
        if move_on {
            ended.extend(self.next_attempt(qid, now, rng));
        }
    }

    fn break_stream<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        server: SocketAddr,
        failure: ServerFailure,
        rng: &mut R,
        ended: &mut Vec<Ended>,
    ) {
        let was_open = self.streams.remove(&server).is_some();
        let all = self.all_servers();
        let Some(key) = key_of(&self.config.servers, server) else {
            return;
        };
        // Every query on that connection, in id order. A walk over all
        // queries, but only when a connection breaks.
        let mut pending: Vec<(u16, QuestionId)> = self
            .by_wire
            .iter()
            .filter(|&(&(k, transport, _), _)| k == key && transport == Transport::Tcp)
            .map(|(&(_, _, id), &qid)| (id, qid))
            .collect();
        pending.sort_unstable();
        if was_open && failure != ServerFailure::Closed {
            // The caller still holds the connection: tell it to close.
            self.closes.push_back(server);
        }
        for (id, qid) in pending {
            self.by_wire.remove(&(key, Transport::Tcp, id));
            let Some(q) = self.questions.get_mut(&qid) else {
                continue;
            };
            let Some(i) = q
                .sent
                .iter()
                .position(|s| s.is(server, Transport::Tcp, id, &self.config.servers))
            else {
                continue;
            };
            let sent = q.sent.swap_remove(i);
            self.windows.ended(sent.server());
            q.record(sent.server(), failure.clone());
            if failure != ServerFailure::Closed {
                // It did answer, too much: asking again would only repeat that.
                q.done |= bit(sent.server());
            }
            if q.current == sent.server_at || q.done & all == all {
                ended.extend(self.next_attempt(qid, now, rng));
            }
        }
    }

    /// Matches a message from `from` to a query (S19) and acts on what it
    /// says: a datagram arrived on `socket`, a TCP message has none.
    fn accept<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        socket: Option<SocketId>,
        bytes: &[u8],
        rng: &mut R,
    ) -> Option<Ended> {
        let transport = match socket {
            Some(_) => Transport::Udp,
            None => Transport::Tcp,
        };
        // S19: source address, port, transport and id first.
        let Some(id) = bytes.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
            self.stats.dropped_unreadable += 1;
            return None;
        };
        let key = key_of(&self.config.servers, from).map(|key| (key, transport, id));
        let Some(&qid) = key.and_then(|key| self.by_wire.get(&key)) else {
            match key {
                Some(key) if self.recently_ended(&key) => self.stats.late_answers += 1,
                _ => self.stats.dropped_unmatched += 1,
            }
            return None;
        };
        let q = self.questions.get_mut(&qid)?;
        let i = q
            .sent
            .iter()
            .position(|s| s.is(from, transport, id, &self.config.servers))?;
        let expected = q.sent[i].case.as_deref().unwrap_or(&q.name);
        let vetted = match message::vet(bytes, expected, q.rtype, q.sent[i].case.is_some()) {
            Ok(vetted) => vetted,
            Err(mismatch) => {
                let counter = match mismatch {
                    Mismatch::Unreadable => &mut self.stats.dropped_unreadable,
                    Mismatch::NotResponse => &mut self.stats.dropped_not_response,
                    Mismatch::WrongQuestion => &mut self.stats.dropped_wrong_question,
                    Mismatch::WrongCase => &mut self.stats.dropped_wrong_case,
                };
                *counter += 1;
                return None;
            }
        };
        // S28: right server, port, id and question, but not the socket the
        // query left from: forged, or the driver mixed its sockets up.
        if q.sent[i].socket() != socket {
            self.stats.dropped_wrong_socket += 1;
            return None;
        }
        self.stats.answers_accepted += 1;
        // Each send has its own id, so every answer times its round trip.
        let answered = &q.sent[i];
        let (server, rtt) = (answered.server(), now - answered.sent_at);
        self.windows.heard(server, answered.sent_at, now);
        if answered.sent_again {
            // Asked again too soon: it was queued, not lost (S23).
            self.stats.spurious_resends += 1;
            self.windows.shrink(server, answered.sent_at, now);
        } else {
            let promptly = self.rtt.is_prompt(server, rtt, now);
            self.windows.answered(server, promptly);
        }
        self.rtt.sample(server, rtt, now);
        // S34: only a trusted server's AD bit, and its word that an
        // answer is bogus, count.
        let trusted = (self.config.dnssec.as_ref()).is_some_and(|d| d.trust_ad.trusts(from));
        let failure = match message::read_reply(
            vetted,
            &q.name,
            q.rtype,
            self.config.max_cname_hops,
            self.config.max_records,
            trusted,
        ) {
            Ok(reply) => {
                self.forget(qid);
                return Some((qid, Outcome::Answer(reply)));
            }
            // S36: no other server could make a bogus answer secure.
            Err(failure) if trusted && failure.is_bogus() => {
                self.forget(qid);
                return Some((qid, Outcome::Bogus((from, failure))));
            }
            Err(failure) => failure,
        };
        let sent = q.sent.swap_remove(i);
        let server = sent.server();
        let timed = q.current == sent.server_at;
        let retry = match failure {
            // S22: never use a truncated answer; ask the same server over TCP.
            ServerFailure::Truncated
                if sent.transport == Transport::Udp && self.config.tcp_fallback =>
            {
                q.over_tcp |= bit(server);
                self.stats.tcp_retries += 1;
                true
            }
            // S21: FORMERR to an OPT record: once more without it.
            ServerFailure::Rcode { rcode: 1, .. } if sent.edns => {
                q.no_edns |= bit(server);
                self.stats.edns_retries += 1;
                true
            }
            _ => false,
        };
        self.unregister(&sent);
        if retry {
            self.send(qid, server, timed, now, rng);
            return None;
        }
        // S23: SERVFAIL, REFUSED, NOTIMP and the like: this server is done
        // with the question; move on now if it was the one being waited on.
        let q = self.questions.get_mut(&qid)?;
        q.record(server, failure);
        q.done |= bit(server);
        if timed || q.done == self.all_servers() {
            return self.next_attempt(qid, now, rng);
        }
        None
    }

    /// Fires attempt timeouts due at `now`, pushing the questions that ended.
    pub(crate) fn handle_timeout<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
        ended: &mut Vec<Ended>,
    ) {
        self.now = self.now.max(now);
        if self
            .idle_since
            .is_some_and(|since| now >= since + SOCKET_LINGER)
        {
            self.close_idle_sockets();
        }
        let all = self.all_servers();
        while let Some((qid, timer)) = self.timers.pop_due(now) {
            let Some(q) = self.questions.get_mut(&qid) else {
                continue;
            };
            if q.timer != timer {
                continue;
            }
            // The query stays open: a late answer from this server still counts.
            let server = usize::from(q.current);
            let latest = (q.sent.iter())
                .find(|s| s.server() == server && !s.sent_again)
                .map(|s| s.sent_at);
            // Still in the queue of the only server left to ask (answers
            // come, but only to queries sent before it): wait another
            // round trip rather than add to that queue (S23).
            if let Some(sent_at) = latest
                && all & !q.done == bit(server)
                && self.windows.queued(server, sent_at)
            {
                self.stats.resends_held += 1;
                q.timer += 1;
                let due = now + self.rtt.timeout(server, now, &self.config);
                self.timers.push(due, (qid, q.timer));
                continue;
            }
            if !q.failures.iter().any(|(s, _)| *s == server) {
                q.record(server, ServerFailure::Timeout);
            }
            // Lost while the server's round trips show a queue: the queue
            // is the likelier cause, and a shorter one the cure.
            if self.rtt.is_queueing(server, now)
                && let Some(sent_at) = latest
            {
                self.windows.shrink(server, sent_at, now);
            }
            self.rtt.timed_out(server, now);
            ended.extend(self.next_attempt(qid, now, rng));
        }
    }

    /// The next attempt deadline, skipping timers that have moved on.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        let questions = &self.questions;
        let attempt = self
            .timers
            .next(|(qid, timer)| questions.get(&qid).is_some_and(|q| q.timer == timer));
        let linger = self.idle_since.map(|since| since + SOCKET_LINGER);
        attempt.into_iter().chain(linger).min()
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front().map(|(_, transmit)| transmit)
    }

    pub(crate) fn poll_close(&mut self) -> Option<SocketAddr> {
        self.closes.pop_front()
    }

    pub(crate) fn poll_close_socket(&mut self) -> Option<SocketId> {
        self.sockets.poll_close()
    }

    pub(crate) fn servers(&self) -> Vec<ServerStatus> {
        let (rtt, config, now) = (&self.rtt, &self.config, self.now);
        (config.servers.iter().enumerate())
            .map(|(i, &address)| {
                let (window, outstanding) = self.windows.get(i);
                ServerStatus {
                    address,
                    window,
                    outstanding,
                    round_trip: rtt.smoothed(i, now),
                    timeout: rtt.timeout(i, now, config),
                }
            })
            .collect()
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            queries_in_flight: self.questions.len(),
            queries_waiting: self.questions.len() - self.active,
            udp_sockets: self.sockets.open(),
            tcp_connections: self.streams.len(),
            ..self.stats
        }
    }
}

/// The wait of a question's latest attempt: the retransmission timeout of
/// the best server it may still ask (so that trying a slower one first
/// costs no more), doubled for each earlier attempt — but only as often as
/// those servers have gone silent in a row (S23). A server that keeps
/// answering other questions is alive and the path merely lossy: its
/// question is asked again at its round-trip pace, not ever more slowly.
/// One that answers nothing backs every question off in full.
fn attempt_timeout(rtt: &RttTable, config: &Config, q: &Question, now: Instant) -> Duration {
    let allowed = (0..config.servers.len()).filter(|s| q.done & bit(*s) == 0);
    let first = allowed
        .clone()
        .map(|s| rtt.timeout(s, now, config))
        .min()
        .unwrap_or(config.attempt_timeout);
    let silence = allowed.map(|s| rtt.silence(s, now)).min().unwrap_or(0);
    config.backed_off(first, q.attempts.saturating_sub(1).min(silence))
}

/// The index key of a server address: its first place in the server list.
fn key_of(servers: &[SocketAddr], address: SocketAddr) -> Option<u8> {
    let i = servers.iter().position(|s| *s == address)?;
    u8::try_from(i).ok()
}

/// The DNS id of a transmit's message (after the length prefix over TCP).
fn wire_id(t: &Transmit) -> Option<u16> {
    let at = match t.transport {
        Transport::Udp => 0,
        Transport::Tcp => 2,
    };
    let id = t.payload.get(at..at + 2)?;
    Some(u16::from_be_bytes([id[0], id[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::convert::Infallible;
    use core::time::Duration;
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

    /// A scheduler with one server (192.0.2.1:53), one question on the
    /// wire at a time, and room for `max_queries`.
    fn one_server(max_queries: usize) -> Scheduler {
        let config = Config {
            servers: alloc::vec!["192.0.2.1:53".parse().unwrap()],
            max_outstanding: 1,
            max_queries,
            ..Config::default()
        };
        Scheduler::new(config.normalized(), 7)
    }

    /// Names that differ only in bytes a careless fold would merge ('@'
    /// and '`', '[' and '{' differ by the bit that lower-cases letters)
    /// stay apart as questions, and one name in another case joins its own
    /// (S24). Forgetting them all empties the index.
    #[test]
    fn names_alike_but_for_case_like_bits_stay_apart() {
        let mut scheduler = one_server(Config::default().max_queries);
        let names: Vec<Name> = (0..16u8)
            .map(|bits| {
                let pick = |bit: u8, a: u8, b: u8| if bits & bit == 0 { a } else { b };
                let first = [pick(1, b'@', b'`'), pick(2, b'[', b'{')];
                let second = [pick(4, b'@', b'`'), pick(8, b'[', b'{')];
                Name::from_labels([&first[..], &second[..], b"example"]).unwrap()
            })
            .collect();
        let qids: Vec<QuestionId> = names
            .iter()
            .map(|n| {
                scheduler
                    .ask(n, RecordType::A, 0, Instant::ZERO, &mut Zeros)
                    .unwrap()
            })
            .collect();
        let distinct: BTreeSet<QuestionId> = qids.iter().copied().collect();
        assert_eq!(distinct.len(), names.len(), "none coalesced with another");
        let again = names[5].clone();
        let mut upper = Name::from_labels(again.iter().map(|l| l.to_ascii_uppercase())).unwrap();
        upper.set_fqdn(again.is_fqdn());
        assert_eq!(
            scheduler.ask(&upper, RecordType::A, 0, Instant::ZERO, &mut Zeros),
            Some(qids[5]),
            "one name, another case: the same question"
        );
        assert_ne!(
            scheduler.ask(&upper, RecordType::AAAA, 0, Instant::ZERO, &mut Zeros),
            Some(qids[5]),
            "another type: another question"
        );
        for qid in qids {
            scheduler.forget(qid);
        }
        assert_eq!(scheduler.by_question.len(), 1, "the AAAA question is left");
        assert_eq!(scheduler.questions.len(), 1);
    }

    /// The index's hash is keyed: the same question files under unrelated
    /// hashes with two secrets, so a server that does not know the secret
    /// cannot name targets that land together.
    #[test]
    fn the_question_index_hash_depends_on_the_secret() {
        let name = Name::from_ascii("_im._xmpp.example.com.").unwrap();
        let hashes: BTreeSet<u64> = (0..64)
            .map(|secret| question_hash(&FixedState::with_seed(secret), &name, RecordType::SRV))
            .collect();
        assert_eq!(hashes.len(), 64);
        let upper = Name::from_ascii("_IM._XMPP.Example.COM.").unwrap();
        let seed = FixedState::with_seed(99);
        assert_eq!(
            question_hash(&seed, &name, RecordType::SRV),
            question_hash(&seed, &upper, RecordType::SRV)
        );
        assert_ne!(
            question_hash(&seed, &name, RecordType::SRV),
            question_hash(&seed, &name, RecordType::TLSA)
        );
    }

    /// After a burst the index gives its room back, so a resolver that
    /// once had thousands of questions in flight does not keep their
    /// table.
    #[test]
    fn the_question_index_shrinks_after_a_burst() {
        let mut scheduler = one_server(10_000);
        let qids: Vec<QuestionId> = (0..5_000)
            .map(|i| {
                let name = Name::from_ascii(alloc::format!("t{i}.example.")).unwrap();
                scheduler
                    .ask(&name, RecordType::A, 0, Instant::ZERO, &mut Zeros)
                    .unwrap()
            })
            .collect();
        let peak = scheduler.by_question.capacity();
        assert!(peak >= 5_000);
        for qid in &qids[..4_990] {
            scheduler.forget(*qid);
        }
        assert_eq!(scheduler.by_question.len(), 10);
        assert!(
            scheduler.by_question.capacity() <= 128,
            "{} of {peak} kept for 10 questions",
            scheduler.by_question.capacity()
        );
    }

    /// The last `max_queries` endings are remembered, no more (answers to
    /// them count as late), a key ended again counts from its latest
    /// ending, and the table stays within a quarter over the window
    /// however many queries end.
    #[test]
    fn ended_queries_are_remembered_for_a_window_of_endings() {
        let mut scheduler = one_server(8);
        let key = |id: u16| (0u8, Transport::Udp, id);
        for id in 0..20 {
            scheduler.remember_ended(key(id));
            assert!(scheduler.ended.len() <= 10, "{}", scheduler.ended.len());
        }
        let remembered: Vec<u16> = (0..20)
            .filter(|&id| scheduler.recently_ended(&key(id)))
            .collect();
        assert_eq!(remembered, (12..20).collect::<Vec<_>>());
        // Id 3 ends again: it is among the last eight once more, and id 12,
        // now ninth from the end, is not.
        scheduler.remember_ended(key(3));
        assert!(scheduler.recently_ended(&key(3)));
        assert!(!scheduler.recently_ended(&key(12)));
        assert!(scheduler.recently_ended(&key(13)));
        // A key ending over and over keeps one entry, and the rest leave.
        for _ in 0..100 {
            scheduler.remember_ended(key(7));
        }
        assert!(scheduler.recently_ended(&key(7)));
        assert!(!scheduler.recently_ended(&key(19)));
        assert!(scheduler.ended.len() <= 8, "{}", scheduler.ended.len());
    }

    #[test]
    fn one_question_with_the_same_id_at_two_servers_keeps_them_apart() {
        // Ids are drawn per server, so a question's queries to two servers
        // may share one (here always: the generator is stuck at zero).
        // Closing one server's connection must fail that server's query,
        // not the other's, and every connection must end with the question.
        let (s1, s2): (SocketAddr, SocketAddr) = (
            "192.0.2.1:53".parse().unwrap(),
            "192.0.2.2:53".parse().unwrap(),
        );
        let mut scheduler = Scheduler::new(
            Config {
                servers: alloc::vec![s1, s2],
                transport: Transport::Tcp,
                attempt_timeout: Duration::from_secs(1),
                ..Config::default()
            }
            .normalized(),
            7,
        );
        let name = Name::from_ascii("a.example.").unwrap();
        let qid = scheduler
            .ask(&name, RecordType::A, 0, Instant::ZERO, &mut Zeros)
            .unwrap();
        let mut ended = Vec::new();
        scheduler.handle_timeout(Instant::from_millis(1000), &mut Zeros, &mut ended);
        let sent: Vec<Transmit> = core::iter::from_fn(|| scheduler.poll_transmit()).collect();
        assert_eq!(sent.len(), 2);
        assert_eq!((sent[0].server, sent[1].server), (s1, s2));
        assert_eq!(
            sent[0].payload[2..4],
            sent[1].payload[2..4],
            "one id at both"
        );
        assert_eq!(scheduler.stats().tcp_connections, 2);
        // s2's connection closes: that is s2's failure, not s1's, and the
        // question moves on at once.
        scheduler.handle_stream_closed(Instant::from_millis(1001), s2, &mut Zeros, &mut ended);
        assert!(ended.is_empty());
        assert_eq!(
            scheduler.failures(qid),
            [(s1, ServerFailure::Timeout), (s2, ServerFailure::Closed)]
        );
        while scheduler.poll_transmit().is_some() {}
        // The question is forgotten: no connection is left behind.
        scheduler.forget(qid);
        assert_eq!(scheduler.stats().tcp_connections, 0);
        let closes: Vec<SocketAddr> = core::iter::from_fn(|| scheduler.poll_close()).collect();
        assert!(closes.contains(&s1), "{closes:?}");
    }

    #[test]
    fn stuck_generator_still_gets_distinct_ids_per_server() {
        let server: SocketAddr = "192.0.2.1:53".parse().unwrap();
        let mut scheduler = Scheduler::new(
            Config {
                servers: alloc::vec![server],
                attempt_timeout: Duration::from_secs(1),
                max_queries: 100,
                ..Config::default()
            }
            .normalized(),
            7,
        );
        let mut ids = alloc::collections::BTreeSet::new();
        let mut take_ids = |scheduler: &mut Scheduler| {
            while let Some(t) = scheduler.poll_transmit() {
                assert!(ids.insert(u16::from_be_bytes([t.payload[0], t.payload[1]])));
            }
            ids.len()
        };
        for i in 0..100 {
            let name = Name::from_ascii(alloc::format!("h{i}.example.")).unwrap();
            assert!(
                scheduler
                    .ask(&name, RecordType::A, 0, Instant::ZERO, &mut Zeros)
                    .is_some()
            );
        }
        // The first window's worth is on the wire, each with an id of its
        // own; the rest wait their turn.
        let first = window::INITIAL_WINDOW as usize;
        assert_eq!(take_ids(&mut scheduler), first);
        assert_eq!(scheduler.stats().queries_waiting, 100 - first);
        // Each is sent again with a new id, the first send still open.
        let mut ended = Vec::new();
        scheduler.handle_timeout(Instant::from_millis(1000), &mut Zeros, &mut ended);
        assert_eq!(take_ids(&mut scheduler), 2 * first);
        // The cap: a new question beyond it is refused, a repeated one joins.
        let extra = Name::from_ascii("extra.example.").unwrap();
        assert_eq!(
            scheduler.ask(&extra, RecordType::A, 0, Instant::ZERO, &mut Zeros),
            None
        );
        let again = Name::from_ascii("H0.example.").unwrap();
        assert!(
            scheduler
                .ask(&again, RecordType::A, 0, Instant::ZERO, &mut Zeros)
                .is_some()
        );
    }
}

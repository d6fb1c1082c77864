//! A resolver on a simulated network, in virtual time.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use rand_chacha::ChaCha8Rng;
use rand_core::{CryptoRng, Rng, SeedableRng};

use super::network::{Network, Server};
use super::zone;
use crate::Transport;
use crate::error::StartError;
use crate::event::{Event, ResolutionId};
use crate::resolver::Resolver;
use crate::scheduler::Transmit;
use crate::scheduler::sockets::SocketId;
use crate::service::Protocol;
use crate::time::Instant;
use crate::uri::Uri;

/// What happened to one packet, in the [trace](Simulation::trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// A query the resolver sent.
    Query,
    /// A server's answer, handed to the resolver.
    Answer,
    /// A forger's answer, handed to the resolver.
    Forged,
    /// Lost on the way (a query or an answer).
    Lost,
    /// An answer for a UDP socket the resolver had closed, or for a TCP
    /// connection it had closed: dropped, as the kernel drops it.
    Unwanted,
    /// A server closed the TCP connection.
    Closed,
}

/// One packet, as the [trace](Simulation::trace) keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// When it was sent (queries) or arrived (the rest).
    pub at: Instant,
    /// What happened to it.
    pub kind: PacketKind,
    /// The server it went to or came from (as it claimed).
    pub server: SocketAddr,
    /// The resolver's UDP socket; `None` over TCP.
    pub socket: Option<SocketId>,
    /// UDP or TCP.
    pub transport: Transport,
    /// The bytes, with the length prefix over TCP.
    pub bytes: Vec<u8>,
}

/// [`Simulation::run`] went on past its step budget: a resolver that
/// never settles (which would be a bug in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsettled {
    /// Virtual time when it gave up.
    pub at: Instant,
}

impl fmt::Display for Unsettled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the simulation had not settled at {:?}", self.at)
    }
}

impl core::error::Error for Unsettled {}

/// What the network did, for a test to show its faults really happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Queries the resolver sent, UDP and TCP.
    pub queries: u64,
    /// Answers delivered to the resolver (over TCP, each piece of one).
    pub answers: u64,
    /// Queries and answers lost.
    pub lost: u64,
    /// Answers sent twice.
    pub duplicated: u64,
    /// Answers truncated on purpose (not those too big for UDP).
    pub truncated: u64,
    /// TCP connections a server closed.
    pub closed: u64,
    /// Answers a server replaced with an error.
    pub failures: u64,
    /// Answers with stray records added.
    pub stray: u64,
    /// Forged answers delivered.
    pub forged: u64,
    /// Of those, with the right id and question, to another socket.
    pub forged_to_other_sockets: u64,
}

/// Something the resolver did that it promises never to do; a
/// [`Simulation`] notes each (and a test asserts there are none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// A query from a UDP socket it had closed (S28).
    QueryFromClosedSocket(SocketId),
    /// A query to another server than the socket's first query went to:
    /// a driver that connects each socket to its server (S28) could not
    /// send it.
    SocketForTwoServers {
        /// The socket.
        socket: SocketId,
        /// The server its first query went to.
        first: SocketAddr,
        /// The other server.
        then: SocketAddr,
    },
    /// A second event for one resolution.
    SecondEvent(ResolutionId),
    /// A timeout asked for before the time it was last given.
    TimeoutInThePast {
        /// The time it asked for.
        asked: Instant,
        /// Virtual time then.
        now: Instant,
    },
}

/// What arrives at the resolver.
#[derive(Debug, Clone)]
enum Delivery {
    Datagram {
        socket: SocketId,
        from: SocketAddr,
        bytes: Vec<u8>,
        forged: bool,
    },
    Stream {
        server: SocketAddr,
        connection: u32,
        bytes: Vec<u8>,
    },
    Closed {
        server: SocketAddr,
        connection: u32,
    },
}

/// A [`Resolver`] on a simulated [`Network`], in virtual time: it sends
/// the resolver's queries to the servers, delivers their answers (and the
/// forger's) when their delays say, advances the clock to the next
/// delivery or timeout, and keeps every event with the time it came and
/// every packet in a [trace](Self::trace). No sockets, no clock: the same
/// seed, network and resolver (seeded too) give the same run, byte for
/// byte.
pub struct Simulation<R: CryptoRng> {
    resolver: Resolver<R>,
    network: Network,
    now: Instant,
    rng: ChaCha8Rng,
    /// Deliveries by time, then by the order they were made.
    queue: BTreeMap<(Instant, u64), Delivery>,
    made: u64,
    trace: Vec<Packet>,
    events: Vec<(Instant, Event)>,
    closed_sockets: BTreeSet<SocketId>,
    /// Open sockets, for the forger's wrong-socket answers.
    /// Each open socket with the server its first query went to.
    open_sockets: BTreeMap<SocketId, SocketAddr>,
    /// Each server's current TCP connection: answers on a closed one are
    /// never delivered.
    connections: BTreeMap<SocketAddr, u32>,
    /// TCP bytes a server has from the resolver, not yet a whole query.
    requests: BTreeMap<SocketAddr, Vec<u8>>,
    /// The ids of the latest two UDP sends of each question to each
    /// server: the forger's guesses avoid them (a resend keeps the send
    /// before it open, S23).
    live: BTreeMap<(SocketAddr, Name, RecordType), Vec<u16>>,
    counts: Counts,
    anomalies: Vec<Anomaly>,
    ended: BTreeSet<ResolutionId>,
    /// The most steps [`run`](Self::run) takes.
    pub step_budget: u64,
}

impl<R: CryptoRng> Simulation<R> {
    /// The resolver on `network`; `seed` draws every loss, delay and
    /// forgery.
    pub fn new(resolver: Resolver<R>, network: Network, seed: u64) -> Self {
        Simulation {
            resolver,
            network,
            now: Instant::ZERO,
            rng: ChaCha8Rng::seed_from_u64(seed),
            queue: BTreeMap::new(),
            made: 0,
            trace: Vec::new(),
            events: Vec::new(),
            closed_sockets: BTreeSet::new(),
            open_sockets: BTreeMap::new(),
            connections: BTreeMap::new(),
            requests: BTreeMap::new(),
            live: BTreeMap::new(),
            counts: Counts::default(),
            anomalies: Vec::new(),
            ended: BTreeSet::new(),
            step_budget: 1_000_000,
        }
    }

    /// The resolver, to read its statistics.
    pub fn resolver(&self) -> &Resolver<R> {
        &self.resolver
    }

    /// The resolver, to start resolutions (at [`now`](Self::now)) or
    /// cancel them.
    pub fn resolver_mut(&mut self) -> &mut Resolver<R> {
        &mut self.resolver
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network, to change a server's faults between runs.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.network
    }

    /// Virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Starts resolving `uri` now: [`Resolver::resolve_uri`].
    pub fn resolve_uri(
        &mut self,
        uri: &Uri,
        protocols: &[Protocol],
        fallback_port: Option<u16>,
    ) -> Result<ResolutionId, StartError> {
        let now = self.now;
        let id = self
            .resolver
            .resolve_uri(now, uri, protocols, fallback_port);
        self.drain_events();
        id
    }

    /// Runs until nothing is left to do: no packet on the way and no
    /// timer set. Every resolution started has ended by then.
    pub fn run(&mut self) -> Result<(), Unsettled> {
        self.step(None)
    }

    /// Runs until `until`, which virtual time then is (unless it was
    /// later already): to start a resolution at a set time, run until it.
    pub fn run_until(&mut self, until: Instant) -> Result<(), Unsettled> {
        self.step(Some(until))?;
        self.now = self.now.max(until);
        Ok(())
    }

    fn step(&mut self, until: Option<Instant>) -> Result<(), Unsettled> {
        for _ in 0..self.step_budget {
            self.exchange();
            let delivery = self.queue.keys().next().map(|&(at, _)| at);
            let timeout = self.resolver.poll_timeout();
            if let Some(asked) = timeout.filter(|&t| t < self.now) {
                let now = self.now;
                self.anomalies
                    .push(Anomaly::TimeoutInThePast { asked, now });
            }
            let next = match (delivery, timeout) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(next) => next,
                    None => return Ok(()),
                },
            };
            if until.is_some_and(|until| next > until) {
                return Ok(());
            }
            self.now = self.now.max(next);
            while let Some(entry) = self.queue.first_entry() {
                if entry.key().0 > self.now {
                    break;
                }
                let delivery = entry.remove();
                self.deliver(delivery);
                self.drain_events();
            }
            if timeout.is_some_and(|t| t <= self.now) {
                self.resolver.handle_timeout(self.now);
                self.drain_events();
            }
        }
        Err(Unsettled { at: self.now })
    }

    /// Every event so far, with the time it came.
    pub fn events(&self) -> &[(Instant, Event)] {
        &self.events
    }

    /// Every packet so far, in the order things happened.
    pub fn trace(&self) -> &[Packet] {
        &self.trace
    }

    /// What the network did so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// What the resolver did that it never should have, so far.
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// How many endpoints of the events carry anything the network's
    /// [`Planted`](super::Planted) data holds: 0, or the resolver believed
    /// a forgery or a stray record.
    pub fn poisoned_endpoints(&self) -> usize {
        let planted = &self.network.planted;
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Resolved { answer, .. } => Some(answer),
                _ => None,
            })
            .flat_map(|a| &a.endpoints)
            .filter(|e| planted.in_endpoint(e))
            .count()
    }

    fn drain_events(&mut self) {
        while self.resolver.poll_progress().is_some() {}
        while let Some(event) = self.resolver.poll_event() {
            if !self.ended.insert(event.id()) {
                self.anomalies.push(Anomaly::SecondEvent(event.id()));
            }
            self.events.push((self.now, event));
        }
    }

    /// Takes what the resolver sends, and what it closes.
    fn exchange(&mut self) {
        while let Some(socket) = self.resolver.poll_close_socket() {
            self.open_sockets.remove(&socket);
            self.closed_sockets.insert(socket);
        }
        while let Some(server) = self.resolver.poll_close() {
            *self.connections.entry(server).or_default() += 1;
            self.requests.remove(&server);
        }
        while let Some(transmit) = self.resolver.poll_transmit() {
            self.record(PacketKind::Query, &transmit, transmit.payload.clone());
            self.counts.queries += 1;
            match transmit.socket {
                Some(socket) if self.closed_sockets.contains(&socket) => {
                    self.anomalies.push(Anomaly::QueryFromClosedSocket(socket));
                }
                Some(socket) => {
                    let first = *self.open_sockets.entry(socket).or_insert(transmit.server);
                    if first != transmit.server {
                        self.anomalies.push(Anomaly::SocketForTwoServers {
                            socket,
                            first,
                            then: transmit.server,
                        });
                    }
                    self.query_udp(&transmit, socket);
                }
                None => self.query_tcp(&transmit),
            }
        }
        self.drain_events();
    }

    fn record(&mut self, kind: PacketKind, transmit: &Transmit, bytes: Vec<u8>) {
        let (server, socket, transport) = (transmit.server, transmit.socket, transmit.transport);
        self.log(kind, server, socket, transport, bytes);
    }

    /// Puts one packet in the trace, at the current time.
    fn log(
        &mut self,
        kind: PacketKind,
        server: SocketAddr,
        socket: Option<SocketId>,
        transport: Transport,
        bytes: Vec<u8>,
    ) {
        let at = self.now;
        let packet = Packet {
            at,
            kind,
            server,
            socket,
            transport,
            bytes,
        };
        self.trace.push(packet);
    }

    fn schedule(&mut self, after: Duration, delivery: Delivery) {
        self.made += 1;
        self.queue.insert((self.now + after, self.made), delivery);
    }

    fn query_udp(&mut self, transmit: &Transmit, socket: SocketId) {
        let Some(server) = self.network.server(transmit.server).cloned() else {
            self.counts.lost += 1;
            return self.record(PacketKind::Lost, transmit, transmit.payload.clone());
        };
        let faults = &server.faults;
        let question = Message::from_vec(&transmit.payload)
            .ok()
            .and_then(|m| Some((m.metadata.id, m.queries.first()?.clone())));
        if let Some((id, question)) = &question {
            let key = (
                server.address,
                question.name().to_lowercase(),
                question.query_type(),
            );
            let live = self.live.entry(key).or_default();
            live.push(*id);
            if live.len() > 2 {
                live.remove(0);
            }
        }
        if let (Some(forger), Some(_)) = (self.network.forger, &question)
            && forger.chance.happens(&mut self.rng)
        {
            for _ in 0..forger.answers {
                self.forge(transmit, socket);
            }
        }
        if faults.silent || faults.loss.happens(&mut self.rng) {
            self.counts.lost += u64::from(!faults.silent);
            return self.record(PacketKind::Lost, transmit, transmit.payload.clone());
        }
        let Some(reply) = self.reply(&server, &transmit.payload, false) else {
            return;
        };
        let copies = if faults.duplicate.happens(&mut self.rng) {
            self.counts.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = server.faults.draw_delay(&mut self.rng);
            if server.faults.loss.happens(&mut self.rng) {
                self.counts.lost += 1;
                continue;
            }
            let delivery = Delivery::Datagram {
                socket,
                from: server.address,
                bytes: reply.clone(),
                forged: false,
            };
            self.schedule(delay, delivery);
        }
    }

    fn query_tcp(&mut self, transmit: &Transmit) {
        let Some(server) = self.network.server(transmit.server).cloned() else {
            return self.record(PacketKind::Lost, transmit, transmit.payload.clone());
        };
        let connection = *self.connections.entry(server.address).or_default();
        let buffer = self.requests.entry(server.address).or_default();
        buffer.extend_from_slice(&transmit.payload);
        let mut queries = Vec::new();
        while buffer.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([buffer[0], buffer[1]]));
            if buffer.len() < 2 + len {
                break;
            }
            queries.push(buffer[2..2 + len].to_vec());
            buffer.drain(..2 + len);
        }
        if server.faults.silent {
            return;
        }
        for query in queries {
            let delay = server.faults.draw_delay(&mut self.rng);
            if server.faults.close_tcp.happens(&mut self.rng) {
                self.counts.closed += 1;
                let closed = Delivery::Closed {
                    server: server.address,
                    connection,
                };
                self.schedule(delay, closed);
                continue;
            }
            let Some(reply) = self.reply(&server, &query, true) else {
                continue;
            };
            let Ok(len) = u16::try_from(reply.len()) else {
                continue;
            };
            let mut framed = Vec::with_capacity(2 + reply.len());
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&reply);
            let mut pieces = Vec::new();
            if server.faults.split_tcp {
                let mut rest = &framed[..];
                while rest.len() > 1 {
                    let cut = 1 + self.rng.next_u32() as usize % (rest.len() - 1);
                    pieces.push(rest[..cut].to_vec());
                    rest = &rest[cut..];
                }
                pieces.extend((!rest.is_empty()).then(|| rest.to_vec()));
            } else {
                pieces.push(framed);
            }
            for bytes in pieces {
                let piece = Delivery::Stream {
                    server: server.address,
                    connection,
                    bytes,
                };
                self.schedule(delay, piece);
            }
        }
    }

    /// The server's answer to `query`, its faults applied.
    fn reply(&mut self, server: &Server, query: &[u8], tcp: bool) -> Option<Vec<u8>> {
        let faults = &server.faults;
        let mut m = zone::answer(&server.zones, query, tcp)?;
        let failure = faults.failure.filter(|f| f.chance.happens(&mut self.rng));
        if faults.no_edns && m.edns.is_some() {
            clear(&mut m);
            m.edns = None;
            m.metadata.response_code = ResponseCode::FormErr;
        } else if let Some(failure) = failure {
            self.counts.failures += 1;
            clear(&mut m);
            m.metadata.authoritative = false;
            m.metadata.response_code = failure.rcode;
            if let Some(code) = failure.ede {
                let mut edns = m.edns.take().unwrap_or_else(|| {
                    let mut edns = Edns::new();
                    edns.set_max_payload(1232);
                    edns
                });
                let option = EdnsOption::Unknown(15, code.to_be_bytes().to_vec());
                edns.options_mut().insert(option);
                m.set_edns(edns);
            }
        } else if faults.stray.happens(&mut self.rng) {
            self.counts.stray += 1;
            self.add_stray(&mut m, server);
        }
        let truncate = if tcp {
            faults.truncate_tcp
        } else {
            faults.truncate.happens(&mut self.rng)
        };
        if truncate {
            self.counts.truncated += 1;
            clear(&mut m);
            m.metadata.truncation = true;
        }
        m.to_vec().ok()
    }

    /// Records for names off the question's chain, in every section,
    /// pointing at the planted data: an address for a host, an SRV set for
    /// an SRV owner, a CNAME for the rest; never for a target of the
    /// answer's SRV records, whose addresses the server may give (S14).
    fn add_stray(&mut self, m: &mut Message, server: &Server) {
        let Some(question) = m.queries.first() else {
            return;
        };
        // The question's own chain, and the addresses of the SRV set's
        // targets (S14), are the server's to give.
        let mut chain = alloc::vec![question.name().clone()];
        for r in &m.answers {
            match &r.data {
                RData::CNAME(target) => chain.push(target.0.clone()),
                RData::SRV(srv) => chain.push(srv.target.clone()),
                _ => {}
            }
        }
        let owners: Vec<(Name, RecordType)> = server
            .zones
            .iter()
            .flat_map(|z| z.records())
            .filter(|r| !chain.contains(&r.name))
            .map(|r| (r.name.clone(), r.record_type()))
            .collect();
        if owners.is_empty() {
            return;
        }
        let planted = self.network.planted.clone();
        for section in 0..3 {
            let (owner, rtype) = owners[self.rng.next_u32() as usize % owners.len()].clone();
            let data = match rtype {
                RecordType::SRV => RData::SRV(SRV::new(0, 0, planted.port, planted.target.clone())),
                RecordType::AAAA => RData::AAAA(AAAA(planted.v6)),
                RecordType::A => RData::A(A(planted.v4)),
                _ => RData::CNAME(CNAME(planted.target.clone())),
            };
            let record = Record::from_rdata(owner, 300, data);
            match section {
                0 => m.add_answer(record),
                1 => m.add_authority(record),
                _ => m.add_additional(record),
            };
        }
    }

    /// One forged answer racing the real one: a guessed id, another source
    /// port, another question, or another socket, and AD claimed.
    fn forge(&mut self, transmit: &Transmit, socket: SocketId) {
        let Ok(query) = Message::from_vec(&transmit.payload) else {
            return;
        };
        let Some(mut question) = query.queries.first().cloned() else {
            return;
        };
        let planted = self.network.planted.clone();
        let (mut id, mut from, mut to) = (query.metadata.id, transmit.server, socket);
        match self.rng.next_u32() % 4 {
            // A guessed id. One a send of this question to this server has
            // out is indistinguishable from the server by design (RFC 5452
            // §9.1: that is what the id and the port are for), so guesses
            // skip them. Knowing the question but not its 0x20 case.
            0 => {
                let key = (
                    transmit.server,
                    question.name().to_lowercase(),
                    question.query_type(),
                );
                let live = self.live.get(&key).cloned().unwrap_or_default();
                id = self.rng.next_u32() as u16;
                while live.contains(&id) {
                    id = id.wrapping_add(1);
                }
                question.set_name(question.name().to_lowercase());
            }
            // Another port of the server's address.
            1 => from.set_port(
                from.port()
                    .wrapping_add(1 + (self.rng.next_u32() % 1000) as u16),
            ),
            // Another question, the right id.
            2 => {
                let other = Name::from_ascii("_im._xmpp.forged.invalid.").unwrap_or_default();
                question.set_name(other);
            }
            // The right id and question, to another socket: what an
            // attacker who learnt the id but not the port achieves (S28).
            _ => {
                self.counts.forged_to_other_sockets += 1;
                let others: Vec<SocketId> = self
                    .open_sockets
                    .keys()
                    .copied()
                    .filter(|s| *s != socket)
                    .collect();
                to = match others.len() {
                    0 => SocketId(socket.raw().wrapping_add(1 + self.rng.next_u32() % 4)),
                    n => others[self.rng.next_u32() as usize % n],
                };
            }
        }
        let mut m = Message::new(id, MessageType::Response, query.metadata.op_code);
        m.metadata.authoritative = true;
        m.metadata.recursion_desired = query.metadata.recursion_desired;
        // The forger vouches for its answer: S34 must not believe it.
        m.metadata.authentic_data = true;
        let name = question.name().clone();
        match question.query_type() {
            RecordType::SRV => {
                let srv = SRV::new(0, 0, planted.port, planted.target.clone());
                m.add_answer(Record::from_rdata(name, 300, RData::SRV(srv)));
                let glue = Record::from_rdata(planted.target.clone(), 300, RData::A(A(planted.v4)));
                m.add_additional(glue);
                let glue = Record::from_rdata(planted.target, 300, RData::AAAA(AAAA(planted.v6)));
                m.add_additional(glue);
            }
            RecordType::A => {
                m.add_answer(Record::from_rdata(name, 300, RData::A(A(planted.v4))));
            }
            RecordType::AAAA => {
                m.add_answer(Record::from_rdata(name, 300, RData::AAAA(AAAA(planted.v6))));
            }
            _ => m.metadata.response_code = ResponseCode::NXDomain,
        }
        m.add_query(question);
        if query.edns.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            m.set_edns(edns);
        }
        let Ok(bytes) = m.to_vec() else {
            return;
        };
        // Before the real answer: at once.
        let forged = Delivery::Datagram {
            socket: to,
            from,
            bytes,
            forged: true,
        };
        self.schedule(Duration::ZERO, forged);
    }

    fn deliver(&mut self, delivery: Delivery) {
        let now = self.now;
        match delivery {
            Delivery::Datagram {
                socket,
                from,
                bytes,
                forged,
            } => {
                let kind = if self.closed_sockets.contains(&socket) {
                    PacketKind::Unwanted
                } else if forged {
                    PacketKind::Forged
                } else {
                    PacketKind::Answer
                };
                self.log(kind, from, Some(socket), Transport::Udp, bytes.clone());
                if kind != PacketKind::Unwanted {
                    self.counts.forged += u64::from(forged);
                    self.counts.answers += u64::from(!forged);
                    self.resolver.handle_datagram(now, socket, from, &bytes);
                }
            }
            Delivery::Stream {
                server,
                connection,
                bytes,
            } => {
                let open = self.connections.get(&server).copied().unwrap_or(0) == connection;
                let kind = if open {
                    PacketKind::Answer
                } else {
                    PacketKind::Unwanted
                };
                self.log(kind, server, None, Transport::Tcp, bytes.clone());
                if open {
                    self.counts.answers += 1;
                    self.resolver.handle_stream(now, server, &bytes);
                }
            }
            Delivery::Closed { server, connection } => {
                if self.connections.get(&server).copied().unwrap_or(0) != connection {
                    return;
                }
                *self.connections.entry(server).or_default() += 1;
                self.requests.remove(&server);
                self.log(PacketKind::Closed, server, None, Transport::Tcp, Vec::new());
                self.resolver.handle_stream_closed(now, server);
            }
        }
    }
}

/// Empties every section.
fn clear(m: &mut Message) {
    m.answers.clear();
    m.authorities.clear();
    m.additionals.clear();
}

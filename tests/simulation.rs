//! Deterministic network simulation (str0m's netem and quinn-proto's test
//! `Pair` are the models): a seeded, virtual-time network of loss, delay,
//! jitter (hence reordering), duplication, truncating middleboxes, TCP
//! resets, dead, slow, SERVFAIL and EDNS-intolerant servers, an attacker
//! injecting forged answers, and (every third seed) servers whose own
//! answers carry records for other names in every section, and an
//! attacker's names whose answers plant CNAME chains into the victims'
//! names (links, records at the chain's end, negative answers, loops:
//! `plants`), all driving the real state machine with its cache on (S26).
//! Servers answer from zone data through hickory-proto.
//!
//! For every seed: each resolution ends with exactly one event, by its
//! deadline; when the faults leave a path through (no loss, no resets, one
//! healthy server) the result is the fault-free one; otherwise a success
//! differs from it at most by addresses whose lookups were lost, and a
//! failure is a timeout (or SERVFAIL from a SERVFAIL server); no forged
//! answer, no record off a question's chain and nothing an attacker's
//! chain said of a victim's name is ever used for the victim, from the
//! wire or the cache; nothing is left after.
//!
//! `SIM_SEEDS=N` runs N seeds (default 10 000); `SIM_SEED=S` replays one
//! with a trace of every packet.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use impp_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use impp_resolver::proto::rr::{RData, RecordType};
use impp_resolver::{
    Config, Endpoint, Event, Instant, Protocol, Resolver, SocketId, Transport, Uri,
};
use impp_test_support::scripted::*;
use rand_chacha::{ChaCha8Rng, ChaCha20Rng};
use rand_core::{Rng, SeedableRng};

/// The address forged answers point to.
const EVIL: [u8; 4] = [203, 0, 113, 66];
const EVIL6: &str = "2001:db8:bad::66";
const EVIL_TARGET: &str = "evil.example.";

/// How many of [`CASES`] are the victims' URIs every seed draws from; the
/// rest are the attacker's, whose answers plant chains into the victims'
/// names, started first in every poisoned seed.
const VICTIMS: usize = 4;

/// The URIs: (URI, protocols, fallback port).
const CASES: [(&str, &[Protocol], Option<u16>); 9] = [
    ("im:fred@example.com", &[Protocol::XMPP], None),
    (
        "pres:bob@example.org",
        &[Protocol::XMPP, Protocol::SIP],
        Some(5060),
    ),
    ("im:x@big.example", &[Protocol::XMPP], None),
    ("im:y@gone.example", &[Protocol::XMPP], None),
    // The attacker's: see `plants`.
    ("im:m@plant-srv.example", &[Protocol::XMPP], None),
    ("pres:m@plant-link.example", &[Protocol::XMPP], None),
    ("im:m@plant-neg.example", &[Protocol::XMPP], None),
    ("im:m@plant-addr.example", &[Protocol::XMPP], None),
    ("im:m@plant-loop.example", &[Protocol::XMPP], None),
];

/// The attacker's names, answered with CNAME chains into the victims'
/// names and records for them (S26: none may serve the victims): an SRV
/// set and glue at a victim's SRV name; a link owned by a victim's SRV
/// name; NXDOMAIN with the victim zone's SOA; a victim's targets' addresses
/// and NODATA under an SOA of the root; two chains that loop through a
/// victim's name.
fn plants(zone: Zone) -> Zone {
    let victim = "_im._xmpp.example.com.";
    let plant = "_im._xmpp.plant-srv.example.";
    let zone = zone.on(
        plant,
        RecordType::SRV,
        Script::WithAdditional(
            vec![
                cname(plant, victim),
                srv(victim, 0, 0, 6666, EVIL_TARGET),
                srv("_pres._xmpp.example.org.", 0, 0, 6666, EVIL_TARGET),
            ],
            vec![a(EVIL_TARGET, EVIL), a("a.example.com.", EVIL)],
        ),
    );
    let plant = "_pres._xmpp.plant-link.example.";
    let zone = zone.on(
        plant,
        RecordType::SRV,
        Script::Answer(vec![
            cname(plant, "_pres._xmpp.example.org."),
            cname("_pres._xmpp.example.org.", "_im._xmpp.evil.example."),
            srv("_im._xmpp.evil.example.", 0, 0, 6666, EVIL_TARGET),
        ]),
    );
    let plant = "_im._xmpp.plant-neg.example.";
    let zone = zone.on(
        plant,
        RecordType::SRV,
        Script::Sections {
            rcode: ResponseCode::NXDomain,
            answers: vec![cname(plant, victim)],
            authority: vec![soa("example.com.")],
            additional: Vec::new(),
        },
    );
    let plant = "_im._xmpp.plant-addr.example.";
    let host = "host.plant-addr.example.";
    let zone = zone
        .on(
            plant,
            RecordType::SRV,
            Script::Answer(vec![srv(plant, 0, 0, 5222, host)]),
        )
        .on(
            host,
            RecordType::A,
            Script::Sections {
                rcode: ResponseCode::NoError,
                answers: vec![cname(host, "d.example.net.")],
                authority: vec![soa(".")],
                additional: Vec::new(),
            },
        )
        .on(
            host,
            RecordType::AAAA,
            Script::Answer(vec![
                cname(host, "b.example.com."),
                aaaa("b.example.com.", EVIL6),
            ]),
        );
    let plant = "_im._xmpp.plant-loop.example.";
    let other = "_im._xmpp.loop-b.example.";
    zone.on(
        plant,
        RecordType::SRV,
        Script::Answer(vec![cname(plant, victim), cname(victim, other)]),
    )
    .on(
        other,
        RecordType::SRV,
        Script::Answer(vec![cname(other, victim), cname(victim, plant)]),
    )
}

fn zone() -> Zone {
    let owner = "_im._xmpp.example.com.";
    let mut zone = Zone::default()
        .on(
            owner,
            RecordType::SRV,
            Script::WithAdditional(
                vec![
                    srv(owner, 10, 60, 5222, "a.example.com."),
                    srv(owner, 10, 40, 5222, "b.example.com."),
                    srv(owner, 20, 0, 5269, "c.example.net."),
                ],
                vec![a("a.example.com.", [192, 0, 2, 1])],
            ),
        )
        .on(
            "b.example.com.",
            RecordType::A,
            Script::Answer(vec![a("b.example.com.", [192, 0, 2, 2])]),
        )
        .on(
            "b.example.com.",
            RecordType::AAAA,
            Script::Answer(vec![aaaa("b.example.com.", "2001:db8::2")]),
        )
        // A CNAME into another zone, returned alone: asked again (S25).
        .on(
            "c.example.net.",
            RecordType::A,
            Script::Answer(vec![cname("c.example.net.", "d.example.net.")]),
        )
        .on(
            "c.example.net.",
            RecordType::AAAA,
            Script::Answer(vec![cname("c.example.net.", "d.example.net.")]),
        )
        .host_v4("d.example.net.", [192, 0, 2, 4])
        .on(
            "_pres._xmpp.example.org.",
            RecordType::SRV,
            Script::NxDomain,
        )
        .on("_pres._sip.example.org.", RecordType::SRV, Script::NoData)
        .host_v4("example.org.", [192, 0, 2, 80])
        .on("_im._xmpp.gone.example.", RecordType::SRV, Script::NxDomain);
    // 40 records: too big for UDP, so TC=1 and TCP (S22). Distinct
    // priorities keep the order, and so the first four targets, fixed.
    let big = "_im._xmpp.big.example.";
    let records = (0..40)
        .map(|i| srv(big, i, 0, 5222, &format!("server-{i:02}.big.example.")))
        .collect();
    zone = zone.on(big, RecordType::SRV, Script::Large(records));
    for i in 0..4 {
        zone = zone.host_v4(&format!("server-{i:02}.big.example."), [192, 0, 2, 100 + i]);
    }
    plants(zone)
}

/// What one server does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    Healthy,
    /// Never answers.
    Dead,
    /// Answers after an extra 1–3 s.
    Slow(Duration),
    /// Answers SERVFAIL to everything.
    ServFail,
    /// Answers FORMERR to any query with an OPT record (S21).
    NoEdns,
}

/// The faults of one seed.
#[derive(Debug)]
struct Faults {
    loss: f64,
    delay: Duration,
    jitter: Duration,
    duplicate: f64,
    /// A middlebox that truncates UDP answers.
    truncate: f64,
    /// TCP connections reset instead of answering.
    reset: f64,
    /// Forged packets per query.
    forgeries: u32,
    /// The servers' own answers carry records for other names in every
    /// section, and CNAMEs off the question's chain: a poisoning attempt
    /// the cache must not take up (S26).
    poison: bool,
    servers: Vec<(SocketAddr, Behaviour)>,
}

impl Faults {
    fn draw(rng: &mut ChaCha8Rng) -> Self {
        let mut unit = || (rng.next_u32() as f64) / (u32::MAX as f64);
        // A third of the seeds have a clean network, so that the "path
        // through" rule is checked often.
        let lossy = unit() < 0.66;
        let loss = if lossy { unit() * 0.6 } else { 0.0 };
        let delay = Duration::from_millis((unit() * 150.0) as u64);
        let jitter = Duration::from_millis((unit() * 250.0) as u64);
        let duplicate = unit() * 0.2;
        let truncate = if unit() < 0.3 { unit() * 0.5 } else { 0.0 };
        let reset = if lossy && unit() < 0.3 {
            unit() * 0.3
        } else {
            0.0
        };
        let forgeries = if unit() < 0.5 {
            (unit() * 6.0) as u32
        } else {
            0
        };
        let count = 1 + (unit() * 3.0) as usize;
        let servers = (0..count)
            .map(|i| {
                let behaviour = match (unit() * 10.0) as u32 {
                    0 => Behaviour::Dead,
                    1 => Behaviour::Slow(Duration::from_millis(1000 + (unit() * 2000.0) as u64)),
                    2 => Behaviour::ServFail,
                    3 => Behaviour::NoEdns,
                    _ => Behaviour::Healthy,
                };
                (SocketAddr::from(([192, 0, 2, 53 + i as u8], 53)), behaviour)
            })
            .collect();
        Faults {
            loss,
            delay,
            jitter,
            duplicate,
            truncate,
            reset,
            forgeries,
            // Set by the caller, so that every seed keeps the draws above.
            poison: false,
            servers,
        }
    }

    /// No fault can stop an answer: nothing is lost or reset, and some
    /// server answers correctly and in time.
    fn leaves_a_path(&self) -> bool {
        self.loss == 0.0
            && self.reset == 0.0
            && self
                .servers
                .iter()
                .any(|(_, b)| matches!(b, Behaviour::Healthy | Behaviour::NoEdns))
    }
}

/// Something the network delivers to the resolver at a time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Delivery {
    Start(usize),
    /// A datagram from `from` arriving on the local `socket`.
    Datagram {
        from: SocketAddr,
        socket: SocketId,
        bytes: Vec<u8>,
    },
    /// Bytes on the connection `generation` to `server`.
    Stream {
        server: SocketAddr,
        generation: u32,
        bytes: Vec<u8>,
    },
    Reset {
        server: SocketAddr,
        generation: u32,
    },
}

/// Figures over all seeds, for the closing note.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    seeds: u64,
    resolutions: u64,
    resolved: u64,
    failed: u64,
    /// Failures the fault-free run also has (NXDOMAIN).
    failed_as_expected: u64,
    timeouts: u64,
    servfails: u64,
    with_path: u64,
    queries: u64,
    lost: u64,
    duplicated: u64,
    truncated: u64,
    resets: u64,
    forged_sent: u64,
    /// Of those, with the right id and question to the wrong socket.
    forged_to_other_sockets: u64,
    /// Seeds whose servers' answers carried poison for other names.
    poisoned_seeds: u64,
    /// The attacker's resolutions, and those that took their own planted
    /// records (the plants really arrived).
    attacks: u64,
    attacks_planted: u64,
    /// Questions the cache answered (records, aliases, negatives).
    cache_hits: u64,
    dropped: u64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.seeds += o.seeds;
        self.resolutions += o.resolutions;
        self.resolved += o.resolved;
        self.failed += o.failed;
        self.failed_as_expected += o.failed_as_expected;
        self.timeouts += o.timeouts;
        self.servfails += o.servfails;
        self.with_path += o.with_path;
        self.queries += o.queries;
        self.lost += o.lost;
        self.duplicated += o.duplicated;
        self.truncated += o.truncated;
        self.resets += o.resets;
        self.forged_sent += o.forged_sent;
        self.forged_to_other_sockets += o.forged_to_other_sockets;
        self.poisoned_seeds += o.poisoned_seeds;
        self.attacks += o.attacks;
        self.attacks_planted += o.attacks_planted;
        self.cache_hits += o.cache_hits;
        self.dropped += o.dropped;
    }
}

struct Network {
    rng: ChaCha8Rng,
    faults: Faults,
    zone: Zone,
    now: Instant,
    queue: BinaryHeap<Reverse<(Instant, u64, Delivery)>>,
    seq: u64,
    /// Per server: the current connection's generation and the time its
    /// last bytes arrive (TCP keeps order).
    connections: BTreeMap<SocketAddr, (u32, Instant)>,
    tally: Tally,
    trace: bool,
}

impl Network {
    fn unit(&mut self) -> f64 {
        (self.rng.next_u32() as f64) / (u32::MAX as f64)
    }

    fn one_way(&mut self) -> Duration {
        let jitter = self.faults.jitter.mul_f64(self.unit());
        self.faults.delay + jitter
    }

    fn at(&mut self, when: Instant, delivery: Delivery) {
        if self.trace {
            eprintln!("  {when:?} <- {delivery:?}");
        }
        self.seq += 1;
        self.queue.push(Reverse((when, self.seq, delivery)));
    }

    fn behaviour(&self, server: SocketAddr) -> Behaviour {
        self.faults
            .servers
            .iter()
            .find(|(s, _)| *s == server)
            .map_or(Behaviour::Dead, |(_, b)| *b)
    }

    /// What `server` answers to `query`, as the server sees it.
    fn answer(&self, server: SocketAddr, query: &[u8], tcp: bool) -> Option<Vec<u8>> {
        let q = Message::from_vec(query).ok()?;
        let error = |rcode| {
            let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
            m.add_query(q.queries[0].clone());
            m.metadata.response_code = rcode;
            m.to_vec().ok()
        };
        match self.behaviour(server) {
            Behaviour::Dead => None,
            Behaviour::ServFail => error(ResponseCode::ServFail),
            Behaviour::NoEdns if q.edns.is_some() => error(ResponseCode::FormErr),
            _ => match self.zone.reply(server, query, tcp) {
                Reply::Bytes(bytes) if self.faults.poison => Some(poisoned_reply(&bytes)),
                Reply::Bytes(bytes) => Some(bytes),
                Reply::Silence | Reply::Close => None,
            },
        }
    }

    /// The network carries one transmit to its server and schedules what
    /// comes back, faults included.
    fn carry(
        &mut self,
        server: SocketAddr,
        socket: Option<SocketId>,
        payload: &[u8],
        live: &[u16],
    ) {
        self.tally.queries += 1;
        let extra = match self.behaviour(server) {
            Behaviour::Slow(d) => d,
            _ => Duration::ZERO,
        };
        match socket {
            Some(socket) => {
                if self.unit() < self.faults.loss {
                    self.tally.lost += 1;
                    return;
                }
                self.forge(server, socket, payload, live);
                let Some(mut reply) = self.answer(server, payload, false) else {
                    return;
                };
                if self.unit() < self.faults.truncate {
                    // A middlebox cuts the answer: header and question, TC=1.
                    reply = truncate(&reply);
                    self.tally.truncated += 1;
                }
                let copies = if self.unit() < self.faults.duplicate {
                    self.tally.duplicated += 1;
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    if self.unit() < self.faults.loss {
                        self.tally.lost += 1;
                        continue;
                    }
                    let when = self.now + self.one_way() + self.one_way() + extra;
                    self.at(
                        when,
                        Delivery::Datagram {
                            from: server,
                            socket,
                            bytes: reply.clone(),
                        },
                    );
                }
            }
            None => {
                let (generation, last) =
                    *self.connections.entry(server).or_insert((0, Instant::ZERO));
                if self.unit() < self.faults.reset {
                    self.tally.resets += 1;
                    let when = (self.now + self.one_way()).max(last);
                    self.at(when, Delivery::Reset { server, generation });
                    return;
                }
                let Some(reply) = self.answer(server, &payload[2..], true) else {
                    return;
                };
                let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                // In random fragments, in order, each a little later.
                let mut when = (self.now + self.one_way() + self.one_way() + extra).max(last);
                let mut rest = &framed[..];
                while !rest.is_empty() {
                    let cut = 1 + (self.unit() * rest.len() as f64) as usize;
                    let cut = cut.min(rest.len());
                    self.at(
                        when,
                        Delivery::Stream {
                            server,
                            generation,
                            bytes: rest[..cut].to_vec(),
                        },
                    );
                    rest = &rest[cut..];
                    when = when + Duration::from_micros((self.unit() * 2000.0) as u64);
                }
                self.connections.insert(server, (generation, when));
            }
        }
    }

    /// The attacker: for a query it saw go out (but cannot read the id
    /// of), forged answers pointing at EVIL arrive before the real one.
    fn forge(&mut self, server: SocketAddr, socket: SocketId, query: &[u8], live: &[u16]) {
        for _ in 0..self.faults.forgeries {
            let Ok(q) = Message::from_vec(query) else {
                return;
            };
            let real_id = q.metadata.id;
            let mut question = q.queries[0].clone();
            let mut to = socket;
            let (from, id) = match self.rng.next_u32() % 4 {
                // Right source, guessed id. A guess that hits a live id is
                // indistinguishable from the server by design (RFC 5452
                // §9.1: that is what the 16-bit id and the caller's random
                // port are for), so the attacker's guesses skip them.
                0 => {
                    let mut id = self.rng.next_u32() as u16;
                    while live.contains(&id) {
                        id = id.wrapping_add(1);
                    }
                    // Knowing the question but not its 0x20 case.
                    question.set_name(question.name().to_lowercase());
                    (server, id)
                }
                // Wrong source (another port of the server), real id.
                1 => (SocketAddr::new(server.ip(), 5353), real_id),
                // Right source and id, another question.
                2 => {
                    question.set_name(name("_im._xmpp.evil.example."));
                    (server, real_id)
                }
                // Right source, id and question, to another of the
                // client's sockets (S28): what an attacker who learnt the
                // id but not the port achieves.
                _ => {
                    to = SocketId::from_raw(socket.raw() ^ (1 + self.rng.next_u32() % 4));
                    self.tally.forged_to_other_sockets += 1;
                    (server, real_id)
                }
            };
            let mut m = Message::new(id, MessageType::Response, OpCode::Query);
            m.add_query(question.clone());
            // The forger vouches for its answer: S34 must not believe it.
            m.metadata.authentic_data = true;
            match question.query_type() {
                RecordType::SRV => {
                    m.add_answer(srv(&question.name().to_ascii(), 0, 0, 6666, EVIL_TARGET));
                    m.add_additional(a(EVIL_TARGET, EVIL));
                }
                RecordType::A => {
                    m.add_answer(a(&question.name().to_ascii(), EVIL));
                }
                _ => m.metadata.response_code = ResponseCode::NXDomain,
            }
            self.tally.forged_sent += 1;
            let when = self.now + self.faults.delay.mul_f64(self.unit());
            self.at(
                when,
                Delivery::Datagram {
                    from,
                    socket: to,
                    bytes: m.to_vec().unwrap(),
                },
            );
        }
    }
}

/// `reply` with records for other names than its question added to every
/// section, pointing at EVIL: an address for a name asked elsewhere, an
/// SRV set and a CNAME off the question's chain, glue for a name that is
/// no target of this answer.
fn poisoned_reply(reply: &[u8]) -> Vec<u8> {
    let mut m = Message::from_vec(reply).unwrap();
    // The question's own chain (a CNAME's target is asked about too) is
    // the server's to answer: the poison is for names off it.
    let mut chain = vec![m.queries[0].name().clone()];
    for r in &m.answers {
        if let RData::CNAME(target) = &r.data {
            chain.push(target.0.clone());
        }
    }
    let other = |owner: &str| !chain.contains(&name(owner));
    if other("d.example.net.") {
        m.add_answer(a("d.example.net.", EVIL));
        m.add_additional(a("d.example.net.", EVIL));
    }
    if other("_pres._sip.example.org.") {
        m.add_answer(srv("_pres._sip.example.org.", 0, 0, 6666, EVIL_TARGET));
    }
    if other("_im._xmpp.gone.example.") {
        m.add_answer(cname("_im._xmpp.gone.example.", EVIL_TARGET));
    }
    if other("b.example.com.") {
        m.add_authority(a("b.example.com.", EVIL));
    }
    if other("example.org.") {
        m.add_additional(a("example.org.", EVIL));
    }
    m.to_vec().unwrap()
}

/// The answer's header and question only, with TC=1.
fn truncate(reply: &[u8]) -> Vec<u8> {
    let m = Message::from_vec(reply).unwrap();
    let mut t = Message::new(m.metadata.id, MessageType::Response, OpCode::Query);
    t.metadata.truncation = true;
    t.add_query(m.queries[0].clone());
    t.to_vec().unwrap()
}

/// A result with the weighted order taken out: endpoints sorted.
fn normalized(event: &Event) -> Result<Vec<Endpoint>, String> {
    match event {
        Event::Resolved { answer, .. } => {
            let mut endpoints = answer.endpoints.clone();
            endpoints.sort_by(|a, b| (a.priority, &a.target).cmp(&(b.priority, &b.target)));
            Ok(endpoints)
        }
        Event::Failed { error, .. } => Err(error.kind().to_string()),
    }
}

fn sim_config(rng: &mut ChaCha8Rng, servers: Vec<SocketAddr>) -> Config {
    let attempt_timeout = Duration::from_millis(1000 + u64::from(rng.next_u32() % 1000));
    // This draw chose 2 or 3 rounds when a question stopped after them; it
    // is still made so that every seed keeps the network it had. Now the
    // default budget holds: questions are asked until the deadline.
    let _ = rng.next_u32();
    let draw = rng.next_u32();
    Config {
        servers,
        attempt_timeout,
        resolution_timeout: Duration::from_secs(20),
        // One draw for both: every seed keeps the network it had. Half the
        // seeds ask with the DO bit (S33); none of these servers is trusted.
        case_randomization: draw & 1 == 0,
        dnssec: (draw & 2 == 0).then(impp_resolver::Dnssec::default),
        max_endpoints: 4,
        ..Config::default()
    }
}

/// The result of each case on a perfect network.
fn fault_free() -> Vec<Result<Vec<Endpoint>, String>> {
    CASES
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let server = SocketAddr::from(([192, 0, 2, 53], 53));
            let faults = Faults {
                loss: 0.0,
                delay: Duration::from_millis(10),
                jitter: Duration::ZERO,
                duplicate: 0.0,
                truncate: 0.0,
                reset: 0.0,
                forgeries: 0,
                poison: false,
                servers: vec![(server, Behaviour::Healthy)],
            };
            let config = Config {
                servers: vec![server],
                max_endpoints: 4,
                ..Config::default()
            };
            let (events, _) = run(0, faults, config, &[(i, Instant::ZERO)], false);
            normalized(&events[0].1)
        })
        .collect()
}

/// Runs one scenario; returns each resolution's (start, event, event time)
/// in the order of `starts`, and the tally.
fn run(
    seed: u64,
    faults: Faults,
    config: Config,
    starts: &[(usize, Instant)],
    trace: bool,
) -> (Vec<(Instant, Event, Instant)>, Tally) {
    let deadline = config.resolution_timeout;
    let mut resolver = Resolver::new(config, ChaCha20Rng::seed_from_u64(seed));
    let mut net = Network {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed),
        faults,
        zone: zone(),
        now: Instant::ZERO,
        queue: BinaryHeap::new(),
        seq: 0,
        connections: BTreeMap::new(),
        tally: Tally::default(),
        trace,
    };
    for (i, &(_, at)) in starts.iter().enumerate() {
        net.at(at, Delivery::Start(i));
    }
    let mut ids = vec![None; starts.len()];
    let mut ended: BTreeMap<_, (Event, Instant)> = BTreeMap::new();
    let mut closed_sockets = BTreeSet::new();
    // The ids of the latest two sends of each question to each server: a
    // resend has an id of its own and the send before it stays open (S23).
    let mut sends: BTreeMap<(SocketAddr, String, RecordType), Vec<u16>> = BTreeMap::new();
    for _ in 0..1_000_000 {
        while let Some(t) = resolver.poll_transmit() {
            // The query ids in flight to this server for this question,
            // which the blind attacker's guesses must not hit.
            let message = match t.transport {
                Transport::Udp => &t.payload[..],
                Transport::Tcp => &t.payload[2..],
            };
            let q = Message::from_vec(message).unwrap();
            let question = &q.queries[0];
            let key = (
                t.server,
                question.name().to_ascii().to_lowercase(),
                question.query_type(),
            );
            let live = sends.entry(key).or_default();
            live.push(q.metadata.id);
            if live.len() > 2 {
                live.remove(0);
            }
            let live = live.clone();
            if trace {
                eprintln!("{:?} -> {} {:?}", net.now, t.server, t.transport);
            }
            if let Some(socket) = t.socket {
                assert!(
                    !closed_sockets.contains(&socket),
                    "seed {seed}: a query from a closed socket"
                );
            }
            net.carry(t.server, t.socket, &t.payload, &live);
        }
        while let Some(socket) = resolver.poll_close_socket() {
            closed_sockets.insert(socket);
        }
        while let Some(server) = resolver.poll_close() {
            // The caller closes it: bytes still on the way are lost with it.
            let entry = net.connections.entry(server).or_insert((0, Instant::ZERO));
            *entry = (entry.0 + 1, Instant::ZERO);
        }
        while let Some(event) = resolver.poll_event() {
            if trace {
                eprintln!("{:?} event {event:?}", net.now);
            }
            let previous = ended.insert(event.id(), (event.clone(), net.now));
            assert!(previous.is_none(), "seed {seed}: second event {event:?}");
        }
        let next_delivery = net.queue.peek().map(|Reverse((t, _, _))| *t);
        let next = match (next_delivery, resolver.poll_timeout()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => break,
            },
        };
        assert!(next >= net.now, "seed {seed}: time went backwards");
        net.now = next;
        while let Some(Reverse((when, _, _))) = net.queue.peek() {
            if *when > net.now {
                break;
            }
            let Reverse((_, _, delivery)) = net.queue.pop().unwrap();
            let now = net.now;
            match delivery {
                Delivery::Start(i) => {
                    let (uri, protocols, fallback) = CASES[starts[i].0];
                    let uri: Uri = uri.parse().unwrap();
                    let id = resolver
                        .resolve_uri(now, &uri, protocols, fallback)
                        .unwrap();
                    ids[i] = Some((id, now));
                }
                // A closed socket receives nothing: the driver closed it.
                Delivery::Datagram { socket, .. } if closed_sockets.contains(&socket) => {}
                Delivery::Datagram {
                    from,
                    socket,
                    bytes,
                } => resolver.handle_datagram(now, socket, from, &bytes),
                Delivery::Stream {
                    server,
                    generation,
                    bytes,
                } => {
                    if net.connections.get(&server).map(|c| c.0) == Some(generation) {
                        resolver.handle_stream(now, server, &bytes);
                    }
                }
                Delivery::Reset { server, generation } => {
                    if net.connections.get(&server).map(|c| c.0) == Some(generation) {
                        let entry = net.connections.get_mut(&server).unwrap();
                        *entry = (generation + 1, Instant::ZERO);
                        resolver.handle_stream_closed(now, server);
                    }
                }
            }
        }
        resolver.handle_timeout(net.now);
    }
    assert_eq!(
        resolver.resolutions_in_flight(),
        0,
        "seed {seed}: left over"
    );
    let stats = resolver.stats();
    assert_eq!(stats.queries_in_flight, 0, "seed {seed}: queries left");
    assert_eq!(stats.tcp_connections, 0, "seed {seed}: connections left");
    // Only the sockets taking new queries stay open, one per family.
    assert!(stats.udp_sockets <= 2, "seed {seed}: sockets left");
    assert_eq!(resolver.poll_timeout(), None, "seed {seed}: timers left");
    net.tally.cache_hits = stats.cache_hits + stats.cache_negative_hits;
    net.tally.poisoned_seeds = u64::from(net.faults.poison);
    net.tally.dropped = stats.dropped_unmatched
        + stats.late_answers
        + stats.dropped_not_response
        + stats.dropped_wrong_question
        + stats.dropped_wrong_case
        + stats.dropped_wrong_socket
        + stats.dropped_unreadable
        + stats.dropped_stream_bytes;
    let out = ids
        .iter()
        .map(|started| {
            let (id, start) = started.as_ref().expect("every start happened");
            let (event, at) = ended
                .remove(id)
                .unwrap_or_else(|| panic!("seed {seed}: resolution {id:?} never ended"));
            assert!(
                at <= *start + deadline,
                "seed {seed}: ended at {at:?}, after its deadline"
            );
            (*start, event, at)
        })
        .collect();
    assert!(ended.is_empty(), "seed {seed}: events for unknown ids");
    (out, net.tally)
}

fn poisoned(event: &Event) -> bool {
    let Event::Resolved { answer, .. } = event else {
        return false;
    };
    answer.endpoints.iter().any(|e| {
        e.target == name(EVIL_TARGET)
            || e.port == 6666
            || e.addresses.contains(&IpAddr::from(EVIL))
            || e.addresses.contains(&ip(EVIL6))
    })
}

/// One seed: draws faults and starts, runs, checks. Returns the tally.
fn check_seed(seed: u64, expected: &[Result<Vec<Endpoint>, String>], trace: bool) -> Tally {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut faults = Faults::draw(&mut rng);
    faults.poison = seed.is_multiple_of(3);
    let servers: Vec<SocketAddr> = faults.servers.iter().map(|s| s.0).collect();
    let config = sim_config(&mut rng, servers);
    let mut starts: Vec<(usize, Instant)> = (0..1 + rng.next_u32() % 4)
        .map(|_| {
            let case = (rng.next_u32() as usize) % VICTIMS;
            (case, Instant::from_millis(u64::from(rng.next_u32() % 3000)))
        })
        .collect();
    if faults.poison {
        // The attacker resolves its own names first; the victims' start
        // at once or up to 3 s later, from a cache that holds the plants.
        starts.extend((VICTIMS..CASES.len()).map(|case| (case, Instant::ZERO)));
    }
    if trace {
        eprintln!("seed {seed}: {faults:?}\n{config:?}\nstarts {starts:?}");
    }
    let path = faults.leaves_a_path();
    let servfail_server = faults
        .servers
        .iter()
        .any(|(_, b)| *b == Behaviour::ServFail);
    let (results, mut tally) = run(seed, faults, config, &starts, trace);
    tally.seeds = 1;
    for ((case, _), (_, event, _)) in starts.iter().zip(&results) {
        if *case >= VICTIMS {
            // The attacker's own resolution may take what its chain said;
            // it only has to end, once, by its deadline (`run` checks).
            tally.attacks += 1;
            tally.attacks_planted += u64::from(poisoned(event));
            continue;
        }
        tally.resolutions += 1;
        if path {
            tally.with_path += 1;
        }
        assert!(
            !poisoned(event),
            "seed {seed}: forged answer used: {event:?}"
        );
        // S34: no server here is trusted (none is on loopback), whatever
        // AD bits the forger set.
        if let Event::Resolved { answer, .. } = event {
            for e in &answer.endpoints {
                assert!(!e.security.is_secure(), "seed {seed}: {e:?} secure");
            }
        }
        let got = normalized(event);
        match &got {
            Ok(endpoints) => {
                tally.resolved += 1;
                if path {
                    assert_eq!(&got, &expected[*case], "seed {seed}: wrong result");
                } else {
                    // A target whose address lookups were lost stays in the
                    // list with fewer or no addresses; nothing else differs.
                    let want = expected[*case].as_ref().expect("a fault-free success");
                    assert_eq!(endpoints.len(), want.len(), "seed {seed}: {endpoints:?}");
                    for (e, w) in endpoints.iter().zip(want) {
                        let same = (e.priority, e.weight, e.port, &e.target)
                            == (w.priority, w.weight, w.port, &w.target);
                        let mut wanted = w.addresses.iter();
                        let subsequence = e.addresses.iter().all(|a| wanted.any(|b| a == b));
                        assert!(same && subsequence, "seed {seed}: {e:?} vs {w:?}");
                    }
                }
            }
            Err(kind) => {
                tally.failed += 1;
                if expected[*case].as_ref().err() == Some(kind) {
                    tally.failed_as_expected += 1;
                } else if kind == "timeout" {
                    tally.timeouts += 1;
                } else if kind == "servfail" {
                    tally.servfails += 1;
                }
                if path {
                    assert_eq!(
                        &got, &expected[*case],
                        "seed {seed}: a path was left, yet {kind}"
                    );
                } else {
                    let allowed = expected[*case].as_ref().err() == Some(kind)
                        || kind == "timeout"
                        || (kind == "servfail" && servfail_server);
                    assert!(allowed, "seed {seed}: unexpected {kind} for case {case}");
                }
            }
        }
    }
    tally
}

fn seeds() -> u64 {
    std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

#[test]
fn fault_free_results_are_as_the_zone_says() {
    let expected = fault_free();
    let endpoints = expected[0].as_ref().unwrap();
    let targets: Vec<String> = endpoints.iter().map(|e| e.target.to_ascii()).collect();
    assert_eq!(
        targets,
        ["a.example.com.", "b.example.com.", "c.example.net."]
    );
    assert_eq!(endpoints[2].addresses, [IpAddr::from([192, 0, 2, 4])]);
    assert_eq!(expected[1].as_ref().unwrap()[0].port, 5060);
    assert_eq!(expected[2].as_ref().unwrap().len(), 4);
    assert_eq!(expected[3], Err("nxdomain".to_string()));
}

#[test]
fn every_seed_survives_the_network() {
    let expected = fault_free();
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        let tally = check_seed(seed, &expected, true);
        eprintln!("{tally:?}");
        return;
    }
    let total = seeds();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let expected = &expected;
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    for seed in (t..total).step_by(threads as usize) {
                        let result = std::panic::catch_unwind(|| check_seed(seed, expected, false));
                        match result {
                            Ok(t) => tally.add(&t),
                            Err(panic) => {
                                eprintln!(
                                    "failing seed {seed}: replay with \
                                     SIM_SEED={seed} cargo test --test simulation"
                                );
                                std::panic::resume_unwind(panic);
                            }
                        }
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut tally = Tally::default();
    for t in &tallies {
        tally.add(t);
    }
    eprintln!("simulation: {tally:?}");
    assert_eq!(tally.seeds, total);
    // The faults really happened, and the clean paths were really taken.
    if total >= 1_000 {
        assert!(tally.lost > 0 && tally.duplicated > 0 && tally.truncated > 0);
        assert!(tally.resets > 0 && tally.forged_sent > 0 && tally.forged_to_other_sockets > 0);
        assert!(tally.with_path > tally.resolutions / 10);
        assert!(tally.resolved > tally.resolutions / 2);
        assert!(tally.attacks_planted > tally.attacks / 10);
    }
}

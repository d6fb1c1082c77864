//! A scripted DNS world for driving the state machine through virtual
//! time: servers that answer per (server, name, type) rule, and a `Sim`
//! that shuttles transmits and replies (UDP and TCP) and logs everything.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use impp_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use impp_resolver::proto::rr::{Name, Record, RecordType};
use impp_resolver::{
    Answer, Config, Error, Event, Instant, Protocol, ResolutionId, Resolver, SocketId, Transport,
    Uri,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub use crate::records::*;

/// The first scripted server.
pub const S1: SocketAddr = SERVER;
/// The second scripted server.
pub const S2: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 53), 53));

/// What a scripted server does with one question.
#[derive(Clone)]
pub enum Script {
    Answer(Vec<Record>),
    /// Answer records, then additional-section records.
    WithAdditional(Vec<Record>, Vec<Record>),
    NxDomain,
    NoData,
    Rcode(ResponseCode),
    Silent,
    /// TC=1 over UDP and over TCP: a broken server.
    Truncated,
    /// Too big for UDP: TC=1 with no records there, the records over TCP.
    Large(Vec<Record>),
    /// FORMERR to any query with an OPT record; otherwise the inner script.
    NoEdns(Box<Script>),
    /// Over TCP, the server closes the connection instead of answering.
    /// Over UDP, the inner script.
    ClosesTcp(Box<Script>),
    /// Exactly these sections with this rcode: what no zone file makes a
    /// server say (NXDOMAIN beside a CNAME, another zone's SOA).
    Sections {
        rcode: ResponseCode,
        answers: Vec<Record>,
        authority: Vec<Record>,
        additional: Vec<Record>,
    },
}

/// What a server does with one query.
pub enum Reply {
    Bytes(Vec<u8>),
    Silence,
    /// Over TCP: the connection closes.
    Close,
}

/// Scripted servers: per server (or any server), per (name, type).
#[derive(Default)]
pub struct Zone {
    rules: BTreeMap<(Option<SocketAddr>, String, RecordType), Script>,
    /// What a question without a rule gets; NXDOMAIN if `None`.
    otherwise: Option<Script>,
}

impl Zone {
    /// Servers that do `script` to every question.
    pub fn always(script: Script) -> Self {
        Zone {
            otherwise: Some(script),
            ..Zone::default()
        }
    }

    pub fn on(mut self, name: &str, rtype: RecordType, script: Script) -> Self {
        self.rules
            .insert((None, name.to_lowercase(), rtype), script);
        self
    }

    /// `host` has one IPv4 address and no IPv6 one.
    pub fn host_v4(self, host: &str, ip: [u8; 4]) -> Self {
        self.on(host, RecordType::A, Script::Answer(vec![a(host, ip)]))
            .on(host, RecordType::AAAA, Script::NoData)
    }

    pub fn on_server(
        mut self,
        server: SocketAddr,
        name: &str,
        rtype: RecordType,
        script: Script,
    ) -> Self {
        self.rules
            .insert((Some(server), name.to_lowercase(), rtype), script);
        self
    }

    pub fn script(&self, server: SocketAddr, qname: &Name, rtype: RecordType) -> Script {
        let key = qname.to_ascii().to_lowercase();
        self.rules
            .get(&(Some(server), key.clone(), rtype))
            .or_else(|| self.rules.get(&(None, key, rtype)))
            .cloned()
            .or_else(|| self.otherwise.clone())
            .unwrap_or(Script::NxDomain)
    }

    /// The server's reply to `query` (no length prefix), received over `tcp`.
    pub fn reply(&self, server: SocketAddr, query: &[u8], tcp: bool) -> Reply {
        let q = Message::from_vec(query).unwrap();
        let question = q.queries[0].clone();
        let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.metadata.recursion_available = true;
        m.add_query(question.clone());
        // The SOA of the question's zone, taken as its last two labels, so
        // that negative answers can be cached (RFC 2308 §5).
        let zone = question.name().trim_to(2).to_ascii();
        let soa = || soa(&zone);
        let mut script = self.script(server, question.name(), question.query_type());
        loop {
            script = match script {
                Script::NoEdns(_) if q.edns.is_some() => Script::Rcode(ResponseCode::FormErr),
                Script::NoEdns(inner) => *inner,
                Script::ClosesTcp(_) if tcp => return Reply::Close,
                Script::ClosesTcp(inner) => *inner,
                Script::Large(_) if !tcp => Script::Truncated,
                Script::Large(records) => Script::Answer(records),
                other => break script = other,
            }
        }
        match script {
            Script::Answer(records) => {
                for r in records {
                    m.add_answer(r);
                }
            }
            Script::WithAdditional(answers, additional) => {
                for r in answers {
                    m.add_answer(r);
                }
                for r in additional {
                    m.add_additional(r);
                }
            }
            Script::NxDomain => {
                m.metadata.response_code = ResponseCode::NXDomain;
                m.add_authority(soa());
            }
            Script::NoData => {
                m.add_authority(soa());
            }
            Script::Rcode(rcode) => m.metadata.response_code = rcode,
            Script::Sections {
                rcode,
                answers,
                authority,
                additional,
            } => {
                m.metadata.response_code = rcode;
                m.metadata.authoritative = true;
                for r in answers {
                    m.add_answer(r);
                }
                for r in authority {
                    m.add_authority(r);
                }
                for r in additional {
                    m.add_additional(r);
                }
            }
            Script::Silent => return Reply::Silence,
            Script::Truncated => m.metadata.truncation = true,
            Script::Large(_) | Script::NoEdns(_) | Script::ClosesTcp(_) => unreachable!(),
        }
        Reply::Bytes(m.to_vec().unwrap())
    }
}

/// One query the machine sent, as the simulation logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentQuery {
    /// When it was sent.
    pub at: Instant,
    pub server: SocketAddr,
    /// The question name, lower-cased.
    pub name: String,
    pub rtype: RecordType,
    pub transport: Transport,
    /// The local UDP socket it left from (S28); `None` over TCP.
    pub socket: Option<SocketId>,
    /// Whether it carried an OPT record.
    pub edns: bool,
}

/// A resolver plus virtual time and a log of what it asked.
pub struct Sim {
    pub resolver: Resolver<ChaCha20Rng>,
    pub now: Instant,
    /// Every query sent, in order.
    pub asked: Vec<SentQuery>,
    /// Connections the machine said to close.
    pub closed: Vec<SocketAddr>,
    /// UDP sockets the machine said to close (S28): never named again.
    pub closed_sockets: Vec<SocketId>,
    /// Hand TCP answers over in fragments of at most this many bytes.
    pub fragment: usize,
    /// When each event arrived.
    pub events: Vec<(Instant, Event)>,
    /// Deliver the answers of one round in reverse order.
    pub reverse: bool,
    /// Answer every query twice (a duplicated packet).
    pub duplicate: bool,
}

impl Sim {
    pub fn new(config: Config) -> Self {
        Sim {
            resolver: Resolver::new(config, ChaCha20Rng::seed_from_u64(42)),
            now: Instant::ZERO,
            asked: Vec::new(),
            closed: Vec::new(),
            closed_sockets: Vec::new(),
            fragment: usize::MAX,
            events: Vec::new(),
            reverse: false,
            duplicate: false,
        }
    }

    /// A simulation that has resolved one URI against `zone`.
    pub fn resolve(
        config: Config,
        uri: &str,
        protocols: &[Protocol],
        fallback: Option<u16>,
        zone: &Zone,
    ) -> Self {
        let mut sim = Sim::new(config);
        sim.start(uri, protocols, fallback);
        sim.run(zone);
        sim
    }

    /// A simulation that has resolved `im:fred@example.com` over XMPP, with
    /// no fallback: the common case of these tests.
    pub fn resolve_xmpp(config: Config, zone: &Zone) -> Self {
        Sim::resolve(config, "im:fred@example.com", &[Protocol::XMPP], None, zone)
    }

    /// The first endpoint's addresses, as text.
    pub fn first_addresses(&self) -> Vec<String> {
        self.answer().endpoints[0]
            .addresses
            .iter()
            .map(|a| a.to_string())
            .collect()
    }

    /// Starts the usual resolution: `im:fred@example.com` over XMPP.
    pub fn start_xmpp(&mut self) -> ResolutionId {
        self.start("im:fred@example.com", &[Protocol::XMPP], None)
    }

    pub fn start(
        &mut self,
        uri: &str,
        protocols: &[Protocol],
        fallback: Option<u16>,
    ) -> ResolutionId {
        let uri: Uri = uri.parse().unwrap();
        self.resolver
            .resolve_uri(self.now, &uri, protocols, fallback)
            .unwrap()
    }

    /// Runs until nothing is left to do. Answers take 1 ms.
    pub fn run(&mut self, zone: &Zone) {
        for _ in 0..10_000 {
            let mut inbox = Vec::new();
            while let Some(t) = self.resolver.poll_transmit() {
                let tcp = t.transport == Transport::Tcp;
                let query = if tcp {
                    let len = u16::from_be_bytes([t.payload[0], t.payload[1]]);
                    assert_eq!(usize::from(len), t.payload.len() - 2, "length prefix");
                    &t.payload[2..]
                } else {
                    &t.payload[..]
                };
                let q = Message::from_vec(query).unwrap();
                let question = &q.queries[0];
                self.asked.push(SentQuery {
                    at: self.now,
                    server: t.server,
                    name: question.name().to_ascii().to_lowercase(),
                    rtype: question.query_type(),
                    transport: t.transport,
                    socket: t.socket,
                    edns: q.edns.is_some(),
                });
                assert_eq!(t.socket.is_some(), !tcp, "a socket for UDP only");
                if let Some(socket) = t.socket {
                    assert!(
                        !self.closed_sockets.contains(&socket),
                        "a query from a closed socket"
                    );
                }
                let reply = match zone.reply(t.server, query, tcp) {
                    Reply::Bytes(bytes) if tcp => framed(&bytes),
                    Reply::Bytes(bytes) => bytes,
                    Reply::Silence => continue,
                    Reply::Close => Vec::new(),
                };
                if self.duplicate {
                    inbox.push((t.server, t.socket, reply.clone()));
                }
                inbox.push((t.server, t.socket, reply));
            }
            while let Some(server) = self.resolver.poll_close() {
                self.closed.push(server);
            }
            while let Some(socket) = self.resolver.poll_close_socket() {
                self.closed_sockets.push(socket);
            }
            if self.reverse {
                inbox.reverse();
            }
            if !inbox.is_empty() {
                self.now = self.now + Duration::from_millis(1);
                for (from, socket, bytes) in inbox {
                    match (socket, bytes.is_empty()) {
                        // A closed socket receives nothing.
                        (Some(socket), _) if self.closed_sockets.contains(&socket) => {}
                        (Some(socket), _) => self
                            .resolver
                            .handle_datagram(self.now, socket, from, &bytes),
                        (None, true) => self.resolver.handle_stream_closed(self.now, from),
                        (None, false) => {
                            for piece in bytes.chunks(self.fragment) {
                                self.resolver.handle_stream(self.now, from, piece);
                            }
                        }
                    }
                    self.drain_events();
                }
                continue;
            }
            self.drain_events();
            match self.resolver.poll_timeout() {
                Some(deadline) => {
                    assert!(deadline >= self.now, "deadline in the past");
                    self.now = deadline;
                    self.resolver.handle_timeout(self.now);
                    self.drain_events();
                }
                None => return,
            }
        }
        panic!("simulation did not settle");
    }

    pub fn drain_events(&mut self) {
        while let Some(e) = self.resolver.poll_event() {
            self.events.push((self.now, e));
        }
    }

    pub fn only_event(&self) -> &Event {
        assert_eq!(self.events.len(), 1, "{:?}", self.events);
        &self.events[0].1
    }

    pub fn error(&self) -> Error {
        match self.only_event() {
            Event::Failed { error, .. } => error.clone(),
            e => panic!("expected a failure, got {e:?}"),
        }
    }

    pub fn answer(&self) -> Answer {
        match self.only_event() {
            Event::Resolved { answer, .. } => answer.clone(),
            e => panic!("expected an answer, got {e:?}"),
        }
    }

    /// How each query went: its transport and whether it carried EDNS.
    pub fn how(&self) -> Vec<(Transport, bool)> {
        self.asked.iter().map(|q| (q.transport, q.edns)).collect()
    }

    pub fn asked_type(&self, rtype: RecordType) -> usize {
        self.asked.iter().filter(|q| q.rtype == rtype).count()
    }

    /// Every resolution ended and nothing was left behind.
    pub fn assert_clean(&mut self) {
        assert_eq!(self.resolver.resolutions_in_flight(), 0);
        assert_eq!(self.resolver.stats().queries_in_flight, 0);
        assert_eq!(self.resolver.stats().tcp_connections, 0);
        assert_eq!(self.resolver.poll_timeout(), None);
        assert_eq!(self.resolver.poll_close(), None);
    }
}

pub fn basic_zone() -> Zone {
    one_srv_zone(
        "_im._xmpp.example.com.",
        5222,
        "xmpp.example.com.",
        [192, 0, 2, 1],
    )
}

/// A zone where `owner` has one SRV record (priority and weight 0) for
/// `target`:`port`, and `target` one IPv4 address.
pub fn one_srv_zone(owner: &str, port: u16, target: &str, ip: [u8; 4]) -> Zone {
    Zone::default()
        .on(
            owner,
            RecordType::SRV,
            Script::Answer(vec![srv(owner, 0, 0, port, target)]),
        )
        .host_v4(target, ip)
}

/// A zone where `_im._xmpp.example.com.` and `x.example.net.` are CNAMEs of
/// each other: a loop that shows only across two queries (S25).
pub fn cname_loop_zone() -> Zone {
    Zone::default()
        .on(
            "_im._xmpp.example.com.",
            RecordType::SRV,
            Script::Answer(vec![cname("_im._xmpp.example.com.", "x.example.net.")]),
        )
        .on(
            "x.example.net.",
            RecordType::SRV,
            Script::Answer(vec![cname("x.example.net.", "_im._xmpp.example.com.")]),
        )
}

//! The invariant checkers behind every fuzz target. The cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`) call them, and so does the stable test
//! `tests/fuzz_checks.rs`, over the checked-in corpus and over seeded
//! pseudo-random inputs on every `cargo test`.
//!
//! Each checker takes raw bytes and panics when an invariant breaks.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use impp_resolver::proto::op::{Header, Message, MessageType, OpCode, Query, ResponseCode};
use impp_resolver::proto::rr::rdata::{A, AAAA, CNAME, SRV};
use impp_resolver::proto::rr::{Name, RData, Record, RecordType};
use impp_resolver::proto::serialize::binary::{BinDecodable, BinDecoder};
use impp_resolver::{
    Config, Instant, Protocol, ResolutionId, Resolver, SocketId, SrvOrder, SrvRecord, Stats,
    Transport, Uri, order_srv,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::records::{SERVER, framed, query_id};
use impp_resolver::sim;

/// `uri`: any text that parses re-serialises to text that parses back to
/// the same value (S1–S5); nothing panics.
pub fn uri(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = text.parse::<Uri>() else {
        return;
    };
    let shown = uri.to_string();
    let again: Uri = shown
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} displays as {shown:?}, which fails: {e}"));
    assert_eq!(again, uri, "{text:?} -> {shown:?}");
    assert_eq!(again.to_string(), shown, "display is stable");
}

/// `ordering`: an arbitrary SRV RRset and seed. The result is a permutation
/// of the usable records (duplicates and `.` removed), priorities never
/// decrease, and only an RRset of nothing but `.` is unavailable (S9–S12).
pub fn ordering(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(records) = Vec::<SrvRecord>::arbitrary(&mut u) else {
        return;
    };
    let seed = u.arbitrary::<u64>().unwrap_or(0);
    let mut usable = records.clone();
    usable.sort();
    usable.dedup();
    let all_dots = !usable.is_empty() && usable.iter().all(|r| r.target.is_root());
    usable.retain(|r| !r.target.is_root());
    match order_srv(records, &mut ChaCha20Rng::seed_from_u64(seed)) {
        SrvOrder::Unavailable => assert!(all_dots, "unavailable, yet {usable:?}"),
        SrvOrder::Targets(ordered) => {
            assert!(!all_dots, "only `.` targets must be unavailable");
            assert!(
                ordered.windows(2).all(|w| w[0].priority <= w[1].priority),
                "priorities decrease: {ordered:?}"
            );
            let mut sorted = ordered.clone();
            sorted.sort();
            assert_eq!(sorted, usable, "not a permutation of the usable records");
        }
    }
}

/// Every counter that only says "something was dropped or received".
fn without_drops(s: Stats) -> Stats {
    Stats {
        datagrams_received: 0,
        stream_messages_received: 0,
        dropped_unmatched: 0,
        late_answers: 0,
        dropped_not_response: 0,
        dropped_wrong_question: 0,
        dropped_wrong_case: 0,
        dropped_wrong_socket: 0,
        dropped_unreadable: 0,
        dropped_stream_bytes: 0,
        ..s
    }
}

/// `answer`: arbitrary bytes as the answer to a known outstanding SRV query.
/// The first byte chooses UDP or TCP, 0x20 on or off, and whether the
/// query's id is written over the first two bytes (so that the question
/// check and everything after it is reached). Nothing panics; a rejected
/// answer changes nothing but drop counters; whatever it said, the
/// resolution still ends with exactly one event and leaves nothing behind.
///
/// At most 4 endpoints: the whole RRset is still read, checked and ordered,
/// but only 4 targets' addresses are then asked and wound down, where 64
/// made the same code run 16 times over (it was half of each execution).
pub fn answer(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let server = SERVER;
    let tcp = mode & 1 != 0;
    let config = Config {
        servers: vec![server],
        transport: if tcp { Transport::Tcp } else { Transport::Udp },
        case_randomization: mode & 2 != 0,
        max_endpoints: 4,
        ..Config::default()
    };
    let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(u64::from(mode)));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let id = r
        .resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None)
        .unwrap();
    let query = r.poll_transmit().unwrap();
    let query_id = query_id(&query).to_be_bytes();
    let mut answer = bytes.to_vec();
    if mode & 4 == 0 && answer.len() >= 2 {
        answer[..2].copy_from_slice(&query_id);
    }
    let now = Instant::from_millis(1);
    let before = r.stats();
    if tcp {
        if u16::try_from(answer.len()).is_err() {
            return;
        }
        let framed = framed(&answer);
        // In two pieces, cut where the input says.
        let cut = usize::from(mode >> 3) % (framed.len() + 1);
        r.handle_stream(now, server, &framed[..cut]);
        r.handle_stream(now, server, &framed[cut..]);
    } else {
        let socket = query.socket.expect("a UDP query names its socket");
        r.handle_datagram(now, socket, server, &answer);
    }
    let after = r.stats();
    if after.answers_accepted == before.answers_accepted {
        assert_eq!(
            without_drops(after),
            without_drops(before),
            "rejected, yet changed"
        );
        assert_eq!(r.resolutions_in_flight(), 1);
        assert!(r.poll_transmit().is_none(), "rejected, yet sent something");
        assert!(r.poll_event().is_none(), "rejected, yet ended something");
    }
    let mut ended = BTreeMap::new();
    ended.insert(id, 0);
    finish(&mut r, now, &mut ended, WindDown::Step);
}

/// How the wind-down lets time pass.
#[derive(Clone, Copy, PartialEq)]
enum WindDown {
    /// To each deadline in turn, as a driver woken on time: every resend in
    /// silence is made.
    Step,
    /// A day past each deadline, as a driver that slept: whatever is due
    /// happens at once. An input that ran out ends this way, as stepping
    /// through up to 16 rounds of resends at three servers, for every
    /// input, was a fifth of the `machine` target's time; one with a byte
    /// left picks either.
    Leap,
}

/// Lets every deadline pass with silence, counting events per resolution,
/// then checks that each ended exactly once and nothing is left.
fn finish(
    r: &mut Resolver<ChaCha20Rng>,
    mut now: Instant,
    ended: &mut BTreeMap<ResolutionId, u32>,
    wind_down: WindDown,
) {
    loop {
        while r.poll_transmit().is_some() {}
        while r.poll_close().is_some() {}
        while r.poll_close_socket().is_some() {}
        while let Some(event) = r.poll_event() {
            *ended.get_mut(&event.id()).expect("event for an unknown id") += 1;
        }
        let Some(deadline) = r.poll_timeout() else {
            break;
        };
        assert!(deadline >= now, "deadline {deadline:?} before now {now:?}");
        now = match wind_down {
            WindDown::Step => deadline,
            WindDown::Leap => deadline + Duration::from_secs(86_400),
        };
        r.handle_timeout(now);
    }
    for (id, count) in ended.iter() {
        assert_eq!(*count, 1, "resolution {id:?} ended {count} times");
    }
    let stats = r.stats();
    assert_eq!(r.resolutions_in_flight(), 0);
    assert_eq!(stats.queries_in_flight, 0);
    assert_eq!(stats.tcp_connections, 0);
}

/// The few names the plausible replies use, parsed once: parsing them on
/// every draw was a twelfth of the `machine` target's time.
fn small_name(u: &mut Unstructured) -> arbitrary::Result<Name> {
    static NAMES: OnceLock<Vec<Name>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        [
            ".",
            "a.example.com.",
            "b.example.com.",
            "example.com.",
            "_im._xmpp.example.com.",
            "_im._sip.example.com.",
            "x.example.net.",
        ]
        .iter()
        .map(|n| Name::from_ascii(n).unwrap())
        .collect()
    });
    Ok(u.choose(names)?.clone())
}

fn rdata(u: &mut Unstructured, rtype: RecordType) -> arbitrary::Result<RData> {
    Ok(match u.int_in_range(0..=4)? {
        0 => RData::CNAME(CNAME(small_name(u)?)),
        1 => RData::A(A::from(std::net::Ipv4Addr::from(u.arbitrary::<u32>()?))),
        2 => RData::AAAA(AAAA::from(std::net::Ipv6Addr::from(u.arbitrary::<u128>()?))),
        _ if rtype == RecordType::SRV => RData::SRV(SRV::new(
            u.int_in_range(0..=2)?,
            u.arbitrary()?,
            u.arbitrary()?,
            small_name(u)?,
        )),
        _ => RData::A(A::from(std::net::Ipv4Addr::LOCALHOST)),
    })
}

/// A reply to `query` with the right id and question but arbitrary content,
/// sometimes with a few bytes flipped afterwards.
fn plausible_reply(u: &mut Unstructured, query: &[u8]) -> arbitrary::Result<Vec<u8>> {
    // Only the header and the question: decoding the whole query (its OPT
    // record) was a tenth of a reply's cost.
    let mut decoder = BinDecoder::new(query);
    let header = Header::read(&mut decoder).unwrap();
    let question = Query::read(&mut decoder).unwrap();
    let mut m = Message::new(header.metadata.id, MessageType::Response, OpCode::Query);
    m.add_query(question.clone());
    m.metadata.response_code = *u.choose(&[
        ResponseCode::NoError,
        ResponseCode::NoError,
        ResponseCode::NoError,
        ResponseCode::NXDomain,
        ResponseCode::ServFail,
        ResponseCode::Refused,
        ResponseCode::FormErr,
    ])?;
    m.metadata.truncation = u.ratio(1, 10)?;
    // Anyone may set the AD bit: only a trusted server's counts (S34).
    m.metadata.authentic_data = u.arbitrary()?;
    for _ in 0..u.int_in_range(0..=6)? {
        let owner = if u.ratio(3, 4)? {
            question.name().clone()
        } else {
            small_name(u)?
        };
        m.add_answer(Record::from_rdata(
            owner,
            u.arbitrary()?,
            rdata(u, question.query_type())?,
        ));
    }
    for _ in 0..u.int_in_range(0..=2)? {
        let owner = small_name(u)?;
        m.add_additional(Record::from_rdata(owner, 60, rdata(u, RecordType::A)?));
    }
    let mut bytes = m.to_vec().unwrap();
    if u.ratio(1, 8)? {
        for _ in 0..u.int_in_range(1..=4)? {
            let i = u.choose_index(bytes.len())?;
            bytes[i] ^= u.arbitrary::<u8>()? | 1;
        }
    }
    Ok(bytes)
}

/// The kit's authoritative answer to `query` from the `network` checker's
/// zones (REFUSED for names outside them), sometimes with a few bytes
/// flipped.
fn kit_reply(u: &mut Unstructured, query: &[u8], tcp: bool) -> arbitrary::Result<Vec<u8>> {
    let Some(mut bytes) = sim::answer(network_zones(), query, tcp).and_then(|m| m.to_vec().ok())
    else {
        return Ok(Vec::new());
    };
    if u.ratio(1, 8)? {
        for _ in 0..u.int_in_range(1..=4)? {
            let i = u.choose_index(bytes.len())?;
            bytes[i] ^= u.arbitrary::<u8>()? | 1;
        }
    }
    Ok(bytes)
}

/// `machine`: an arbitrary sequence of inputs against the real state
/// machine — resolutions started and cancelled, datagrams from any source
/// with arbitrary bytes, plausible ones, or a real server's answer from
/// the simulation kit's zones (sometimes mutated), TCP replies in
/// arbitrary fragments, stray stream bytes, closed connections, time
/// passing. Nothing panics; every resolution not cancelled ends with exactly
/// one event; the state stays within the configured bounds; nothing is left
/// once every deadline has passed.
pub fn machine(data: &[u8]) {
    let _ = machine_steps(&mut Unstructured::new(data));
}

fn machine_steps(u: &mut Unstructured) -> arbitrary::Result<()> {
    let config = Config::arbitrary(u)?;
    let servers = config.servers.clone();
    let seed = u.arbitrary::<u64>()?;
    let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(seed));
    let bounds = r.config().clone();
    let trusts_any = (bounds.dnssec.as_ref())
        .is_some_and(|d| bounds.servers.iter().any(|&s| d.trust_ad.trusts(s)));
    let mut now = Instant::from_millis(u.int_in_range(0..=1_000)?);
    let mut ended: BTreeMap<ResolutionId, u32> = BTreeMap::new();
    let mut outbox: Vec<(SocketAddr, Option<SocketId>, Vec<u8>)> = Vec::new();

    let result = (|| {
        for _ in 0..u.int_in_range(1..=64)? {
            match u.int_in_range(0..=11)? {
                0 | 1 => {
                    let uri = if u.ratio(1, 2)? {
                        Uri::arbitrary(u)?
                    } else {
                        let text =
                            *u.choose(&["im:fred@example.com", "pres:a@example.com", "im:"])?;
                        text.parse().unwrap()
                    };
                    let protocols: Vec<Protocol> = Arbitrary::arbitrary(u)?;
                    let fallback: Option<u16> = u.arbitrary()?;
                    if let Ok(id) = r.resolve_uri(now, &uri, &protocols, fallback) {
                        assert!(ended.insert(id, 0).is_none(), "id reused");
                    }
                }
                2..=5 if !outbox.is_empty() => {
                    let i = u.choose_index(outbox.len())?;
                    let (server, socket, query) = outbox.swap_remove(i);
                    let from = if u.ratio(9, 10)? {
                        server
                    } else {
                        *u.choose(&servers)?
                    };
                    // Now and then on another socket than the query's (S28).
                    let socket = match socket {
                        Some(_) if u.ratio(1, 10)? => {
                            Some(SocketId::from_raw(u.int_in_range(0..=8)?))
                        }
                        other => other,
                    };
                    let reply = match u.int_in_range(0..=19)? {
                        0 => Vec::<u8>::arbitrary(u)?,
                        // What a real authoritative server says, from the
                        // public kit's zones (the `network` checker's),
                        // now and then with bytes flipped.
                        1..=6 => kit_reply(u, &query, socket.is_none())?,
                        _ => plausible_reply(u, &query)?,
                    };
                    match socket {
                        Some(socket) => r.handle_datagram(now, socket, from, &reply),
                        None => {
                            let framed = framed(&reply);
                            let mut rest = &framed[..];
                            while !rest.is_empty() {
                                let cut = u.int_in_range(1..=rest.len())?;
                                r.handle_stream(now, from, &rest[..cut]);
                                rest = &rest[cut..];
                            }
                        }
                    }
                }
                6 => {
                    let junk: Vec<u8> = u.arbitrary()?;
                    if u.arbitrary()? {
                        let socket = SocketId::from_raw(u.int_in_range(0..=8)?);
                        r.handle_datagram(now, socket, *u.choose(&servers)?, &junk);
                    } else {
                        r.handle_stream(now, *u.choose(&servers)?, &junk);
                    }
                }
                7 => r.handle_stream_closed(now, *u.choose(&servers)?),
                8 if !ended.is_empty() => {
                    let id = *u.choose_iter(ended.keys())?;
                    if r.cancel(id) {
                        // Cancelled: counted as ended, so an event would be a second.
                        ended.insert(id, 1);
                    }
                }
                _ => {
                    now = now + Duration::from_millis(u.int_in_range(0..=3_000)?);
                    r.handle_timeout(now);
                }
            }
            outbox.extend(std::iter::from_fn(|| r.poll_transmit()).map(|t| {
                let query = match t.transport {
                    Transport::Udp => t.payload,
                    Transport::Tcp => t.payload[2..].to_vec(),
                };
                (t.server, t.socket, query)
            }));
            while r.poll_close().is_some() {}
            while r.poll_close_socket().is_some() {}
            while let Some(event) = r.poll_event() {
                *ended.get_mut(&event.id()).expect("event for an unknown id") += 1;
                // S34: without a trusted server, however many AD bits
                // came, nothing is secure.
                if let impp_resolver::Event::Resolved { answer, .. } = &event
                    && !trusts_any
                {
                    for endpoint in &answer.endpoints {
                        let security = &endpoint.security;
                        assert!(
                            !security.is_secure(),
                            "{endpoint:?} secure, no server trusted"
                        );
                        assert!(endpoint.tlsa.is_empty());
                    }
                }
            }
            // Everything due by now was handled when time last moved.
            if let Some(deadline) = r.poll_timeout() {
                assert!(deadline >= now, "deadline {deadline:?} before now {now:?}");
            }
            let stats = r.stats();
            assert!(r.resolutions_in_flight() <= bounds.max_resolutions);
            assert!(stats.queries_in_flight <= bounds.max_queries);
            assert!(stats.queries_in_flight - stats.queries_waiting <= bounds.max_outstanding);
            // Each open socket but the current ones (one per server, S28)
            // has a query waiting on it: at most two per server per
            // question (a send and the one before it, S23).
            let servers = bounds.servers.len();
            assert!(stats.udp_sockets <= stats.queries_in_flight * servers * 2 + servers);
            // Each server's window stays within max_outstanding, and no more
            // is on the wire to it than two sends per question being asked.
            for server in r.servers() {
                assert!(
                    (1..=bounds.max_outstanding as u32).contains(&server.window),
                    "{server:?} {}",
                    bounds.max_outstanding
                );
                let asked = stats.queries_in_flight - stats.queries_waiting;
                assert!(server.outstanding as usize <= asked * 2, "{server:?}");
            }
            assert!(stats.tcp_connections <= bounds.servers.len());
            // The outbox stands in for the network: keep it bounded too.
            outbox.truncate(4_096);
        }
        Ok(())
    })();
    // However the input ran out, the machine must wind down cleanly.
    let wind_down = if u.arbitrary::<bool>().unwrap_or(false) {
        WindDown::Step
    } else {
        WindDown::Leap
    };
    finish(&mut r, now, &mut ended, wind_down);
    result
}

/// The zones the `network` checker's servers serve, parsed once.
fn network_zones() -> &'static [sim::Zone] {
    static ZONES: OnceLock<Vec<sim::Zone>> = OnceLock::new();
    ZONES.get_or_init(|| {
        let soa = "@ 60 IN SOA ns hostmaster 1 3600 600 86400 60\n";
        let com = format!(
            "{soa}_im._xmpp 300 IN SRV 10 60 5222 a\n_im._xmpp 300 IN SRV 10 40 5222 b\n\
             _im._xmpp 300 IN SRV 20 0 5269 c.example.net.\n_im._sip 300 IN SRV 0 0 5060 a\n\
             a 300 IN A 192.0.2.1\na 300 IN AAAA 2001:db8::1\nb 300 IN A 192.0.2.2\n\
             alias 300 IN CNAME a\n_im._xmpp.alias 300 IN SRV 0 0 5222 alias\n\
             _pres._xmpp 300 IN TXT none\n"
        );
        let net = format!("{soa}c 300 IN CNAME d\nd 300 IN A 192.0.2.4\n");
        vec![
            sim::Zone::parse("example.com.", &com).unwrap(),
            sim::Zone::parse("example.net.", &net).unwrap(),
        ]
    })
}

/// `network`: the public simulation kit (`impp_resolver::sim`) drives the
/// machine through a whole hostile network drawn from the input — one to
/// three servers with faults of their own, a forger now and then — under
/// an arbitrary configuration, resolving URIs the input picks. Nothing
/// panics; every resolution ends with exactly one event, by its deadline;
/// nothing forged or stray is ever an endpoint; without a trusted server
/// nothing is secure; the kit notes no anomaly; nothing is left after.
pub fn network(data: &[u8]) {
    let _ = network_steps(&mut Unstructured::new(data));
}

fn network_steps(u: &mut Unstructured) -> arbitrary::Result<()> {
    let network = sim::Network::arbitrary_for(network_zones(), u)?;
    let mut config = Config::arbitrary(u)?;
    config.servers = network.addresses();
    let seed = u.arbitrary::<u64>()?;
    let resolver = Resolver::new(config, ChaCha20Rng::seed_from_u64(seed));
    let bounds = resolver.config().clone();
    let trusts_any = (bounds.dnssec.as_ref())
        .is_some_and(|d| bounds.servers.iter().any(|&s| d.trust_ad.trusts(s)));
    let mut sim = sim::Simulation::new(resolver, network, seed);
    // A hostile run may take many steps; it must still settle.
    sim.step_budget = 200_000;
    let uris = [
        "im:fred@example.com",
        "pres:fred@example.com",
        "im:x@alias.example.com",
        "im:x@missing.example.com",
        "im:x@example.org",
    ];
    let mut started = BTreeMap::new();
    for _ in 0..u.int_in_range(1..=6)? {
        let at = sim.now() + Duration::from_millis(u.int_in_range(0..=2_000)?);
        sim.run_until(at).expect("the machine settles");
        let uri: Uri = u.choose(&uris)?.parse().unwrap();
        let protocols: Vec<Protocol> = match u.int_in_range(0..=2)? {
            0 => vec![Protocol::XMPP],
            1 => vec![Protocol::XMPP, Protocol::SIP],
            _ => Arbitrary::arbitrary(u)?,
        };
        let fallback: Option<u16> = u.arbitrary()?;
        if let Ok(id) = sim.resolve_uri(&uri, &protocols, fallback) {
            started.insert(id, sim.now());
        }
    }
    sim.run().expect("the machine settles");
    if !sim.anomalies().is_empty() {
        eprintln!("CONFIG {:?}", sim.resolver().config());
        for p in sim.trace() {
            eprintln!(
                "  {:?} {:?} {} {:?} {:?}",
                p.at, p.kind, p.server, p.transport, p.socket
            );
        }
        for (at, e) in sim.events() {
            eprintln!("EVENT {at:?} {e:?}");
        }
    }
    assert!(sim.anomalies().is_empty(), "{:?}", sim.anomalies());
    assert_eq!(sim.poisoned_endpoints(), 0, "{:?}", sim.events());
    let mut ended = BTreeMap::new();
    for (at, event) in sim.events() {
        let start = started.get(&event.id()).expect("an event for a started id");
        assert!(*at <= *start + bounds.resolution_timeout, "{event:?} late");
        assert!(ended.insert(event.id(), ()).is_none(), "a second event");
        if let impp_resolver::Event::Resolved { answer, .. } = event
            && !trusts_any
        {
            for endpoint in &answer.endpoints {
                assert!(!endpoint.security.is_secure(), "{endpoint:?} secure");
            }
        }
    }
    assert_eq!(ended.len(), started.len(), "every resolution ended");
    let resolver = sim.resolver_mut();
    assert_eq!(resolver.resolutions_in_flight(), 0);
    assert_eq!(resolver.stats().queries_in_flight, 0);
    assert_eq!(resolver.poll_timeout(), None);
    Ok(())
}

/// The largest single allocation a fuzz target may make: 512 MiB.
pub const ALLOCATION_CAP: usize = 512 << 20;

/// The fuzz targets' global allocator: the system's, except that an
/// allocation over [`ALLOCATION_CAP`] aborts, which libFuzzer reports as a
/// crash with its input. It stands in for `-malloc_limit_mb`, which needs a
/// sanitizer's malloc hooks, so that the fast runs without AddressSanitizer
/// still catch an answer that makes the machine allocate what a header
/// claims (S27).
pub struct CappedAllocator;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the cap only aborts before forwarding.
unsafe impl std::alloc::GlobalAlloc for CappedAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_CAP {
            std::process::abort();
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        if size > ALLOCATION_CAP {
            std::process::abort();
        }
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

/// A checker: panics when an invariant breaks on the input.
pub type Check = fn(&[u8]);

/// Every checker by the name of its fuzz target.
pub const TARGETS: [(&str, Check); 6] = [
    ("uri", uri),
    ("answer", answer),
    ("ordering", ordering),
    ("machine", machine),
    ("connect", connect),
    ("network", network),
];

/// Whether the connector may dial `addr` (S29), judged apart from its own
/// rule: never an unspecified, multicast or broadcast address or port 0;
/// under `Refuse`, no loopback, private, shared or link-local one.
fn dialable(addr: std::net::SocketAddr, policy: impp_resolver::connect::InternalAddresses) -> bool {
    use std::net::IpAddr;
    let ip = match addr.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let (never, internal) = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let never = o[0] == 0 || v4.is_multicast() || v4.is_broadcast();
            let internal = o[0] == 127
                || o[0] == 10
                || (o[0] == 172 && (16..32).contains(&o[1]))
                || (o[0] == 192 && o[1] == 168)
                || (o[0] == 169 && o[1] == 254)
                || (o[0] == 100 && (64..128).contains(&o[1]));
            (never, internal)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let never = v6.is_unspecified() || s[0] >> 8 == 0xff;
            let internal = v6.is_loopback() || s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfe80;
            (never, internal)
        }
    };
    let refuse = policy == impp_resolver::connect::InternalAddresses::Refuse;
    !never && addr.port() != 0 && !(internal && refuse)
}

/// The connector (S29) on arbitrary answers, attempt results and timings:
/// no panic, exactly one outcome, no attempt started after it, a cancel only
/// for an attempt started and still open, a win only for an open attempt,
/// and no timer once it has ended. Nothing is dialled: the checker plays
/// the network.
pub fn connect(data: &[u8]) {
    let _ = connect_steps(&mut Unstructured::new(data));
}

fn connect_steps(u: &mut Unstructured) -> arbitrary::Result<()> {
    use impp_resolver::connect::{
        AttemptFailure, AttemptId, ConnectAction, ConnectConfig, ConnectOutcome, Connector,
        InternalAddresses,
    };
    use impp_resolver::{Answer, Endpoint, Security, SecurityStatus, Via};
    let mut endpoints = Vec::new();
    for i in 0..u.int_in_range(0..=4)? {
        let addresses = (0..u.int_in_range(0..=3)?)
            .map(|_| {
                Ok(if u.arbitrary()? {
                    std::net::IpAddr::from(u.arbitrary::<[u8; 4]>()?)
                } else {
                    std::net::IpAddr::from(u.arbitrary::<[u8; 16]>()?)
                })
            })
            .collect::<arbitrary::Result<Vec<_>>>()?;
        // Now and then DNSSEC rules an endpoint out (S36, S37).
        let security = match u.int_in_range(0..=3)? {
            0 => Security {
                tlsa: Some(SecurityStatus::Bogus),
                ..Security::INSECURE
            },
            _ => Security::INSECURE,
        };
        endpoints.push(Endpoint {
            priority: 0,
            weight: 0,
            port: u.arbitrary()?,
            target: crate::records::name(&format!("t{i}.example.")),
            addresses,
            service: None,
            security,
            tlsa: Vec::new(),
        });
    }
    let answer = Answer {
        endpoints,
        omitted: 0,
        via: Via::Fallback {
            domain: crate::records::name("example."),
        },
        ttl: 0,
        from_cache: false,
        stale: false,
    };
    let config = ConnectConfig {
        attempt_delay: Duration::from_millis(u.int_in_range(0..=3_000)?),
        timeout: Duration::from_millis(u.int_in_range(0..=20_000)?),
        internal_addresses: if u.arbitrary()? {
            InternalAddresses::Refuse
        } else {
            InternalAddresses::Allow
        },
    };
    let mut dialled = Vec::new();
    let mut now = Instant::from_millis(u.int_in_range(0..=1_000)?);
    // Fed the finished answer, or (progressive) reports of the endpoints as
    // their addresses arrive, in any order, then the end of the resolution.
    let progressive: bool = u.arbitrary()?;
    let mut c = if progressive {
        Connector::waiting(now, &config)
    } else {
        Connector::new(now, &answer, &config)
    };
    // A resolution id for the reports (the connector does not read it).
    let id = {
        let mut r = Resolver::new(
            Config {
                servers: vec![SERVER],
                ..Config::default()
            },
            ChaCha20Rng::seed_from_u64(0),
        );
        r.resolve_srv(now, &crate::records::name("_x._tcp.example."))
            .expect("starts")
    };
    let mut resolved = !progressive;
    let mut open: Vec<AttemptId> = Vec::new();
    let mut outcomes = 0;
    let result = (|| {
        for _ in 0..u.int_in_range(0..=32)? {
            while let Some(action) = c.poll_action() {
                match action {
                    ConnectAction::Connect { id, addr, .. } => {
                        assert_eq!(outcomes, 0, "an attempt after the outcome");
                        assert!(!open.contains(&id), "attempt {id:?} started twice");
                        assert!(!dialled.contains(&addr), "{addr} dialled twice");
                        assert!(dialable(addr, config.internal_addresses), "{addr} dialled");
                        let ruled_out = answer.endpoints.iter().any(|e| {
                            !e.security.is_usable()
                                && e.addresses
                                    .iter()
                                    .any(|ip| SocketAddr::new(*ip, e.port) == addr)
                        });
                        let allowed = answer.endpoints.iter().any(|e| {
                            e.security.is_usable()
                                && e.addresses
                                    .iter()
                                    .any(|ip| SocketAddr::new(*ip, e.port) == addr)
                        });
                        assert!(
                            !ruled_out || allowed,
                            "{addr} dialled though DNSSEC ruled it out"
                        );
                        dialled.push(addr);
                        open.push(id);
                    }
                    ConnectAction::Cancel(id) => {
                        let at = open.iter().position(|o| *o == id);
                        assert!(at.is_some(), "cancel of {id:?}, not open");
                        open.retain(|o| *o != id);
                    }
                }
            }
            match c.poll_outcome() {
                Some(ConnectOutcome::Connected { id, .. }) => {
                    outcomes += 1;
                    assert!(open.contains(&id), "won by {id:?}, not open");
                    open.retain(|o| *o != id);
                }
                Some(ConnectOutcome::Failed(_)) => outcomes += 1,
                None => {}
            }
            assert!(outcomes <= 1, "two outcomes");
            if outcomes == 1 {
                assert!(open.is_empty(), "attempts left open: {open:?}");
                assert_eq!(c.poll_timeout(), None);
            }
            if !resolved && !answer.endpoints.is_empty() && u.ratio(1, 3)? {
                let index = u.choose_index(answer.endpoints.len())?;
                let mut endpoint = answer.endpoints[index].clone();
                let known = u.int_in_range(0..=endpoint.addresses.len())?;
                endpoint.addresses.truncate(known);
                let progress = impp_resolver::Progress {
                    id,
                    index,
                    endpoints: answer.endpoints.len(),
                    complete: known == answer.endpoints[index].addresses.len() && u.arbitrary()?,
                    endpoint,
                };
                c.handle_progress(now, &progress);
                continue;
            }
            if !resolved && u.ratio(1, 8)? {
                resolved = true;
                if u.arbitrary()? {
                    c.handle_resolved(now, &answer);
                } else {
                    c.handle_unresolved(now);
                }
                continue;
            }
            // Any attempt ever started, open or not, may report anything.
            let id = AttemptId::from_raw(u.int_in_range(0..=12)?);
            match u.int_in_range(0..=3)? {
                0 => c.handle_connected(now, id),
                1 => {
                    let failure = *u.choose(&[
                        AttemptFailure::Refused,
                        AttemptFailure::Unreachable,
                        AttemptFailure::TimedOut,
                        AttemptFailure::Other,
                    ])?;
                    c.handle_failed(now, id, failure);
                    // A failed attempt is over: it is never cancelled.
                    open.retain(|o| *o != id);
                }
                _ => {
                    if let Some(due) = c.poll_timeout() {
                        assert!(due >= now || outcomes == 0);
                        now = now.max(due);
                    }
                    c.handle_timeout(now);
                }
            }
        }
        Ok(())
    })();
    // Whatever happened, time running out ends it exactly once.
    if !resolved {
        c.handle_resolved(now, &answer);
    }
    while let Some(due) = c.poll_timeout() {
        now = now.max(due);
        c.handle_timeout(now);
    }
    while c.poll_action().is_some() {}
    if c.poll_outcome().is_some() {
        outcomes += 1;
    }
    assert_eq!(outcomes, 1, "exactly one outcome");
    result
}

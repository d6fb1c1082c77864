//! End-to-end resolutions over real loopback UDP against a real DNS server
//! (hickory-server, started by the test) serving `tests/zones/*.zone`.

use impp_test_support::records::{config, ip, name};
use impp_test_support::zone_server::{self, resolve_blocking};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use impp_resolver::DriverError;
use impp_resolver::blocking;
use impp_resolver::proto::op::{Message, ResponseCode};
use impp_resolver::{
    Answer, Clock, Config, Error, Event, Instant, Protocol, Resolver, SocketId, StartError, Uri,
    Via,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn server() -> SocketAddr {
    zone_server::example_zones()
}

/// Timeouts short enough for a test, long enough for a loaded machine.
fn quick_config(servers: &[SocketAddr]) -> Config {
    Config {
        attempt_timeout: Duration::from_millis(1_000),
        resolution_timeout: Duration::from_secs(5),
        ..config(servers)
    }
}

fn resolve(uri: &str, protocols: &[Protocol], fallback: Option<u16>) -> Result<Answer, Error> {
    resolve_blocking(quick_config(&[server()]), uri, protocols, fallback)
}

#[test]
fn priorities_weights_additional_section_and_cross_zone_target() {
    let answer = resolve("im:fred@example.com", &[Protocol::XMPP], None).unwrap();
    assert_eq!(
        answer.via,
        Via::Srv {
            owner: name("_im._xmpp.example.com."),
            index: 0
        }
    );
    let e = &answer.endpoints;
    assert_eq!(e.len(), 4);
    // S9: the three priority-10 targets first, in some order; then priority 20.
    let mut head: Vec<String> = e[..3].iter().map(|e| e.target.to_string()).collect();
    head.sort();
    assert_eq!(head, ["a.example.com.", "b.example.com.", "c.example.com."]);
    assert_eq!(e[3].target, name("v6only.example.net."));
    assert_eq!((e[3].priority, e[3].port), (20, 5223));
    // A cross-zone target with only AAAA: found by separate A/AAAA queries.
    assert_eq!(e[3].addresses, [ip("2001:db8::6")]);
    // In-zone targets: addresses from the additional section, IPv6 first (S17).
    let by_target: BTreeMap<String, Vec<IpAddr>> = e
        .iter()
        .map(|e| (e.target.to_string(), e.addresses.clone()))
        .collect();
    assert_eq!(
        by_target["a.example.com."],
        [ip("2001:db8::1"), ip("192.0.2.1")]
    );
    assert_eq!(by_target["b.example.com."], [ip("192.0.2.2")]);
    assert_eq!(by_target["c.example.com."], [ip("192.0.2.3")]);
    assert!(answer.ttl <= 300);
}

#[test]
fn weights_decide_who_comes_first_against_a_real_server() {
    // a: w60, b: w20, c: w0 → first-pick shares 600/801, 200/801, 1/801.
    let mut firsts: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..300 {
        let answer = resolve("im:fred@example.com", &[Protocol::XMPP], None).unwrap();
        *firsts
            .entry(answer.endpoints[0].target.to_string())
            .or_default() += 1;
    }
    let a = firsts.get("a.example.com.").copied().unwrap_or(0);
    let b = firsts.get("b.example.com.").copied().unwrap_or(0);
    let c = firsts.get("c.example.com.").copied().unwrap_or(0);
    assert_eq!(a + b + c, 300);
    // Expected a≈225, b≈75, c≈0.4: these bounds fail with odds below 1e-9.
    assert!((170..=275).contains(&a), "{firsts:?}");
    assert!((30..=130).contains(&b), "{firsts:?}");
    assert!(c <= 6, "{firsts:?}");
}

#[test]
fn nodata_is_its_own_error() {
    let e = resolve("pres:fred@example.com", &[Protocol::XMPP], None).unwrap_err();
    assert_eq!(
        e,
        Error::NoData {
            name: name("_pres._xmpp.example.com.")
        }
    );
}

#[test]
fn sole_dot_target_is_unavailable_and_never_falls_back() {
    // closed.example.com has an A record, but "." forbids the fallback (S11).
    let e = resolve("im:x@closed.example.com", &[Protocol::XMPP], Some(5222)).unwrap_err();
    assert_eq!(
        e,
        Error::Unavailable {
            name: name("_im._xmpp.closed.example.com.")
        }
    );
}

#[test]
fn nxdomain_falls_back_to_the_domain_address_when_enabled() {
    let answer = resolve(
        "im:x@fallback.example.com",
        &[Protocol::XMPP, Protocol::SIP],
        Some(5222),
    )
    .unwrap();
    assert_eq!(
        answer.via,
        Via::Fallback {
            domain: name("fallback.example.com.")
        }
    );
    assert_eq!(answer.endpoints.len(), 1);
    let e = &answer.endpoints[0];
    assert_eq!((e.priority, e.weight, e.port), (0, 0, 5222));
    assert_eq!(e.target, name("fallback.example.com."));
    assert_eq!(e.addresses, [ip("192.0.2.10")]);
}

#[test]
fn nxdomain_without_fallback_is_an_error() {
    let e = resolve("im:x@fallback.example.com", &[Protocol::XMPP], None).unwrap_err();
    assert_eq!(e.kind().as_str(), "nxdomain");
    let e = resolve("im:x@missing.example.com", &[Protocol::XMPP], Some(5222)).unwrap_err();
    assert_eq!(
        e,
        Error::NxDomain {
            name: name("missing.example.com.")
        }
    );
}

#[test]
fn second_protocol_is_used_when_the_first_has_no_records() {
    let answer = resolve(
        "im:x@sip-only.example.com",
        &[Protocol::XMPP, Protocol::SIP],
        None,
    )
    .unwrap();
    assert_eq!(
        answer.via,
        Via::Srv {
            owner: name("_im._sip.sip-only.example.com."),
            index: 1
        }
    );
    assert_eq!(answer.endpoints.len(), 1);
    assert_eq!(answer.endpoints[0].port, 5060);
    assert_eq!(answer.endpoints[0].addresses, [ip("192.0.2.5")]);
}

#[test]
fn target_that_is_a_cname_is_followed() {
    let answer = resolve("im:x@alias.example.com", &[Protocol::XMPP], None).unwrap();
    assert_eq!(answer.endpoints[0].target, name("chat.example.com."));
    assert_eq!(
        answer.endpoints[0].addresses,
        [ip("2001:db8::1"), ip("192.0.2.1")]
    );
}

#[test]
fn no_destination_is_refused_before_any_query() {
    let uri: Uri = "im:".parse().unwrap();
    let mut r = Resolver::new(quick_config(&[server()]), ChaCha20Rng::seed_from_u64(1));
    assert_eq!(
        r.resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None),
        Err(StartError::NoDestination)
    );
    assert!(r.poll_transmit().is_none());
}

#[test]
fn silent_server_times_out_by_the_deadline() {
    // A bound socket that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut cfg = quick_config(&[silent.local_addr().unwrap()]);
    cfg.attempt_timeout = Duration::from_millis(100);
    cfg.resolution_timeout = Duration::from_millis(300);
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let started = std::time::Instant::now();
    let e = blocking::resolve_uri(cfg, &uri, &[Protocol::XMPP], None).unwrap_err();
    assert!(
        matches!(e, DriverError::Resolve(Error::Timeout { .. })),
        "{e:?}"
    );
    // Not a timing assertion on speed: the deadline is a correctness bound.
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The machine's name for the one socket `drive` sends from: its configs
/// keep every query on it (`queries_per_socket: u32::MAX`).
const SOCKET: SocketId = SocketId::from_raw(0);

/// Drives `resolver` over `socket` until `count` events have arrived.
fn drive(resolver: &mut Resolver<ChaCha20Rng>, socket: &UdpSocket, count: usize) -> Vec<Event> {
    let clock = Clock::new();
    let now = || clock.now();
    let mut events = Vec::new();
    let mut buf = [0u8; 65_535];
    while events.len() < count {
        while let Some(t) = resolver.poll_transmit() {
            assert_eq!(t.socket, Some(SOCKET), "one socket for good");
            socket.send_to(&t.payload, t.server).unwrap();
        }
        events.extend(std::iter::from_fn(|| resolver.poll_event()));
        if events.len() >= count {
            break;
        }
        let deadline = resolver.poll_timeout().expect("work is in flight");
        let wait = deadline
            .saturating_duration_since(now())
            .max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait)).unwrap();
        if let Ok((len, from)) = socket.recv_from(&mut buf) {
            resolver.handle_datagram(now(), SOCKET, from, &buf[..len]);
        }
        resolver.handle_timeout(now());
    }
    events
}

#[test]
fn several_resolutions_in_flight_each_end_with_one_event() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut r = Resolver::new(
        Config {
            queries_per_socket: u32::MAX,
            ..quick_config(&[server()])
        },
        ChaCha20Rng::seed_from_u64(7),
    );
    let uris = [
        "im:fred@example.com",
        "pres:fred@example.com",
        "im:x@closed.example.com",
        "im:x@sip-only.example.com",
        "im:y@example.com",
    ];
    let mut ids = Vec::new();
    for u in uris {
        let uri: Uri = u.parse().unwrap();
        ids.push(
            r.resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP, Protocol::SIP], None)
                .unwrap(),
        );
    }
    let events = drive(&mut r, &socket, uris.len());
    let mut ended: Vec<_> = events.iter().map(Event::id).collect();
    ended.sort();
    assert_eq!(ended, ids);
    let kinds: BTreeMap<_, _> = events
        .iter()
        .map(|e| match e {
            Event::Resolved { id, .. } => (*id, "resolved"),
            Event::Failed { id, error } => (*id, error.kind().as_str()),
        })
        .collect();
    assert_eq!(kinds[&ids[0]], "resolved");
    assert_eq!(kinds[&ids[1]], "nodata");
    assert_eq!(kinds[&ids[2]], "unavailable");
    assert_eq!(kinds[&ids[3]], "resolved");
    assert_eq!(kinds[&ids[4]], "resolved");
    // Nothing is left once all have ended; the two example.com resolutions
    // shared their questions (S24) rather than doubling them.
    assert_eq!(r.resolutions_in_flight(), 0);
    assert_eq!(r.stats().queries_in_flight, 0);
    // Only the idle socket's linger is left (S28), and then nothing.
    let linger = r.poll_timeout().expect("the socket lingers");
    r.handle_timeout(linger);
    assert!(r.poll_close_socket().is_some());
    assert_eq!(r.stats().udp_sockets, 0);
    assert!(r.poll_timeout().is_none());
}

/// A man in the middle: the resolver's configured server. For every query it
/// gets the real answer, then first sends forgeries — a wrong id from the
/// right address, the right id from a wrong address, and a wrong question
/// with the right id and address — all saying NXDOMAIN, then the real answer.
fn start_forging_proxy(real: SocketAddr) -> SocketAddr {
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = front.local_addr().unwrap();
    std::thread::spawn(move || {
        let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        front
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 65_535];
        while let Ok((len, client)) = front.recv_from(&mut buf) {
            upstream.send_to(&buf[..len], real).unwrap();
            let (n, _) = upstream.recv_from(&mut buf).unwrap();
            let genuine = buf[..n].to_vec();
            let nxdomain = |mutate: &dyn Fn(&mut Message)| {
                let mut m = Message::from_vec(&genuine).unwrap();
                m.answers.clear();
                m.additionals.clear();
                m.metadata.response_code = ResponseCode::NXDomain;
                mutate(&mut m);
                m.to_vec().unwrap()
            };
            let wrong_id = nxdomain(&|m| m.metadata.id ^= 0x5A5A);
            let right_id = nxdomain(&|_| {});
            let wrong_question = nxdomain(&|m| m.queries[0].name = name("evil.example."));
            front.send_to(&wrong_id, client).unwrap();
            other.send_to(&right_id, client).unwrap();
            front.send_to(&wrong_question, client).unwrap();
            front.send_to(&genuine, client).unwrap();
        }
    });
    addr
}

#[test]
fn forged_answers_are_dropped_and_counted() {
    let proxy = start_forging_proxy(server());
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut r = Resolver::new(
        Config {
            queries_per_socket: u32::MAX,
            ..quick_config(&[proxy])
        },
        ChaCha20Rng::seed_from_u64(3),
    );
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let id = r
        .resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None)
        .unwrap();
    let events = drive(&mut r, &socket, 1);
    let Event::Resolved { id: done, answer } = &events[0] else {
        panic!("forgery won: {events:?}")
    };
    assert_eq!(*done, id);
    assert_eq!(answer.endpoints.len(), 4);
    let stats = r.stats();
    // hickory-server puts only the first SRV target's addresses (a's) in the
    // additional section, so: SRV, then A and AAAA for b, c and the
    // cross-zone target. Nine would mean the additional section was ignored.
    assert_eq!(stats.queries_sent, 7, "{stats:?}");
    assert_eq!(stats.answers_accepted, 7, "{stats:?}");
    // Each query drew a wrong-id and a wrong-source forgery (no such query
    // from that address) and a wrong-question one; none was accepted.
    assert_eq!(stats.dropped_unmatched, 14, "{stats:?}");
    assert_eq!(stats.dropped_wrong_question, 7, "{stats:?}");
    assert_eq!(
        stats.dropped_unmatched + stats.dropped_wrong_question + stats.answers_accepted,
        stats.datagrams_received
    );
}

#[test]
fn blocking_driver_fails_over_across_address_families() {
    // A silent server on IPv6 loopback, then the real one on IPv4: the driver
    // watches both sockets and moves on after the attempt timeout.
    let Ok(silent) = UdpSocket::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback on this machine: skipped");
        return;
    };
    let mut cfg = quick_config(&[silent.local_addr().unwrap(), server()]);
    cfg.attempt_timeout = Duration::from_millis(200);
    let uri: Uri = "im:x@sip-only.example.com".parse().unwrap();
    let answer = blocking::resolve_uri(cfg, &uri, &[Protocol::SIP], None).unwrap();
    assert_eq!(answer.endpoints[0].addresses, [ip("192.0.2.5")]);
    // The silent server really was asked first.
    let mut buf = [0u8; 512];
    silent.set_nonblocking(true).unwrap();
    assert!(
        silent.recv_from(&mut buf).is_ok(),
        "the IPv6 server got no query"
    );
}

#[test]
fn blocking_driver_resolves_plain_srv_names() {
    // S8: a plain RFC 2782 name through the same machine, no URI involved.
    let owner =
        impp_resolver::service::service_name("_im", "_sip", "sip-only.example.com").unwrap();
    let answer = blocking::resolve_srv(quick_config(&[server()]), &owner).unwrap();
    assert_eq!(answer.via, Via::Srv { owner, index: 0 });
    assert_eq!(answer.endpoints[0].port, 5060);
    assert_eq!(answer.endpoints[0].addresses, [ip("192.0.2.5")]);
}

/// A relay in front of `real` that counts the queries it passes on.
fn start_counting_relay(real: SocketAddr) -> (SocketAddr, Arc<AtomicU64>) {
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = front.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 65_535];
        while let Ok((len, client)) = front.recv_from(&mut buf) {
            counted.fetch_add(1, Ordering::SeqCst);
            upstream.send_to(&buf[..len], real).unwrap();
            let (n, _) = upstream.recv_from(&mut buf).unwrap();
            front.send_to(&buf[..n], client).unwrap();
        }
    });
    (addr, count)
}

#[test]
fn a_second_resolution_of_the_same_uri_sends_no_packet() {
    // S26: the reusable blocking client keeps its cache across calls.
    let (relay, queries) = start_counting_relay(server());
    let mut client = blocking::Client::new(quick_config(&[relay])).unwrap();
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let resolve = |client: &mut blocking::Client| {
        let id = client.start_uri(&uri, &[Protocol::XMPP], None).unwrap();
        client.wait(id).unwrap().unwrap()
    };
    let first = resolve(&mut client);
    // The relay counts a query when it reads it, which may be after the
    // answers came back (a resend queued behind another): wait for all.
    let sent = client.resolver().stats().queries_sent;
    let patience = std::time::Instant::now() + Duration::from_secs(10);
    while queries.load(Ordering::SeqCst) < sent && std::time::Instant::now() < patience {
        std::thread::sleep(Duration::from_millis(1));
    }
    let asked = queries.load(Ordering::SeqCst);
    assert_eq!(asked, sent);
    assert!(!first.from_cache);
    let second = resolve(&mut client);
    assert_eq!(
        queries.load(Ordering::SeqCst),
        asked,
        "no packet reached the server"
    );
    assert!(second.from_cache);
    let targets = |a: &Answer| {
        let mut t: Vec<(String, Vec<IpAddr>)> = a
            .endpoints
            .iter()
            .map(|e| (e.target.to_string(), e.addresses.clone()))
            .collect();
        t.sort();
        t
    };
    assert_eq!(targets(&second), targets(&first));
    assert!(second.ttl <= first.ttl);
    let stats = client.resolver().stats();
    assert_eq!(stats.queries_sent, asked);
    // Every question of the first resolution (SRV, then A and AAAA of the
    // three targets without glue; resends aside) was answered from memory
    // in the second, the NODATA ones too.
    assert_eq!(
        stats.cache_hits + stats.cache_negative_hits,
        asked - stats.retransmissions,
        "{stats:?}"
    );
    assert_eq!(asked - stats.retransmissions, 7, "{stats:?}");
}

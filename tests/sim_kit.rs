//! The public simulation kit (`impp_resolver::sim`, feature `sim`): it
//! answers as a real server does, replays a seed byte for byte, and its
//! forger is never believed.

use std::net::SocketAddr;
use std::time::Duration;

use impp_resolver::proto::op::{Message, ResponseCode};
use impp_resolver::proto::rr::RecordType;
use impp_resolver::sim::{
    Chance, Failure, Faults, Forger, Network, PacketKind, Server, Simulation, Zone, reply_to,
};
use impp_resolver::{
    Answer, Config, Error, ErrorKind, Event, Instant, Protocol, Resolver, Transport, Uri,
};
use impp_test_support::zone_server::{self, resolve_blocking};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const COM: &str = include_str!("zones/example.com.zone");
const NET: &str = include_str!("zones/example.net.zone");

/// Every URI the fixtures answer, with its protocols and fallback.
const CASES: [(&str, &[Protocol], Option<u16>); 10] = [
    ("im:fred@example.com", &[Protocol::XMPP], None),
    ("pres:fred@example.com", &[Protocol::XMPP], None),
    ("im:x@closed.example.com", &[Protocol::XMPP], Some(5222)),
    ("im:x@fallback.example.com", &[Protocol::XMPP], Some(5222)),
    ("im:x@fallback.example.com", &[Protocol::XMPP], None),
    ("im:x@missing.example.com", &[Protocol::XMPP], Some(5222)),
    (
        "im:x@sip-only.example.com",
        &[Protocol::XMPP, Protocol::SIP],
        None,
    ),
    ("im:x@alias.example.com", &[Protocol::XMPP], None),
    ("im:x@big.example.com", &[Protocol::XMPP], None),
    ("im:y@example.com", &[Protocol::XMPP], None),
];

const S1: &str = "192.0.2.53:53";

fn zones() -> Vec<Zone> {
    vec![
        Zone::parse("example.com.", COM).unwrap(),
        Zone::parse("example.net.", NET).unwrap(),
    ]
}

fn config(servers: Vec<SocketAddr>) -> Config {
    Config {
        servers,
        attempt_timeout: Duration::from_millis(1_000),
        resolution_timeout: Duration::from_secs(5),
        ..Config::default()
    }
}

/// What a result says, whatever the draw: each endpoint (priority, port,
/// target, addresses in order) sorted, or the error's kind.
fn shape(result: &Result<Answer, Error>) -> Result<Vec<String>, ErrorKind> {
    match result {
        Ok(answer) => {
            let mut endpoints: Vec<String> = answer
                .endpoints
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {} {} {:?}",
                        e.priority,
                        e.weight,
                        e.port,
                        e.target.to_ascii().to_lowercase(),
                        e.addresses
                    )
                })
                .collect();
            endpoints.sort();
            Ok(endpoints)
        }
        Err(e) => Err(e.kind()),
    }
}

/// One resolution of `uri` on `network`, to its single event.
fn simulate(
    network: Network,
    seed: u64,
    uri: &str,
    protocols: &[Protocol],
    fallback: Option<u16>,
) -> (Result<Answer, Error>, Simulation<ChaCha20Rng>) {
    let resolver = Resolver::new(
        config(network.addresses()),
        ChaCha20Rng::seed_from_u64(seed),
    );
    let mut sim = Simulation::new(resolver, network, seed);
    let uri: Uri = uri.parse().unwrap();
    sim.resolve_uri(&uri, protocols, fallback).unwrap();
    sim.run().unwrap();
    assert_eq!(sim.events().len(), 1, "{:?}", sim.events());
    let result = match &sim.events()[0].1 {
        Event::Resolved { answer, .. } => Ok(answer.clone()),
        Event::Failed { error, .. } => Err(error.clone()),
    };
    (result, sim)
}

#[test]
fn the_kit_answers_as_hickory_server_does() {
    let real = zone_server::example_zones();
    for (uri, protocols, fallback) in CASES {
        let network = Network::new(vec![Server::new(S1.parse().unwrap(), zones())]);
        let (ours, _) = simulate(network, 1, uri, protocols, fallback);
        let theirs = resolve_blocking(config(vec![real]), uri, protocols, fallback);
        assert_eq!(shape(&ours), shape(&theirs), "{uri}");
    }
}

#[test]
fn the_big_set_goes_over_tcp_even_split_anywhere() {
    let faults = Faults {
        split_tcp: true,
        ..Faults::default()
    };
    let network = Network::new(vec![
        Server::new(S1.parse().unwrap(), zones()).with_faults(faults),
    ]);
    let (result, sim) = simulate(network, 3, "im:x@big.example.com", &[Protocol::XMPP], None);
    assert_eq!(
        result.unwrap().endpoints.len(),
        40,
        "every record of the set"
    );
    let tcp = |kind| {
        sim.trace()
            .iter()
            .filter(|p| p.kind == kind && p.transport == Transport::Tcp)
            .count()
    };
    assert_eq!(tcp(PacketKind::Query), 1);
    assert!(tcp(PacketKind::Answer) > 2, "the answer came in pieces");
}

#[test]
fn a_seeded_run_replays_byte_for_byte() {
    let network = || {
        let faults = Faults {
            truncate: Chance::percent(20),
            split_tcp: true,
            close_tcp: Chance::percent(10),
            ..Faults::lossy(Chance::percent(30))
        };
        Network::new(vec![
            Server::new(S1.parse().unwrap(), zones()).with_faults(faults.clone()),
            Server::new("192.0.2.54:53".parse().unwrap(), zones()).with_faults(faults),
        ])
        .with_forger(Forger::new(Chance::percent(50)))
    };
    let run = |seed| {
        let resolver = Resolver::new(
            config(network().addresses()),
            ChaCha20Rng::seed_from_u64(seed),
        );
        let mut sim = Simulation::new(resolver, network(), seed);
        for (uri, protocols, fallback) in CASES {
            let uri: Uri = uri.parse().unwrap();
            sim.resolve_uri(&uri, protocols, fallback).unwrap();
        }
        sim.run().unwrap();
        (sim.trace().to_vec(), format!("{:?}", sim.events()))
    };
    let (trace, events) = run(5);
    assert!(trace.len() > 20, "{} packets", trace.len());
    assert_eq!(
        run(5),
        (trace.clone(), events),
        "the same seed, the same run"
    );
    assert_ne!(run(6).0, trace, "another seed, another run");
}

#[test]
fn the_forger_is_never_believed() {
    let mut forged = 0;
    let mut resolved = 0;
    for seed in 0..300 {
        let network = Network::new(vec![
            Server::new(S1.parse().unwrap(), zones())
                .with_faults(Faults::lossy(Chance::percent(20))),
        ])
        .with_forger(Forger::new(Chance::ALWAYS));
        let (uri, protocols, fallback) = CASES[seed as usize % CASES.len()];
        let (result, sim) = simulate(network, seed, uri, protocols, fallback);
        assert_eq!(sim.poisoned_endpoints(), 0, "seed {seed}");
        forged += sim.counts().forged;
        resolved += u64::from(result.is_ok());
    }
    assert!(forged > 300, "{forged} forgeries delivered");
    assert!(resolved > 150, "{resolved} of 300 resolved through it");
}

#[test]
fn servfail_with_an_ede_reaches_the_error() {
    let faults = Faults {
        failure: Some(Failure {
            chance: Chance::ALWAYS,
            rcode: ResponseCode::ServFail,
            ede: Some(22),
        }),
        ..Faults::default()
    };
    let network = Network::new(vec![
        Server::new(S1.parse().unwrap(), zones()).with_faults(faults),
    ]);
    let (result, _) = simulate(network, 1, "im:fred@example.com", &[Protocol::XMPP], None);
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServFail);
    let text = format!("{error:?}");
    assert!(text.contains("22"), "the EDE is named: {text}");
}

#[test]
fn dead_broken_and_closing_servers_fail_as_they_should() {
    let cases = [
        (
            Faults {
                silent: true,
                ..Faults::default()
            },
            ErrorKind::Timeout,
        ),
        (
            Faults {
                truncate: Chance::ALWAYS,
                truncate_tcp: true,
                ..Faults::default()
            },
            ErrorKind::Truncated,
        ),
    ];
    for (faults, kind) in cases {
        let network = Network::new(vec![
            Server::new(S1.parse().unwrap(), zones()).with_faults(faults.clone()),
        ]);
        let (result, sim) = simulate(network, 1, "im:fred@example.com", &[Protocol::XMPP], None);
        assert_eq!(result.unwrap_err().kind(), kind, "{faults:?}");
        assert!(sim.resolver().resolutions_in_flight() == 0);
    }
    // A server that closes every TCP connection: the truncated answer is
    // never had, and the resolution still ends once.
    let faults = Faults {
        close_tcp: Chance::ALWAYS,
        ..Faults::default()
    };
    let network = Network::new(vec![
        Server::new(S1.parse().unwrap(), zones()).with_faults(faults),
    ]);
    let (result, sim) = simulate(network, 1, "im:x@big.example.com", &[Protocol::XMPP], None);
    assert!(result.is_err());
    assert!(sim.trace().iter().any(|p| p.kind == PacketKind::Closed));
}

#[test]
fn answers_carry_what_authoritative_servers_put_in_them() {
    let zones = zones();
    let ask = |name: &str, rtype: RecordType, edns: bool| {
        let mut query = Message::query();
        query.metadata.id = 77;
        query.add_query(impp_resolver::proto::op::Query::query(
            name.parse().unwrap(),
            rtype,
        ));
        if edns {
            let mut e = impp_resolver::proto::op::Edns::new();
            e.set_max_payload(1232);
            query.set_edns(e);
        }
        impp_resolver::sim::answer(&zones, &query.to_vec().unwrap(), false).unwrap()
    };
    // In-zone targets' addresses in the additional section, AA set.
    let m = ask("_im._xmpp.example.com.", RecordType::SRV, true);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 4);
    assert_eq!(m.additionals.len(), 4, "a: A+AAAA, b: A, c: A");
    // NXDOMAIN and NODATA with the zone's SOA.
    let m = ask("nothing.example.com.", RecordType::A, true);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    let m = ask("_pres._xmpp.example.com.", RecordType::SRV, true);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    // An empty non-terminal exists: NODATA, not NXDOMAIN.
    let m = ask("_xmpp.example.com.", RecordType::SRV, true);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    // A CNAME chain inside the zone is followed.
    let m = ask("chat.example.com.", RecordType::A, true);
    assert_eq!(m.answers.len(), 2);
    // Outside every zone: REFUSED.
    let m = ask("example.org.", RecordType::A, true);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    // Too long for 512 bytes without EDNS: TC, no records.
    let m = ask("_im._xmpp.big.example.com.", RecordType::SRV, false);
    assert!(m.metadata.truncation);
    assert!(m.answers.is_empty());
}

#[test]
fn reply_to_answers_a_transmit_by_hand() {
    let zones = zones();
    let config = config(vec![S1.parse().unwrap()]);
    let mut resolver = Resolver::new(config, ChaCha20Rng::seed_from_u64(2));
    let now = impp_resolver::Instant::ZERO;
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    resolver
        .resolve_uri(now, &uri, &[Protocol::XMPP], None)
        .unwrap();
    let mut rounds = 0;
    while let Some(transmit) = resolver.poll_transmit() {
        rounds += 1;
        let reply = reply_to(&transmit, &zones).unwrap();
        resolver.handle_datagram(now, transmit.socket.unwrap(), transmit.server, &reply);
        assert!(rounds < 10);
    }
    match resolver.poll_event() {
        Some(Event::Resolved { answer, .. }) => assert_eq!(answer.endpoints.len(), 4),
        other => panic!("{other:?}"),
    }
    let stats = resolver.stats();
    assert_eq!(stats.answers_accepted, rounds, "{stats:?}");
    assert_eq!(stats.dropped_unmatched + stats.dropped_wrong_question, 0);
}

/// `Event` and `Answer` are `Arbitrary` (feature `arbitrary`), for tests of
/// code that consumes them: both outcomes, endpoints with names and
/// addresses, and errors of many kinds come out of random bytes, and
/// everything a consumer calls on them works.
#[test]
fn arbitrary_events_cover_what_consumers_meet() {
    use arbitrary::{Arbitrary, Unstructured};
    use rand_core::Rng;
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (mut resolved, mut named, mut kinds) = (0, 0, std::collections::BTreeSet::new());
    for _ in 0..2_000 {
        let mut bytes = vec![0; 256];
        rng.fill_bytes(&mut bytes);
        let mut u = Unstructured::new(&bytes);
        let Ok(event) = Event::arbitrary(&mut u) else {
            continue;
        };
        match &event {
            Event::Resolved { answer, .. } => {
                resolved += 1;
                named += answer
                    .endpoints
                    .iter()
                    .filter(|e| e.target.num_labels() > 0 && !e.addresses.is_empty())
                    .count();
                for endpoint in &answer.endpoints {
                    let _ = (endpoint.certificate_names(), endpoint.security.to_string());
                }
            }
            Event::Failed { error, .. } => {
                kinds.insert(format!("{:?}", error.kind()));
                assert!(!error.to_string().is_empty());
            }
        }
        let mut u = Unstructured::new(&bytes);
        let _ = Answer::arbitrary(&mut u).unwrap();
    }
    assert!(
        (500..1_500).contains(&resolved),
        "{resolved} of 2,000 resolved"
    );
    assert!(named > 100, "{named} endpoints with a name and addresses");
    assert!(kinds.len() >= 8, "error kinds: {kinds:?}");
}

#[test]
fn edns_intolerant_and_poisoning_servers_are_survived() {
    // FORMERR to EDNS: asked again without it (S21), and resolved.
    let faults = Faults {
        no_edns: true,
        ..Faults::default()
    };
    let network = Network::new(vec![
        Server::new(S1.parse().unwrap(), zones()).with_faults(faults),
    ]);
    let (result, sim) = simulate(network, 1, "im:fred@example.com", &[Protocol::XMPP], None);
    assert_eq!(result.unwrap().endpoints.len(), 4);
    assert!(sim.resolver().stats().edns_retries > 0);
    // Every answer carries records for other names: none is used (S26).
    let faults = Faults {
        stray: Chance::ALWAYS,
        ..Faults::default()
    };
    for (uri, protocols, fallback) in CASES {
        let network = Network::new(vec![
            Server::new(S1.parse().unwrap(), zones()).with_faults(faults.clone()),
        ]);
        let (_, sim) = simulate(network, 2, uri, protocols, fallback);
        assert!(sim.counts().stray > 0, "{uri}");
        assert_eq!(sim.poisoned_endpoints(), 0, "{uri}: {:?}", sim.events());
        assert!(sim.anomalies().is_empty(), "{:?}", sim.anomalies());
    }
}

#[test]
fn a_scripted_reply_overrides_the_records() {
    use impp_resolver::proto::rr::rdata::SRV;
    use impp_resolver::proto::rr::{Name, RData, Record};
    use impp_resolver::sim::{Planted, Reply};
    // An attacker's zone that answers its own SRV name with a set owned
    // by a victim's name: the resolver must not take it for the victim.
    let planted = Planted::default();
    let victim = Name::from_ascii("_im._xmpp.example.com.").unwrap();
    let attacker = Name::from_ascii("_im._xmpp.evil.example.").unwrap();
    let lie = Reply {
        answers: vec![Record::from_rdata(
            victim.clone(),
            300,
            RData::SRV(SRV::new(0, 0, planted.port, planted.target.clone())),
        )],
        ..Reply::default()
    };
    let evil = Zone::new(Name::from_ascii("evil.example.").unwrap()).with_reply(
        attacker,
        RecordType::SRV,
        lie,
    );
    let mut all = zones();
    all.push(evil);
    let network = Network::new(vec![Server::new(S1.parse().unwrap(), all)]);
    let resolver = Resolver::new(config(network.addresses()), ChaCha20Rng::seed_from_u64(4));
    let mut sim = Simulation::new(resolver, network, 4);
    for uri in ["im:m@evil.example", "im:fred@example.com"] {
        let uri: Uri = uri.parse().unwrap();
        sim.resolve_uri(&uri, &[Protocol::XMPP], None).unwrap();
        sim.run().unwrap();
    }
    assert_eq!(sim.events().len(), 2);
    // The lie answered the attacker's question (the victim's set at
    // another name is no answer to it), and the victim's stayed true.
    assert!(matches!(&sim.events()[0].1, Event::Failed { .. }));
    assert_eq!(sim.poisoned_endpoints(), 0);
}

/// The time an input gives is the time the machine counts its own timers
/// from, whichever of its parts the input reaches. Here a start answered
/// from the cache ends, on the way, a resolution long overdue: its sockets
/// then linger from this input, not from the last packet. (Found by the
/// `network` fuzz target: a linger deadline a second after the last packet,
/// asked for long after it.)
#[test]
fn no_input_leaves_a_timeout_before_its_own_time() {
    let zones = zones();
    let server: SocketAddr = S1.parse().unwrap();
    let mut r = Resolver::new(config(vec![server]), ChaCha20Rng::seed_from_u64(3));
    let absent: Uri = "im:a@nosuch.example.com".parse().unwrap();
    let silent: Uri = "im:b@example.com".parse().unwrap();
    // Asked and answered: a name that does not exist, kept by the cache.
    let start = Instant::ZERO;
    r.resolve_uri(start, &absent, &[Protocol::XMPP], None)
        .unwrap();
    let query = r.poll_transmit().unwrap();
    let reply = reply_to(&query, &zones).unwrap();
    r.handle_datagram(start, query.socket.unwrap(), query.server, &reply);
    assert!(matches!(r.poll_event(), Some(Event::Failed { .. })));
    // Asked and never answered: its socket stays open.
    let asked = start + Duration::from_millis(100);
    r.resolve_uri(asked, &silent, &[Protocol::XMPP], None)
        .unwrap();
    assert!(r.poll_transmit().is_some());
    // Long past its deadline, no timeout handled yet: the first name again.
    let late = start + Duration::from_secs(6);
    r.resolve_uri(late, &absent, &[Protocol::XMPP], None)
        .unwrap();
    let mut events = 0;
    while let Some(event) = r.poll_event() {
        assert!(matches!(event, Event::Failed { .. }), "{event:?}");
        events += 1;
    }
    assert_eq!(events, 2, "the overdue one, and the cache's answer");
    if let Some(timeout) = r.poll_timeout() {
        assert!(timeout >= late, "{timeout:?} before {late:?}");
    }
}

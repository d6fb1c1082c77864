//! The state machine driven through virtual time by scripted servers: what a
//! real network cannot be made to do on demand (SERVFAIL, silence, answers
//! out of order, CNAME games, late duplicates). Deterministic: seeded rng,
//! no sockets, no clock.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use impp_resolver::proto::op::ResponseCode;
use impp_resolver::proto::rr::{Record, RecordType};
use impp_resolver::{
    AddressOrder, CacheConfig, Config, Error, Event, Instant, NameError, Protocol, Resolver,
    ServerFailure, StartError, Transport, Uri, Via,
};
use impp_test_support::scripted::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

#[test]
fn spec_vector_servfail_is_an_error_and_never_falls_back() {
    // S16: SERVFAIL is an error, even with fallback enabled and an A record.
    let zone = Zone::default()
        .on(
            "_im._xmpp.example.com.",
            RecordType::SRV,
            Script::Rcode(ResponseCode::ServFail),
        )
        .on(
            "example.com.",
            RecordType::A,
            Script::Answer(vec![a("example.com.", [192, 0, 2, 10])]),
        );
    let mut sim = Sim::resolve(
        config(&[S1]),
        "im:fred@example.com",
        &[Protocol::XMPP],
        Some(5222),
        &zone,
    );
    assert_eq!(
        sim.error(),
        Error::ServFail {
            name: name("_im._xmpp.example.com."),
            servers: vec![(S1, ServerFailure::rcode(2))],
        }
    );
    assert_eq!(sim.asked_type(RecordType::A), 0, "no fallback lookups");
    sim.assert_clean();
}

#[test]
fn spec_vector_nxdomain_falls_back_on_default_port() {
    let zone = Zone::default()
        .on("_im._xmpp.example.com.", RecordType::SRV, Script::NxDomain)
        .host_v4("example.com.", [192, 0, 2, 10]);
    let mut sim = Sim::resolve(
        config(&[S1]),
        "im:fred@example.com",
        &[Protocol::XMPP],
        Some(5222),
        &zone,
    );
    let answer = sim.answer();
    assert_eq!(
        answer.via,
        Via::Fallback {
            domain: name("example.com.")
        }
    );
    assert_eq!(answer.endpoints.len(), 1);
    assert_eq!(answer.endpoints[0].port, 5222);
    assert_eq!(
        answer.endpoints[0].addresses,
        [IpAddr::from([192, 0, 2, 10])]
    );
    sim.assert_clean();
}

#[test]
fn spec_vector_sole_dot_record_means_no_address_lookups() {
    let zone = Zone::default().on(
        "_im._xmpp.example.com.",
        RecordType::SRV,
        Script::Answer(vec![srv("_im._xmpp.example.com.", 0, 0, 0, ".")]),
    );
    let mut sim = Sim::resolve(
        config(&[S1]),
        "im:fred@example.com",
        &[Protocol::XMPP],
        Some(5222),
        &zone,
    );
    assert_eq!(sim.error().kind().as_str(), "unavailable");
    assert_eq!(
        sim.asked_type(RecordType::A) + sim.asked_type(RecordType::AAAA),
        0
    );
    sim.assert_clean();
}

#[test]
fn servfail_moves_on_to_the_next_server() {
    let zone = basic_zone().on_server(
        S1,
        "_im._xmpp.example.com.",
        RecordType::SRV,
        Script::Rcode(ResponseCode::ServFail),
    );
    let mut sim = Sim::resolve_xmpp(config(&[S1, S2]), &zone);
    assert_eq!(sim.answer().endpoints[0].target, name("xmpp.example.com."));
    let srv_servers: Vec<SocketAddr> = sim
        .asked
        .iter()
        .filter(|q| q.rtype == RecordType::SRV)
        .map(|q| q.server)
        .collect();
    assert_eq!(srv_servers, [S1, S2]);
    sim.assert_clean();
}

#[test]
fn refused_everywhere_reports_the_rcode() {
    let zone = Zone::default().on(
        "_im._xmpp.example.com.",
        RecordType::SRV,
        Script::Rcode(ResponseCode::Refused),
    );
    let mut sim = Sim::resolve_xmpp(config(&[S1, S2]), &zone);
    assert_eq!(
        sim.error(),
        Error::Refused {
            name: name("_im._xmpp.example.com."),
            rcode: 5,
            servers: vec![(S1, ServerFailure::rcode(5)), (S2, ServerFailure::rcode(5))],
        }
    );
    sim.assert_clean();
}

#[test]
fn silent_server_is_skipped_after_the_attempt_timeout() {
    let zone = basic_zone().on_server(
        S1,
        "_im._xmpp.example.com.",
        RecordType::SRV,
        Script::Silent,
    );
    let mut sim = Sim::resolve_xmpp(config(&[S1, S2]), &zone);
    assert_eq!(sim.answer().endpoints.len(), 1);
    let second = sim.asked.iter().find(|q| q.server == S2).unwrap();
    assert_eq!(
        second.at,
        Instant::ZERO + Duration::from_secs(2),
        "after one attempt timeout"
    );
    sim.assert_clean();
}

#[test]
fn all_servers_silent_fails_by_the_resolution_deadline() {
    let zone = Zone::default().on("_im._xmpp.example.com.", RecordType::SRV, Script::Silent);
    let mut cfg = config(&[S1, S2]);
    cfg.attempt_timeout = Duration::from_secs(4);
    cfg.resolution_timeout = Duration::from_secs(5);
    let mut sim = Sim::resolve_xmpp(cfg, &zone);
    assert_eq!(
        sim.error(),
        Error::Timeout {
            name: name("_im._xmpp.example.com."),
            servers: vec![(S1, ServerFailure::Timeout), (S2, ServerFailure::Timeout)],
        }
    );
    // Ended exactly at the deadline, not at the second attempt's end (8 s).
    assert_eq!(sim.events[0].0, Instant::ZERO + Duration::from_secs(5));
    sim.assert_clean();
}

#[test]
fn preferred_protocol_wins_whatever_order_answers_arrive_in() {
    let zone = basic_zone().on(
        "_im._sip.example.com.",
        RecordType::SRV,
        Script::Answer(vec![srv(
            "_im._sip.example.com.",
            0,
            0,
            5060,
            "sip.example.com.",
        )]),
    );
    for reverse in [false, true] {
        let mut sim = Sim::new(config(&[S1]));
        sim.reverse = reverse;
        sim.start(
            "im:fred@example.com",
            &[Protocol::XMPP, Protocol::SIP],
            None,
        );
        sim.run(&zone);
        let answer = sim.answer();
        assert_eq!(
            answer.via,
            Via::Srv {
                owner: name("_im._xmpp.example.com."),
                index: 0
            }
        );
        // Both SRV queries went out at once (S7 policy: parallel).
        assert_eq!(sim.asked_type(RecordType::SRV), 2);
        // The answer of the protocol that lost is late, not unmatched —
        // unless it came first, and was taken while XMPP's was pending.
        let stats = sim.resolver.stats();
        let late = if reverse { 0 } else { 1 };
        assert_eq!((stats.late_answers, stats.dropped_unmatched), (late, 0));
        assert!(
            sim.asked.iter().all(|q| q.name != "sip.example.com."),
            "SIP targets not looked up"
        );
        sim.assert_clean();
    }
}

#[test]
fn a_protocol_listed_twice_is_asked_once_and_the_order_holds() {
    // XMPP has no records here, SIP has: listed XMPP, XMPP, SIP, XMPP, the
    // SIP record is found after XMPP's absence, each asked once (S24), and
    // the answer names SIP's place in the caller's list.
    let zone = one_srv_zone(
        "_im._sip.example.com.",
        5060,
        "sip.example.com.",
        [192, 0, 2, 7],
    );
    let mut sim = Sim::new(config(&[S1]));
    let xmpp = Protocol::XMPP;
    sim.start(
        "im:fred@example.com",
        &[xmpp.clone(), xmpp.clone(), Protocol::SIP, xmpp],
        None,
    );
    sim.run(&zone);
    let answer = sim.answer();
    assert_eq!(
        answer.via,
        Via::Srv {
            owner: name("_im._sip.example.com."),
            index: 2
        }
    );
    assert_eq!(answer.endpoints.len(), 1);
    assert_eq!(sim.asked_type(RecordType::SRV), 2);
    sim.assert_clean();
}

#[test]
fn error_on_the_preferred_protocol_is_not_papered_over() {
    // Policy (like S16): a failing preferred protocol is an error, not "no records".
    let zone = Zone::default()
        .on(
            "_im._xmpp.example.com.",
            RecordType::SRV,
            Script::Rcode(ResponseCode::ServFail),
        )
        .on(
            "_im._sip.example.com.",
            RecordType::SRV,
            Script::Answer(vec![srv(
                "_im._sip.example.com.",
                0,
                0,
                5060,
                "sip.example.com.",
            )]),
        );
    let mut sim = Sim::resolve(
        config(&[S1]),
        "im:fred@example.com",
        &[Protocol::XMPP, Protocol::SIP],
        None,
        &zone,
    );
    assert_eq!(sim.error().kind().as_str(), "servfail");
    sim.assert_clean();
}

#[test]
fn nxdomain_on_every_protocol_without_fallback() {
    let mut sim = Sim::resolve(
        config(&[S1]),
        "im:fred@example.com",
        &[Protocol::XMPP, Protocol::SIP],
        None,
        &Zone::default(),
    );
    assert_eq!(
        sim.error(),
        Error::NxDomain {
            name: name("_im._sip.example.com.")
        }
    );
    sim.assert_clean();
}

#[test]
fn a_repeated_protocol_keeps_nxdomain_and_names_the_last_listed() {
    // XMPP, SIP, XMPP, all NXDOMAIN: the repeat is not asked, yet the
    // error is still NXDOMAIN (not NODATA, as an unasked lookup would say)
    // and names the owner listed last, as when every place was asked.
    let mut sim = Sim::resolve(
        config(&[S1]),
        "im:fred@example.com",
        &[Protocol::XMPP, Protocol::SIP, Protocol::XMPP],
        None,
        &Zone::default(),
    );
    assert_eq!(
        sim.error(),
        Error::NxDomain {
            name: name("_im._xmpp.example.com.")
        }
    );
    assert_eq!(sim.asked_type(RecordType::SRV), 2);
    sim.assert_clean();
}

#[test]
fn srv_owner_cname_into_another_zone_is_asked_again() {
    // Knot/BIND style: the CNAME alone; the client asks for the canonical
    // name (S25) without prepending _im._xmpp again.
    let zone = Zone::default()
        .on(
            "_im._xmpp.example.com.",
            RecordType::SRV,
            Script::Answer(vec![cname("_im._xmpp.example.com.", "im.hosting.example.")]),
        )
        .on(
            "im.hosting.example.",
            RecordType::SRV,
            Script::Answer(vec![srv(
                "im.hosting.example.",
                0,
                0,
                5222,
                "xmpp.example.com.",
            )]),
        )
        .host_v4("xmpp.example.com.", [192, 0, 2, 1]);
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    let answer = sim.answer();
    assert_eq!(
        answer.via,
        Via::Srv {
            owner: name("_im._xmpp.example.com."),
            index: 0
        }
    );
    assert_eq!(
        answer.endpoints[0].addresses,
        [IpAddr::from([192, 0, 2, 1])]
    );
    sim.assert_clean();
}

#[test]
fn cname_loop_across_queries_is_a_typed_error() {
    let zone = cname_loop_zone();
    let uncached = Config {
        cache: None,
        ..config(&[S1])
    };
    let mut sim = Sim::resolve_xmpp(uncached, &zone);
    let looped = Error::CnameLoop {
        name: name("_im._xmpp.example.com."),
    };
    assert_eq!(sim.error(), looped);
    // The hop limit (8) bounds the queries: the first plus eight re-asks.
    assert_eq!(sim.asked_type(RecordType::SRV), 9);
    sim.assert_clean();
    // With the cache, the two links are asked once each and the other six
    // hops are taken from it (S25, S26).
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(sim.error(), looped);
    assert_eq!(sim.asked_type(RecordType::SRV), 2);
    sim.assert_clean();
}

fn srv_with_additional(additional: Vec<Record>) -> Zone {
    Zone::default()
        .on(
            "_im._xmpp.example.com.",
            RecordType::SRV,
            Script::WithAdditional(
                vec![srv(
                    "_im._xmpp.example.com.",
                    0,
                    0,
                    5222,
                    "xmpp.example.com.",
                )],
                additional,
            ),
        )
        .on(
            "xmpp.example.com.",
            RecordType::A,
            Script::Answer(vec![a("xmpp.example.com.", [192, 0, 2, 1])]),
        )
        .on(
            "xmpp.example.com.",
            RecordType::AAAA,
            Script::Answer(vec![aaaa("xmpp.example.com.", "2001:db8::1")]),
        )
}

#[test]
fn additional_addresses_of_the_exact_target_save_queries() {
    // S14: the additional section's A/AAAA for the target itself are used
    // (owner compared case-insensitively, as DNS names are).
    let zone = srv_with_additional(vec![
        a("XMPP.example.com.", [203, 0, 113, 7]),
        aaaa("xmpp.example.com.", "2001:db8::7"),
    ]);
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(
        sim.asked_type(RecordType::A) + sim.asked_type(RecordType::AAAA),
        0
    );
    assert_eq!(sim.first_addresses(), ["2001:db8::7", "203.0.113.7"]);
    sim.assert_clean();
}

#[test]
fn additional_addresses_of_other_names_are_ignored() {
    // S14 / RFC 5452 §6: an address for another name proves nothing about the
    // target, even one that looks related.
    let zone = srv_with_additional(vec![
        a("mail.example.com.", [203, 0, 113, 66]),
        a("xmpp.example.com.evil.", [203, 0, 113, 66]),
    ]);
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(sim.asked_type(RecordType::A), 1);
    assert_eq!(sim.asked_type(RecordType::AAAA), 1);
    assert_eq!(sim.first_addresses(), ["2001:db8::1", "192.0.2.1"]);
    sim.assert_clean();
}

#[test]
fn large_additional_section_gives_each_target_its_own_addresses() {
    // S14 with more than 32 additional records, where the owners are
    // indexed rather than scanned: the target's addresses, in order, exact
    // duplicates dropped, case ignored; 60 decoys for other names ignored.
    let mut additional: Vec<Record> = (0..60u8)
        .map(|i| a(&format!("decoy{i}.example.com."), [198, 51, 100, i]))
        .collect();
    additional.insert(10, a("Xmpp.Example.Com.", [203, 0, 113, 1]));
    additional.insert(30, a("xmpp.example.com.", [203, 0, 113, 2]));
    additional.insert(50, a("XMPP.EXAMPLE.COM.", [203, 0, 113, 1]));
    let zone = srv_with_additional(additional);
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(
        sim.asked_type(RecordType::A) + sim.asked_type(RecordType::AAAA),
        0
    );
    assert_eq!(sim.first_addresses(), ["203.0.113.1", "203.0.113.2"]);
    sim.assert_clean();
}

#[test]
fn ipv4_first_when_configured() {
    let zone = basic_zone().on(
        "xmpp.example.com.",
        RecordType::AAAA,
        Script::Answer(vec![
            aaaa("xmpp.example.com.", "2001:db8::1"),
            aaaa("xmpp.example.com.", "2001:db8::2"),
        ]),
    );
    let mut cfg = config(&[S1]);
    cfg.address_order = AddressOrder::Ipv4First;
    let sim = Sim::resolve_xmpp(cfg, &zone);
    assert_eq!(
        sim.first_addresses(),
        ["192.0.2.1", "2001:db8::1", "2001:db8::2"]
    );
}

#[test]
fn same_question_from_two_resolutions_is_asked_once() {
    let mut sim = Sim::new(config(&[S1]));
    let first = sim.start_xmpp();
    let second = sim.start("im:alice@EXAMPLE.com", &[Protocol::XMPP], None);
    sim.run(&basic_zone());
    assert_eq!(sim.asked_type(RecordType::SRV), 1);
    assert_eq!(sim.asked_type(RecordType::A), 1);
    let mut ended: Vec<_> = sim.events.iter().map(|(_, e)| e.id()).collect();
    ended.sort();
    assert_eq!(ended, [first, second]);
    assert!(
        sim.events
            .iter()
            .all(|(_, e)| matches!(e, Event::Resolved { .. }))
    );
    sim.assert_clean();
}

#[test]
fn duplicated_answers_are_dropped_without_a_second_event() {
    let mut sim = Sim::new(config(&[S1]));
    sim.duplicate = true;
    sim.start_xmpp();
    sim.run(&basic_zone());
    assert_eq!(sim.answer().endpoints.len(), 1);
    let stats = sim.resolver.stats();
    assert_eq!(stats.answers_accepted, 3);
    // Each second copy came after its question ended: late, not forged.
    assert_eq!((stats.late_answers, stats.dropped_unmatched), (3, 0));
    sim.assert_clean();
}

#[test]
fn truncated_everywhere_is_a_typed_error() {
    // TC=1 over UDP, and again over TCP: never used, never looped on.
    let zone = Zone::default().on("_im._xmpp.example.com.", RecordType::SRV, Script::Truncated);
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(
        sim.error(),
        Error::Truncated {
            name: name("_im._xmpp.example.com."),
            servers: vec![(S1, ServerFailure::Truncated)],
        }
    );
    assert_eq!(
        sim.how(),
        [(Transport::Udp, true), (Transport::Tcp, true)],
        "one UDP query, one TCP retry, nothing more"
    );
    assert_eq!(sim.closed, [S1]);
    sim.assert_clean();
}

#[test]
fn endpoint_cap_limits_results_and_lookups() {
    let records: Vec<Record> = (0..10)
        .map(|i| {
            srv(
                "_im._xmpp.example.com.",
                i,
                0,
                5222,
                &format!("h{i}.example.com."),
            )
        })
        .collect();
    let zone = Zone::default().on(
        "_im._xmpp.example.com.",
        RecordType::SRV,
        Script::Answer(records),
    );
    let mut cfg = config(&[S1]);
    cfg.max_endpoints = 3;
    let sim = Sim::resolve_xmpp(cfg, &zone);
    let targets: Vec<String> = sim
        .answer()
        .endpoints
        .iter()
        .map(|e| e.target.to_string())
        .collect();
    assert_eq!(
        targets,
        ["h0.example.com.", "h1.example.com.", "h2.example.com."]
    );
    assert_eq!(sim.asked_type(RecordType::A), 3);
    assert_eq!(
        sim.answer().omitted,
        7,
        "the Answer says what was cut (S13)"
    );
    // Their lookups failed (NXDOMAIN): the endpoints stay, without addresses.
    assert!(
        sim.answer()
            .endpoints
            .iter()
            .all(|e| e.addresses.is_empty())
    );
}

#[test]
fn resolution_cap_is_a_typed_error() {
    let mut cfg = config(&[S1]);
    cfg.max_resolutions = 2;
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(1));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    r.resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None)
        .unwrap();
    r.resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None)
        .unwrap();
    assert_eq!(
        r.resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None),
        Err(StartError::TooManyResolutions)
    );
}

#[test]
fn no_servers_is_a_typed_error() {
    let mut r = Resolver::new(Config::default(), ChaCha20Rng::seed_from_u64(1));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    assert_eq!(
        r.resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None),
        Err(StartError::NoServers)
    );
}

/// A URI whose owner name cannot be built is refused for that, before
/// anything in the config is looked at, with the cache on or off: the
/// cache's keys and the plan's names are checked by the same rules at the
/// same step.
#[test]
fn a_bad_owner_name_is_the_first_error_with_or_without_a_cache() {
    let domain = [&"b".repeat(60)[..]; 4].join(".");
    let pres: Uri = format!("pres:x@{domain}").parse().unwrap();
    for cache in [Some(CacheConfig::default()), None] {
        let config = Config {
            cache,
            ..Config::default()
        };
        let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(1));
        assert_eq!(
            r.resolve_uri(Instant::ZERO, &pres, &[Protocol::XMPP], Some(5222)),
            Err(StartError::InvalidName(NameError::NameTooLong)),
            "no servers either, but the name is the first error"
        );
    }
}

#[test]
fn general_srv_names_resolve_too() {
    let zone = one_srv_zone(
        "_xmpp-server._tcp.example.com.",
        5269,
        "xmpp.example.com.",
        [192, 0, 2, 1],
    );
    let mut sim = Sim::new(config(&[S1]));
    let owner =
        impp_resolver::service::service_name("_xmpp-server", "_tcp", "example.com").unwrap();
    sim.resolver.resolve_srv(Instant::ZERO, &owner).unwrap();
    sim.run(&zone);
    assert_eq!(sim.answer().endpoints[0].port, 5269);
    sim.assert_clean();
}

#[test]
fn query_ids_are_fresh_and_spread() {
    // S18: ids come from the rng, not a counter. (Each is answered before
    // the next starts, so nothing waits its turn.)
    let mut r = Resolver::new(config(&[S1]), ChaCha20Rng::seed_from_u64(9));
    let mut ids = Vec::new();
    for i in 0..200 {
        let uri: Uri = format!("im:fred@host{i}.example").parse().unwrap();
        let now = Instant::from_millis(i);
        r.resolve_uri(now, &uri, &[Protocol::XMPP], None).unwrap();
        let t = r.poll_transmit().unwrap();
        ids.push(u16::from_be_bytes([t.payload[0], t.payload[1]]));
        let answer = impp_test_support::records::srv_answer_with_glue(&t.payload, 60);
        r.handle_datagram(now, t.socket.unwrap(), S1, &answer);
        assert!(matches!(r.poll_event(), Some(Event::Resolved { .. })));
    }
    let sequential = ids
        .windows(2)
        .filter(|w| w[1] == w[0].wrapping_add(1))
        .count();
    assert!(sequential < 3, "ids look sequential: {ids:?}");
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert!(unique.len() > 190);
}

#[test]
fn same_seed_replays_the_same_run() {
    let records: Vec<Record> = (0..8)
        .map(|i| {
            srv(
                "_im._xmpp.example.com.",
                0,
                i * 10,
                5222,
                &format!("h{i}.example.com."),
            )
        })
        .collect();
    let zone = Zone::default().on(
        "_im._xmpp.example.com.",
        RecordType::SRV,
        Script::Answer(records),
    );
    let run = || {
        let mut sim = Sim::new(config(&[S1]));
        sim.start_xmpp();
        sim.run(&zone);
        (sim.asked.clone(), sim.answer())
    };
    assert_eq!(run(), run());
}

#[test]
fn query_cap_reached_mid_resolution_degrades_instead_of_hanging() {
    // S27: three targets need six address queries, but only three may be in
    // flight. The lookups over the cap fail at once; the resolution still
    // ends with its one event, and the targets without addresses stay listed.
    let records: Vec<Record> = (0..3)
        .map(|i| {
            srv(
                "_im._xmpp.example.com.",
                i,
                0,
                5222,
                &format!("h{i}.example.com."),
            )
        })
        .collect();
    let mut zone = Zone::default().on(
        "_im._xmpp.example.com.",
        RecordType::SRV,
        Script::Answer(records),
    );
    for i in 0..3 {
        let host = format!("h{i}.example.com.");
        zone = zone
            .on(
                &host,
                RecordType::A,
                Script::Answer(vec![a(&host, [192, 0, 2, i as u8])]),
            )
            .on(&host, RecordType::AAAA, Script::NoData);
    }
    let mut cfg = config(&[S1]);
    cfg.max_queries = 3;
    let mut sim = Sim::resolve_xmpp(cfg, &zone);
    assert_eq!(
        sim.asked_type(RecordType::A) + sim.asked_type(RecordType::AAAA),
        3
    );
    let addresses: Vec<usize> = sim
        .answer()
        .endpoints
        .iter()
        .map(|e| e.addresses.len())
        .collect();
    assert_eq!(addresses, [1, 1, 0]);
    sim.assert_clean();
}

#[test]
fn no_protocols_and_no_fallback_is_refused() {
    let mut r = Resolver::new(config(&[S1]), ChaCha20Rng::seed_from_u64(1));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    assert_eq!(
        r.resolve_uri(Instant::ZERO, &uri, &[], None),
        Err(StartError::NoProtocols)
    );
    // With a fallback port, no protocols means "addresses only".
    let sim = Sim::resolve(
        config(&[S1]),
        "im:fred@example.com",
        &[],
        Some(5222),
        &Zone::default().on(
            "example.com.",
            RecordType::A,
            Script::Answer(vec![a("example.com.", [192, 0, 2, 10])]),
        ),
    );
    assert_eq!(
        sim.answer().via,
        Via::Fallback {
            domain: name("example.com.")
        }
    );
}

#[test]
fn many_resolutions_on_one_silent_question_share_it_and_all_time_out() {
    // 20 000 resolutions of one URI: one SRV query per attempt on the wire
    // (S24), and at the deadline each ends exactly once (releasing a shared
    // question is logarithmic per resolution, not linear).
    const N: usize = 20_000;
    let zone = Zone::default().on("_im._xmpp.example.com.", RecordType::SRV, Script::Silent);
    let mut cfg = config(&[S1, S2]);
    cfg.attempt_timeout = Duration::from_secs(1);
    // The deadline falls during the second attempt, so every resolution
    // releases the still-open question itself.
    cfg.resolution_timeout = Duration::from_millis(1_500);
    let mut sim = Sim::new(cfg);
    for _ in 0..N {
        sim.start_xmpp();
    }
    sim.run(&zone);
    assert_eq!(sim.events.len(), N);
    assert!(sim.events.iter().all(|(_, e)| matches!(
        e,
        Event::Failed {
            error: Error::Timeout { .. },
            ..
        }
    )));
    // Each server asked once, all ended at the deadline, and the abandoned
    // question was not retried (nobody waits for it any more).
    assert_eq!(sim.asked.len(), 2);
    let deadline = Instant::ZERO + Duration::from_millis(1_500);
    assert!(sim.events.iter().all(|(t, _)| *t == deadline));
    sim.assert_clean();
}

#[test]
fn duplicate_address_records_are_listed_once() {
    // S12: exact duplicates in an RRset are dropped; answer order is kept.
    let zone = basic_zone().on(
        "xmpp.example.com.",
        RecordType::A,
        Script::Answer(vec![
            a("xmpp.example.com.", [192, 0, 2, 9]),
            a("xmpp.example.com.", [192, 0, 2, 1]),
            a("XMPP.example.com.", [192, 0, 2, 9]),
        ]),
    );
    let sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(sim.first_addresses(), ["192.0.2.9", "192.0.2.1"]);
}

/// An SRV answer that walks `len` CNAMEs from `from`, ending at `to`.
fn cname_chain(from: &str, prefix: &str, len: usize, to: &str) -> Vec<Record> {
    let mut names: Vec<String> = vec![from.to_string()];
    names.extend((1..len).map(|i| format!("{prefix}{i}.example.net.")));
    names.push(to.to_string());
    names.windows(2).map(|w| cname(&w[0], &w[1])).collect()
}

#[test]
fn cname_hops_add_up_across_answers() {
    // S25, default limit 8: two answers of 5 CNAMEs each make 10 hops,
    // too many even though each answer alone is within the limit.
    let owner = "_im._xmpp.example.com.";
    let long = Zone::default()
        .on(
            owner,
            RecordType::SRV,
            Script::Answer(cname_chain(owner, "a", 5, "mid.example.net.")),
        )
        .on(
            "mid.example.net.",
            RecordType::SRV,
            Script::Answer(cname_chain("mid.example.net.", "b", 5, "end.example.net.")),
        )
        .on(
            "end.example.net.",
            RecordType::SRV,
            Script::Answer(vec![srv(
                "end.example.net.",
                0,
                0,
                5222,
                "xmpp.example.com.",
            )]),
        )
        .host_v4("xmpp.example.com.", [192, 0, 2, 1]);
    let sim = Sim::resolve_xmpp(config(&[S1]), &long);
    assert_eq!(sim.error(), Error::CnameLoop { name: name(owner) });

    // 4 + 4 = 8 hops is within the limit.
    let exact = Zone::default()
        .on(
            owner,
            RecordType::SRV,
            Script::Answer(cname_chain(owner, "a", 4, "mid.example.net.")),
        )
        .on(
            "mid.example.net.",
            RecordType::SRV,
            Script::Answer({
                let mut records = cname_chain("mid.example.net.", "b", 4, "end.example.net.");
                records.push(srv("end.example.net.", 0, 0, 5222, "xmpp.example.com."));
                records
            }),
        )
        .host_v4("xmpp.example.com.", [192, 0, 2, 1]);
    let sim = Sim::resolve_xmpp(config(&[S1]), &exact);
    assert_eq!(sim.first_addresses(), ["192.0.2.1"]);
}

#[test]
fn the_length_limit_is_the_name_built_with_the_protocols_asked() {
    // 243 text octets: `_im._xmpp.` makes 255 octets in wire form, which
    // fits; `_pres._xmpp.` 257, which does not (S4). The parser no longer
    // reserves the longest prefix for every URI.
    let domain = [&"b".repeat(60)[..]; 4].join(".");
    let mut sim = Sim::new(config(&[S1]));
    let im: Uri = format!("im:x@{domain}").parse().unwrap();
    let asked = sim
        .resolver
        .resolve_uri(Instant::ZERO, &im, &[Protocol::XMPP], None);
    assert!(asked.is_ok(), "{asked:?}");
    let pres: Uri = format!("pres:x@{domain}").parse().unwrap();
    let refused = sim
        .resolver
        .resolve_uri(Instant::ZERO, &pres, &[Protocol::XMPP], None);
    assert_eq!(
        refused,
        Err(StartError::InvalidName(NameError::NameTooLong))
    );
    assert_eq!(
        refused.unwrap_err().to_string(),
        "invalid name: query name longer than 255 octets"
    );
    // A shorter protocol label fits the same domain.
    let short = Protocol::new("_x").unwrap();
    assert!(
        sim.resolver
            .resolve_uri(Instant::ZERO, &pres, &[short], None)
            .is_ok()
    );
}

/// A query whose question ended before the driver took it is never handed
/// out: a driver that takes its closes before its transmits (the order is
/// the driver's to choose) would otherwise send it from a socket it had
/// just closed, opening that socket again for good. Found by the `network`
/// fuzz target on the simulation kit.
#[test]
fn no_query_leaves_from_a_socket_already_handed_back() {
    let config = Config {
        // Every query fills its socket: it closes when that query ends.
        queries_per_socket: 1,
        ..config(&[S1])
    };
    let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(1));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let now = Instant::ZERO;
    let id = r
        .resolve_uri(now, &uri, &[Protocol::XMPP, Protocol::SIP], None)
        .unwrap();
    // Ended before the driver took its queries.
    assert!(r.cancel(id));
    let mut closed = Vec::new();
    while let Some(socket) = r.poll_close_socket() {
        closed.push(socket);
    }
    assert_eq!(closed.len(), 2, "both queries' sockets handed back");
    while let Some(t) = r.poll_transmit() {
        assert!(
            !closed.contains(&t.socket.unwrap()),
            "a query from a socket handed back: {t:?}"
        );
    }
    assert_eq!(r.stats().udp_sockets, 0);
}

//! The cache at the machine's level (SPEC S26, S27): what a resolution
//! leaves behind, for how long, and what a later one takes from it. Time
//! is virtual: answers arrive 1 ms after their query.

use impp_resolver::proto::rr::rdata::SRV;
use impp_resolver::proto::rr::{RData, Record, RecordType};
use impp_resolver::{Answer, Config, Error, Event, Instant, Protocol, Via};
use impp_test_support::records::*;
use impp_test_support::scripted::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const URI: &str = "im:fred@example.com";

fn at(secs: f64) -> Instant {
    Instant::from_micros((secs * 1e6).round() as u64)
}

/// A zone where `_im._xmpp.example.com.` has one target with an IPv4
/// address; its AAAA is NODATA with an SOA (so cacheable, for 60 s).
fn zone() -> Zone {
    basic_zone()
}

/// Starts resolving [`URI`] at `now`; when the cache answers it whole, the
/// answer, which must then be ready with no packet to send.
fn from_memory(sim: &mut Sim, now: Instant) -> Option<Answer> {
    sim.now = now;
    let id = sim.start(URI, &[Protocol::XMPP], None);
    match sim.resolver.poll_event() {
        Some(Event::Resolved { id: ended, answer }) => {
            assert_eq!(ended, id);
            assert!(
                sim.resolver.poll_transmit().is_none(),
                "a hit sends nothing"
            );
            assert!(answer.from_cache);
            Some(answer)
        }
        Some(other) => panic!("{other:?}"),
        None => None,
    }
}

/// The questions sent since `from` (an index into `sim.asked`), as
/// (name, type).
fn asked_since(sim: &Sim, from: usize) -> Vec<(String, RecordType)> {
    sim.asked[from..]
        .iter()
        .map(|q| (q.name.clone(), q.rtype))
        .collect()
}

#[test]
fn a_repeated_resolution_sends_nothing_and_is_ready_at_once() {
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone());
    let first = sim.answer();
    assert!(!first.from_cache);
    assert_eq!(first.ttl, 60, "the AAAA NODATA's SOA minimum is the lowest");
    let sent = sim.asked.len();
    assert_eq!(sent, 3, "SRV, A, AAAA");

    let again = from_memory(&mut sim, at(10.0)).expect("served from the cache");
    assert_eq!(again.endpoints, first.endpoints);
    assert_eq!(again.via, first.via);
    // What is left of the shortest entry: 60 s from 2 ms, 10 s later.
    assert_eq!(again.ttl, 50);
    assert_eq!(sim.asked.len(), sent);
    let stats = sim.resolver.stats();
    assert_eq!(stats.cache_hits, 2, "SRV and A");
    assert_eq!(stats.cache_negative_hits, 1, "AAAA NODATA");
    assert_eq!(stats.cache_insertions, 3);
    assert_eq!(stats.cache_entries, 3);
    assert!(stats.cache_bytes > 0);
    sim.assert_clean();
}

#[test]
fn entries_expire_at_the_exact_second_and_a_partial_hit_asks_only_the_rest() {
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone());
    // The AAAA NODATA came at 2 ms with 60 s to live.
    assert!(from_memory(&mut sim, at(60.001_999)).is_some());
    let sent = sim.asked.len();
    assert!(from_memory(&mut sim, at(60.002)).is_none(), "expired");
    sim.run(&zone());
    // SRV (300 s) and A (300 s) are still fresh: only AAAA goes out.
    assert_eq!(
        asked_since(&sim, sent),
        [("xmpp.example.com.".to_string(), RecordType::AAAA)]
    );
    let Event::Resolved { answer, .. } = &sim.events.last().unwrap().1 else {
        panic!("{:?}", sim.events);
    };
    assert!(answer.from_cache, "partly");
    assert_eq!(answer.endpoints[0].addresses, [ip("192.0.2.1")]);
    sim.assert_clean();
}

#[test]
fn the_cache_can_be_off_and_can_be_cleared() {
    let off = Config {
        cache: None,
        ..config(&[S1])
    };
    let mut sim = Sim::resolve_xmpp(off, &zone());
    assert!(from_memory(&mut sim, at(1.0)).is_none());
    assert_eq!(sim.resolver.stats().cache_entries, 0);

    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone());
    sim.resolver.clear_cache();
    assert_eq!(sim.resolver.stats().cache_entries, 0);
    assert!(from_memory(&mut sim, at(1.0)).is_none());
}

#[test]
fn a_hit_ignores_letter_case_under_0x20() {
    let config = Config {
        case_randomization: true,
        ..config(&[S1])
    };
    let mut sim = Sim::resolve_xmpp(config, &zone());
    sim.now = at(1.0);
    sim.start("im:fred@EXAMPLE.com", &[Protocol::XMPP], None);
    let Some(Event::Resolved { answer, .. }) = sim.resolver.poll_event() else {
        panic!("served from the cache")
    };
    assert!(answer.from_cache);
    // The owner is the name as first asked, not its 0x20 wire form.
    let Via::Srv { owner, .. } = &answer.via else {
        panic!("an SRV answer: {:?}", answer.via)
    };
    assert_eq!(owner.to_ascii(), "_im._xmpp.example.com.");
    for endpoint in &answer.endpoints {
        assert_eq!(
            endpoint.service.as_ref().unwrap().to_ascii(),
            "_im._xmpp.example.com."
        );
    }
}

#[test]
fn ttl_zero_and_top_bit_ttls_are_not_stored() {
    for ttl in [0, 0x8000_0000] {
        let zone = Zone::default()
            .on(
                "_im._xmpp.example.com.",
                RecordType::SRV,
                Script::Answer(vec![Record::from_rdata(
                    name("_im._xmpp.example.com."),
                    ttl,
                    RData::SRV(SRV::new(0, 0, 5222, name("xmpp.example.com."))),
                )]),
            )
            .host_v4("xmpp.example.com.", [192, 0, 2, 1]);
        let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
        assert_eq!(sim.answer().ttl, 0, "{ttl:#x} counts as 0");
        let sent = sim.asked.len();
        assert!(from_memory(&mut sim, at(1.0)).is_none());
        sim.run(&zone);
        assert_eq!(
            asked_since(&sim, sent),
            [("_im._xmpp.example.com.".to_string(), RecordType::SRV)],
            "only the SRV question, whose TTL was {ttl:#x}, is asked again"
        );
    }
}

#[test]
fn a_negative_answer_without_an_soa_is_not_stored() {
    use impp_resolver::proto::op::ResponseCode;
    let zone = Zone::default().on(
        "_im._xmpp.example.com.",
        RecordType::SRV,
        Script::Rcode(ResponseCode::NXDomain),
    );
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert!(matches!(sim.error(), Error::NxDomain { .. }));
    sim.now = at(1.0);
    sim.start(URI, &[Protocol::XMPP], None);
    assert!(sim.resolver.poll_event().is_none());
    assert!(sim.resolver.poll_transmit().is_some(), "asked again");

    // With the SOA (the zone's default answer) it is kept, for the SOA's
    // MINIMUM of 60 s.
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &Zone::default());
    assert!(matches!(sim.error(), Error::NxDomain { .. }));
    sim.now = at(59.0);
    sim.start(URI, &[Protocol::XMPP], None);
    assert!(matches!(
        sim.resolver.poll_event(),
        Some(Event::Failed {
            error: Error::NxDomain { .. },
            ..
        })
    ));
    assert!(sim.resolver.poll_transmit().is_none());
    assert_eq!(sim.resolver.stats().cache_negative_hits, 1);
}

#[test]
fn nxdomain_through_a_cname_belongs_to_the_chains_last_name() {
    let zone = Zone::default()
        .on(
            "_im._xmpp.example.com.",
            RecordType::SRV,
            Script::Answer(vec![cname("_im._xmpp.example.com.", "gone.example.net.")]),
        )
        .on("gone.example.net.", RecordType::SRV, Script::NxDomain);
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert!(matches!(sim.error(), Error::NxDomain { .. }));
    assert_eq!(sim.asked.len(), 2);
    // Both names are answered from memory now: the alias by its link, the
    // last name by the NXDOMAIN.
    for owner in ["_im._xmpp.example.com.", "gone.example.net."] {
        sim.resolver.resolve_srv(at(1.0), &name(owner)).unwrap();
        assert!(
            matches!(
                sim.resolver.poll_event(),
                Some(Event::Failed {
                    error: Error::NxDomain { .. },
                    ..
                })
            ),
            "{owner}"
        );
    }
    // A name the chain did not pass through is not.
    sim.resolver
        .resolve_srv(at(1.0), &name("_im._xmpp.gone.example.net."))
        .unwrap();
    assert!(sim.resolver.poll_event().is_none());
    assert_eq!(sim.asked.len(), 2);
}

#[test]
fn additional_addresses_ride_only_with_their_srv_set() {
    let target = "xmpp.example.com.";
    let with_glue = |owner: &str| {
        Script::WithAdditional(
            vec![srv(owner, 0, 0, 5222, target)],
            vec![a(target, [192, 0, 2, 7])],
        )
    };
    let zone = Zone::default()
        .on(
            "_im._xmpp.example.com.",
            RecordType::SRV,
            with_glue("_im._xmpp.example.com."),
        )
        .on(
            "_im._xmpp.example.org.",
            RecordType::SRV,
            Script::Answer(vec![srv("_im._xmpp.example.org.", 0, 0, 5222, target)]),
        )
        .host_v4(target, [192, 0, 2, 1]);
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(sim.first_addresses(), ["192.0.2.7"]);
    assert_eq!(
        sim.asked.len(),
        1,
        "the additional section was enough (S14)"
    );
    // Again: the SRV entry brings its addresses along.
    let again = from_memory(&mut sim, at(1.0)).expect("wholly cached");
    assert_eq!(again.endpoints[0].addresses, [ip("192.0.2.7")]);
    // Another SRV set with the same target: the glue never answers its
    // A/AAAA questions (RFC 2181 §5.4.1).
    sim.now = at(2.0);
    sim.start("im:fred@example.org", &[Protocol::XMPP], None);
    let sent = sim.asked.len();
    sim.run(&zone);
    let asked = asked_since(&sim, 0);
    assert!(
        asked.contains(&(target.to_string(), RecordType::A)),
        "{asked:?}"
    );
    assert!(sent >= 1);
    let Event::Resolved { answer, .. } = &sim.events.last().unwrap().1 else {
        panic!("{:?}", sim.events);
    };
    assert_eq!(answer.endpoints[0].addresses, [ip("192.0.2.1")]);
}

#[test]
fn foreign_records_in_an_answer_are_never_served() {
    // The SRV answer carries records for other names in every section, and
    // a CNAME off its chain: none of it may answer another question.
    let owner = "_im._xmpp.example.com.";
    let zone = Zone::default()
        .on(
            owner,
            RecordType::SRV,
            Script::WithAdditional(
                vec![
                    srv(owner, 0, 0, 5222, "xmpp.example.com."),
                    a("victim.example.org.", [203, 0, 113, 66]),
                    cname("_im._xmpp.example.org.", "evil.example.net."),
                    srv("_im._xmpp.example.org.", 0, 0, 1, "evil.example.net."),
                ],
                vec![
                    a("victim.example.org.", [203, 0, 113, 66]),
                    a("xmpp.example.com.", [192, 0, 2, 1]),
                ],
            ),
        )
        .on(
            "_im._xmpp.example.org.",
            RecordType::SRV,
            Script::Answer(vec![srv(
                "_im._xmpp.example.org.",
                0,
                0,
                5222,
                "victim.example.org.",
            )]),
        )
        .host_v4("victim.example.org.", [192, 0, 2, 99]);
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(sim.first_addresses(), ["192.0.2.1"]);
    sim.now = at(1.0);
    sim.start("im:fred@example.org", &[Protocol::XMPP], None);
    assert!(
        sim.resolver.poll_event().is_none(),
        "nothing of it was cached"
    );
    let sent = sim.asked.len();
    sim.run(&zone);
    assert_eq!(
        asked_since(&sim, sent)[0],
        ("_im._xmpp.example.org.".to_string(), RecordType::SRV)
    );
    let Event::Resolved { answer, .. } = &sim.events.last().unwrap().1 else {
        panic!("{:?}", sim.events);
    };
    assert_eq!(answer.endpoints[0].port, 5222);
    assert_eq!(answer.endpoints[0].addresses, [ip("192.0.2.99")]);
}

#[test]
fn every_hit_draws_the_weighted_order_afresh() {
    // S10, S26: two targets of equal weight come first about equally
    // often, on hits as on the first answer.
    let owner = "_im._xmpp.example.com.";
    let zone = Zone::default()
        .on(
            owner,
            RecordType::SRV,
            Script::Answer(vec![
                srv(owner, 0, 10, 5222, "a.example.com."),
                srv(owner, 0, 10, 5222, "b.example.com."),
            ]),
        )
        .host_v4("a.example.com.", [192, 0, 2, 1])
        .host_v4("b.example.com.", [192, 0, 2, 2]);
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    let mut a_first = 0;
    for i in 0..1000 {
        let answer = from_memory(&mut sim, at(1.0 + f64::from(i) * 0.001)).expect("cached");
        if answer.endpoints[0].target == name("a.example.com.") {
            a_first += 1;
        }
    }
    // Binomial(1000, 1/2): outside 430..=570 has odds below 1e-5.
    assert!((430..=570).contains(&a_first), "{a_first}");
}

#[test]
fn cached_chains_still_stop_at_the_hop_limit() {
    let zone = cname_loop_zone();
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert!(matches!(sim.error(), Error::CnameLoop { .. }));
    // Now wholly from memory: the loop is found without a packet.
    sim.now = at(1.0);
    sim.start(URI, &[Protocol::XMPP], None);
    assert!(matches!(
        sim.resolver.poll_event(),
        Some(Event::Failed {
            error: Error::CnameLoop { .. },
            ..
        })
    ));
    assert!(sim.resolver.poll_transmit().is_none());
}

#[test]
fn the_entry_bound_holds_under_many_names() {
    let config = Config {
        cache: Some(impp_resolver::CacheConfig {
            max_entries: 50,
            ..Default::default()
        }),
        ..config(&[S1])
    };
    let mut zone = Zone::default();
    for i in 0..200 {
        let owner = format!("_im._xmpp.d{i}.example.com.");
        zone = zone.on(
            &owner,
            RecordType::SRV,
            Script::Answer(vec![srv(&owner, 0, 0, 5222, "xmpp.example.com.")]),
        );
    }
    let mut sim = Sim::new(config);
    for i in 0..200 {
        sim.start(
            &format!("im:fred@d{i}.example.com"),
            &[Protocol::XMPP],
            None,
        );
        sim.run(&zone);
        assert!(sim.resolver.stats().cache_entries <= 50);
    }
    let stats = sim.resolver.stats();
    assert_eq!(stats.cache_entries, 50);
    assert!(stats.cache_evictions >= 150, "{stats:?}");
}

fn serving_stale() -> Config {
    Config {
        cache: Some(impp_resolver::CacheConfig {
            serve_stale: Some(impp_resolver::ServeStale::default()),
            ..Default::default()
        }),
        ..config(&[S1])
    }
}

/// Drives the resolver, the servers silent, until an event comes.
fn until_event(sim: &mut Sim) -> (Instant, Event) {
    loop {
        while sim.resolver.poll_transmit().is_some() {}
        if let Some(event) = sim.resolver.poll_event() {
            return (sim.now, event);
        }
        sim.now = sim.resolver.poll_timeout().expect("something to wait for");
        sim.resolver.handle_timeout(sim.now);
    }
}

#[test]
fn silent_servers_get_the_stale_answer_at_the_client_timer() {
    // S31: everything expired long ago (the SRV after 300 s).
    let mut sim = Sim::resolve_xmpp(serving_stale(), &zone());
    let warm = sim.answer();
    sim.now = at(1000.0);
    sim.start(URI, &[Protocol::XMPP], None);
    let sent = sim.asked.len();
    sim.run(&Zone::always(Script::Silent));
    let (when, event) = sim.events.last().unwrap().clone();
    assert_eq!(when, at(1001.8), "the client response timer");
    let Event::Resolved { answer, .. } = event else {
        panic!("{event:?}")
    };
    assert!(answer.stale && answer.from_cache);
    assert_eq!(answer.ttl, 30);
    assert_eq!(answer.endpoints, warm.endpoints);
    // The refresh went on after the answer: asked again and again.
    let refreshes = sim.asked[sent..].iter().filter(|q| q.at > when).count();
    assert!(refreshes >= 2, "{:?}", &sim.asked[sent..]);
    assert!(sim.resolver.stats().cache_stale_answers >= 1);
    sim.assert_clean();
}

#[test]
fn a_stale_loop_stops_at_the_hop_limit() {
    // S25, S31: the two links of a loop expire (300 s) and stay as stale
    // data. At the client timer each stale link leads to the other name,
    // whose stale link leads back. This once looped for ever inside
    // handle_timeout, growing without bound (found by the machine fuzz
    // target); it must end as a loop, as a fresh chain does.
    let zone = cname_loop_zone();
    let mut sim = Sim::resolve_xmpp(serving_stale(), &zone);
    assert!(matches!(sim.error(), Error::CnameLoop { .. }));
    sim.now = at(1000.0);
    sim.start(URI, &[Protocol::XMPP], None);
    let (when, event) = until_event(&mut sim);
    assert_eq!(when, at(1001.8), "the client response timer");
    assert!(
        matches!(
            event,
            Event::Failed {
                error: Error::CnameLoop { .. },
                ..
            }
        ),
        "{event:?}"
    );
    assert!(sim.resolver.stats().cache_stale_answers >= 2);
}

#[test]
fn without_serve_stale_silent_servers_time_out_as_before() {
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone());
    sim.now = at(1000.0);
    sim.start(URI, &[Protocol::XMPP], None);
    sim.run(&Zone::always(Script::Silent));
    let (when, event) = sim.events.last().unwrap().clone();
    assert_eq!(when, at(1010.0), "the resolution's deadline");
    let Event::Failed { error, .. } = event else {
        panic!("{event:?}")
    };
    assert_eq!(error.kind(), impp_resolver::ErrorKind::Timeout);
}

#[test]
fn a_fresh_answer_after_the_stale_one_refreshes_the_cache() {
    let mut sim = Sim::resolve_xmpp(serving_stale(), &zone());
    sim.now = at(1000.0);
    sim.start(URI, &[Protocol::XMPP], None);
    let (when, event) = until_event(&mut sim);
    assert_eq!(when, at(1001.8));
    assert!(matches!(event, Event::Resolved { answer, .. } if answer.stale));
    // The servers are back: the questions still being asked get answers.
    sim.run(&zone());
    assert!(
        sim.events.is_empty() || sim.events.len() == 1,
        "no second event"
    );
    let fresh = from_memory(&mut sim, at(1005.0)).expect("refreshed");
    assert!(!fresh.stale);
    // The AAAA NODATA lives 60 s from its refresh, which came after the
    // stale answer at 1001.8 s.
    assert!((57..60).contains(&fresh.ttl), "{}", fresh.ttl);
}

#[test]
fn after_a_failed_refresh_stale_data_is_served_at_once_for_30_seconds() {
    use impp_resolver::proto::op::ResponseCode;
    let mut sim = Sim::resolve_xmpp(serving_stale(), &zone());
    let failing = Zone::always(Script::Rcode(ResponseCode::ServFail));
    sim.now = at(1000.0);
    sim.start(URI, &[Protocol::XMPP], None);
    let sent = sim.asked.len();
    sim.run(&failing);
    // Every server failed each question at once: stale data, well
    // before the client timer.
    let (when, event) = sim.events.last().unwrap().clone();
    assert!(when < at(1000.1), "{when:?}");
    assert!(matches!(event, Event::Resolved { answer, .. } if answer.stale));
    assert_eq!(sim.asked.len() - sent, 3, "SRV, A and AAAA, once each");
    // Within 30 s: answered at once, nothing asked.
    let again = from_memory(&mut sim, at(1020.0)).expect("stale at once");
    assert!(again.stale);
    // After 30 s the servers are asked again.
    assert!(from_memory(&mut sim, at(1031.0)).is_none());
    let sent = sim.asked.len();
    sim.run(&failing);
    assert!(sim.asked.len() > sent);
    sim.assert_clean();
}

#[test]
fn a_whole_hit_answers_as_the_plan_would() {
    // A resolution the cache answers whole takes a short cut (`hit.rs`);
    // with `progress` on it goes through the plan. From the same entries
    // and the same generator, both must give the same answer, for SRV
    // sets of every shape: priorities, zero weights, repeated targets,
    // glue or none, targets without an IPv4 or IPv6 address, a preferred
    // protocol that is NXDOMAIN.
    use rand_core::Rng;
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut shortcuts = 0;
    for case in 0..300 {
        let sip_only = rng.next_u32() % 4 == 0;
        let owner = if sip_only {
            "_im._sip.example.com."
        } else {
            "_im._xmpp.example.com."
        };
        let n = 1 + rng.next_u32() as usize % 6;
        let mut records = Vec::new();
        let mut glue = Vec::new();
        for _ in 0..n {
            let t = rng.next_u32() % 4;
            let target = format!("t{t}.example.com.");
            records.push(srv(
                owner,
                (rng.next_u32() % 3) as u16,
                (rng.next_u32() % 4) as u16,
                5222 + (rng.next_u32() % 2) as u16,
                &target,
            ));
            if rng.next_u32() % 3 == 0 {
                glue.push(a(&target, [192, 0, 2, t as u8]));
                glue.push(aaaa(&target, &format!("2001:db8::{t}")));
            }
        }
        let mut zone = Zone::default().on(
            owner,
            RecordType::SRV,
            Script::WithAdditional(records, glue),
        );
        for t in 0..4u8 {
            let host = format!("t{t}.example.com.");
            let v4 = match rng.next_u32() % 3 {
                0 => Script::NoData,
                1 => Script::Answer(vec![a(&host, [192, 0, 2, 100 + t])]),
                _ => Script::Answer(vec![
                    a(&host, [192, 0, 2, 100 + t]),
                    a(&host, [192, 0, 2, 200 + t]),
                    a(&host, [192, 0, 2, 100 + t]),
                ]),
            };
            let v6 = match rng.next_u32() % 2 {
                0 => Script::NoData,
                _ => Script::Answer(vec![aaaa(&host, &format!("2001:db8::1:{t}"))]),
            };
            zone = zone
                .on(&host, RecordType::A, v4)
                .on(&host, RecordType::AAAA, v6);
        }
        let max_endpoints = 1 + rng.next_u32() as usize % 6;
        // Protocols as a caller may list them, repeats and all (S7).
        let protocols: &[Protocol] = match rng.next_u32() % 4 {
            0 => &[Protocol::XMPP, Protocol::SIP],
            1 => &[Protocol::SIP, Protocol::XMPP, Protocol::SIP],
            2 => &[Protocol::XMPP, Protocol::XMPP, Protocol::SIP],
            _ => &[Protocol::SIP, Protocol::SIP, Protocol::XMPP, Protocol::XMPP],
        };
        // A merged set (S30) of both names, now and then, instead.
        let merged = rng.next_u32() % 5 == 0;
        let resolve = |progress: bool| {
            let config = Config {
                progress,
                max_endpoints,
                ..config(&[S1])
            };
            let owners = [
                name("_im._xmpp.example.com."),
                name("_im._sip.example.com."),
            ];
            let mut sim = Sim::new(config);
            let start = |sim: &mut Sim| {
                if merged {
                    let now = sim.now;
                    sim.resolver.resolve_srv_set(now, &owners).unwrap();
                } else {
                    sim.start(URI, protocols, None);
                }
            };
            start(&mut sim);
            sim.run(&zone);
            sim.events.clear();
            sim.now = at(10.0);
            let before = sim.resolver.stats();
            start(&mut sim);
            // A merged set (and anything not wholly cached) asks on.
            sim.run(&zone);
            while sim.resolver.poll_progress().is_some() {}
            let event = sim.events.first().map(|(_, e)| e.clone());
            let after = sim.resolver.stats();
            let counted = (
                after.cache_hits - before.cache_hits,
                after.cache_negative_hits - before.cache_negative_hits,
                after.cache_misses - before.cache_misses,
            );
            let sent = sim.asked.len();
            (event, counted, sent)
        };
        let (shortcut, counted, sent) = resolve(false);
        let (planned, planned_counted, planned_sent) = resolve(true);
        assert_eq!(shortcut, planned, "case {case}");
        // The same cache entries counted, whichever path answered.
        assert_eq!(counted, planned_counted, "case {case}: {protocols:?}");
        assert_eq!(sent, planned_sent, "case {case}");
        if !merged
            && shortcut
                .as_ref()
                .is_some_and(|e| matches!(e, Event::Resolved { answer, .. } if answer.from_cache))
            && counted.2 == 0
        {
            shortcuts += 1;
        }
    }
    assert!(shortcuts > 150, "{shortcuts} of 300 wholly cached");
}

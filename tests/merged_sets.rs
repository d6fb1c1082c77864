//! Merged service sets (S30, XEP-0368) in virtual time: the SRV records of
//! several owner names ordered as one RRset, each endpoint naming its own.

use impp_resolver::proto::rr::{Name, RecordType};
use impp_resolver::{Endpoint, Error, Event, Via};
use impp_test_support::scripted::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const TLS: &str = "_xmpps-client._tcp.example.com.";
const PLAIN: &str = "_xmpp-client._tcp.example.com.";

fn owners() -> [Name; 2] {
    [name(TLS), name(PLAIN)]
}

/// Resolves the two names merged against `zone` with the generator seeded
/// by `seed`; the event.
fn resolve(zone: &Zone, seed: u64) -> Event {
    let mut sim = Sim::new(config(&[S1]));
    sim.resolver = impp_resolver::Resolver::new(config(&[S1]), ChaCha20Rng::seed_from_u64(seed));
    sim.resolver
        .resolve_srv_set(impp_resolver::Instant::ZERO, &owners())
        .unwrap();
    sim.run(zone);
    sim.only_event().clone()
}

fn endpoints(event: &Event) -> &[Endpoint] {
    match event {
        Event::Resolved { answer, .. } => &answer.endpoints,
        other => panic!("{other:?}"),
    }
}

#[test]
fn records_of_both_names_interleave_by_weight_within_a_priority() {
    // Priority 0: tls (weight 60) and plain (weight 40); priority 1: a
    // fallback under the plain name. Merged, the first endpoint is tls
    // 60% of the time (S10's exact proportion), never the priority-1 one.
    let zone = Zone::default()
        .on(
            TLS,
            RecordType::SRV,
            Script::Answer(vec![srv(TLS, 0, 60, 5223, "tls.example.com.")]),
        )
        .on(
            PLAIN,
            RecordType::SRV,
            Script::Answer(vec![
                srv(PLAIN, 0, 40, 5222, "plain.example.com."),
                srv(PLAIN, 1, 0, 5222, "backup.example.com."),
            ]),
        )
        .host_v4("tls.example.com.", [192, 0, 2, 1])
        .host_v4("plain.example.com.", [192, 0, 2, 2])
        .host_v4("backup.example.com.", [192, 0, 2, 3]);
    let runs = 2_000;
    let mut tls_first = 0;
    for seed in 0..runs {
        let event = resolve(&zone, seed);
        let e = endpoints(&event);
        assert_eq!(e.len(), 3);
        assert_eq!(e[2].target, name("backup.example.com."), "priority 1 last");
        // Each endpoint names the SRV owner its record came from.
        for endpoint in e {
            let from = if endpoint.port == 5223 { TLS } else { PLAIN };
            assert_eq!(endpoint.service, Some(name(from)), "{endpoint}");
        }
        if e[0].port == 5223 {
            tls_first += 1;
        }
        if let Event::Resolved { answer, .. } = &event {
            assert_eq!(
                answer.via,
                Via::SrvSet {
                    owners: owners().to_vec()
                }
            );
        }
    }
    // Expected 1,200 of 2,000; the binomial standard deviation is about 22,
    // so ±110 (five of them) fails by chance about once in two million.
    assert!(
        (1_090..=1_310).contains(&tls_first),
        "tls first {tls_first} of {runs}"
    );
}

#[test]
fn a_name_without_records_is_not_an_error_while_the_other_has_some() {
    let zone = Zone::default()
        .on(TLS, RecordType::SRV, Script::NxDomain)
        .on(
            PLAIN,
            RecordType::SRV,
            Script::Answer(vec![srv(PLAIN, 0, 0, 5222, "plain.example.com.")]),
        )
        .host_v4("plain.example.com.", [192, 0, 2, 2]);
    let event = resolve(&zone, 1);
    let e = endpoints(&event);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].service, Some(name(PLAIN)));
    // Nor is a failed lookup (the decision where XEP-0368 is silent).
    let zone = Zone::default()
        .on(
            TLS,
            RecordType::SRV,
            Script::Rcode(impp_resolver::proto::op::ResponseCode::ServFail),
        )
        .on(
            PLAIN,
            RecordType::SRV,
            Script::Answer(vec![srv(PLAIN, 0, 0, 5222, "plain.example.com.")]),
        )
        .host_v4("plain.example.com.", [192, 0, 2, 2]);
    assert_eq!(endpoints(&resolve(&zone, 2)).len(), 1);
}

#[test]
fn with_no_records_anywhere_the_error_is_as_for_one_name() {
    let zone = Zone::default()
        .on(TLS, RecordType::SRV, Script::NxDomain)
        .on(PLAIN, RecordType::SRV, Script::NxDomain);
    match resolve(&zone, 3) {
        Event::Failed { error, .. } => {
            assert!(matches!(error, Error::NxDomain { .. }), "{error:?}")
        }
        other => panic!("{other:?}"),
    }
    let mut r = impp_resolver::Resolver::new(config(&[S1]), ChaCha20Rng::seed_from_u64(4));
    assert_eq!(
        r.resolve_srv_set(impp_resolver::Instant::ZERO, &[]),
        Err(impp_resolver::StartError::NoProtocols)
    );
}

#[test]
fn a_name_given_twice_is_one_lookup_and_its_records_count_once() {
    // The same name twice, in another letter case the second time: one
    // question, and each record once in the merged set.
    let zone = Zone::default()
        .on(
            TLS,
            RecordType::SRV,
            Script::Answer(vec![srv(TLS, 0, 10, 5223, "tls.example.com.")]),
        )
        .host_v4("tls.example.com.", [192, 0, 2, 1]);
    let mut sim = Sim::new(config(&[S1]));
    let shouted = name(&TLS.to_ascii_uppercase());
    sim.resolver
        .resolve_srv_set(impp_resolver::Instant::ZERO, &[name(TLS), shouted])
        .unwrap();
    sim.run(&zone);
    let event = sim.only_event().clone();
    let found = endpoints(&event);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].target, name("tls.example.com."));
    let srv_questions = sim
        .asked
        .iter()
        .filter(|q| q.rtype == RecordType::SRV)
        .count();
    assert_eq!(srv_questions, 1);
}

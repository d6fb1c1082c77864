//! Cache poisoning through CNAME chains (S26), tried as an attacker would:
//! one `blocking::Client`, its cache kept across calls, against one real
//! server on loopback that answers the attacker's names with chains into
//! a victim's names (and records for them) and tells the truth about the
//! victim's own names. After the attacker's resolution, the victim's must
//! be the truth, asked of the server whenever it had not been asked
//! before: an answer serves later questions only for the question it
//! answered.

use std::time::Duration;

use impp_resolver::blocking::Client;
use impp_resolver::proto::op::ResponseCode;
use impp_resolver::proto::rr::{Record, RecordType};
use impp_resolver::{Answer, CacheConfig, Config, Error, Protocol, ServeStale, Uri, Via};
use impp_test_support::records::*;
use impp_test_support::script_server::ScriptServer;
use impp_test_support::scripted::{Script, Zone};

/// The attacker's target's address, and the port of its planted records.
const EVIL: [u8; 4] = [192, 0, 2, 66];
const EVIL_PORT: u16 = 6666;

fn ttl(mut record: Record, ttl: u32) -> Record {
    record.ttl = ttl;
    record
}

/// The truth about victim domain `v`: `_im._xmpp.v` has one target,
/// `xmpp.v`, on 5222, with one IPv4 address `ip` and no IPv6 one. Its
/// domain has an address of its own too, which the S16 fallback would
/// take were the SRV name believed not to exist.
fn victim(zone: Zone, v: &str, ip: [u8; 4]) -> Zone {
    let owner = format!("_im._xmpp.{v}");
    let target = format!("xmpp.{v}");
    zone.on(
        &owner,
        RecordType::SRV,
        Script::Answer(vec![srv(&owner, 0, 0, 5222, &target)]),
    )
    .host_v4(&target, ip)
    .host_v4(v, [192, 0, 2, 250])
}

fn client(server: &ScriptServer, case_randomization: bool) -> Client {
    Client::new(Config {
        servers: vec![server.addr],
        case_randomization,
        resolution_timeout: Duration::from_secs(5),
        ..Config::default()
    })
    .expect("a client")
}

fn resolve(client: &mut Client, domain: &str, fallback: Option<u16>) -> Result<Answer, Error> {
    let uri: Uri = format!("im:x@{}", domain.trim_end_matches('.'))
        .parse()
        .unwrap();
    let id = client.start_uri(&uri, &[Protocol::XMPP], fallback).unwrap();
    client.wait(id).expect("no socket error")
}

/// The victim's answer is the truth: its one target on 5222 at `ip`.
fn assert_truth(answer: &Result<Answer, Error>, v: &str, ip: [u8; 4]) {
    let answer = answer.as_ref().expect("the victim resolves");
    assert!(matches!(answer.via, Via::Srv { .. }), "{answer:?}");
    assert_eq!(answer.endpoints.len(), 1, "{answer:?}");
    let e = &answer.endpoints[0];
    assert_eq!(e.target, name(&format!("xmpp.{v}")), "{answer:?}");
    assert_eq!(e.port, 5222, "{answer:?}");
    assert_eq!(e.addresses, [std::net::IpAddr::from(ip)], "{answer:?}");
}

/// `a`'s SRV answered with a CNAME to the victim's SRV name, the
/// attacker's SRV record there and glue for its target.
fn planted_srv(zone: Zone, attacker: &str, v: &str, link_ttl: u32) -> Zone {
    let owner = format!("_im._xmpp.{attacker}");
    let victim = format!("_im._xmpp.{v}");
    let evil = format!("evil.{attacker}");
    zone.on(
        &owner,
        RecordType::SRV,
        Script::WithAdditional(
            vec![
                ttl(cname(&owner, &victim), link_ttl),
                ttl(srv(&victim, 0, 0, EVIL_PORT, &evil), 3600),
            ],
            vec![ttl(a(&evil, EVIL), 3600)],
        ),
    )
}

#[test]
fn case_1_a_planted_srv_set_never_answers_for_the_victim() {
    for case_randomization in [false, true] {
        let zone = victim(
            planted_srv(Zone::default(), "a1.test.", "v1.test.", 3600),
            "v1.test.",
            [192, 0, 2, 1],
        );
        let server = ScriptServer::start(zone);
        let mut client = client(&server, case_randomization);
        // The attacker's own resolution takes what its chain said.
        let own = resolve(&mut client, "a1.test.", None).unwrap();
        assert_eq!(own.endpoints[0].port, EVIL_PORT);
        let victim = resolve(&mut client, "v1.test.", None);
        assert_truth(&victim, "v1.test.", [192, 0, 2, 1]);
        assert_eq!(server.asked("_im._xmpp.v1.test.", RecordType::SRV), 1);
        // The attacker's answer is kept under its own question: asked
        // again, it comes from memory.
        let again = resolve(&mut client, "a1.test.", None).unwrap();
        assert!(again.from_cache);
        assert_eq!(server.asked("_im._xmpp.a1.test.", RecordType::SRV), 1);
    }
}

#[test]
fn case_2_a_planted_srv_set_never_replaces_the_true_one() {
    let zone = victim(
        planted_srv(Zone::default(), "a1.test.", "v1.test.", 3600),
        "v1.test.",
        [192, 0, 2, 1],
    );
    let server = ScriptServer::start(zone);
    let mut client = client(&server, false);
    assert_truth(
        &resolve(&mut client, "v1.test.", None),
        "v1.test.",
        [192, 0, 2, 1],
    );
    resolve(&mut client, "a1.test.", None).unwrap();
    let again = resolve(&mut client, "v1.test.", None);
    assert_truth(&again, "v1.test.", [192, 0, 2, 1]);
    // From the true entry, with its own TTL, not the attacker's hour.
    let again = again.unwrap();
    assert!(again.from_cache && again.ttl <= 300, "{again:?}");
    assert_eq!(server.asked("_im._xmpp.v1.test.", RecordType::SRV), 1);
}

#[test]
fn case_3_a_chain_through_the_victims_name_plants_no_link_there() {
    // a2 -> the victim's SRV name -> a name of the attacker's, with SRV
    // records: a link owned by the victim's name.
    let owner = "_im._xmpp.a2.test.";
    let victim_owner = "_im._xmpp.v2.test.";
    let evil_owner = "_im._xmpp.evil.a2.test.";
    let zone = Zone::default().on(
        owner,
        RecordType::SRV,
        Script::Answer(vec![
            ttl(cname(owner, victim_owner), 3600),
            ttl(cname(victim_owner, evil_owner), 3600),
            ttl(srv(evil_owner, 0, 0, EVIL_PORT, "evil.a2.test."), 3600),
        ]),
    );
    let zone = victim(
        zone.host_v4("evil.a2.test.", EVIL),
        "v2.test.",
        [192, 0, 2, 2],
    );
    let server = ScriptServer::start(zone);
    let mut client = client(&server, false);
    assert_eq!(
        resolve(&mut client, "a2.test.", None).unwrap().endpoints[0].port,
        EVIL_PORT
    );
    assert_truth(
        &resolve(&mut client, "v2.test.", None),
        "v2.test.",
        [192, 0, 2, 2],
    );
    assert_eq!(server.asked(victim_owner, RecordType::SRV), 1);
}

#[test]
fn case_4_a_targets_chain_never_gives_the_victims_target_addresses() {
    // The attacker's target's A and AAAA: CNAME to the victim's target
    // and addresses for it (an AAAA the victim does not have).
    let owner = "_im._xmpp.a3.test.";
    let target = "xmpp.a3.test.";
    let victim_target = "xmpp.v3.test.";
    let zone = Zone::default()
        .on(
            owner,
            RecordType::SRV,
            Script::Answer(vec![srv(owner, 0, 0, 5222, target)]),
        )
        .on(
            target,
            RecordType::A,
            Script::Answer(vec![
                ttl(cname(target, victim_target), 3600),
                ttl(a(victim_target, EVIL), 3600),
            ]),
        )
        .on(
            target,
            RecordType::AAAA,
            Script::Answer(vec![
                ttl(cname(target, victim_target), 3600),
                ttl(aaaa(victim_target, "2001:db8::66"), 3600),
            ]),
        );
    let server = ScriptServer::start(victim(zone, "v3.test.", [192, 0, 2, 3]));
    let mut client = client(&server, false);
    let own = resolve(&mut client, "a3.test.", None).unwrap();
    assert_eq!(own.endpoints[0].addresses.len(), 2);
    assert_truth(
        &resolve(&mut client, "v3.test.", None),
        "v3.test.",
        [192, 0, 2, 3],
    );
    assert_eq!(server.asked(victim_target, RecordType::A), 1);
    assert_eq!(server.asked(victim_target, RecordType::AAAA), 1);
}

#[test]
fn case_5_a_planted_nxdomain_never_hides_the_victims_srv_name() {
    // NXDOMAIN beside a CNAME to the victim's SRV name, with the victim
    // zone's SOA: the victim's name said not to exist.
    let owner = "_im._xmpp.a4.test.";
    let victim_owner = "_im._xmpp.v4.test.";
    let zone = Zone::default().on(
        owner,
        RecordType::SRV,
        Script::Sections {
            rcode: ResponseCode::NXDomain,
            answers: vec![ttl(cname(owner, victim_owner), 3600)],
            authority: vec![ttl(soa("v4.test."), 3600)],
            additional: Vec::new(),
        },
    );
    let server = ScriptServer::start(victim(zone, "v4.test.", [192, 0, 2, 4]));
    for fallback in [Some(5222), None] {
        let mut client = client(&server, false);
        assert!(matches!(
            resolve(&mut client, "a4.test.", fallback),
            Err(Error::NxDomain { .. })
                | Ok(Answer {
                    via: Via::Fallback { .. },
                    ..
                })
        ));
        // Neither the fallback to the domain's address nor `nxdomain`.
        assert_truth(
            &resolve(&mut client, "v4.test.", fallback),
            "v4.test.",
            [192, 0, 2, 4],
        );
    }
    assert_eq!(server.asked(victim_owner, RecordType::SRV), 2);
}

#[test]
fn case_6_a_planted_nodata_never_empties_the_victims_target() {
    // The attacker's target's A and AAAA: CNAME to the victim's target,
    // no data, and an SOA owned by the root (a zone of every name).
    let owner = "_im._xmpp.a5.test.";
    let target = "xmpp.a5.test.";
    let victim_target = "xmpp.v5.test.";
    let nodata = Script::Sections {
        rcode: ResponseCode::NoError,
        answers: vec![ttl(cname(target, victim_target), 3600)],
        authority: vec![ttl(soa("."), 3600)],
        additional: Vec::new(),
    };
    let zone = Zone::default()
        .on(
            owner,
            RecordType::SRV,
            Script::Answer(vec![srv(owner, 0, 0, 5222, target)]),
        )
        .on(target, RecordType::A, nodata.clone())
        .on(target, RecordType::AAAA, nodata);
    let server = ScriptServer::start(victim(zone, "v5.test.", [192, 0, 2, 5]));
    let mut client = client(&server, false);
    assert!(
        resolve(&mut client, "a5.test.", None).unwrap().endpoints[0]
            .addresses
            .is_empty()
    );
    assert_truth(
        &resolve(&mut client, "v5.test.", None),
        "v5.test.",
        [192, 0, 2, 5],
    );
    assert_eq!(server.asked(victim_target, RecordType::A), 1);
}

#[test]
fn case_7_two_chains_never_loop_the_victims_name() {
    // a6's answer: a6 -> victim -> b6 (asked next); b6's answer:
    // b6 -> victim -> a6. Kept link by link, the victim's name would loop.
    let a6 = "_im._xmpp.a6.test.";
    let b6 = "_im._xmpp.b6.test.";
    let v6 = "_im._xmpp.v6.test.";
    let zone = Zone::default()
        .on(
            a6,
            RecordType::SRV,
            Script::Answer(vec![ttl(cname(a6, v6), 3600), ttl(cname(v6, b6), 3600)]),
        )
        .on(
            b6,
            RecordType::SRV,
            Script::Answer(vec![ttl(cname(b6, v6), 3600), ttl(cname(v6, a6), 3600)]),
        );
    let server = ScriptServer::start(victim(zone, "v6.test.", [192, 0, 2, 6]));
    let mut client = client(&server, false);
    // The attacker's own chain loops, and ends as a loop.
    assert!(matches!(
        resolve(&mut client, "a6.test.", None),
        Err(Error::CnameLoop { .. })
    ));
    assert_eq!(server.asked(b6, RecordType::SRV), 1);
    assert_truth(
        &resolve(&mut client, "v6.test.", None),
        "v6.test.",
        [192, 0, 2, 6],
    );
    assert_eq!(server.asked(v6, RecordType::SRV), 1);
}

#[test]
fn case_8_a_link_of_ttl_zero_keeps_nothing_of_the_chain() {
    // TTL 0, and a TTL with the top bit set (RFC 2181 §8: 0).
    for link_ttl in [0, 0x8000_0000] {
        let zone = victim(
            planted_srv(Zone::default(), "a7.test.", "v7.test.", link_ttl),
            "v7.test.",
            [192, 0, 2, 7],
        );
        let server = ScriptServer::start(zone);
        let mut client = client(&server, false);
        resolve(&mut client, "a7.test.", None).unwrap();
        // The chain's shortest TTL is 0: nothing of it was kept, not even
        // under the attacker's own question.
        let again = resolve(&mut client, "a7.test.", None).unwrap();
        assert!(!again.from_cache);
        assert_eq!(server.asked("_im._xmpp.a7.test.", RecordType::SRV), 2);
        assert_truth(
            &resolve(&mut client, "v7.test.", None),
            "v7.test.",
            [192, 0, 2, 7],
        );
        assert_eq!(server.asked("_im._xmpp.v7.test.", RecordType::SRV), 1);
    }
}

#[test]
fn case_8_serve_stale_never_serves_a_planted_entry() {
    // The planted records expire after a second; the victim's server then
    // goes silent past the client timer, as when its answer is delayed.
    let owner = "_im._xmpp.a8.test.";
    let victim_owner = "_im._xmpp.v8.test.";
    let zone = Zone::default()
        .on(
            owner,
            RecordType::SRV,
            Script::WithAdditional(
                vec![
                    ttl(cname(owner, victim_owner), 1),
                    ttl(srv(victim_owner, 0, 0, EVIL_PORT, "evil.a8.test."), 1),
                ],
                vec![ttl(a("evil.a8.test.", EVIL), 1)],
            ),
        )
        .on(victim_owner, RecordType::SRV, Script::Silent);
    let server = ScriptServer::start(zone);
    let mut client = Client::new(Config {
        servers: vec![server.addr],
        resolution_timeout: Duration::from_secs(2),
        cache: Some(CacheConfig {
            serve_stale: Some(ServeStale {
                client_timer: Duration::from_millis(300),
                ..ServeStale::default()
            }),
            ..CacheConfig::default()
        }),
        ..Config::default()
    })
    .unwrap();
    resolve(&mut client, "a8.test.", None).unwrap();
    std::thread::sleep(Duration::from_millis(1_100));
    // Nothing stale stands in for the victim: it was never asked before.
    let victim = resolve(&mut client, "v8.test.", None);
    assert!(matches!(victim, Err(Error::Timeout { .. })), "{victim:?}");
    assert!(server.asked(victim_owner, RecordType::SRV) >= 1);
    assert_eq!(client.resolver().stats().cache_stale_answers, 0);
}

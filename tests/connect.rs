//! The connector in virtual time (S29, RFC 8305 as XEP-0495 profiles it):
//! attempts in order, the next after the Connection Attempt Delay or at once
//! when one fails, the first success cancelling the rest, one outcome, the
//! deadline ending everything. Addresses here are loopback; nothing is
//! dialled (the connector only says what to dial).

use std::net::SocketAddr;
use std::time::Duration;

use impp_resolver::connect::{
    AttemptFailure, AttemptId, ConnectAction, ConnectConfig, ConnectOutcome, Connector,
    InternalAddresses, Skipped,
};
use impp_resolver::{Endpoint, Instant};
use impp_test_support::records::{answer_of as answer, endpoint, name};

fn ms(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The actions waiting now.
fn actions(c: &mut Connector) -> Vec<ConnectAction> {
    std::iter::from_fn(|| c.poll_action()).collect()
}

fn connect(id: usize, target: &str, at: &str) -> ConnectAction {
    ConnectAction::Connect {
        id: AttemptId::from_raw(id),
        target: name(target),
        addr: addr(at),
    }
}

#[test]
fn a_silent_ipv6_address_gets_the_ipv4_one_started_beside_it_at_250_ms() {
    let a = answer(vec![endpoint(
        "xmpp.example.com.",
        5222,
        &["::1", "127.0.0.1"],
    )]);
    let mut c = Connector::new(ms(0), &a, &ConnectConfig::default());
    assert_eq!(
        actions(&mut c),
        [connect(0, "xmpp.example.com.", "[::1]:5222")]
    );
    assert_eq!(c.poll_timeout(), Some(ms(250)));
    c.handle_timeout(ms(249));
    assert!(actions(&mut c).is_empty(), "not before its delay");
    c.handle_timeout(ms(250));
    assert_eq!(
        actions(&mut c),
        [connect(1, "xmpp.example.com.", "127.0.0.1:5222")]
    );
    c.handle_connected(ms(251), AttemptId::from_raw(1));
    // The winner ends it; the IPv6 attempt still open is cancelled.
    assert_eq!(
        actions(&mut c),
        [ConnectAction::Cancel(AttemptId::from_raw(0))]
    );
    assert_eq!(
        c.poll_outcome(),
        Some(ConnectOutcome::Connected {
            id: AttemptId::from_raw(1),
            endpoint: 0,
            target: name("xmpp.example.com."),
            addr: addr("127.0.0.1:5222"),
        })
    );
    assert_eq!(c.poll_outcome(), None, "exactly one outcome");
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn a_refused_first_target_moves_to_the_second_at_once() {
    let a = answer(vec![
        endpoint("a.example.com.", 5222, &["127.0.0.1"]),
        endpoint("b.example.com.", 5223, &["127.0.0.2"]),
    ]);
    let mut c = Connector::new(ms(0), &a, &ConnectConfig::default());
    assert_eq!(
        actions(&mut c),
        [connect(0, "a.example.com.", "127.0.0.1:5222")]
    );
    c.handle_failed(ms(3), AttemptId::from_raw(0), AttemptFailure::Refused);
    assert_eq!(
        actions(&mut c),
        [connect(1, "b.example.com.", "127.0.0.2:5223")]
    );
    // Its own delay runs from now.
    assert_eq!(c.poll_timeout(), Some(ms(253)));
}

#[test]
fn when_every_attempt_fails_the_error_names_each() {
    let a = answer(vec![
        endpoint("a.example.com.", 5222, &["::1", "127.0.0.1"]),
        endpoint("b.example.com.", 5222, &["127.0.0.2"]),
    ]);
    let mut c = Connector::new(ms(0), &a, &ConnectConfig::default());
    c.handle_failed(ms(1), AttemptId::from_raw(0), AttemptFailure::Unreachable);
    c.handle_failed(ms(2), AttemptId::from_raw(1), AttemptFailure::Refused);
    assert!(c.poll_outcome().is_none(), "one attempt still open");
    c.handle_failed(ms(3), AttemptId::from_raw(2), AttemptFailure::Refused);
    let Some(ConnectOutcome::Failed(error)) = c.poll_outcome() else {
        panic!("failed")
    };
    assert_eq!(error.attempts.len(), 3);
    assert_eq!(
        error.to_string(),
        "a.example.com [::1]:5222 unreachable, a.example.com 127.0.0.1:5222 refused, \
         b.example.com 127.0.0.2:5222 refused"
    );
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn a_success_after_its_attempt_was_cancelled_is_ignored() {
    let a = answer(vec![endpoint(
        "a.example.com.",
        5222,
        &["127.0.0.1", "127.0.0.2"],
    )]);
    let mut c = Connector::new(ms(0), &a, &ConnectConfig::default());
    c.handle_timeout(ms(250));
    c.handle_connected(ms(260), AttemptId::from_raw(1));
    actions(&mut c);
    let won = c.poll_outcome();
    assert!(matches!(
        won,
        Some(ConnectOutcome::Connected { id, .. }) if id == AttemptId::from_raw(1)
    ));
    // The cancelled first attempt completes anyway: nothing changes.
    c.handle_connected(ms(270), AttemptId::from_raw(0));
    c.handle_failed(ms(271), AttemptId::from_raw(1), AttemptFailure::Other);
    assert!(actions(&mut c).is_empty());
    assert_eq!(c.poll_outcome(), None);
}

#[test]
fn the_deadline_ends_everything() {
    let a = answer(vec![endpoint(
        "a.example.com.",
        5222,
        &["127.0.0.1", "127.0.0.2"],
    )]);
    let config = ConnectConfig {
        timeout: Duration::from_millis(400),
        ..ConnectConfig::default()
    };
    let mut c = Connector::new(ms(0), &a, &config);
    let mut now = ms(0);
    while let Some(due) = c.poll_timeout() {
        assert!(due <= ms(400), "nothing after the deadline: {due:?}");
        now = due;
        c.handle_timeout(now);
    }
    assert_eq!(now, ms(400));
    let all = actions(&mut c);
    assert_eq!(all.len(), 4, "two connects, two cancels: {all:?}");
    assert!(
        all[2..]
            .iter()
            .all(|a| matches!(a, ConnectAction::Cancel(_)))
    );
    let Some(ConnectOutcome::Failed(error)) = c.poll_outcome() else {
        panic!("failed")
    };
    assert!(
        error
            .attempts
            .iter()
            .all(|a| a.failure == AttemptFailure::TimedOut)
    );
}

#[test]
fn nothing_to_try_fails_at_once_and_the_delay_is_kept_in_bounds() {
    let a = answer(vec![endpoint("a.example.com.", 5222, &[])]);
    let mut c = Connector::new(ms(0), &a, &ConnectConfig::default());
    let Some(ConnectOutcome::Failed(error)) = c.poll_outcome() else {
        panic!("failed")
    };
    assert_eq!(error.to_string(), "no address to connect to");
    // 10 ms is raised to the 100 ms floor (RFC 8305 §5).
    let a = answer(vec![endpoint(
        "a.example.com.",
        5222,
        &["127.0.0.1", "127.0.0.2"],
    )]);
    let config = ConnectConfig {
        attempt_delay: Duration::from_millis(10),
        ..ConnectConfig::default()
    };
    let c = Connector::new(ms(0), &a, &config);
    assert_eq!(c.poll_timeout(), Some(ms(100)));
}

fn progress(
    index: usize,
    endpoints: usize,
    e: Endpoint,
    complete: bool,
) -> impp_resolver::Progress {
    // The id is the resolver's; the connector does not look at it.
    let mut r = impp_resolver::Resolver::new(
        impp_test_support::records::config(&[impp_test_support::records::SERVER]),
        <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1),
    );
    let id = r
        .resolve_srv(Instant::ZERO, &name("_x._tcp.example."))
        .unwrap();
    impp_resolver::Progress {
        id,
        index,
        endpoints,
        endpoint: e,
        complete,
    }
}

#[test]
fn with_progress_the_first_attempt_starts_before_the_last_target_resolves() {
    let mut c = Connector::waiting(ms(0), &ConnectConfig::default());
    assert!(actions(&mut c).is_empty(), "nothing known yet");
    assert_eq!(c.poll_timeout(), Some(ms(10_000)), "only the deadline");
    // The second target is known first: it waits its turn (S13 order).
    let b = endpoint("b.example.com.", 5222, &["127.0.0.2"]);
    c.handle_progress(ms(5), &progress(1, 2, b.clone(), true));
    assert!(actions(&mut c).is_empty());
    // The first target's IPv6 address: tried at once.
    let a6 = endpoint("a.example.com.", 5222, &["::1"]);
    c.handle_progress(ms(8), &progress(0, 2, a6, false));
    assert_eq!(
        actions(&mut c),
        [connect(0, "a.example.com.", "[::1]:5222")]
    );
    // Its IPv4 address arrives: next in line, after the attempt delay.
    let a = endpoint("a.example.com.", 5222, &["::1", "127.0.0.1"]);
    c.handle_progress(ms(9), &progress(0, 2, a, true));
    c.handle_timeout(ms(258));
    assert_eq!(
        actions(&mut c),
        [connect(1, "a.example.com.", "127.0.0.1:5222")]
    );
    c.handle_failed(ms(260), AttemptId::from_raw(1), AttemptFailure::Refused);
    assert_eq!(
        actions(&mut c),
        [connect(2, "b.example.com.", "127.0.0.2:5222")]
    );
    // The resolution ends with what was already known: nothing new.
    let all = answer(vec![
        endpoint("a.example.com.", 5222, &["::1", "127.0.0.1"]),
        b,
    ]);
    c.handle_resolved(ms(300), &all);
    assert!(actions(&mut c).is_empty());
    c.handle_failed(ms(301), AttemptId::from_raw(0), AttemptFailure::Refused);
    c.handle_failed(ms(302), AttemptId::from_raw(2), AttemptFailure::Refused);
    let Some(ConnectOutcome::Failed(error)) = c.poll_outcome() else {
        panic!("failed")
    };
    assert_eq!(error.attempts.len(), 3, "each address tried once");
}

#[test]
fn ipv4_alone_waits_the_resolution_delay_for_ipv6() {
    // RFC 8305 §3: A before AAAA waits 50 ms; AAAA in time goes first.
    let mut c = Connector::waiting(ms(0), &ConnectConfig::default());
    let v4 = endpoint("a.example.com.", 5222, &["127.0.0.1"]);
    c.handle_progress(ms(10), &progress(0, 1, v4, false));
    assert!(actions(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), Some(ms(60)));
    let both = endpoint("a.example.com.", 5222, &["::1", "127.0.0.1"]);
    c.handle_progress(ms(30), &progress(0, 1, both, true));
    assert_eq!(
        actions(&mut c),
        [connect(0, "a.example.com.", "[::1]:5222")]
    );
    // And when IPv6 never comes, IPv4 goes at 60 ms.
    let mut c = Connector::waiting(ms(0), &ConnectConfig::default());
    let v4 = endpoint("a.example.com.", 5222, &["127.0.0.1"]);
    c.handle_progress(ms(10), &progress(0, 1, v4, false));
    c.handle_timeout(ms(60));
    assert_eq!(
        actions(&mut c),
        [connect(0, "a.example.com.", "127.0.0.1:5222")]
    );
}

#[test]
fn the_resolver_reports_each_target_as_it_resolves_and_the_connector_starts_early() {
    use impp_resolver::proto::op::{Message, MessageType};
    use impp_resolver::{Config, Protocol, Resolver, Uri};
    use impp_test_support::records::{SERVER, a, aaaa, config, srv, srv_response};
    use rand_core::SeedableRng;
    let cfg = Config {
        progress: true,
        ..config(&[SERVER])
    };
    let mut r = Resolver::new(cfg, rand_chacha::ChaCha20Rng::seed_from_u64(3));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    r.resolve_uri(ms(0), &uri, &[Protocol::XMPP], None).unwrap();
    let q = r.poll_transmit().unwrap();
    let id = u16::from_be_bytes([q.payload[0], q.payload[1]]);
    let owner = "_im._xmpp.example.com.";
    let reply = srv_response(id, |m| {
        m.add_answer(srv(owner, 0, 0, 5222, "a.example.com."));
        m.add_answer(srv(owner, 1, 0, 5222, "b.example.com."));
    });
    r.handle_datagram(ms(1), q.socket.unwrap(), SERVER, &reply);
    assert!(
        r.poll_progress().is_none(),
        "no target's addresses known yet"
    );
    // a's addresses come back; b's never do.
    let queries: Vec<_> = std::iter::from_fn(|| r.poll_transmit()).collect();
    assert_eq!(queries.len(), 4, "A and AAAA of both targets");
    for t in &queries {
        let query = Message::from_vec(&t.payload).unwrap();
        let qname = query.queries[0].name().to_ascii();
        if qname != "a.example.com." {
            continue;
        }
        let mut m = Message::new(
            query.metadata.id,
            MessageType::Response,
            query.metadata.op_code,
        );
        m.add_query(query.queries[0].clone());
        match query.queries[0].query_type() {
            impp_resolver::proto::rr::RecordType::A => {
                m.add_answer(a("a.example.com.", [127, 0, 0, 1]))
            }
            _ => m.add_answer(aaaa("a.example.com.", "::1")),
        };
        r.handle_datagram(ms(2), t.socket.unwrap(), SERVER, &m.to_vec().unwrap());
    }
    let reports: Vec<_> = std::iter::from_fn(|| r.poll_progress()).collect();
    assert_eq!(reports.len(), 2, "one report per family: {reports:?}");
    assert!(reports.iter().all(|p| p.index == 0 && p.endpoints == 2));
    assert!(!reports[0].complete && reports[1].complete);
    assert_eq!(r.resolutions_in_flight(), 1, "b is still resolving");
    assert!(r.poll_event().is_none());
    let mut c = Connector::waiting(ms(2), &ConnectConfig::default());
    for p in &reports {
        c.handle_progress(ms(2), p);
    }
    assert_eq!(
        actions(&mut c),
        [connect(0, "a.example.com.", "[::1]:5222")]
    );
}

#[test]
fn a_failed_resolution_still_tries_what_was_known_under_its_own_index() {
    // Endpoint 1 reported, endpoint 0 never: when the resolution fails,
    // endpoint 1 is tried, and the outcome names it as endpoint 1.
    let mut c = Connector::waiting(ms(0), &ConnectConfig::default());
    let b = endpoint("b.example.com.", 5222, &["127.0.0.2"]);
    c.handle_progress(ms(1), &progress(1, 2, b, true));
    assert!(actions(&mut c).is_empty(), "endpoint 0 first");
    c.handle_unresolved(ms(2));
    assert_eq!(
        actions(&mut c),
        [connect(0, "b.example.com.", "127.0.0.2:5222")]
    );
    c.handle_connected(ms(3), AttemptId::from_raw(0));
    assert!(matches!(
        c.poll_outcome(),
        Some(ConnectOutcome::Connected { endpoint: 1, .. })
    ));
    // With nothing known at all, the failure ends it at once.
    let mut c = Connector::waiting(ms(0), &ConnectConfig::default());
    c.handle_unresolved(ms(1));
    assert!(matches!(c.poll_outcome(), Some(ConnectOutcome::Failed(_))));
}

/// Fails every attempt as it starts, until the connector ends; the
/// addresses it dialled, and its error.
fn refuse_all(c: &mut Connector) -> (Vec<SocketAddr>, impp_resolver::connect::ConnectError) {
    let mut dialled = Vec::new();
    let mut now = ms(0);
    loop {
        for action in actions(c) {
            if let ConnectAction::Connect { id, addr, .. } = action {
                dialled.push(addr);
                c.handle_failed(now, id, AttemptFailure::Refused);
            }
        }
        match c.poll_outcome() {
            Some(ConnectOutcome::Failed(error)) => return (dialled, error),
            Some(other) => panic!("{other:?}"),
            None => {}
        }
        now = c.poll_timeout().expect("not ended yet");
        c.handle_timeout(now);
    }
}

/// The failures of `error`'s attempts, as (address, failure).
fn failures(error: &impp_resolver::connect::ConnectError) -> Vec<(SocketAddr, AttemptFailure)> {
    error.attempts.iter().map(|a| (a.addr, a.failure)).collect()
}

#[test]
fn addresses_no_connection_can_mean_are_skipped_and_reported_in_place() {
    // What a hostile or broken zone may hand back: on Linux 0.0.0.0
    // reaches a local listener.
    let a = answer(vec![
        endpoint(
            "a.example.com.",
            5222,
            &[
                "0.0.0.0",
                "::",
                "0.1.2.3",
                "::ffff:0.0.0.0",
                "224.0.0.1",
                "ff02::1",
                "255.255.255.255",
                "127.0.0.1",
            ],
        ),
        endpoint("b.example.com.", 0, &["127.0.0.2"]),
    ]);
    let mut c = Connector::new(ms(0), &a, &ConnectConfig::default());
    let (dialled, error) = refuse_all(&mut c);
    assert_eq!(dialled, [addr("127.0.0.1:5222")]);
    let skipped = |why| AttemptFailure::Skipped(why);
    assert_eq!(
        failures(&error),
        [
            (addr("0.0.0.0:5222"), skipped(Skipped::Unspecified)),
            (addr("[::]:5222"), skipped(Skipped::Unspecified)),
            (addr("0.1.2.3:5222"), skipped(Skipped::Unspecified)),
            (addr("[::ffff:0.0.0.0]:5222"), skipped(Skipped::Unspecified)),
            (addr("224.0.0.1:5222"), skipped(Skipped::Multicast)),
            (addr("[ff02::1]:5222"), skipped(Skipped::Multicast)),
            (addr("255.255.255.255:5222"), skipped(Skipped::Broadcast)),
            (addr("127.0.0.1:5222"), AttemptFailure::Refused),
            (addr("127.0.0.2:0"), skipped(Skipped::PortZero)),
        ]
    );
    assert!(
        error
            .to_string()
            .starts_with("a.example.com 0.0.0.0:5222 skipped (unspecified address), "),
        "{error}"
    );
}

#[test]
fn an_address_and_port_is_dialled_once_whatever_repeats_it() {
    // Five targets with one address: before, it was dialled again every
    // 250 ms until the deadline.
    let same = |t: &str| endpoint(t, 5222, &["127.0.0.1"]);
    let a = answer(vec![
        same("a.example.com."),
        same("b.example.com."),
        endpoint("c.example.com.", 5223, &["127.0.0.1"]),
        same("d.example.com."),
        same("e.example.com."),
    ]);
    let mut c = Connector::new(ms(0), &a, &ConnectConfig::default());
    // Left silent: every attempt runs to the deadline.
    let mut dialled = Vec::new();
    while let Some(due) = c.poll_timeout() {
        for action in actions(&mut c) {
            if let ConnectAction::Connect { addr, .. } = action {
                dialled.push(addr);
            }
        }
        c.handle_timeout(due);
    }
    assert_eq!(dialled, [addr("127.0.0.1:5222"), addr("127.0.0.1:5223")]);
    let Some(ConnectOutcome::Failed(error)) = c.poll_outcome() else {
        panic!("no failure");
    };
    let dup = AttemptFailure::Skipped(Skipped::Duplicate);
    let kinds: Vec<AttemptFailure> = error.attempts.iter().map(|a| a.failure).collect();
    assert_eq!(
        kinds,
        [
            AttemptFailure::TimedOut,
            dup,
            AttemptFailure::TimedOut,
            dup,
            dup
        ]
    );
}

#[test]
fn internal_addresses_are_refused_only_when_asked() {
    let internal = [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.1",
        "192.168.1.1",
        "169.254.1.1",
        "100.64.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
    ];
    let mut all = internal.to_vec();
    // Documentation addresses, outside every internal range (nothing is
    // dialled here: the test plays the network).
    all.extend(["172.32.0.1", "192.0.2.10", "2001:db8::10"]);
    let a = answer(vec![endpoint("a.example.com.", 5222, &all)]);
    let refuse = ConnectConfig {
        internal_addresses: InternalAddresses::Refuse,
        ..ConnectConfig::default()
    };
    let (dialled, error) = refuse_all(&mut Connector::new(ms(0), &a, &refuse));
    assert_eq!(
        dialled,
        [
            addr("172.32.0.1:5222"),
            addr("192.0.2.10:5222"),
            addr("[2001:db8::10]:5222")
        ]
    );
    let refused: Vec<SocketAddr> = error
        .attempts
        .iter()
        .filter(|a| a.failure == AttemptFailure::Skipped(Skipped::Internal))
        .map(|a| a.addr)
        .collect();
    let expected: Vec<SocketAddr> = internal
        .iter()
        .map(|ip| SocketAddr::new(ip.parse().unwrap(), 5222))
        .collect();
    assert_eq!(refused, expected);
    // By default they are dialled, in order, like any other.
    let (dialled, _) = refuse_all(&mut Connector::new(ms(0), &a, &ConnectConfig::default()));
    assert_eq!(dialled.len(), all.len());
    assert_eq!(dialled[0], addr("127.0.0.1:5222"));
}

#[test]
fn endpoints_dnssec_rules_out_are_skipped_and_a_pending_tlsa_is_waited_for() {
    use impp_resolver::{Security, SecurityStatus};
    // A bogus TLSA answer (RFC 7673 §3.3): its address is reported, never
    // dialled; the next endpoint is tried at once.
    let mut ruled_out = endpoint("a.example.com.", 5222, &["::1"]);
    ruled_out.security = Security {
        tlsa: Some(SecurityStatus::Bogus),
        ..Security::INSECURE
    };
    let fine = endpoint("b.example.com.", 5222, &["::2"]);
    let a = answer(vec![ruled_out.clone(), fine]);
    let mut c = Connector::new(ms(0), &a, &ConnectConfig::default());
    assert_eq!(
        actions(&mut c),
        [connect(1, "b.example.com.", "[::2]:5222")]
    );
    c.handle_failed(ms(1), AttemptId::from_raw(1), AttemptFailure::Refused);
    let Some(ConnectOutcome::Failed(error)) = c.poll_outcome() else {
        panic!("failed")
    };
    assert_eq!(
        error.attempts[0].failure,
        AttemptFailure::Skipped(Skipped::Bogus)
    );
    assert!(
        error
            .to_string()
            .starts_with("a.example.com [::1]:5222 skipped (DNSSEC rules it out)")
    );

    // While its TLSA lookup is out, a secure endpoint's addresses wait,
    // IPv6 too; once it is in and secure, they go.
    let mut c = Connector::waiting(ms(0), &ConnectConfig::default());
    let mut pending = endpoint("c.example.com.", 5222, &["::3"]);
    pending.security = Security {
        srv: Some(SecurityStatus::Secure),
        addresses: SecurityStatus::Secure,
        tlsa: Some(SecurityStatus::Indeterminate),
    };
    c.handle_progress(ms(1), &progress(0, 1, pending.clone(), false));
    assert!(actions(&mut c).is_empty(), "not before its TLSA is known");
    pending.security.tlsa = Some(SecurityStatus::Secure);
    c.handle_progress(ms(2), &progress(0, 1, pending, true));
    assert_eq!(
        actions(&mut c),
        [connect(0, "c.example.com.", "[::3]:5222")]
    );
}

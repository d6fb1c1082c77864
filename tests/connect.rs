//! The connector in virtual time (S29, RFC 8305 as XEP-0495 profiles it):
//! attempts in order, the next after the Connection Attempt Delay or at once
//! when one fails, the first success cancelling the rest, one outcome, the
//! deadline ending everything. Addresses here are loopback; nothing is
//! dialled (the connector only says what to dial).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use impp_resolver::connect::{
    AttemptFailure, AttemptId, ConnectAction, ConnectConfig, ConnectOutcome, Connector,
};
use impp_resolver::{Answer, Endpoint, Instant, Via};
use impp_test_support::records::name;

fn ms(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn endpoint(target: &str, port: u16, addresses: &[&str]) -> Endpoint {
    Endpoint {
        priority: 0,
        weight: 0,
        port,
        target: name(target),
        service: None,
        addresses: addresses
            .iter()
            .map(|a| a.parse::<IpAddr>().unwrap())
            .collect(),
    }
}

fn answer(endpoints: Vec<Endpoint>) -> Answer {
    Answer {
        endpoints,
        omitted: 0,
        via: Via::Srv {
            owner: name("_xmpp-client._tcp.example.com."),
            index: 0,
        },
        ttl: 300,
    }
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
        id: AttemptId(id),
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
    let mut c = Connector::new(&a, &ConnectConfig::default(), ms(0));
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
    c.handle_connected(AttemptId(1), ms(251));
    // The winner ends it; the IPv6 attempt still open is cancelled.
    assert_eq!(actions(&mut c), [ConnectAction::Cancel(AttemptId(0))]);
    assert_eq!(
        c.poll_outcome(),
        Some(ConnectOutcome::Connected {
            id: AttemptId(1),
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
    let mut c = Connector::new(&a, &ConnectConfig::default(), ms(0));
    assert_eq!(
        actions(&mut c),
        [connect(0, "a.example.com.", "127.0.0.1:5222")]
    );
    c.handle_failed(AttemptId(0), AttemptFailure::Refused, ms(3));
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
    let mut c = Connector::new(&a, &ConnectConfig::default(), ms(0));
    c.handle_failed(AttemptId(0), AttemptFailure::Unreachable, ms(1));
    c.handle_failed(AttemptId(1), AttemptFailure::Refused, ms(2));
    assert!(c.poll_outcome().is_none(), "one attempt still open");
    c.handle_failed(AttemptId(2), AttemptFailure::Refused, ms(3));
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
    let mut c = Connector::new(&a, &ConnectConfig::default(), ms(0));
    c.handle_timeout(ms(250));
    c.handle_connected(AttemptId(1), ms(260));
    actions(&mut c);
    let won = c.poll_outcome();
    assert!(matches!(
        won,
        Some(ConnectOutcome::Connected {
            id: AttemptId(1),
            ..
        })
    ));
    // The cancelled first attempt completes anyway: nothing changes.
    c.handle_connected(AttemptId(0), ms(270));
    c.handle_failed(AttemptId(1), AttemptFailure::Other, ms(271));
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
    let mut c = Connector::new(&a, &config, ms(0));
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
    let mut c = Connector::new(&a, &ConnectConfig::default(), ms(0));
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
    let c = Connector::new(&a, &config, ms(0));
    assert_eq!(c.poll_timeout(), Some(ms(100)));
}

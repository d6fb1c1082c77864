//! The deadline holds whatever a server sends (S23, S27), in both drivers,
//! over real loopback sockets: servers that answer TC=1 and then flood the
//! TCP connection with framed answers to the wrong question, and a server
//! that floods the client's UDP sockets with junk, including answers with
//! the query's id and another question.
//!
//! Nothing here measures time. Two resolutions share one client and its
//! sockets: A, then B a second later. Each can only time out (2 s). A must
//! end while B is still in flight: a driver that reads a flooded socket
//! until it would block (the bytes stay dear to vet while B waits on
//! them) or waits on a timer the flood starves ends A only when B ends
//! too, or when the flood stops (30 s at most: a broken driver fails the
//! test rather than hang it).
#![cfg(feature = "tokio")]

use std::sync::Mutex;
use std::time::Duration;

use impp_resolver::{Answer, Config, DriverError, Error, ErrorKind, Protocol, Uri, blocking};
use impp_test_support::flood::Flood;

/// The floods take a core each: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const LIFETIME: Duration = Duration::from_secs(30);

fn config(floods: &[&Flood]) -> Config {
    Config {
        servers: floods.iter().map(|f| f.addr).collect(),
        resolution_timeout: Duration::from_secs(2),
        ..Config::default()
    }
}

fn uri(user: &str) -> Uri {
    format!("im:{user}@flood.example").parse().unwrap()
}

/// A's result, and how many resolutions were still in flight when it came.
type Outcome = (Result<Answer, Error>, usize);

fn with_blocking(config: Config) -> Outcome {
    let mut client = blocking::Client::new(config).unwrap();
    let a = client
        .start_uri(&uri("a"), &[Protocol::XMPP], None)
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let b = client
        .start_uri(&uri("b"), &[Protocol::XMPP], None)
        .unwrap();
    let result = client.wait(a).expect("no socket error");
    let in_flight = client.resolver().resolutions_in_flight();
    // B ends too, with a timeout, before the flood does.
    let b = client.wait(b).expect("no socket error");
    assert_eq!(b.map_err(|e| e.kind()).err(), Some(ErrorKind::Timeout));
    (result, in_flight)
}

fn with_tokio(config: Config) -> Outcome {
    // One thread: the driver's task and the callers share it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = impp_resolver::tokio::Client::new(config).unwrap();
        let a_uri = uri("a");
        let a = client.resolve_uri(&a_uri, &[Protocol::XMPP], None);
        let b = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            client.resolve_uri(&uri("b"), &[Protocol::XMPP], None).await
        };
        tokio::pin!(a, b);
        // Both run; A's result is taken as soon as it comes.
        let result = tokio::select! {
            result = &mut a => result,
            _ = &mut b => panic!("B ended before A"),
        };
        let in_flight = client.resolutions_in_flight().await.unwrap();
        let b = b.await;
        assert!(matches!(&b, Err(DriverError::Resolve(e)) if e.kind() == ErrorKind::Timeout));
        let result = match result {
            Ok(answer) => Ok(answer),
            Err(DriverError::Resolve(e)) => Err(e),
            Err(e) => panic!("{e}"),
        };
        (result, in_flight)
    })
}

/// A timed out while B was in flight and every flood still going, and the
/// floods really ran.
fn ended_in_time((result, in_flight): Outcome, floods: &[&Flood]) {
    for flood in floods {
        assert!(!flood.lifetime_over(), "A ended only when the flood did");
    }
    match result {
        Err(e) => assert_eq!(e.kind(), ErrorKind::Timeout, "{e}"),
        Ok(answer) => panic!("{answer:?}"),
    }
    assert_eq!(in_flight, 1, "A ended only when B did");
    let sent: usize = floods.iter().map(|f| f.sent()).sum();
    assert!(sent > 1_000, "the flood ran: {sent} sent");
}

fn wrong_questions_over_tcp(resolve: fn(Config) -> Outcome) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (a, b) = (
        Flood::wrong_questions(LIFETIME),
        Flood::wrong_questions(LIFETIME),
    );
    let outcome = resolve(config(&[&a, &b]));
    ended_in_time(outcome, &[&a, &b]);
    // Each SRV question went out over UDP, then over TCP to the servers
    // that truncated it; the flood drew no burst of queries back.
    let queries = a.queries() + b.queries();
    assert!((4..=32).contains(&queries), "{queries} queries");
}

fn junk_at_the_sockets(resolve: fn(Config) -> Outcome) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let flood = Flood::junk(LIFETIME);
    let outcome = resolve(config(&[&flood]));
    ended_in_time(outcome, &[&flood]);
    // Resent at the measured pace until the deadline (S23), no faster.
    let queries = flood.queries();
    assert!((2..=32).contains(&queries), "{queries} queries");
}

#[test]
fn tcp_floods_of_wrong_questions_end_at_the_deadline_blocking() {
    wrong_questions_over_tcp(with_blocking);
}

#[test]
fn tcp_floods_of_wrong_questions_end_at_the_deadline_tokio() {
    wrong_questions_over_tcp(with_tokio);
}

#[test]
fn udp_junk_at_the_sockets_ends_at_the_deadline_blocking() {
    junk_at_the_sockets(with_blocking);
}

#[test]
fn udp_junk_at_the_sockets_ends_at_the_deadline_tokio() {
    junk_at_the_sockets(with_tokio);
}

//! The tokio driver over real loopback sockets, against a real DNS server
//! started by the test (hickory-server): many resolutions at once on both
//! runtime flavours, cancelling by dropping a future, TC=1 then TCP (S22),
//! a silent server's timeout, start errors, the cache kept across calls,
//! and the task ending with the last handle.
#![cfg(feature = "tokio")]

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use impp_resolver::tokio::Client;
use impp_resolver::{Config, DriverError, Error, Protocol, StartError, Uri};
use impp_test_support::records::config;
use impp_test_support::zone_server;
use tokio::task::JoinSet;

const BOTH: [Protocol; 2] = [Protocol::XMPP, Protocol::SIP];

fn uri(text: &str) -> Uri {
    text.parse().unwrap()
}

/// A server of 1,000 domains, each with two targets and their addresses.
fn bench_server() -> SocketAddr {
    static SERVER: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();
    *SERVER.get_or_init(|| {
        let zone = zone_server::bench_zone(1000);
        zone_server::start(&[("bench.example.", &zone)])
    })
}

/// A bound socket that never answers.
fn silent_server() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

async fn thousand_at_once() {
    let client = Client::new(config(&[bench_server()])).unwrap();
    let mut tasks = JoinSet::new();
    for i in 0..1000 {
        let client = client.clone();
        tasks.spawn(async move {
            let answer = client
                .resolve_uri(&uri(&format!("im:user@d{i}.bench.example")), &BOTH, None)
                .await
                .expect("resolves");
            (i, answer)
        });
    }
    let mut seen = 0;
    while let Some(joined) = tasks.join_next().await {
        let (i, answer) = joined.unwrap();
        let targets: Vec<String> = answer
            .endpoints
            .iter()
            .map(|e| e.target.to_ascii())
            .collect();
        let mut sorted = targets.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [
                format!("a.d{i}.bench.example."),
                format!("b.d{i}.bench.example.")
            ]
        );
        assert!(
            answer.endpoints.iter().all(|e| e.addresses.len() == 2),
            "{answer}"
        );
        seen += 1;
    }
    assert_eq!(seen, 1000);
    assert_eq!(client.resolutions_in_flight().await.unwrap(), 0);
    let stats = client.stats().await.unwrap();
    assert_eq!(stats.queries_in_flight, 0);
    assert!(stats.answers_accepted >= 3000, "{stats:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_thousand_at_once_on_the_current_thread_runtime() {
    thousand_at_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_at_once_on_the_multi_thread_runtime() {
    thousand_at_once().await;
}

#[tokio::test]
async fn dropping_the_future_cancels_the_resolution() {
    let (_silent, addr) = silent_server();
    let client = Client::new(config(&[addr])).unwrap();
    let fred = uri("im:fred@example.com");
    let pending = client.resolve_uri(&fred, &BOTH, None);
    // Given up on long before the resolution's own deadline.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), pending)
            .await
            .is_err()
    );
    assert_eq!(client.resolutions_in_flight().await.unwrap(), 0);
    let stats = client.stats().await.unwrap();
    assert_eq!(stats.queries_in_flight, 0, "nothing is asked any more");
    assert!(stats.queries_sent >= 2, "the SRV queries did go out");
}

#[tokio::test]
async fn a_truncated_answer_is_asked_again_over_tcp() {
    let client = Client::new(Config {
        resolution_timeout: Duration::from_secs(10),
        ..config(&[zone_server::example_zones()])
    })
    .unwrap();
    let answer = client
        .resolve_uri(&uri("im:fred@big.example.com"), &[Protocol::XMPP], None)
        .await
        .unwrap();
    // Forty targets do not fit a UDP answer: they came over TCP (S22).
    assert_eq!(answer.endpoints.len(), 40);
    let stats = client.stats().await.unwrap();
    assert!(
        stats.tcp_retries >= 1 && stats.tcp_queries_sent >= 1,
        "{stats:?}"
    );
    // The connection is closed once nothing waits on it.
    assert_eq!(stats.tcp_connections, 0);
}

#[tokio::test]
async fn a_silent_server_ends_in_timeout_by_the_deadline() {
    let (_silent, addr) = silent_server();
    let client = Client::new(Config {
        attempt_timeout: Duration::from_millis(100),
        resolution_timeout: Duration::from_millis(300),
        ..config(&[addr])
    })
    .unwrap();
    // The outer bound is a correctness bound (the deadline is kept), not a
    // speed check: 300 ms against 10 s.
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        client.resolve_uri(&uri("im:fred@example.com"), &BOTH, None),
    )
    .await
    .expect("ended by its deadline");
    assert!(
        matches!(result, Err(DriverError::Resolve(Error::Timeout { .. }))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_resolution_that_cannot_start_says_why() {
    let client = Client::new(config(&[zone_server::example_zones()])).unwrap();
    let result = client.resolve_uri(&uri("im:"), &BOTH, None).await;
    assert!(
        matches!(result, Err(DriverError::Start(StartError::NoDestination))),
        "{result:?}"
    );
}

#[test]
fn the_task_ends_with_the_last_handle() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let metrics = tokio::runtime::Handle::current().metrics();
        assert_eq!(metrics.num_alive_tasks(), 0);
        let client = Client::new(config(&[zone_server::example_zones()])).unwrap();
        let copy = client.clone();
        copy.resolve_uri(&uri("im:fred@example.com"), &BOTH, None)
            .await
            .unwrap();
        assert_eq!(metrics.num_alive_tasks(), 1, "the driver task");
        drop(client);
        tokio::task::yield_now().await;
        assert_eq!(metrics.num_alive_tasks(), 1, "a handle is left");
        drop(copy);
        // The task sees its channel close on its next poll.
        for _ in 0..100 {
            if metrics.num_alive_tasks() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(metrics.num_alive_tasks(), 0, "no task left behind");
    });
}

#[test]
fn outside_a_runtime_is_an_error_not_a_panic() {
    let e = Client::new(config(&[zone_server::example_zones()])).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::Other);
}

/// A UDP server on loopback that answers every query with the question and
/// no records (NODATA), counting the datagrams it received.
fn counting_server() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use impp_resolver::proto::op::{Message, MessageType, OpCode};
    use std::sync::atomic::{AtomicU64, Ordering};
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let received = std::sync::Arc::new(AtomicU64::new(0));
    let count = received.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            count.fetch_add(1, Ordering::SeqCst);
            let Ok(query) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            let mut m = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
            for q in query.queries {
                m.add_query(q);
            }
            let _ = socket.send_to(&m.to_vec().unwrap(), from);
        }
    });
    (addr, received)
}

#[tokio::test]
async fn every_query_handed_out_reaches_the_server() {
    // One at a time, so that every 16th query leaves from a socket just
    // opened: a send the driver dropped because the runtime had not yet
    // seen the new socket would be missing at the server (and cost a
    // retransmission timeout).
    let (addr, received) = counting_server();
    let client = Client::new(config(&[addr])).unwrap();
    for i in 0..40 {
        let result = client
            .resolve_uri(&uri(&format!("im:u@d{i}.example")), &[Protocol::XMPP], None)
            .await;
        assert!(
            matches!(result, Err(DriverError::Resolve(Error::NoData { .. }))),
            "{result:?}"
        );
    }
    let stats = client.stats().await.unwrap();
    // Idle now: the last socket lingers a second for the next lookup, then
    // the driver's timer hands it back (S28).
    assert!(stats.udp_sockets <= 1, "{stats:?}");
    let mut open = stats.udp_sockets;
    for _ in 0..60 {
        if open == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        open = client.stats().await.unwrap().udp_sockets;
    }
    assert_eq!(open, 0, "closed after the linger");
    assert_eq!(
        received.load(std::sync::atomic::Ordering::SeqCst),
        stats.queries_sent,
        "{stats:?}"
    );
}

#[tokio::test]
async fn connect_reaches_the_first_endpoint_that_accepts() {
    // Every address here is loopback: a listener, and a closed port.
    use impp_resolver::Answer;
    use impp_resolver::connect::{AttemptFailure, ConnectConfig};
    use impp_test_support::records::{answer_of, endpoint, name};
    let (_listener, open, closed) = zone_server::listener_and_closed_port();
    let answer = answer_of(vec![
        endpoint("down.loop.example.", closed, &["127.0.0.2"]),
        endpoint("up.loop.example.", open, &["127.0.0.1"]),
    ]);
    let connected = impp_resolver::tokio::connect(&answer, &ConnectConfig::default())
        .await
        .expect("the second accepts");
    assert_eq!(connected.endpoint.target, name("up.loop.example."));
    assert_eq!(connected.stream.peer_addr().unwrap().port(), open);
    // Only the closed one: the error names it.
    let answer = Answer {
        endpoints: vec![endpoint("down.loop.example.", closed, &["127.0.0.2"])],
        ..answer
    };
    let error = impp_resolver::tokio::connect(&answer, &ConnectConfig::default())
        .await
        .unwrap_err();
    assert_eq!(error.attempts.len(), 1);
    assert_eq!(error.attempts[0].failure, AttemptFailure::Refused);
}

#[tokio::test(flavor = "current_thread")]
async fn the_client_keeps_its_cache_across_calls() {
    // S26: the second resolution is answered from memory, nothing sent.
    let client = Client::new(config(&[bench_server()])).unwrap();
    let target = uri("im:user@d7.bench.example");
    let first = client.resolve_uri(&target, &BOTH, None).await.unwrap();
    let sent = client.stats().await.unwrap().queries_sent;
    assert!(!first.from_cache && sent >= 2);
    let second = client.resolve_uri(&target, &BOTH, None).await.unwrap();
    assert!(second.from_cache);
    assert_eq!(second.endpoints.len(), first.endpoints.len());
    let stats = client.stats().await.unwrap();
    assert_eq!(stats.queries_sent, sent, "{stats:?}");
    assert!(stats.cache_hits > 0);
}

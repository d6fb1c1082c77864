//! The drivers read in batches (issue 24): a server that holds its answers
//! and sends them all at once, in reverse order, leaves many datagrams
//! waiting on one of our sockets when the driver wakes. Every one must be
//! delivered to the machine, whatever the order, and none dropped: both
//! drivers, over real loopback sockets.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use impp_resolver::proto::rr::Name;
use impp_resolver::{Config, Stats};
use impp_test_support::records::srv_answer_with_glue;

/// Lookups at once: one socket's worth (`queries_per_socket`), and the
/// machine's first window, so that all go out before any answer comes.
const AT_ONCE: usize = 16;

/// A server that gathers `AT_ONCE` queries, then answers them all at once,
/// the last first, and does so again for every further batch. Each SRV
/// answer names one target with its address in the additional section.
fn gathering_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        loop {
            let mut held = Vec::new();
            while held.len() < AT_ONCE {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    return;
                };
                held.push((srv_answer_with_glue(&buf[..n], 60), from));
            }
            for (answer, to) in held.iter().rev() {
                socket.send_to(answer, to).unwrap();
            }
        }
    });
    addr
}

fn config(server: SocketAddr) -> Config {
    Config {
        servers: vec![server],
        // Nothing is sent again while the server holds its answers.
        attempt_timeout: Duration::from_secs(5),
        cache: None,
        ..Config::default()
    }
}

fn owners() -> Vec<Name> {
    (0..AT_ONCE)
        .map(|i| Name::from_ascii(format!("_x{i}._tcp.example.com.")).unwrap())
        .collect()
}

/// What every run must show: all answers accepted, none dropped or resent.
fn check(stats: Stats) {
    assert_eq!(stats.answers_accepted, AT_ONCE as u64, "{stats:?}");
    assert_eq!(stats.datagrams_received, AT_ONCE as u64, "{stats:?}");
    assert_eq!(stats.retransmissions, 0, "{stats:?}");
    assert_eq!(stats.dropped_unmatched + stats.dropped_wrong_socket, 0);
}

#[test]
fn the_blocking_driver_delivers_every_answer_of_a_burst() {
    let mut client = impp_resolver::blocking::Client::new(config(gathering_server())).unwrap();
    let ids: Vec<_> = owners()
        .iter()
        .map(|owner| client.start_srv(owner).unwrap())
        .collect();
    assert_eq!(client.resolver().stats().udp_sockets, 1, "one socket");
    for id in ids {
        let answer = client.wait(id).unwrap().expect("resolved");
        assert_eq!(answer.endpoints.len(), 1);
    }
    check(client.resolver().stats());
}

#[test]
fn the_tokio_driver_delivers_every_answer_of_a_burst() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = impp_resolver::tokio::Client::new(config(gathering_server())).unwrap();
        let lookups = owners().into_iter().map(|owner| {
            let client = client.clone();
            tokio::spawn(async move { client.resolve_srv(&owner).await })
        });
        for lookup in lookups.collect::<Vec<_>>() {
            let answer = lookup.await.unwrap().expect("resolved");
            assert_eq!(answer.endpoints.len(), 1);
        }
        check(client.stats().await.unwrap());
    });
}

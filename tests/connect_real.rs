//! Connecting over real loopback sockets (S29). Every address here is
//! loopback: listeners the test opens on 127.0.0.x and ::1, and closed ports
//! beside them. Nothing else is ever dialled.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;

use impp_resolver::blocking;
use impp_resolver::connect::{AttemptFailure, ConnectConfig};
use impp_test_support::records::{answer_of as answer, endpoint, name};
use impp_test_support::zone_server::{listener_and_closed_port, loopback_zone};

/// A port on `ip` that nothing listens on: bound, then closed.
fn closed_port(ip: &str) -> u16 {
    TcpListener::bind((ip.parse::<IpAddr>().unwrap(), 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_first_endpoint_that_accepts_wins_in_order() {
    // b listens on 127.0.0.2 only; its ::1 address on the same port does not.
    let b = TcpListener::bind("127.0.0.2:0").unwrap();
    let b_port = b.local_addr().unwrap().port();
    // c listens too, but comes after b.
    let c = TcpListener::bind("127.0.0.3:0").unwrap();
    let c_port = c.local_addr().unwrap().port();
    let a = answer(vec![
        endpoint("a.loop.example.", closed_port("127.0.0.1"), &["127.0.0.1"]),
        endpoint("b.loop.example.", b_port, &["::1", "127.0.0.2"]),
        endpoint("c.loop.example.", c_port, &["127.0.0.3"]),
    ]);
    let connected = blocking::connect(&a, &ConnectConfig::default())
        .unwrap()
        .expect("b accepts");
    assert_eq!(connected.endpoint.target, name("b.loop.example."));
    assert_eq!(connected.addr, SocketAddr::from(([127, 0, 0, 2], b_port)));
    assert_eq!(connected.stream.peer_addr().unwrap(), connected.addr);
    // The connection is real: b's listener has it.
    b.set_nonblocking(false).unwrap();
    let (_, from) = b.accept().unwrap();
    assert_eq!(from, connected.stream.local_addr().unwrap());
}

#[test]
fn every_refused_attempt_is_named() {
    let (p1, p2) = (closed_port("127.0.0.1"), closed_port("127.0.0.2"));
    let a = answer(vec![
        endpoint("a.loop.example.", p1, &["127.0.0.1"]),
        endpoint("b.loop.example.", p2, &["127.0.0.2"]),
    ]);
    let config = ConnectConfig {
        timeout: Duration::from_secs(10),
        ..ConnectConfig::default()
    };
    let error = blocking::connect(&a, &config).unwrap().unwrap_err();
    assert_eq!(error.attempts.len(), 2);
    assert!(
        error
            .attempts
            .iter()
            .all(|a| a.failure == AttemptFailure::Refused),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!("a.loop.example 127.0.0.1:{p1} refused, b.loop.example 127.0.0.2:{p2} refused")
    );
}

/// A zone whose every address is loopback: `_xmpps-client` to a listener,
/// `_xmpp-client` to a closed port. The listener, and its port.
fn merged_zone() -> (std::net::SocketAddr, TcpListener, u16) {
    let (listener, open, closed) = listener_and_closed_port();
    let zone = loopback_zone(
        "loop.example.",
        &format!(
            "_xmpps-client._tcp IN SRV 0 60 {open} tls\n_xmpp-client._tcp IN SRV 0 40 {closed} plain\n\
             _im._xmpp IN SRV 0 0 {open} tls\ntls IN A 127.0.0.1\nplain IN A 127.0.0.2\n"
        ),
    );
    let server = impp_test_support::zone_server::start(&[("loop.example.", &zone)]);
    (server, listener, open)
}

#[test]
fn connect_srv_set_resolves_merged_names_and_says_which_one_it_reached() {
    let (server, _listener, open) = merged_zone();
    let config = impp_test_support::records::config(&[server]);
    let owners = [
        name("_xmpps-client._tcp.loop.example."),
        name("_xmpp-client._tcp.loop.example."),
    ];
    let connected =
        blocking::connect_srv_set(config.clone(), &owners, &ConnectConfig::default()).unwrap();
    assert_eq!(connected.addr, SocketAddr::from(([127, 0, 0, 1], open)));
    assert_eq!(connected.endpoint.service, Some(owners[0].clone()));
    // And from a URI.
    let uri = "im:alice@loop.example".parse().unwrap();
    let connected = blocking::connect_uri(
        config,
        &uri,
        &[impp_resolver::Protocol::XMPP],
        None,
        &ConnectConfig::default(),
    )
    .unwrap();
    assert_eq!(connected.endpoint.target, name("tls.loop.example."));
    // And through a long-lived client.
    let mut client = blocking::Client::new(impp_test_support::records::config(&[server])).unwrap();
    let connected = client
        .connect_srv_set(&owners, &ConnectConfig::default())
        .unwrap();
    assert_eq!(connected.endpoint.service, Some(owners[0].clone()));
    let connected = client
        .connect_uri(
            &uri,
            &[impp_resolver::Protocol::XMPP],
            None,
            &ConnectConfig::default(),
        )
        .unwrap();
    assert_eq!(connected.addr.port(), open);
}

#[tokio::test]
async fn the_tokio_client_connects_to_a_uri_and_to_merged_names() {
    let (server, _listener, open) = merged_zone();
    let client =
        impp_resolver::tokio::Client::new(impp_test_support::records::config(&[server])).unwrap();
    let uri = "im:alice@loop.example".parse().unwrap();
    let connected = client
        .connect_uri(
            &uri,
            &[impp_resolver::Protocol::XMPP],
            None,
            &ConnectConfig::default(),
        )
        .await
        .unwrap();
    assert_eq!(connected.stream.peer_addr().unwrap().port(), open);
    let owners = [
        name("_xmpps-client._tcp.loop.example."),
        name("_xmpp-client._tcp.loop.example."),
    ];
    let connected = client
        .connect_srv_set(&owners, &ConnectConfig::default())
        .await
        .unwrap();
    assert_eq!(connected.endpoint.service, Some(owners[0].clone()));
}

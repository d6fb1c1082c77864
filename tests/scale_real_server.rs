//! Thousands in flight over real sockets (S27, S28): resolutions started
//! all at once against a real DNS server on loopback (hickory-server,
//! in-process) all succeed, and the OS drops none of the queries at the
//! server's socket, because at most the server's window of questions, never
//! more than `max_outstanding`, is on the wire. (Our own sockets carry at most `queries_per_socket` queries each,
//! so their buffers cannot fill.) The server socket's own drop counter is
//! read, not the machine's, so that other processes' traffic cannot fail
//! the test.

use impp_resolver::blocking::Client;
use impp_resolver::{Config, Protocol, Uri};
use impp_test_support::zone_server;

const RESOLUTIONS: usize = 4096;

/// Datagrams the OS dropped on the UDP socket bound to local `port` (the
/// `drops` column of `/proc/net/udp`; Linux only, `None` elsewhere).
fn drops_at_port(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local = fields.get(1)?.rsplit(':').next()?;
        (u16::from_str_radix(local, 16).ok()? == port).then(|| fields.last()?.parse().ok())?
    })
}

#[test]
fn thousands_started_at_once_all_succeed_and_nothing_is_dropped() {
    let zone = zone_server::bench_zone(RESOLUTIONS);
    let server = zone_server::start(&[("bench.example.", &zone)]);
    let config = Config {
        servers: vec![server],
        ..Config::default()
    };
    let (max_outstanding, per_socket) = (config.max_outstanding, config.queries_per_socket);
    let mut client = Client::new(config).unwrap();
    let drops_before = drops_at_port(server.port());
    // On Linux the server's socket must be found, or the check is empty.
    assert!(drops_before.is_some() || !cfg!(target_os = "linux"));

    let ids: Vec<_> = (0..RESOLUTIONS)
        .map(|i| {
            let uri: Uri = format!("im:user@d{i}.bench.example").parse().unwrap();
            client
                .start_uri(&uri, &[Protocol::XMPP, Protocol::SIP], None)
                .unwrap()
        })
        .collect();
    let stats = client.resolver().stats();
    assert_eq!(client.resolver().resolutions_in_flight(), RESOLUTIONS);
    // Two SRV questions each; only the server's first window of them on
    // the wire (S23), far fewer than max_outstanding.
    assert_eq!(stats.queries_in_flight, 2 * RESOLUTIONS);
    let window = client.resolver().servers()[0].window as usize;
    assert!(window < max_outstanding);
    assert_eq!(stats.queries_in_flight - stats.queries_waiting, window);
    assert!(stats.udp_sockets <= max_outstanding / per_socket as usize + 2);

    for id in ids {
        let answer = client.wait(id).unwrap().expect("every resolution succeeds");
        assert_eq!(answer.endpoints.len(), 2);
        assert!(
            answer.endpoints.iter().all(|e| e.addresses.len() == 2),
            "{answer}"
        );
    }
    let drops_after = drops_at_port(server.port());
    let stats = client.resolver().stats();
    // A prompt server's window grew from there, never past the cap.
    let grown = client.resolver().servers()[0].window as usize;
    assert!((window + 1..=max_outstanding).contains(&grown), "{grown}");
    assert_eq!(stats.queries_in_flight, 0);
    // Only the socket taking new queries is left open.
    assert!(stats.udp_sockets <= 1, "{stats:?}");
    // At least the `_im._xmpp` SRV, then A and AAAA of the target whose
    // addresses the additional section lacked (hickory-server gives the
    // first target's only); the `_im._sip` answers mostly come too late to
    // matter, once XMPP's records are in (S7).
    assert!(
        stats.answers_accepted >= 3 * RESOLUTIONS as u64,
        "{stats:?}"
    );
    if let (Some(before), Some(after)) = (drops_before, drops_after) {
        assert_eq!(after - before, 0, "queries the OS dropped at the server");
    }
}

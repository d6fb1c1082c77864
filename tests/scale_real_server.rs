//! Thousands in flight over real sockets (S27, S28): resolutions started
//! all at once against a real DNS server on loopback (hickory-server,
//! in-process) all succeed, and the OS drops none of the datagrams — ours
//! or the server's — because at most `max_outstanding` questions are on the
//! wire and each of our sockets carries at most `queries_per_socket`.
//! Alone in its binary: the drop counter is the whole machine's.

use impp_resolver::blocking::Client;
use impp_resolver::{Config, Protocol, Uri};
use impp_test_support::loadgen::udp_receive_buffer_drops;
use impp_test_support::zone_server;

const RESOLUTIONS: usize = 4096;

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
    let drops_before = udp_receive_buffer_drops();

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
    // Two SRV questions each; only max_outstanding of them on the wire.
    assert_eq!(stats.queries_in_flight, 2 * RESOLUTIONS);
    assert_eq!(
        stats.queries_in_flight - stats.queries_waiting,
        max_outstanding
    );
    assert!(stats.udp_sockets <= max_outstanding / per_socket as usize + 2);

    for id in ids {
        let answer = client.wait(id).unwrap().expect("every resolution succeeds");
        assert_eq!(answer.endpoints.len(), 2);
        assert!(
            answer.endpoints.iter().all(|e| e.addresses.len() == 2),
            "{answer}"
        );
    }
    let drops_after = udp_receive_buffer_drops();
    let stats = client.resolver().stats();
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
        assert_eq!(after - before, 0, "datagrams the OS dropped");
    }
}

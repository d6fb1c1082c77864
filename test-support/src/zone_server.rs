//! An authoritative DNS server (hickory-server) started in-process on a
//! loopback port, serving zone files: the real server our tests and the
//! `demo` example talk to over real sockets.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hickory_server::Server;
use hickory_server::proto::rr::Name;
use hickory_server::proto::serialize::txt::Parser;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use impp_resolver::DriverError;
use impp_resolver::blocking;
use impp_resolver::{Answer, Config, Error, Protocol, Uri};

/// Starts a server for `zones` (origin, zone file text) on 127.0.0.1, UDP and
/// TCP on the same port, in a background thread that lives as long as the
/// process. Returns its address.
pub fn start(zones: &[(&str, &str)]) -> SocketAddr {
    let mut catalog = Catalog::new();
    for (origin, text) in zones {
        let origin = Name::from_ascii(origin).expect("zone origin");
        let (origin, records) = Parser::new(*text, None, Some(origin))
            .parse()
            .expect("zone file parses");
        let handler: InMemoryZoneHandler =
            InMemoryZoneHandler::new(origin.clone(), records, ZoneType::Primary, AxfrPolicy::Deny)
                .expect("zone loads");
        catalog.upsert(origin.into(), vec![Arc::new(handler)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async move {
            // The UDP port the OS picks may be taken for TCP (by another
            // test's listener): then try another.
            let mut tries = 0;
            let (udp, tcp, addr) = loop {
                let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
                    .await
                    .expect("bind udp");
                let addr = udp.local_addr().expect("local addr");
                match tokio::net::TcpListener::bind(addr).await {
                    Ok(tcp) => break (udp, tcp, addr),
                    Err(_) if tries < 50 => tries += 1,
                    Err(e) => panic!("bind tcp: {e}"),
                }
            };
            let mut server = Server::new(catalog);
            server.register_socket(udp);
            server.register_listener(tcp, Duration::from_secs(5), 65_535);
            tx.send(addr).expect("report address");
            let _ = server.block_until_done().await;
        });
    });
    rx.recv().expect("server started")
}

/// The zone `bench.example.` with `domains` domains `d0` … `d{n-1}`, each
/// with two `_im._xmpp` SRV targets that have an IPv4 and an IPv6 address
/// (documentation addresses: nothing ever connects to them), and an
/// `_im._sip` SRV record. For the end-to-end bench and the scale test,
/// where thousands in flight must not share questions. (The `_im._sip`
/// records are there because hickory-server 0.26's NXDOMAIN answers cost
/// time in proportion to the zone's size: at 4,096 domains it answered
/// under 3,000 queries a second, and the server, not the client, was
/// measured.)
pub fn bench_zone(domains: usize) -> String {
    let mut z = String::from(
        "$ORIGIN bench.example.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n\
         @ IN NS ns\nns IN A 192.0.2.53\n",
    );
    for i in 0..domains {
        z += &format!(
            "_im._xmpp.d{i} IN SRV 10 60 5222 a.d{i}\n_im._xmpp.d{i} IN SRV 10 40 5222 b.d{i}\n\
             _im._sip.d{i} IN SRV 10 0 5060 a.d{i}\n\
             a.d{i} IN A 192.0.2.1\na.d{i} IN AAAA 2001:db8::1\n\
             b.d{i} IN A 192.0.2.2\nb.d{i} IN AAAA 2001:db8::2\n"
        );
    }
    z
}

/// A zone of `origin` whose every address is loopback, for the tests that
/// connect (S29): `records` after the SOA and the NS every zone needs.
pub fn loopback_zone(origin: &str, records: &str) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 60\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n\
         @ IN NS ns\nns IN A 127.0.0.53\n{records}"
    )
}

/// Where the tests that connect may dial: a listener on 127.0.0.1, its
/// port, and a closed port on 127.0.0.2 (bound, then released).
pub fn listener_and_closed_port() -> (std::net::TcpListener, u16, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    let open = listener.local_addr().expect("its address").port();
    let closed = std::net::TcpListener::bind("127.0.0.2:0")
        .and_then(|l| l.local_addr())
        .expect("a port on 127.0.0.2")
        .port();
    (listener, open, closed)
}

/// One server for the whole test binary, serving `tests/zones/`.
pub fn example_zones() -> SocketAddr {
    static SERVER: OnceLock<SocketAddr> = OnceLock::new();
    *SERVER.get_or_init(|| {
        start(&[
            (
                "example.com.",
                include_str!("../../tests/zones/example.com.zone"),
            ),
            (
                "example.net.",
                include_str!("../../tests/zones/example.net.zone"),
            ),
        ])
    })
}

/// Resolves `uri` through the blocking driver; a start or I/O error is a
/// broken test, so it panics.
pub fn resolve_blocking(
    config: Config,
    uri: &str,
    protocols: &[Protocol],
    fallback: Option<u16>,
) -> Result<Answer, Error> {
    let uri: Uri = uri.parse().expect("test URI parses");
    match blocking::resolve_uri(config, &uri, protocols, fallback) {
        Ok(answer) => Ok(answer),
        Err(DriverError::Resolve(e)) => Err(e),
        Err(DriverError::Start(e)) => panic!("did not start: {e}"),
        Err(DriverError::Io(e)) => panic!("I/O error: {e}"),
        Err(DriverError::Connect(e)) => panic!("no connection was asked for: {e}"),
    }
}

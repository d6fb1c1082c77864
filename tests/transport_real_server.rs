//! The transport over real loopback sockets, through the blocking driver:
//! a real DNS server (hickory-server, started by the test) whose 40-record
//! SRV set overflows UDP (S22), dead and silent first servers (S23), and a
//! small real server that answers SERVFAIL to everything.

use impp_test_support::records::config;
use impp_test_support::zone_server::{self, resolve_blocking};
use std::net::{SocketAddr, UdpSocket};
use std::sync::OnceLock;
use std::time::Duration;

use impp_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use impp_resolver::{Answer, Config, Error, Protocol, ServerFailure, Transport};

fn server() -> SocketAddr {
    zone_server::example_zones()
}

/// A UDP server on loopback that answers SERVFAIL to every query.
fn servfail_server() -> SocketAddr {
    static SERVER: OnceLock<SocketAddr> = OnceLock::new();
    *SERVER.get_or_init(|| {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((len, from)) = socket.recv_from(&mut buf) {
                let Ok(query) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                let mut m = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                m.metadata.response_code = ResponseCode::ServFail;
                for q in query.queries {
                    m.add_query(q);
                }
                let _ = socket.send_to(&m.to_vec().unwrap(), from);
            }
        });
        addr
    })
}

/// Short attempts and a long deadline: room for every retry.
fn retrying_config(servers: &[SocketAddr]) -> Config {
    Config {
        attempt_timeout: Duration::from_millis(300),
        resolution_timeout: Duration::from_secs(10),
        ..config(servers)
    }
}

fn resolve(config: Config, uri: &str) -> Result<Answer, Error> {
    resolve_blocking(config, uri, &[Protocol::XMPP], None)
}

fn assert_all_forty(answer: &Answer) {
    assert_eq!(answer.endpoints.len(), 40);
    // Every target came back, each with its own address: the RRset is whole.
    let mut last = [0u8; 40];
    for e in &answer.endpoints {
        let label = e.target.iter().next().unwrap();
        let i: usize = std::str::from_utf8(&label[19..]).unwrap().parse().unwrap();
        last[i] += 1;
        assert_eq!(
            e.addresses,
            [std::net::IpAddr::from([192, 0, 2, 100 + i as u8])]
        );
        assert_eq!(e.priority, i as u16 / 10);
    }
    assert!(last.iter().all(|&n| n == 1));
    // S9: priorities never decrease.
    assert!(
        answer
            .endpoints
            .windows(2)
            .all(|w| w[0].priority <= w[1].priority)
    );
}

#[test]
fn oversized_srv_set_comes_whole_over_tcp_after_truncation() {
    // The premise: over UDP with a 1232-byte EDNS payload, TC=1.
    let mut query = Message::new(4321, MessageType::Query, OpCode::Query);
    query.add_query(impp_resolver::proto::op::Query::query(
        "_im._xmpp.big.example.com.".parse().unwrap(),
        impp_resolver::proto::rr::RecordType::SRV,
    ));
    let mut edns = impp_resolver::proto::op::Edns::new();
    edns.set_max_payload(1232);
    query.set_edns(edns);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket.send_to(&query.to_vec().unwrap(), server()).unwrap();
    let mut buf = [0u8; 65_535];
    let (len, _) = socket.recv_from(&mut buf).unwrap();
    let udp = Message::from_vec(&buf[..len]).unwrap();
    assert!(udp.metadata.truncation, "the server must truncate over UDP");
    // A truncated answer is never used, so 40 endpoints mean TCP worked.
    let answer = resolve(retrying_config(&[server()]), "im:fred@big.example.com").unwrap();
    assert_all_forty(&answer);
}

#[test]
fn forced_tcp_resolves_everything_over_one_connection_per_server() {
    let mut cfg = retrying_config(&[server()]);
    cfg.transport = Transport::Tcp;
    let answer = resolve(cfg, "im:fred@big.example.com").unwrap();
    assert_all_forty(&answer);
    let mut cfg = retrying_config(&[server()]);
    cfg.transport = Transport::Tcp;
    let answer = resolve(cfg, "im:fred@example.com").unwrap();
    assert_eq!(answer.endpoints.len(), 4);
}

#[test]
fn silent_first_server_then_the_real_one() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let cfg = retrying_config(&[silent.local_addr().unwrap(), server()]);
    let answer = resolve(cfg, "im:fred@example.com").unwrap();
    assert_eq!(answer.endpoints.len(), 4);
    // The silent server really was asked.
    silent.set_nonblocking(true).unwrap();
    assert!(silent.recv_from(&mut [0u8; 512]).is_ok());
}

/// A loopback port nothing listens on.
fn closed_port() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    drop(socket);
    addr
}

#[test]
fn closed_first_server_then_the_real_one() {
    let cfg = retrying_config(&[closed_port(), server()]);
    let answer = resolve(cfg, "im:fred@example.com").unwrap();
    assert_eq!(answer.endpoints.len(), 4);
}

#[test]
fn refused_tcp_connection_fails_over_to_the_next_server() {
    // Over TCP a closed port refuses the connection: handle_stream_closed.
    let mut cfg = retrying_config(&[closed_port(), server()]);
    cfg.transport = Transport::Tcp;
    let answer = resolve(cfg, "im:fred@example.com").unwrap();
    assert_eq!(answer.endpoints.len(), 4);
}

#[test]
fn servfail_moves_on_to_the_next_server() {
    let cfg = retrying_config(&[servfail_server(), server()]);
    let answer = resolve(cfg, "im:fred@example.com").unwrap();
    assert_eq!(answer.endpoints.len(), 4);
}

#[test]
fn servfail_everywhere_says_what_each_server_did() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent = silent.local_addr().unwrap();
    let cfg = retrying_config(&[servfail_server(), silent]);
    let error = resolve(cfg, "im:fred@example.com").unwrap_err();
    assert_eq!(
        error,
        Error::ServFail {
            name: "_im._xmpp.example.com.".parse().unwrap(),
            servers: vec![
                (servfail_server(), ServerFailure::rcode(2)),
                (silent, ServerFailure::Timeout)
            ],
        }
    );
}

#[test]
fn an_unsendable_first_server_costs_no_timeout_in_either_driver() {
    // Linux refuses a datagram to port 0 (EINVAL): nothing leaves. Told,
    // the machine asks the real server at once; had it waited out the
    // first attempt (2 s before anything is measured), the 1 s deadline
    // would have passed first.
    let unsendable = SocketAddr::from(([127, 0, 0, 1], 0));
    let config = Config {
        resolution_timeout: Duration::from_secs(1),
        ..config(&[unsendable, server()])
    };
    let answer = resolve(config.clone(), "im:fred@example.com").expect("blocking");
    assert_eq!(answer.endpoints.len(), 4);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = runtime
        .block_on(async {
            let client = impp_resolver::tokio::Client::new(config).unwrap();
            let uri: impp_resolver::Uri = "im:fred@example.com".parse().unwrap();
            client.resolve_uri(&uri, &[Protocol::XMPP], None).await
        })
        .expect("tokio");
    assert_eq!(answer.endpoints.len(), 4);
}

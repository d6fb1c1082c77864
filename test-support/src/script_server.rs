//! A scripted zone ([`Zone`]) served over real loopback sockets, UDP and
//! TCP on one port: for servers that lie in ways no zone file can (a CNAME
//! chain planting records for another name, NXDOMAIN beside a CNAME), so
//! that the drivers meet them over the network as they would for real.
//! It counts every question it is asked.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;

use impp_resolver::proto::op::Message;
use impp_resolver::proto::rr::RecordType;

use crate::scripted::{Reply, Zone};

/// Questions asked, by (name lower-cased, type).
type Asked = Mutex<BTreeMap<(String, RecordType), usize>>;

/// A running scripted server. Its threads live as long as the process.
pub struct ScriptServer {
    /// Where it listens, UDP and TCP.
    pub addr: SocketAddr,
    asked: Arc<Asked>,
}

impl ScriptServer {
    /// Starts serving `zone` on 127.0.0.1.
    pub fn start(zone: Zone) -> ScriptServer {
        let zone = Arc::new(zone);
        let asked = Arc::new(Mutex::new(BTreeMap::new()));
        let (udp, tcp, addr) = udp_and_tcp();
        let counts = asked.clone();
        let (z, count) = (zone.clone(), asked.clone());
        thread::spawn(move || {
            let mut buf = [0u8; 65_535];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                if let Reply::Bytes(bytes) = answer(&z, &count, addr, &buf[..n], false) {
                    let _ = udp.send_to(&bytes, from);
                }
            }
        });
        thread::spawn(move || {
            for stream in tcp.incoming().flatten() {
                let (zone, asked) = (zone.clone(), asked.clone());
                thread::spawn(move || serve_stream(stream, &zone, &asked, addr));
            }
        });
        ScriptServer {
            addr,
            asked: counts,
        }
    }

    /// How often `name` (any letter case) was asked for `rtype`.
    pub fn asked(&self, name: &str, rtype: RecordType) -> usize {
        let key = (name.to_ascii_lowercase(), rtype);
        self.asked.lock().unwrap().get(&key).copied().unwrap_or(0)
    }
}

/// A UDP socket and a TCP listener on one port of 127.0.0.1, as a DNS
/// server has them. The UDP port the OS picks may be taken for TCP (by
/// another test's listener): then another.
pub fn udp_and_tcp() -> (UdpSocket, TcpListener, SocketAddr) {
    (0..50)
        .find_map(|_| {
            let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
            let addr = udp.local_addr().expect("local addr");
            TcpListener::bind(addr).ok().map(|tcp| (udp, tcp, addr))
        })
        .expect("a port free for UDP and TCP")
}

/// Counts the question of `query` and answers it as `zone` says.
fn answer(zone: &Zone, asked: &Asked, server: SocketAddr, query: &[u8], tcp: bool) -> Reply {
    let Ok(q) = Message::from_vec(query) else {
        return Reply::Silence;
    };
    let Some(question) = q.queries.first() else {
        return Reply::Silence;
    };
    let key = (
        question.name().to_ascii().to_ascii_lowercase(),
        question.query_type(),
    );
    *asked.lock().unwrap().entry(key).or_default() += 1;
    zone.reply(server, query, tcp)
}

/// One TCP connection: length-prefixed queries in, answers out (RFC 7766).
fn serve_stream(mut stream: TcpStream, zone: &Zone, asked: &Asked, server: SocketAddr) {
    let mut prefix = [0u8; 2];
    while stream.read_exact(&mut prefix).is_ok() {
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        if stream.read_exact(&mut query).is_err() {
            return;
        }
        match answer(zone, asked, server, &query, true) {
            Reply::Bytes(bytes) => {
                let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&bytes);
                if stream.write_all(&framed).is_err() {
                    return;
                }
            }
            Reply::Silence => {}
            Reply::Close => return,
        }
    }
}

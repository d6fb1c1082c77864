//! Servers on loopback that flood the client, for the tests that the
//! deadline holds whatever a server sends (S23, S27):
//!
//! - [`Flood::wrong_questions`] answers every UDP query with TC=1, then on
//!   the TCP connection that follows sends framed answers with the query's
//!   id and another question, as fast as it can;
//! - [`Flood::junk`] answers nothing, and sends junk datagrams at every
//!   socket a query came from, as fast as it can, among them answers with
//!   the query's id and another question (what the server itself, or an
//!   attacker who sees the query, can send).
//!
//! Both make every message as dear to vet as a message gets (a question of
//! 127 labels) and as cheap to send.
//!
//! A flood lasts until the server is dropped or its lifetime is over,
//! whichever comes first: a broken client that waits for the flood to end
//! makes its test fail (the resolution ended after [`Flood::lifetime_over`])
//! rather than hang.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use impp_resolver::proto::op::{Message, MessageType, OpCode, Query};
use impp_resolver::proto::rr::RecordType;

use crate::records::name;

/// What the server's threads share.
#[derive(Default)]
struct Shared {
    /// Queries received, over UDP and TCP.
    queries: AtomicUsize,
    /// Messages or datagrams of the flood sent.
    sent: AtomicUsize,
    /// Set when the server is dropped.
    stop: AtomicBool,
    /// Set when the lifetime ran out with the flood still going.
    over: AtomicBool,
}

/// A flooding server; the flood stops when it is dropped.
pub struct Flood {
    /// Where it listens (UDP, and TCP on the same port for
    /// [`Flood::wrong_questions`]).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl Flood {
    /// Queries the server received.
    pub fn queries(&self) -> usize {
        self.shared.queries.load(Ordering::Relaxed)
    }

    /// Messages (TCP) or datagrams (UDP) of the flood sent so far.
    pub fn sent(&self) -> usize {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Whether the lifetime ran out: the flood stopped on its own.
    pub fn lifetime_over(&self) -> bool {
        self.shared.over.load(Ordering::Relaxed)
    }

    /// TC=1 over UDP, then answers to the wrong question over TCP, for at
    /// most `lifetime`.
    pub fn wrong_questions(lifetime: Duration) -> Flood {
        let (udp, tcp, addr) = crate::script_server::udp_and_tcp();
        let shared = Arc::new(Shared::default());
        let until = Instant::now() + lifetime;
        let s = shared.clone();
        thread::spawn(move || {
            udp.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let mut buf = [0u8; 4096];
            while !s.stop.load(Ordering::Relaxed) {
                let Ok((n, from)) = udp.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(q) = Message::from_vec(&buf[..n])
                    .ok()
                    .filter(|q| !q.queries.is_empty())
                {
                    s.queries.fetch_add(1, Ordering::Relaxed);
                    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
                    m.add_query(q.queries[0].clone());
                    m.metadata.truncation = true;
                    let _ = udp.send_to(&m.to_vec().unwrap(), from);
                }
            }
        });
        let s = shared.clone();
        thread::spawn(move || {
            tcp.set_nonblocking(true).unwrap();
            while !s.stop.load(Ordering::Relaxed) {
                match tcp.accept() {
                    Ok((stream, _)) => {
                        let s = s.clone();
                        thread::spawn(move || flood_stream(stream, &s, until));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Flood { addr, shared }
    }

    /// No answers: junk datagrams at every socket a query came from, for at
    /// most `lifetime`.
    pub fn junk(lifetime: Duration) -> Flood {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let addr = udp.local_addr().expect("local addr");
        udp.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared::default());
        let until = Instant::now() + lifetime;
        let s = shared.clone();
        thread::spawn(move || {
            let mut targets: Vec<SocketAddr> = Vec::new();
            let mut buf = [0u8; 4096];
            // Junk of every kind a client must drop: too short, not a
            // response, and (the dearest) an answer with the id of the
            // latest query and another question.
            let mut wrong = Message::new(0, MessageType::Response, OpCode::Query);
            wrong.add_query(Query::query(costly_name(), RecordType::SRV));
            let mut junk: [Vec<u8>; 3] = [vec![0xff; 5], vec![0u8; 40], wrong.to_vec().unwrap()];
            let mut i = 0usize;
            while !s.stop.load(Ordering::Relaxed) {
                while let Ok((n, from)) = udp.recv_from(&mut buf) {
                    s.queries.fetch_add(1, Ordering::Relaxed);
                    if !targets.contains(&from) {
                        targets.push(from);
                    }
                    if n >= 2 {
                        junk[2][..2].copy_from_slice(&buf[..2]);
                    }
                }
                if targets.is_empty() {
                    thread::sleep(Duration::from_millis(1));
                    continue;
                }
                if Instant::now() >= until {
                    s.over.store(true, Ordering::Relaxed);
                    return;
                }
                for to in &targets {
                    for _ in 0..64 {
                        i = i.wrapping_add(1);
                        let _ = udp.send_to(&junk[i % junk.len()], to);
                        s.sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        Flood { addr, shared }
    }
}

/// The question of the flood's answers: 127 one-letter labels, the most a
/// name holds. Cheap to send, as dear as a question gets to decode and
/// compare.
fn costly_name() -> impp_resolver::proto::rr::Name {
    name(&"a.".repeat(127))
}

/// One TCP connection: reads the first framed query, then writes framed
/// answers with its id and another question until the client goes away,
/// the server is dropped or `until`. Later queries are read and counted.
fn flood_stream(mut stream: TcpStream, s: &Shared, until: Instant) {
    let mut prefix = [0u8; 2];
    let mut query = vec![0u8; 512];
    if stream.read_exact(&mut prefix).is_err() {
        return;
    }
    let len = usize::from(u16::from_be_bytes(prefix));
    query.resize(len, 0);
    if stream.read_exact(&mut query).is_err() || len < 2 {
        return;
    }
    s.queries.fetch_add(1, Ordering::Relaxed);
    let id = Arc::new(AtomicU16::new(u16::from_be_bytes([query[0], query[1]])));
    // Later queries on the connection: counted, their id taken up.
    if let Ok(mut reader) = stream.try_clone() {
        let latest = id.clone();
        let queries = Arc::new(AtomicUsize::new(0));
        let counted = queries.clone();
        thread::spawn(move || {
            let mut prefix = [0u8; 2];
            while reader.read_exact(&mut prefix).is_ok() {
                let mut q = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
                if reader.read_exact(&mut q).is_err() || q.len() < 2 {
                    return;
                }
                latest.store(u16::from_be_bytes([q[0], q[1]]), Ordering::Relaxed);
                counted.fetch_add(1, Ordering::Relaxed);
            }
        });
        // Folded into the server's count as the flood goes.
        let mut folded = 0;
        let mut wrong = Message::new(0, MessageType::Response, OpCode::Query);
        wrong.add_query(Query::query(costly_name(), RecordType::SRV));
        let mut batch = Vec::new();
        let mut batch_id = None;
        loop {
            let more = queries.load(Ordering::Relaxed);
            s.queries.fetch_add(more - folded, Ordering::Relaxed);
            folded = more;
            if s.stop.load(Ordering::Relaxed) {
                return;
            }
            if Instant::now() >= until {
                s.over.store(true, Ordering::Relaxed);
                return;
            }
            let now_id = id.load(Ordering::Relaxed);
            if batch_id != Some(now_id) {
                wrong.metadata.id = now_id;
                let message = wrong.to_vec().unwrap();
                batch.clear();
                for _ in 0..256 {
                    batch.extend_from_slice(&(message.len() as u16).to_be_bytes());
                    batch.extend_from_slice(&message);
                }
                batch_id = Some(now_id);
            }
            if stream.write_all(&batch).is_err() {
                return;
            }
            s.sent.fetch_add(256, Ordering::Relaxed);
        }
    }
}

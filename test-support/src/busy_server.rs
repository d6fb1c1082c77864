//! A busy DNS server: it takes one query at a time off its UDP socket,
//! spends a fixed service time on it, and only then reads the next, so
//! queries queue in its socket buffer as they do at an overloaded or
//! single-threaded resolver. It forwards each query, as it arrived, to a
//! real server behind it and relays that server's answer, so what it
//! answers is what the real server says; it only adds the queue.
//!
//! It counts every query, and every query for a question it was already
//! asked: what a client's resends cost the server (issue 25).

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use impp_resolver::proto::op::Message;
use impp_resolver::proto::rr::RecordType;

/// What the server was asked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Queries taken off the socket.
    pub queries: u64,
    /// Of those, ones whose question (name in any case, type) it had
    /// already been asked.
    pub asked_again: u64,
    /// Queries the server behind it did not answer in time (none, unless
    /// the machine is badly overloaded).
    pub unanswered: u64,
}

/// The counts, and how often each question (name lower-cased, type) came.
type Ledger = Mutex<(Counts, BTreeMap<(String, RecordType), u32>)>;

/// A running busy server. Its thread lives as long as the process.
pub struct BusyServer {
    /// Where it listens (UDP only).
    pub addr: SocketAddr,
    counts: Arc<Ledger>,
}

impl BusyServer {
    /// Starts serving on 127.0.0.1, one query each `service`, in front of
    /// the DNS server at `backend`.
    pub fn start(backend: SocketAddr, service: Duration) -> BusyServer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let addr = socket.local_addr().expect("local addr");
        let upstream = UdpSocket::bind("127.0.0.1:0").expect("bind upstream");
        upstream.connect(backend).expect("connect to the backend");
        upstream
            .set_read_timeout(Some(Duration::from_secs(1)))
            .expect("upstream timeout");
        let counts = Arc::new(Mutex::new((Counts::default(), BTreeMap::new())));
        let shared = counts.clone();
        thread::spawn(move || {
            let mut query = [0u8; 4096];
            let mut answer = [0u8; 65_535];
            while let Ok((n, from)) = socket.recv_from(&mut query) {
                let began = Instant::now();
                let key = question(&query[..n]);
                {
                    let (counts, seen) = &mut *shared.lock().unwrap();
                    counts.queries += 1;
                    if let Some(key) = key {
                        let times = seen.entry(key).or_insert(0);
                        if *times > 0 {
                            counts.asked_again += 1;
                        }
                        *times += 1;
                    }
                }
                let relayed = upstream.send(&query[..n]).and_then(|_| {
                    loop {
                        // Only the answer with this query's id: an earlier one
                        // that came too late is dropped.
                        let m = upstream.recv(&mut answer)?;
                        if answer[..2.min(m)] == query[..2.min(n)] {
                            break Ok(m);
                        }
                    }
                });
                // The rest of the fixed service time, however long the
                // server behind took.
                if let Some(rest) = service.checked_sub(began.elapsed()) {
                    thread::sleep(rest);
                }
                match relayed {
                    Ok(m) => {
                        let _ = socket.send_to(&answer[..m], from);
                    }
                    Err(_) => shared.lock().unwrap().0.unanswered += 1,
                }
            }
        });
        BusyServer { addr, counts }
    }

    /// What it has been asked so far.
    pub fn counts(&self) -> Counts {
        self.counts.lock().unwrap().0.clone()
    }
}

/// A query's question, name lower-cased.
fn question(query: &[u8]) -> Option<(String, RecordType)> {
    let message = Message::from_vec(query).ok()?;
    let q = message.queries.first()?;
    Some((q.name().to_ascii().to_ascii_lowercase(), q.query_type()))
}

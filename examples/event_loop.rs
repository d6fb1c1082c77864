//! Embedding the machine in your own event loop: one thread, one `mio`
//! poll, one `Resolver`, every URI on the command line resolved at once over
//! UDP and TCP.
//!
//! ```text
//! cargo run --example event_loop -- [--server IP:PORT]... URI...
//! ```
//!
//! Without `--server`, the system's resolvers (`/etc/resolv.conf`). Prints
//! each URI, then its endpoints in `resolve`'s format
//! (`<priority> <weight> <port> <target> <addrs>`) or its error line
//! (`error: <kind>: <detail>`). Exit 0 when every URI resolved, 2 when any
//! failed, 1 on bad usage.
//!
//! The loop is what every driver does (`src/driver/blocking.rs` and `src/driver/tokio.rs`
//! do the same): send what `poll_transmit` asks, from the UDP socket it
//! names (opened the first time) or on the TCP connection to its server;
//! close what `poll_close` and `poll_close_socket` name; hand in every
//! datagram with the socket it arrived on and every TCP byte with its
//! server; wait for readiness or `poll_timeout`, whichever comes first; then
//! `handle_timeout`. Each socket is read at most a budget of times a pass
//! (a server flooding one must not keep the others, or the deadline,
//! waiting), and one left readable is read again next pass without waiting.
//! Reads take up to 16 datagrams a system call (`blocking::UdpBatch`);
//! sends go one at a time here for brevity, where the blocking driver sends
//! those leaving one socket together (`UdpBatch::send`).

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use impp_resolver::blocking::{self, BATCH, UdpBatch};
use impp_resolver::{Answer, Clock, Config, Event, Protocol, Resolver, SocketId, Transmit, Uri};
use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};

/// What a poll token stands for.
#[derive(Clone, Copy)]
enum Owner {
    Udp(SocketId),
    Tcp(SocketAddr),
}

/// The loop's sockets, by the machine's names for them.
struct Sockets {
    poll: Poll,
    udp: BTreeMap<SocketId, UdpSocket>,
    /// A connection per server, and what is still to be written on it.
    tcp: BTreeMap<SocketAddr, (TcpStream, Vec<u8>, Token)>,
    owners: BTreeMap<Token, Owner>,
    next_token: usize,
}

/// Reads of one socket per pass: mio reports readiness once, on its edge,
/// so a socket whose budget ran out goes in the backlog, read next pass.
const READ_BUDGET: usize = 64;

impl Sockets {
    fn token(&mut self, owner: Owner) -> Token {
        self.next_token += 1;
        self.owners.insert(Token(self.next_token), owner);
        Token(self.next_token)
    }

    fn send(&mut self, t: &Transmit) -> io::Result<()> {
        match t.socket {
            Some(id) => {
                if !self.udp.contains_key(&id) {
                    // Connected to the server (a socket carries queries to
                    // one server only): the kernel picks its port.
                    let mut socket = UdpSocket::from_std(blocking::open_udp(t.server)?);
                    let token = self.token(Owner::Udp(id));
                    self.poll
                        .registry()
                        .register(&mut socket, token, Interest::READABLE)?;
                    self.udp.insert(id, socket);
                }
                match self.udp[&id].send(&t.payload) {
                    // A full send buffer is a lost packet: the machine
                    // sends it again when the attempt times out.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                    Ok(_) => {}
                }
            }
            None => {
                if !self.tcp.contains_key(&t.server) {
                    let mut stream = TcpStream::connect(t.server)?;
                    let token = self.token(Owner::Tcp(t.server));
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    self.poll
                        .registry()
                        .register(&mut stream, token, interest)?;
                    self.tcp.insert(t.server, (stream, Vec::new(), token));
                }
                let (stream, outbox, _) = self.tcp.get_mut(&t.server).unwrap();
                outbox.extend_from_slice(&t.payload);
                write_some(stream, outbox)?;
            }
        }
        Ok(())
    }
}

/// Writes what the connection takes now; the rest waits for WRITABLE.
fn write_some(stream: &mut TcpStream, outbox: &mut Vec<u8>) -> io::Result<()> {
    while !outbox.is_empty() {
        match stream.write(outbox) {
            Ok(n) => {
                outbox.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            // Still connecting.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let (servers, uris) = match parse_args() {
        Ok(args) => args,
        Err(problem) => {
            eprintln!("event_loop: {problem}\nusage: event_loop [--server IP:PORT]... URI...");
            return ExitCode::from(1);
        }
    };
    match run(servers, &uris) {
        Ok(results) => {
            let mut all_resolved = true;
            for (text, result) in results {
                println!("{text}");
                match result {
                    Ok(answer) => print!("{answer}"),
                    Err(line) => {
                        all_resolved = false;
                        println!("{line}");
                    }
                }
            }
            if all_resolved {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(e) => {
            eprintln!("error: io: {e}");
            ExitCode::from(2)
        }
    }
}

/// The URIs to resolve, each with its text as given.
type Uris = Vec<(String, Uri)>;

fn parse_args() -> Result<(Vec<SocketAddr>, Uris), lexopt::Error> {
    use lexopt::prelude::*;
    let (mut servers, mut uris) = (Vec::new(), Vec::new());
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("server") => servers.push(parser.value()?.parse()?),
            Value(text) => {
                let text = text.string()?;
                let uri = text.parse().map_err(|e| format!("{text}: {e}"))?;
                uris.push((text, uri));
            }
            _ => return Err(arg.unexpected()),
        }
    }
    if uris.is_empty() {
        return Err("at least one URI is required".into());
    }
    Ok((servers, uris))
}

/// An error line: `error: <kind>: <detail>`.
type ErrorLine = String;

/// Resolves every URI at once; their results in the order given.
fn run(
    mut servers: Vec<SocketAddr>,
    uris: &[(String, Uri)],
) -> io::Result<Vec<(String, Result<Answer, ErrorLine>)>> {
    if servers.is_empty() {
        servers = impp_resolver::blocking::system_servers()?;
    }
    let config = Config {
        servers,
        ..Config::default()
    };
    let mut resolver = Resolver::new(config, impp_resolver::os_rng()?);
    let clock = Clock::new();
    let mut sockets = Sockets {
        poll: Poll::new()?,
        udp: BTreeMap::new(),
        tcp: BTreeMap::new(),
        owners: BTreeMap::new(),
        next_token: 0,
    };
    let protocols = [Protocol::XMPP, Protocol::SIP];
    let mut pending = BTreeMap::new();
    let mut results: Vec<Option<Result<Answer, ErrorLine>>> = vec![None; uris.len()];
    for (i, (_, uri)) in uris.iter().enumerate() {
        match resolver.resolve_uri(clock.now(), uri, &protocols, None) {
            Ok(id) => {
                pending.insert(id, i);
            }
            // Nothing started (no domain, say): its error line at once.
            Err(e) => results[i] = Some(Err(format!("error: {}: {e}", e.kind()))),
        }
    }
    let mut events = Events::with_capacity(64);
    let mut buf = vec![0u8; 65_535];
    let mut batch = UdpBatch::new();
    // Sockets whose read budget ran out last pass.
    let mut backlog = std::collections::BTreeSet::new();
    while !pending.is_empty() {
        // Send, close and collect what the machine has for us.
        while let Some(t) = resolver.poll_transmit() {
            if sockets.send(&t).is_err() {
                // Either way the next server is asked at once, not after
                // a timeout.
                match t.socket {
                    Some(_) => resolver.handle_send_failed(clock.now(), &t),
                    None => {
                        sockets.tcp.remove(&t.server);
                        resolver.handle_stream_closed(clock.now(), t.server);
                    }
                }
            }
        }
        while let Some(server) = resolver.poll_close() {
            sockets.tcp.remove(&server);
        }
        while let Some(id) = resolver.poll_close_socket() {
            sockets.udp.remove(&id);
        }
        while let Some(event) = resolver.poll_event() {
            let (id, result) = match event {
                Event::Resolved { id, answer } => (id, Ok(answer)),
                Event::Failed { id, error } => {
                    (id, Err(format!("error: {}: {error}", error.kind())))
                }
            };
            if let Some(i) = pending.remove(&id) {
                results[i] = Some(result);
            }
        }
        if pending.is_empty() {
            // All ended: hand the sockets back now, not after the second
            // an idle machine keeps them for the next lookup (S28).
            resolver.close_idle_sockets();
            while let Some(id) = resolver.poll_close_socket() {
                sockets.udp.remove(&id);
            }
            break;
        }
        let Some(deadline) = resolver.poll_timeout() else {
            break;
        };
        // Round up: waking a little early would spin until the deadline.
        // With sockets still readable from the last pass, do not wait.
        let wait = match backlog.is_empty() {
            true => deadline.saturating_duration_since(clock.now()) + Duration::from_micros(500),
            false => Duration::ZERO,
        };
        sockets.poll.poll(&mut events, Some(wait))?;
        let mut ready = std::mem::take(&mut backlog);
        ready.extend(events.iter().map(|event| event.token()));
        for token in ready {
            match sockets.owners.get(&token).copied() {
                Some(Owner::Udp(id)) => {
                    let Some(socket) = sockets.udp.get(&id) else {
                        continue;
                    };
                    // Up to 16 datagrams a system call (`recvmmsg` on
                    // Linux); a short batch means the socket is empty.
                    let mut drained = false;
                    let mut read = 0;
                    let mut failed = false;
                    while read < READ_BUDGET {
                        // One clock reading a batch: they were all waiting.
                        let at = clock.now();
                        let deliver = |from, bytes: &[u8]| {
                            resolver.handle_datagram(at, id, from, bytes);
                        };
                        match batch.recv(socket, deliver) {
                            Ok(n) if n == BATCH => read += n,
                            // An ICMP error (the server's port closed) is
                            // reported once; answers may wait behind it.
                            Err(e) if e.kind() != io::ErrorKind::WouldBlock && !failed => {
                                failed = true;
                            }
                            _ => {
                                drained = true;
                                break;
                            }
                        }
                    }
                    if !drained {
                        backlog.insert(token);
                    }
                }
                Some(Owner::Tcp(server)) => {
                    let Some((stream, outbox, _)) = sockets.tcp.get_mut(&server) else {
                        continue;
                    };
                    let mut open = write_some(stream, outbox).is_ok();
                    // Reads of up to 64 KiB each: a few a pass.
                    let mut budget = 4;
                    while open {
                        if budget == 0 {
                            backlog.insert(token);
                            break;
                        }
                        budget -= 1;
                        match stream.read(&mut buf) {
                            Ok(0) => open = false,
                            Ok(n) => resolver.handle_stream(clock.now(), server, &buf[..n]),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == io::ErrorKind::NotConnected => break,
                            Err(_) => open = false,
                        }
                    }
                    if !open {
                        sockets.tcp.remove(&server);
                        resolver.handle_stream_closed(clock.now(), server);
                    }
                }
                None => {}
            }
        }
        // Every pass, after any traffic: the deadline holds whatever
        // servers send.
        resolver.handle_timeout(clock.now());
    }
    Ok(uris
        .iter()
        .zip(results)
        .filter_map(|((text, _), result)| Some((text.clone(), result?)))
        .collect())
}

//! A blocking driver over UDP and TCP sockets (feature `std`).
//!
//! [`Client`] keeps a [`Resolver`] and its sockets across calls and runs
//! any number of resolutions at once on them: one `mio` poll loop over the
//! UDP sockets the machine names (a fresh port every 16 queries, S28) and a
//! TCP connection per server that needs one (S22). [`resolve_uri`],
//! [`resolve_srv`] and [`resolve_srv_set`] are one-shot conveniences over a
//! fresh `Client`; [`connect`] connects to what a resolution found (S29). Programs with an event loop of their
//! own should drive the [`Resolver`] themselves; this module shows how.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};

use hickory_proto::rr::Name;

use super::{READ_BUDGET, STREAM_READ_BUDGET, bind_udp};
use crate::connect::{AttemptId, ConnectAction, ConnectConfig, ConnectOutcome, Connector};
use crate::{
    Answer, Clock, Config, DefaultRng, DriverError, Endpoint, Error, Event, Instant, Protocol,
    ResolutionId, Resolver, SocketId, StartError, Uri, os_rng,
};

pub use super::batch::{BATCH, UdpBatch, open_udp};
pub use super::{
    RESOLV_CONF, config_from_resolv_conf, servers_from_resolv_conf, system_config, system_servers,
};

/// Resolves `uri`, blocking until its answer or `config.resolution_timeout`,
/// whichever comes first: UDP, and TCP for answers too large for UDP (S22).
/// With no `config.servers`, the system's are used. Randomness comes from
/// the OS. For more than one resolution, keep a [`Client`].
pub fn resolve_uri(
    config: Config,
    uri: &Uri,
    protocols: &[Protocol],
    fallback_port: Option<u16>,
) -> Result<Answer, DriverError> {
    let mut client = Client::new(config)?;
    let id = client.start_uri(uri, protocols, fallback_port)?;
    Ok(client.wait(id)??)
}

/// Resolves a plain RFC 2782 owner name such as
/// `_xmpp-server._tcp.example.com.` (S8), as [`resolve_uri`] does a URI.
pub fn resolve_srv(config: Config, owner: &Name) -> Result<Answer, DriverError> {
    let mut client = Client::new(config)?;
    let id = client.start_srv(owner)?;
    Ok(client.wait(id)??)
}

/// Resolves several SRV owner names of one service merged into one RRset
/// (S30), as [`Resolver::resolve_srv_set`].
pub fn resolve_srv_set(config: Config, owners: &[Name]) -> Result<Answer, DriverError> {
    let mut client = Client::new(config)?;
    let id = client.start_srv_set(owners)?;
    Ok(client.wait(id)??)
}

/// A blocking resolver that keeps its [`Resolver`] and sockets across
/// calls, and runs several resolutions at once on them.
///
/// Start resolutions with [`start_uri`](Client::start_uri) or
/// [`start_srv`](Client::start_srv), then [`wait`](Client::wait) for each:
/// while it waits for one, every other in flight moves on too, and its
/// result is kept until asked for.
///
/// ```
/// # let server = impp_test_support::zone_server::example_zones();
/// use impp_resolver::blocking::Client;
/// use impp_resolver::{Config, Protocol, Uri};
///
/// let config = Config {
///     servers: vec![server], // a DNS server on loopback, serving example.com
///     ..Config::default()
/// };
/// let mut client = Client::new(config)?;
/// let mut started = Vec::new();
/// for text in ["im:fred@example.com", "pres:fred@example.com", "im:nobody@nowhere.example.com"] {
///     let uri: Uri = text.parse()?;
///     started.push((text, client.start_uri(&uri, &[Protocol::XMPP, Protocol::SIP], None)?));
/// }
/// // The three are on the wire together; collect them in any order.
/// for (text, id) in started {
///     match client.wait(id)? {
///         Ok(answer) => print!("{text}\n{answer}"),
///         Err(error) => println!("{text}\nerror: {}: {error}", error.kind()),
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Client {
    resolver: Resolver<DefaultRng>,
    sockets: Sockets,
    clock: Clock,
    /// Results of resolutions that ended and were not yet collected.
    ended: BTreeMap<ResolutionId, Result<Answer, Error>>,
    events: Events,
    buf: Vec<u8>,
    /// Several datagrams a system call (Linux).
    batch: UdpBatch,
}

impl Client {
    /// A client for `config`; with no `config.servers`, the system's
    /// ([`system_servers`]; for the system's options too, pass
    /// [`system_config`]). Fails when no socket or no OS randomness can be
    /// had.
    pub fn new(mut config: Config) -> std::io::Result<Client> {
        if config.servers.is_empty() {
            config.servers = system_servers()?;
        }
        // Room for the largest answer a server may send (S21).
        let batch = UdpBatch::with_payload(config.edns_payload.unwrap_or(0));
        Ok(Client {
            sockets: Sockets::new()?,
            resolver: Resolver::new(config, os_rng()?),
            clock: Clock::new(),
            ended: BTreeMap::new(),
            events: Events::with_capacity(64),
            buf: vec![0u8; 65_535],
            batch,
        })
    }

    /// Starts resolving `uri`, as [`Resolver::resolve_uri`]; its queries go
    /// out at once.
    pub fn start_uri(
        &mut self,
        uri: &Uri,
        protocols: &[Protocol],
        fallback_port: Option<u16>,
    ) -> Result<ResolutionId, StartError> {
        let now = self.clock.now();
        let id = self
            .resolver
            .resolve_uri(now, uri, protocols, fallback_port)?;
        self.flush();
        Ok(id)
    }

    /// Starts resolving a plain SRV owner name, as [`Resolver::resolve_srv`].
    pub fn start_srv(&mut self, owner: &Name) -> Result<ResolutionId, StartError> {
        let id = self.resolver.resolve_srv(self.clock.now(), owner)?;
        self.flush();
        Ok(id)
    }

    /// Starts resolving several SRV owner names merged (S30), as
    /// [`Resolver::resolve_srv_set`].
    pub fn start_srv_set(&mut self, owners: &[Name]) -> Result<ResolutionId, StartError> {
        let id = self.resolver.resolve_srv_set(self.clock.now(), owners)?;
        self.flush();
        Ok(id)
    }

    /// Blocks until resolution `id` ends (by its deadline at the latest)
    /// and returns its result, moving every other resolution along
    /// meanwhile. `Err` on a socket error, or with
    /// [`io::ErrorKind::InvalidInput`] when `id` is not in flight here and
    /// its result was already taken (or it never started here).
    pub fn wait(&mut self, id: ResolutionId) -> std::io::Result<Result<Answer, crate::Error>> {
        loop {
            self.flush();
            if let Some(result) = self.ended.remove(&id) {
                // Between calls nothing runs to close a lingering socket:
                // an idle client hands its sockets back now (S28).
                if self.resolver.resolutions_in_flight() == 0 {
                    self.resolver.close_idle_sockets();
                    self.flush();
                }
                return Ok(result);
            }
            let Some(deadline) = self.resolver.poll_timeout() else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("resolution {id:?} is not in flight"),
                ));
            };
            self.poll_once(deadline)?;
        }
    }

    /// Resolves `uri` on this client's machine and sockets, then connects
    /// to what it found as [`connect`] does. Other resolutions in flight
    /// move on while it waits.
    pub fn connect_uri(
        &mut self,
        uri: &Uri,
        protocols: &[Protocol],
        fallback_port: Option<u16>,
        config: &ConnectConfig,
    ) -> Result<Connected, DriverError> {
        let id = self.start_uri(uri, protocols, fallback_port)?;
        let answer = self.wait(id)??;
        connect(&answer, config)?.map_err(DriverError::Connect)
    }

    /// Resolves several SRV names merged (S30) on this client, then
    /// connects to what they found as [`connect`] does.
    pub fn connect_srv_set(
        &mut self,
        owners: &[Name],
        config: &ConnectConfig,
    ) -> Result<Connected, DriverError> {
        let id = self.start_srv_set(owners)?;
        let answer = self.wait(id)??;
        connect(&answer, config)?.map_err(DriverError::Connect)
    }

    /// The machine, for its [`stats`](Resolver::stats) and configuration.
    pub fn resolver(&self) -> &Resolver<DefaultRng> {
        &self.resolver
    }

    /// Sends what the machine asks, closes what it says, keeps its events.
    fn flush(&mut self) {
        loop {
            let mut busy = false;
            let mut datagrams = Vec::new();
            while let Some(transmit) = self.resolver.poll_transmit() {
                busy = true;
                if transmit.socket.is_some() {
                    datagrams.push(transmit);
                    continue;
                }
                if let Err(server) = self.sockets.send_stream(&transmit) {
                    self.sockets.close(server);
                    self.resolver.handle_stream_closed(self.clock.now(), server);
                }
            }
            // The next server at once, not after a timeout.
            for transmit in self.sockets.send_datagrams(&mut self.batch, datagrams) {
                self.resolver
                    .handle_send_failed(self.clock.now(), &transmit);
            }
            while let Some(server) = self.resolver.poll_close() {
                self.sockets.close(server);
            }
            while let Some(socket) = self.resolver.poll_close_socket() {
                self.sockets.close_udp(socket);
            }
            while let Some(event) = self.resolver.poll_event() {
                let (id, result) = match event {
                    Event::Resolved { id, answer } => (id, Ok(answer)),
                    Event::Failed { id, error } => (id, Err(error)),
                };
                self.ended.insert(id, result);
            }
            if !busy {
                return;
            }
        }
    }

    /// Waits for readiness or `deadline`, hands in what arrived, then the
    /// time. Each socket gets at most [`READ_BUDGET`] reads a pass, so that
    /// a server flooding one cannot keep the others, or the deadline,
    /// waiting; one whose budget ran out is read again next pass without
    /// waiting (mio reports readiness once, on its edge).
    fn poll_once(&mut self, deadline: crate::Instant) -> io::Result<()> {
        let clock = self.clock;
        // Round up: waking a little early would spin until the deadline.
        let wait = match self.sockets.backlog.is_empty() {
            true => deadline.saturating_duration_since(clock.now()) + Duration::from_micros(500),
            false => Duration::ZERO,
        };
        match self.sockets.poll.poll(&mut self.events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let mut ready = core::mem::take(&mut self.sockets.backlog);
        ready.extend(self.events.iter().map(|event| event.token()));
        let resolver = &mut self.resolver;
        let buf = &mut self.buf;
        let batch = &mut self.batch;
        for token in ready {
            match self.sockets.owners.get(&token) {
                Some(&Owner::Udp(id)) => {
                    let Some((socket, _)) = self.sockets.udp.get(&id) else {
                        continue;
                    };
                    let drained = read_datagrams(socket, batch, &clock, |at, from, bytes| {
                        resolver.handle_datagram(at, id, from, bytes)
                    });
                    if !drained {
                        self.sockets.backlog.insert(token);
                    }
                }
                Some(&Owner::Tcp(server)) => {
                    let Some(connection) = self.sockets.tcp.get_mut(&server) else {
                        continue;
                    };
                    match read_stream(connection, buf, |bytes| {
                        resolver.handle_stream(clock.now(), server, bytes)
                    }) {
                        Ok(true) => {}
                        Ok(false) => {
                            self.sockets.backlog.insert(token);
                        }
                        Err(_) => {
                            self.sockets.close(server);
                            resolver.handle_stream_closed(clock.now(), server);
                        }
                    }
                }
                None => {}
            }
        }
        // Always, even after traffic: a flood of stray packets or a trickle
        // of TCP bytes must not keep the deadline from being enforced.
        resolver.handle_timeout(clock.now());
        Ok(())
    }
}

/// Reads at most [`READ_BUDGET`] datagrams from `socket`, [`BATCH`] a
/// system call, each to `deliver` with the time its batch was read (one
/// clock reading a batch, not one a datagram: they were all waiting).
/// Returns whether it was drained: a batch came back short (the socket
/// was empty then; a datagram arriving later raises a new edge), it would
/// block, or it failed twice running.
fn read_datagrams(
    socket: &UdpSocket,
    batch: &mut UdpBatch,
    clock: &Clock,
    mut deliver: impl FnMut(Instant, SocketAddr, &[u8]),
) -> bool {
    let mut read = 0;
    let mut failed = false;
    while read < READ_BUDGET {
        let at = clock.now();
        match batch.recv(socket, |from, bytes| deliver(at, from, bytes)) {
            Ok(n) if n < BATCH => return true,
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // An ICMP error on the connected socket (the server's port
            // closed), reported once: as a lost packet. Answers may wait
            // behind it, and the edge that announced them is spent: read
            // on, unless it fails again.
            Err(_) if !failed => failed = true,
            Err(_) => return true,
        }
    }
    false
}

/// A TCP connection to one server: what is still to be written, and the
/// poll token it is registered under.
struct Connection {
    stream: TcpStream,
    token: Token,
    outbox: Vec<u8>,
}

/// What a poll token stands for.
#[derive(Clone, Copy)]
enum Owner {
    Udp(SocketId),
    Tcp(SocketAddr),
}

/// The sockets the resolver currently wants: the UDP sockets its queries
/// leave from (S28: a new one, on a port the OS picks, every
/// `Config::queries_per_socket` queries) and its TCP connections.
struct Sockets {
    poll: Poll,
    /// Sockets whose read budget ran out before they would block: read
    /// again on the next pass, without waiting.
    backlog: BTreeSet<Token>,
    udp: BTreeMap<SocketId, (UdpSocket, Token)>,
    tcp: BTreeMap<SocketAddr, Connection>,
    owners: BTreeMap<Token, Owner>,
    next_token: usize,
}

impl Sockets {
    fn new() -> io::Result<Self> {
        Ok(Sockets {
            poll: Poll::new()?,
            backlog: BTreeSet::new(),
            udp: BTreeMap::new(),
            tcp: BTreeMap::new(),
            owners: BTreeMap::new(),
            next_token: 0,
        })
    }

    fn token(&mut self, owner: Owner) -> Token {
        let token = Token(self.next_token);
        self.next_token += 1;
        self.owners.insert(token, owner);
        token
    }

    /// The UDP socket `id`, opened on an OS-chosen port and connected to
    /// `server` the first time it is named (S28: it carries queries to
    /// that server only).
    fn udp(&mut self, id: SocketId, server: SocketAddr) -> io::Result<&UdpSocket> {
        if !self.udp.contains_key(&id) {
            let mut socket = UdpSocket::from_std(bind_udp(server)?);
            let token = self.token(Owner::Udp(id));
            self.poll
                .registry()
                .register(&mut socket, token, Interest::READABLE)?;
            self.udp.insert(id, (socket, token));
        }
        Ok(&self.udp[&id].0)
    }

    fn close_udp(&mut self, id: SocketId) {
        if let Some((socket, token)) = self.udp.remove(&id) {
            // Closing it takes it out of the poll: no `deregister` call.
            drop(socket);
            self.owners.remove(&token);
        }
    }

    /// Sends the datagrams of one flush, those of one socket together
    /// (the machine's order kept within each). Returns those no socket
    /// could send; a full send buffer counts as a lost packet instead (its
    /// attempt times out and is sent again).
    fn send_datagrams(
        &mut self,
        batch: &mut UdpBatch,
        mut datagrams: Vec<crate::Transmit>,
    ) -> Vec<crate::Transmit> {
        datagrams.sort_by_key(|t| t.socket);
        let mut unsent = Vec::new();
        for group in datagrams.chunk_by(|a, b| a.socket == b.socket) {
            let Some(id) = group[0].socket else {
                continue;
            };
            let Ok(socket) = self.udp(id, group[0].server) else {
                unsent.extend(group.iter().cloned());
                continue;
            };
            let list: Vec<&[u8]> = group.iter().map(|t| &t.payload[..]).collect();
            batch.send(socket, &list, |i, e| {
                if e.kind() != io::ErrorKind::WouldBlock {
                    unsent.push(group[i].clone());
                }
            });
        }
        unsent
    }

    /// Sends one TCP transmit on its server's connection, opened if there
    /// is none. `Err(server)` when the connection failed.
    fn send_stream(&mut self, transmit: &crate::Transmit) -> Result<(), SocketAddr> {
        let server = transmit.server;
        if !self.tcp.contains_key(&server) {
            let mut stream = TcpStream::connect(server).map_err(|_| server)?;
            let token = self.token(Owner::Tcp(server));
            self.poll
                .registry()
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .map_err(|_| server)?;
            let outbox = Vec::new();
            self.tcp.insert(
                server,
                Connection {
                    stream,
                    token,
                    outbox,
                },
            );
        }
        let connection = self.tcp.get_mut(&server).ok_or(server)?;
        connection.outbox.extend_from_slice(&transmit.payload);
        flush(connection).map_err(|_| server)
    }

    fn close(&mut self, server: SocketAddr) {
        if let Some(mut connection) = self.tcp.remove(&server) {
            let _ = self.poll.registry().deregister(&mut connection.stream);
            self.owners.remove(&connection.token);
        }
    }
}

/// Writes as much of the outbox as the socket takes now.
fn flush(connection: &mut Connection) -> io::Result<()> {
    while !connection.outbox.is_empty() {
        match connection.stream.write(&connection.outbox) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                connection.outbox.drain(..n);
            }
            // Still connecting, or the send buffer is full: wait for WRITABLE.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
                ) =>
            {
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Finishes connecting, writes what is pending and reads what arrived, at
/// most [`STREAM_READ_BUDGET`] reads. `Ok(true)` when it was drained (it
/// would block); `Err` when the connection failed or the server closed it.
fn read_stream(
    connection: &mut Connection,
    buf: &mut [u8],
    mut deliver: impl FnMut(&[u8]),
) -> io::Result<bool> {
    if let Some(e) = connection.stream.take_error()? {
        return Err(e);
    }
    flush(connection)?;
    for _ in 0..STREAM_READ_BUDGET {
        match connection.stream.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => deliver(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            // Not connected yet: the connect completes with a later event.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Resolves `uri` as [`resolve_uri`], then connects to what it found as
/// [`connect`] does: the TCP stream and the endpoint it reached.
pub fn connect_uri(
    config: Config,
    uri: &Uri,
    protocols: &[Protocol],
    fallback_port: Option<u16>,
    connect_config: &ConnectConfig,
) -> Result<Connected, DriverError> {
    let answer = resolve_uri(config, uri, protocols, fallback_port)?;
    connect(&answer, connect_config)?.map_err(DriverError::Connect)
}

/// Resolves several SRV names merged (S30) as [`resolve_srv_set`], then
/// connects to what they found as [`connect`] does.
pub fn connect_srv_set(
    config: Config,
    owners: &[Name],
    connect_config: &ConnectConfig,
) -> Result<Connected, DriverError> {
    let answer = resolve_srv_set(config, owners)?;
    connect(&answer, connect_config)?.map_err(DriverError::Connect)
}

/// A connection [`connect`] made, and where it reached.
#[derive(Debug)]
pub struct Connected {
    /// The connection, in blocking mode.
    pub stream: std::net::TcpStream,
    /// The endpoint it reached: target, port, priority and weight, and in a
    /// merged set (S30) the SRV name it came from.
    pub endpoint: Endpoint,
    /// The address and port.
    pub addr: SocketAddr,
}

/// Connects to the endpoints of `answer`, Happy Eyeballs over SRV (S29):
/// attempts in order, the next after `config.attempt_delay` or at once when
/// one fails, the first to connect wins and the rest are closed. Blocks
/// until then, or until every attempt failed or `config.timeout` passed:
/// the inner error names every attempt and how it failed. The outer one is
/// the poll's own failure.
///
/// ```
/// # use std::net::TcpListener;
/// # let listener = TcpListener::bind("127.0.0.1:0")?; // a server on loopback
/// # let port = listener.local_addr()?.port();
/// # let zone = format!("$ORIGIN loop.example.\n$TTL 60\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n\
/// #     @ IN NS ns\nns IN A 127.0.0.53\n_im._xmpp IN SRV 0 0 {port} chat\nchat IN A 127.0.0.1\n");
/// # let server = impp_test_support::zone_server::start(&[("loop.example.", &zone)]);
/// use impp_resolver::connect::ConnectConfig;
/// use impp_resolver::{Config, Protocol, Uri, blocking};
///
/// let config = Config {
///     servers: vec![server], // a DNS server on loopback, whose every address is loopback
///     ..Config::default()
/// };
/// let uri: Uri = "im:alice@loop.example".parse()?;
/// let answer = blocking::resolve_uri(config, &uri, &[Protocol::XMPP], None)?;
/// let connected = blocking::connect(&answer, &ConnectConfig::default())??;
/// println!("connected to {} at {}", connected.endpoint.host(), connected.addr);
/// # assert_eq!(connected.addr.port(), port);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect(
    answer: &Answer,
    config: &ConnectConfig,
) -> std::io::Result<Result<Connected, crate::connect::ConnectError>> {
    let clock = Clock::new();
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(16);
    let mut connector = Connector::new(clock.now(), answer, config);
    let mut attempts: BTreeMap<AttemptId, TcpStream> = BTreeMap::new();
    loop {
        while let Some(action) = connector.poll_action() {
            match action {
                ConnectAction::Connect { id, addr, .. } => {
                    let opened = TcpStream::connect(addr).and_then(|mut stream| {
                        let token = Token(id.0);
                        poll.registry()
                            .register(&mut stream, token, Interest::WRITABLE)?;
                        Ok(stream)
                    });
                    match opened {
                        Ok(stream) => drop(attempts.insert(id, stream)),
                        Err(e) => connector.handle_failed(clock.now(), id, e.kind().into()),
                    }
                }
                ConnectAction::Cancel(id) => drop(attempts.remove(&id)),
            }
        }
        match connector.poll_outcome() {
            Some(ConnectOutcome::Connected {
                id, endpoint, addr, ..
            }) => {
                let stream = attempts.remove(&id).ok_or(io::ErrorKind::NotFound)?;
                let stream = std::net::TcpStream::from(stream);
                stream.set_nonblocking(false)?;
                let endpoint = answer.endpoints[endpoint].clone();
                return Ok(Ok(Connected {
                    stream,
                    endpoint,
                    addr,
                }));
            }
            Some(ConnectOutcome::Failed(error)) => return Ok(Err(error)),
            None => {}
        }
        let Some(deadline) = connector.poll_timeout() else {
            return Err(io::Error::other("the connector stopped without an outcome"));
        };
        let wait = deadline.saturating_duration_since(clock.now()) + Duration::from_micros(500);
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let id = AttemptId(event.token().0);
            let Some(stream) = attempts.get(&id) else {
                continue;
            };
            // Writable: connected, or failed with the error pending.
            match stream.take_error() {
                Ok(Some(e)) | Err(e) => {
                    attempts.remove(&id);
                    connector.handle_failed(clock.now(), id, e.kind().into());
                }
                Ok(None) => match stream.peer_addr() {
                    Ok(_) => connector.handle_connected(clock.now(), id),
                    // Not yet: a later event says.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                    Err(e) => {
                        attempts.remove(&id);
                        connector.handle_failed(clock.now(), id, e.kind().into());
                    }
                },
            }
        }
        connector.handle_timeout(clock.now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ICMP error on a connected socket is reported by one read, and
    /// the answers behind it wait for the next: the edge that announced
    /// them is spent, so a driver that stopped at the error would leave
    /// them unread until the deadline.
    #[test]
    fn answers_behind_an_icmp_error_are_read_in_the_same_pass() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = server.local_addr().unwrap();
        let client = UdpSocket::from_std(open_udp(address).unwrap());
        let client_address = client.local_addr().unwrap();
        // The server goes away: the next query draws "port unreachable".
        drop(server);
        client.send(b"query").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        // It comes back on the same port and answers.
        let Ok(server) = std::net::UdpSocket::bind(address) else {
            return; // the port was taken in between: nothing to show
        };
        server.send_to(b"answer", client_address).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut got = Vec::new();
        let drained = read_datagrams(
            &client,
            &mut UdpBatch::new(),
            &Clock::new(),
            |_, from, bytes| {
                got.push((from, bytes.to_vec()));
            },
        );
        assert!(drained);
        assert_eq!(got, [(address, b"answer".to_vec())]);
    }
}

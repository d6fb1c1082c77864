//! A driver on tokio (feature `tokio`): one task owns the machine, its
//! sockets and a single timer; [`Client`] handles, cheap to clone, send it
//! work and await the answers.
//!
//! The task follows the machine's rules as every driver must: each UDP
//! query leaves from the socket the machine names (a new one, on a port
//! the OS picks, every `Config::queries_per_socket` queries, S28), every
//! ready socket is read until it would block, sockets and TCP connections
//! are closed when the machine says, and at most `Config::max_outstanding`
//! questions are on the wire. TCP queries to one server share one
//! connection (pipelined). The timer is one `Sleep`, reset whenever the
//! machine's next deadline moves (as quinn's endpoint driver does).
//!
//! Dropping a `resolve_*` future cancels its resolution: the machine stops
//! asking what nobody else waits for and frees its state. The task ends
//! once every handle, and every future still running, is gone.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::{TcpStream, UdpSocket};
use ::tokio::sync::{mpsc, oneshot};
use ::tokio::time::Sleep;
use hickory_proto::rr::Name;

use super::{READ_BUDGET, STREAM_READ_BUDGET, bind_udp};
use crate::connect::{
    AttemptId, ConnectAction, ConnectConfig, ConnectError, ConnectOutcome, Connector,
};
use crate::{
    Answer, Clock, Config, DefaultRng, DriverError, Endpoint, Event, Protocol, ResolutionId,
    Resolver, SocketId, Stats, Uri, os_rng,
};

/// A handle to a resolver running as a tokio task. Clones share the task,
/// its machine and its sockets, so identical questions from different
/// callers go out once (S24).
///
/// ```
/// use impp_resolver::{Config, Protocol, Uri};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = impp_test_support::zone_server::example_zones();
/// let config = Config {
///     servers: vec![server], // a DNS server on loopback, serving example.com
///     ..Config::default()
/// };
/// let client = impp_resolver::tokio::Client::new(config)?;
/// let uri: Uri = "im:fred@example.com".parse()?;
/// let answer = client.resolve_uri(&uri, &[Protocol::XMPP, Protocol::SIP], None).await?;
/// print!("{answer}");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
    next_token: Arc<AtomicU64>,
}

/// What a handle asks of the task. Each call names its resolution by a
/// token of its own, known before the machine's id is.
enum Command {
    Start {
        token: u64,
        what: What,
        reply: oneshot::Sender<Result<Answer, DriverError>>,
    },
    Cancel {
        token: u64,
    },
    Inspect {
        reply: oneshot::Sender<(Stats, usize)>,
    },
}

enum What {
    Uri {
        uri: Uri,
        protocols: Vec<Protocol>,
        fallback_port: Option<u16>,
    },
    Srv(Name),
    SrvSet(Vec<Name>),
}

/// Cancels the resolution of a future dropped before its answer came.
struct CancelOnDrop<'a> {
    commands: &'a mpsc::UnboundedSender<Command>,
    token: u64,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.commands.send(Command::Cancel { token: self.token });
        }
    }
}

fn stopped() -> DriverError {
    DriverError::Io(io::Error::other("the resolver task has stopped"))
}

impl Client {
    /// Starts the task on the current tokio runtime, for `config`; with no
    /// `config.servers`, the system's
    /// ([`blocking::system_servers`](crate::blocking::system_servers)).
    /// Fails outside a runtime, or when no OS randomness can be had.
    pub fn new(mut config: Config) -> std::io::Result<Client> {
        let runtime = ::tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        if config.servers.is_empty() {
            config.servers = super::system_servers()?;
        }
        let (commands, receiver) = mpsc::unbounded_channel();
        // Room for the largest answer a server may send (S21).
        let payload = config.edns_payload.unwrap_or(0);
        let driver = Driver {
            resolver: Resolver::new(config, os_rng()?),
            clock: Clock::new(),
            commands: receiver,
            closed: false,
            callers: BTreeMap::new(),
            tokens: BTreeMap::new(),
            udp: BTreeMap::new(),
            tcp: BTreeMap::new(),
            timer: Box::pin(::tokio::time::sleep(Duration::ZERO)),
            timer_at: None,
            buf: vec![0u8; 65_535],
            batch: super::batch::UdpBatch::with_payload(payload),
        };
        runtime.spawn(driver);
        Ok(Client {
            commands,
            next_token: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A client for the system's servers and options
    /// ([`blocking::system_config`](crate::blocking::system_config)).
    pub fn from_system() -> std::io::Result<Client> {
        Client::new(super::system_config()?)
    }

    /// Resolves `uri`, as [`Resolver::resolve_uri`]. Dropping the future
    /// cancels the resolution.
    pub async fn resolve_uri(
        &self,
        uri: &Uri,
        protocols: &[Protocol],
        fallback_port: Option<u16>,
    ) -> Result<Answer, DriverError> {
        self.resolve(What::Uri {
            uri: uri.clone(),
            protocols: protocols.to_vec(),
            fallback_port,
        })
        .await
    }

    /// Resolves a plain SRV owner name, as [`Resolver::resolve_srv`].
    /// Dropping the future cancels the resolution.
    pub async fn resolve_srv(&self, owner: &Name) -> Result<Answer, DriverError> {
        self.resolve(What::Srv(owner.clone())).await
    }

    /// Resolves several SRV owner names merged into one RRset (S30), as
    /// [`Resolver::resolve_srv_set`]. Dropping the future cancels it.
    pub async fn resolve_srv_set(&self, owners: &[Name]) -> Result<Answer, DriverError> {
        self.resolve(What::SrvSet(owners.to_vec())).await
    }

    /// Resolves `uri`, then connects to what it found as [`connect`] does.
    /// Dropping the future cancels whichever is under way.
    pub async fn connect_uri(
        &self,
        uri: &Uri,
        protocols: &[Protocol],
        fallback_port: Option<u16>,
        config: &ConnectConfig,
    ) -> Result<Connected, DriverError> {
        let answer = self.resolve_uri(uri, protocols, fallback_port).await?;
        connect(&answer, config).await.map_err(DriverError::Connect)
    }

    /// Resolves several SRV names merged (S30), then connects to what they
    /// found as [`connect`] does.
    pub async fn connect_srv_set(
        &self,
        owners: &[Name],
        config: &ConnectConfig,
    ) -> Result<Connected, DriverError> {
        let answer = self.resolve_srv_set(owners).await?;
        connect(&answer, config).await.map_err(DriverError::Connect)
    }

    /// The machine's counters, as [`Resolver::stats`].
    pub async fn stats(&self) -> std::io::Result<Stats> {
        Ok(self.inspect().await?.0)
    }

    /// Resolutions in flight, as [`Resolver::resolutions_in_flight`].
    pub async fn resolutions_in_flight(&self) -> std::io::Result<usize> {
        Ok(self.inspect().await?.1)
    }

    async fn inspect(&self) -> io::Result<(Stats, usize)> {
        let (reply, answer) = oneshot::channel();
        let gone = || io::Error::other("the resolver task has stopped");
        self.commands
            .send(Command::Inspect { reply })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())
    }

    async fn resolve(&self, what: What) -> Result<Answer, DriverError> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Start { token, what, reply })
            .map_err(|_| stopped())?;
        let mut guard = CancelOnDrop {
            commands: &self.commands,
            token,
            armed: true,
        };
        let result = answer.await.map_err(|_| stopped())?;
        guard.armed = false;
        result
    }
}

/// A UDP socket, and the datagrams waiting for it to be writable (a new
/// socket is not, until the runtime has seen it once).
struct Datagrams {
    socket: UdpSocket,
    outbox: std::collections::VecDeque<crate::Transmit>,
}

/// A connection [`connect`] made, and where it reached.
#[derive(Debug)]
pub struct Connected {
    /// The connection.
    pub stream: TcpStream,
    /// The endpoint it reached: target, port, priority and weight, and in a
    /// merged set (S30) the SRV name it came from.
    pub endpoint: Endpoint,
    /// The address and port.
    pub addr: SocketAddr,
}

/// Connects to the endpoints of `answer`, Happy Eyeballs over SRV (S29), as
/// [`blocking::connect`](crate::blocking::connect) does: each attempt is a
/// task's worth of `TcpStream::connect`, the losers are dropped (closed)
/// when one wins, and the error names every attempt. Dropping the future
/// drops every attempt.
pub async fn connect(
    answer: &Answer,
    config: &ConnectConfig,
) -> Result<Connected, crate::connect::ConnectError> {
    let clock = Clock::new();
    let mut connector = Connector::new(clock.now(), answer, config);
    let mut attempts = ::tokio::task::JoinSet::new();
    let mut running: BTreeMap<AttemptId, ::tokio::task::AbortHandle> = BTreeMap::new();
    // The latest attempt to connect, kept until the connector says whether
    // it won (a cancelled one's success is dropped, which closes it).
    let mut won: Option<(AttemptId, TcpStream)> = None;
    loop {
        while let Some(action) = connector.poll_action() {
            match action {
                ConnectAction::Connect { id, addr, .. } => {
                    let handle =
                        attempts.spawn(async move { (id, TcpStream::connect(addr).await) });
                    running.insert(id, handle);
                }
                ConnectAction::Cancel(id) => {
                    if let Some(handle) = running.remove(&id) {
                        handle.abort();
                    }
                }
            }
        }
        match connector.poll_outcome() {
            Some(ConnectOutcome::Connected {
                id, endpoint, addr, ..
            }) => {
                if let Some(stream) = won.take().filter(|(winner, _)| *winner == id) {
                    return Ok(Connected {
                        stream: stream.1,
                        endpoint: answer.endpoints[endpoint].clone(),
                        addr,
                    });
                }
            }
            Some(ConnectOutcome::Failed(error)) => return Err(error),
            None => {}
        }
        let Some(deadline) = connector.poll_timeout() else {
            // Cannot happen: no outcome yet means a deadline is set.
            return Err(ConnectError {
                attempts: Vec::new(),
            });
        };
        let at = ::tokio::time::Instant::from_std(clock.to_std(deadline));
        ::tokio::select! {
            Some(joined) = attempts.join_next(), if !attempts.is_empty() => {
                let Ok((id, result)) = joined else { continue };
                running.remove(&id);
                match result {
                    Ok(stream) => {
                        won = Some((id, stream));
                        connector.handle_connected(clock.now(), id);
                    }
                    Err(e) => connector.handle_failed(clock.now(), id, e.kind().into()),
                }
            }
            () = ::tokio::time::sleep_until(at) => connector.handle_timeout(clock.now()),
        }
    }
}

/// A TCP connection to one server, and what is still to be written on it.
struct Stream {
    state: StreamState,
    outbox: Vec<u8>,
}

enum StreamState {
    Connecting(Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>),
    Open(TcpStream),
}

/// The task: the machine, its sockets, its timer, and who waits for what.
struct Driver {
    resolver: Resolver<DefaultRng>,
    clock: Clock,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Every handle is gone: end once nothing is in flight.
    closed: bool,
    /// Who waits for each resolution, by the machine's id.
    callers: BTreeMap<ResolutionId, (u64, oneshot::Sender<Result<Answer, DriverError>>)>,
    /// The machine's id of each caller's token.
    tokens: BTreeMap<u64, ResolutionId>,
    udp: BTreeMap<SocketId, Datagrams>,
    tcp: BTreeMap<SocketAddr, Stream>,
    timer: Pin<Box<Sleep>>,
    /// The deadline the timer is set for.
    timer_at: Option<crate::Instant>,
    buf: Vec<u8>,
    /// Several datagrams a system call (Linux).
    batch: super::batch::UdpBatch,
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Run until nothing moves. Yield after a while, and at once when a
        // socket was left with its read budget spent: under a flood there
        // is always more to read, and the runtime's other tasks (and on a
        // current-thread runtime, the caller awaiting an answer the timer
        // just gave) must get their turn between two passes, not between
        // thirty-two.
        for _ in 0..32 {
            let progress = [
                this.take_commands(cx).into(),
                this.write_udp(cx).into(),
                this.read_udp(cx),
                this.drive_tcp(cx),
                this.fire_timer(cx).into(),
                this.flush().into(),
            ]
            .into_iter()
            .max()
            .unwrap_or(Progress::Idle);
            if this.closed && this.callers.is_empty() {
                // Every handle and every waiting future is gone.
                return Poll::Ready(());
            }
            match progress {
                Progress::Idle => return Poll::Pending,
                Progress::Moved => {}
                Progress::MoreToRead => break,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// What one part of a pass did, the most telling last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Progress {
    /// Nothing to do.
    Idle,
    /// Something moved: another pass may find more.
    Moved,
    /// A socket still has data after its read budget (S27): a flood, or a
    /// burst bigger than a pass takes.
    MoreToRead,
}

impl From<bool> for Progress {
    fn from(moved: bool) -> Progress {
        if moved {
            Progress::Moved
        } else {
            Progress::Idle
        }
    }
}

impl Driver {
    fn take_commands(&mut self, cx: &mut Context<'_>) -> bool {
        let mut busy = false;
        while !self.closed {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(command)) => {
                    busy = true;
                    self.command(command);
                }
                Poll::Ready(None) => self.closed = true,
                Poll::Pending => break,
            }
        }
        busy
    }

    fn command(&mut self, command: Command) {
        let now = self.clock.now();
        match command {
            Command::Start { token, what, reply } => {
                let started = match what {
                    What::Uri {
                        uri,
                        protocols,
                        fallback_port,
                    } => self
                        .resolver
                        .resolve_uri(now, &uri, &protocols, fallback_port),
                    What::Srv(owner) => self.resolver.resolve_srv(now, &owner),
                    What::SrvSet(owners) => self.resolver.resolve_srv_set(now, &owners),
                };
                match started {
                    Ok(id) => {
                        self.callers.insert(id, (token, reply));
                        self.tokens.insert(token, id);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(DriverError::Start(e)));
                    }
                }
            }
            Command::Cancel { token } => {
                if let Some(id) = self.tokens.remove(&token) {
                    self.callers.remove(&id);
                    self.resolver.cancel(id);
                }
            }
            Command::Inspect { reply } => {
                let in_flight = self.resolver.resolutions_in_flight();
                let _ = reply.send((self.resolver.stats(), in_flight));
            }
        }
    }

    /// Reads every UDP socket until it would block or its budget is spent:
    /// on Linux [`BATCH`](super::batch::BATCH) datagrams a `recvmmsg`, the
    /// last call finding it empty (which is what tells tokio to wait for
    /// the socket's next edge).
    #[cfg(target_os = "linux")]
    fn read_udp(&mut self, cx: &mut Context<'_>) -> Progress {
        use std::os::fd::AsRawFd;
        let Driver {
            resolver,
            clock,
            udp,
            batch,
            ..
        } = self;
        let mut busy = false;
        let mut progress = Progress::Idle;
        for (&id, datagrams) in udp.iter() {
            let socket = &datagrams.socket;
            let mut read = 0;
            while read < READ_BUDGET {
                match socket.poll_recv_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    _ => break,
                }
                // One clock reading a batch: its datagrams were all waiting.
                let at = clock.now();
                let deliver = |from, bytes: &[u8]| {
                    resolver.handle_datagram(at, id, from, bytes);
                };
                match socket.try_io(::tokio::io::Interest::READABLE, || {
                    batch.recv_fd(socket.as_raw_fd(), deliver)
                }) {
                    Ok(n) => {
                        busy = true;
                        read += n.max(1);
                    }
                    // Empty: readiness cleared, the next poll waits.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // ICMP errors and the like: as a lost packet.
                    Err(_) => read += 1,
                }
            }
            if read >= READ_BUDGET {
                progress = Progress::MoreToRead;
            }
        }
        progress.max(busy.into())
    }

    /// Reads every UDP socket until it would block or its budget is spent.
    #[cfg(not(target_os = "linux"))]
    fn read_udp(&mut self, cx: &mut Context<'_>) -> Progress {
        let Driver {
            resolver,
            clock,
            udp,
            buf,
            ..
        } = self;
        let mut busy = false;
        let mut progress = Progress::Idle;
        'sockets: for (&id, datagrams) in udp.iter() {
            for _ in 0..READ_BUDGET {
                let mut read = ReadBuf::new(buf);
                match datagrams.socket.poll_recv_from(cx, &mut read) {
                    Poll::Ready(Ok(from)) => {
                        busy = true;
                        resolver.handle_datagram(clock.now(), id, from, read.filled());
                    }
                    // ICMP errors and the like: as a lost packet.
                    Poll::Ready(Err(_)) => {}
                    Poll::Pending => continue 'sockets,
                }
            }
            progress = Progress::MoreToRead;
        }
        progress.max(busy.into())
    }

    /// Sends what each UDP socket has waiting, as far as it takes it now,
    /// on Linux [`BATCH`](super::batch::BATCH) datagrams a `sendmmsg`. A
    /// datagram that cannot be sent goes back to the machine, which asks
    /// the next server at once.
    #[cfg(target_os = "linux")]
    fn write_udp(&mut self, cx: &mut Context<'_>) -> bool {
        use std::os::fd::AsRawFd;
        let mut busy = false;
        let mut unsent = Vec::new();
        let batch = &mut self.batch;
        for datagrams in self.udp.values_mut() {
            let socket = &datagrams.socket;
            while !datagrams.outbox.is_empty() {
                match socket.poll_send_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    _ => break,
                }
                let (sent, len) = {
                    let outbox = datagrams.outbox.make_contiguous();
                    let chunk: Vec<&[u8]> = outbox
                        .iter()
                        .take(super::batch::BATCH)
                        .map(|t| &t.payload[..])
                        .collect();
                    let sent = socket.try_io(::tokio::io::Interest::WRITABLE, || {
                        batch.send_fd(socket.as_raw_fd(), &chunk)
                    });
                    (sent, chunk.len())
                };
                match sent {
                    Ok(n) => {
                        busy = true;
                        // `sendmmsg` stops at a datagram it cannot send and
                        // says why only when that one is the first.
                        datagrams.outbox.drain(..n.clamp(1, len));
                    }
                    // A full send buffer: readiness cleared, the next
                    // poll waits.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => {
                        busy = true;
                        unsent.extend(datagrams.outbox.pop_front());
                    }
                }
            }
        }
        for transmit in unsent {
            self.resolver
                .handle_send_failed(self.clock.now(), &transmit);
        }
        busy
    }

    /// Sends what each UDP socket has waiting, as far as it takes it now.
    /// A datagram that cannot be sent goes back to the machine, which asks
    /// the next server at once.
    #[cfg(not(target_os = "linux"))]
    fn write_udp(&mut self, cx: &mut Context<'_>) -> bool {
        let mut busy = false;
        let mut unsent = Vec::new();
        for datagrams in self.udp.values_mut() {
            while let Some(transmit) = datagrams.outbox.front() {
                // Connected to its server by `bind_udp`.
                match datagrams.socket.poll_send(cx, &transmit.payload) {
                    Poll::Ready(sent) => {
                        if let (Err(_), Some(transmit)) = (sent, datagrams.outbox.pop_front()) {
                            unsent.push(transmit);
                        }
                        busy = true;
                    }
                    Poll::Pending => break,
                }
            }
        }
        for transmit in unsent {
            self.resolver
                .handle_send_failed(self.clock.now(), &transmit);
        }
        busy
    }

    /// Connects, writes and reads every TCP connection as far as it goes.
    fn drive_tcp(&mut self, cx: &mut Context<'_>) -> Progress {
        let mut progress = Progress::Idle;
        let mut broken = Vec::new();
        let Driver {
            resolver,
            clock,
            tcp,
            buf,
            ..
        } = self;
        for (&server, stream) in tcp.iter_mut() {
            match drive_stream(stream, cx, buf, |bytes| {
                resolver.handle_stream(clock.now(), server, bytes)
            }) {
                Ok(moved) => progress = progress.max(moved),
                Err(_) => broken.push(server),
            }
        }
        for server in broken {
            progress = progress.max(Progress::Moved);
            self.tcp.remove(&server);
            self.resolver.handle_stream_closed(self.clock.now(), server);
        }
        progress
    }

    /// Hands the machine the time when its deadline has come, and keeps the
    /// one timer set to its next deadline. The clock is read on every pass:
    /// once a flood has spent the task's cooperative budget, tokio's
    /// `Sleep` says `Pending` whatever the time, and a deadline kept only
    /// by it would wait as long as the flood.
    fn fire_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let mut busy = false;
        loop {
            let next = self.resolver.poll_timeout();
            if next != self.timer_at {
                self.timer_at = next;
                if let Some(deadline) = next {
                    let at = self.clock.to_std(deadline);
                    self.timer
                        .as_mut()
                        .reset(::tokio::time::Instant::from_std(at));
                }
            }
            let Some(at) = self.timer_at else {
                return busy;
            };
            let due = self.clock.now() >= at || self.timer.as_mut().poll(cx).is_ready();
            if !due {
                return busy;
            }
            busy = true;
            self.resolver.handle_timeout(self.clock.now());
            // Fired: the same deadline again would not wake us.
            self.timer_at = None;
        }
    }

    /// Sends what the machine asks, closes what it says, answers callers.
    fn flush(&mut self) -> bool {
        let mut busy = false;
        while let Some(transmit) = self.resolver.poll_transmit() {
            busy = true;
            match transmit.socket {
                Some(id) => match udp_socket(&mut self.udp, id, transmit.server) {
                    Ok(datagrams) => datagrams.outbox.push_back(transmit),
                    // No socket to send it from: the next server at once.
                    Err(_) => self
                        .resolver
                        .handle_send_failed(self.clock.now(), &transmit),
                },
                None => {
                    let server = transmit.server;
                    let stream = self.tcp.entry(server).or_insert_with(|| Stream {
                        state: StreamState::Connecting(Box::pin(TcpStream::connect(server))),
                        outbox: Vec::new(),
                    });
                    stream.outbox.extend_from_slice(&transmit.payload);
                }
            }
        }
        while let Some(server) = self.resolver.poll_close() {
            self.tcp.remove(&server);
        }
        while let Some(id) = self.resolver.poll_close_socket() {
            self.udp.remove(&id);
        }
        while let Some(event) = self.resolver.poll_event() {
            busy = true;
            let (id, result) = match event {
                Event::Resolved { id, answer } => (id, Ok(answer)),
                Event::Failed { id, error } => (id, Err(DriverError::Resolve(error))),
            };
            if let Some((token, reply)) = self.callers.remove(&id) {
                self.tokens.remove(&token);
                let _ = reply.send(result);
            }
        }
        busy
    }
}

/// The UDP socket `id`, opened on an OS-chosen port of `server`'s family
/// the first time it is named.
fn udp_socket(
    sockets: &mut BTreeMap<SocketId, Datagrams>,
    id: SocketId,
    server: SocketAddr,
) -> io::Result<&mut Datagrams> {
    if let std::collections::btree_map::Entry::Vacant(entry) = sockets.entry(id) {
        entry.insert(Datagrams {
            socket: UdpSocket::from_std(bind_udp(server)?)?,
            outbox: std::collections::VecDeque::new(),
        });
    }
    sockets
        .get_mut(&id)
        .ok_or_else(|| io::ErrorKind::NotFound.into())
}

/// Moves one connection on: finishes connecting, writes what is pending,
/// reads what arrived, at most [`STREAM_READ_BUDGET`] reads; `Err` when the
/// connection failed or the server closed it.
fn drive_stream(
    stream: &mut Stream,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    mut deliver: impl FnMut(&[u8]),
) -> io::Result<Progress> {
    let mut busy = false;
    if let StreamState::Connecting(connecting) = &mut stream.state {
        match connecting.as_mut().poll(cx) {
            Poll::Ready(connected) => {
                stream.state = StreamState::Open(connected?);
                busy = true;
            }
            Poll::Pending => return Ok(Progress::Idle),
        }
    }
    let StreamState::Open(tcp) = &mut stream.state else {
        return Ok(busy.into());
    };
    while !stream.outbox.is_empty() {
        match Pin::new(&mut *tcp).poll_write(cx, &stream.outbox) {
            Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) => {
                stream.outbox.drain(..n);
                busy = true;
            }
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    // A budget of reads, so that a server flooding the connection cannot
    // keep the timer and the other sockets waiting; what is left is read
    // on the next pass (tokio keeps the socket ready until it would block).
    for _ in 0..STREAM_READ_BUDGET {
        let mut read = ReadBuf::new(buf);
        match Pin::new(&mut *tcp).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Poll::Ready(Ok(())) => {
                busy = true;
                deliver(read.filled());
            }
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => return Ok(busy.into()),
        }
    }
    Ok(Progress::MoreToRead)
}

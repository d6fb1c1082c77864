//! The load generator behind `examples/loadgen.rs` and `benches/end_to_end.rs`:
//! one thread, one `mio` poll loop, keeping `concurrency` full resolutions
//! (SRV and the addresses of every target) in flight until `count` have
//! ended. It follows the machine's socket rules as every driver must: each
//! query leaves from the socket the machine names (a new one, on a port the
//! OS picks, every `Config::queries_per_socket` queries, S28), each socket is
//! read until it would block, and closed when the machine says. At most
//! `Config::max_outstanding` questions are on the wire at once, so no
//! socket's receive buffer, and no server's, has to hold more. UDP only
//! (`tcp_fallback: false`): a truncated answer counts as that server's
//! failure.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use impp_resolver::blocking::{self, BATCH, UdpBatch};
use impp_resolver::{Clock, Config, Event, Instant, Protocol, Resolver, SocketId, Uri};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

/// What one run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Resolutions that ended.
    pub lookups: u64,
    /// Those that failed, by error kind.
    pub failed: BTreeMap<String, u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// CPU time (user + system) of this process during the run.
    pub cpu: Duration,
    /// Queries sent.
    pub queries: u64,
    /// Of those, sent again for a question already asked (S23): what loss
    /// or a slow moment cost.
    pub retransmissions: u64,
    /// Of those, resends whose earlier send the server answered after all:
    /// it was busy, not lossy (`Stats::spurious_resends`).
    pub spurious_resends: u64,
    /// Attempts that waited another round trip for a query still in a busy
    /// server's queue instead of asking again (`Stats::resends_held`).
    pub resends_held: u64,
    /// What the machine had learnt of each server by the end.
    pub servers: Vec<impp_resolver::ServerStatus>,
    /// How long each resolution that ended took, from its start.
    pub latencies: Vec<Duration>,
    /// Datagrams the OS dropped for want of receive buffer during the run,
    /// on every socket of the network namespace — a server's on the same
    /// machine included (see [`udp_receive_buffer_drops`]).
    pub os_drops: Option<u64>,
    /// Of those, the ones dropped on this load generator's own sockets,
    /// when counted ([`Counting::SocketDrops`]: a system call each time a
    /// socket closes, inside the measured CPU, so off unless asked for).
    pub own_drops: Option<u64>,
    /// Most UDP sockets open at once.
    pub max_sockets: usize,
}

impl Report {
    /// Resolutions ended per second of wall time.
    pub fn lookups_per_sec(&self) -> f64 {
        self.lookups as f64 / self.elapsed.as_secs_f64()
    }

    /// Microseconds of CPU per resolution.
    pub fn cpu_us_per_lookup(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.lookups as f64
    }

    /// Resolutions that failed, whatever the kind.
    pub fn failures(&self) -> u64 {
        self.failed.values().sum()
    }

    /// The `p`-th percentile (0–100) of the latencies, nearest rank.
    pub fn latency_percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted
            .get(rank.clamp(1, sorted.len().max(1)) - 1)
            .copied()
            .unwrap_or_default()
    }
}

/// The kernel's count of UDP datagrams dropped because a socket's receive
/// buffer was full (`RcvbufErrors` in `/proc/net/snmp`; Linux only, and
/// for the whole network namespace). `None` where the OS does not say.
pub fn udp_receive_buffer_drops() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (udp.next()?, udp.next()?);
    let at = names.split_whitespace().position(|n| n == "RcvbufErrors")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// Datagrams the OS dropped on `socket` so far, for want of receive
/// buffer (`SO_MEMINFO`'s drop count; Linux only, `None` elsewhere).
pub fn socket_drops(socket: &impl std::os::fd::AsRawFd) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let mut info = [0u32; 16];
        let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `info`.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_MEMINFO,
                info.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let at = libc::SK_MEMINFO_DROPS as usize;
        (rc == 0 && (len as usize) > at * 4).then(|| u64::from(info[at]))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        None
    }
}

/// User + system CPU time of this process so far.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Resolves `uris` round-robin with the default protocols (`_xmpp`, then
/// `_sip`), `concurrency` at a time, until `count` resolutions have ended.
/// The cache is off: every resolution goes to the server.
pub fn run(server: SocketAddr, concurrency: usize, count: u64, uris: &[Uri]) -> io::Result<Report> {
    run_with(
        config(server, false),
        concurrency,
        count,
        uris,
        Counting::Lookups,
    )
}

/// What a run counts beside its lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Lookups, their latencies, and the OS's receive-buffer drops, read
    /// before and after the run.
    Lookups,
    /// Also the drops of each socket as it closes (`SO_MEMINFO`): one
    /// more system call every `queries_per_socket` queries, whose CPU is
    /// counted with the run's.
    SocketDrops,
}

/// The configuration of a run against `server`: no TCP fallback, and the
/// cache on only with `cache`.
pub fn config(server: SocketAddr, cache: bool) -> Config {
    let default = Config::default();
    Config {
        servers: vec![server],
        tcp_fallback: false,
        cache: if cache { default.cache.clone() } else { None },
        ..default
    }
}

/// The sockets of a run, by the machine's names for them.
struct Sockets {
    poll: Poll,
    open: BTreeMap<SocketId, UdpSocket>,
    /// Drops counted on sockets already closed.
    drops: Option<u64>,
    most: usize,
}

impl Sockets {
    fn get(&mut self, id: SocketId, server: SocketAddr) -> io::Result<&UdpSocket> {
        if !self.open.contains_key(&id) {
            // Connected to its server, which picks its port (no `bind`).
            let mut socket = UdpSocket::from_std(blocking::open_udp(server)?);
            let token = Token(id.raw() as usize);
            self.poll
                .registry()
                .register(&mut socket, token, Interest::READABLE)?;
            self.open.insert(id, socket);
            self.most = self.most.max(self.open.len());
        }
        Ok(&self.open[&id])
    }

    fn close(&mut self, id: SocketId) {
        if let Some(socket) = self.open.remove(&id) {
            // Closing it takes it out of the poll: no `deregister`.
            if self.drops.is_some() {
                self.count_drops(&socket);
            }
        }
    }

    fn count_drops(&mut self, socket: &UdpSocket) {
        self.drops = match (self.drops, socket_drops(socket)) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }
}

/// [`run`] with `config`, whose `servers` are asked.
pub fn run_with(
    config: Config,
    concurrency: usize,
    count: u64,
    uris: &[Uri],
    counting: Counting,
) -> io::Result<Report> {
    let mut sockets = Sockets {
        poll: Poll::new()?,
        open: BTreeMap::new(),
        drops: (counting == Counting::SocketDrops).then_some(0),
        most: 0,
    };
    let mut resolver = Resolver::new(config, impp_resolver::os_rng()?);
    let protocols = [Protocol::XMPP, Protocol::SIP];
    let clock = Clock::new();
    let now = || clock.now();

    let cpu_start = cpu_time();
    let drops_start = udp_receive_buffer_drops();
    let mut report = Report::default();
    let mut started = 0u64;
    let mut next_uri = 0usize;
    let mut events = Events::with_capacity(256);
    let mut batch = UdpBatch::new();
    let mut datagrams: Vec<impp_resolver::Transmit> = Vec::new();
    let mut start_one = |resolver: &mut Resolver<_>, started: &mut u64| {
        let uri = &uris[next_uri % uris.len()];
        next_uri += 1;
        *started += 1;
        let at = now();
        resolver
            .resolve_uri(at, uri, &protocols, None)
            .map(|id| (id, at))
    };
    let mut started_at = BTreeMap::new();
    while started < count.min(concurrency as u64) {
        match start_one(&mut resolver, &mut started) {
            Ok((id, at)) => {
                started_at.insert(id, at);
            }
            Err(e) => {
                *report.failed.entry(e.kind().to_string()).or_default() += 1;
                report.lookups += 1;
            }
        }
    }
    while report.lookups < count {
        // Drain until quiet: an ended resolution starts the next one, whose
        // queries must go out before waiting.
        loop {
            let mut busy = false;
            while let Some(t) = resolver.poll_transmit() {
                busy = true;
                report.queries += 1;
                // No TCP fallback: every transmit is a datagram.
                datagrams.push(t);
            }
            // Those leaving one socket go together, one call a batch.
            datagrams.sort_by_key(|t| t.socket);
            for group in datagrams.chunk_by(|a, b| a.socket == b.socket) {
                let Some(id) = group[0].socket else { continue };
                let socket = sockets.get(id, group[0].server)?;
                let list: Vec<&[u8]> = group.iter().map(|t| &t.payload[..]).collect();
                batch.send(socket, &list, |_, _| {});
            }
            datagrams.clear();
            while let Some(id) = resolver.poll_close_socket() {
                sockets.close(id);
            }
            while let Some(event) = resolver.poll_event() {
                busy = true;
                report.lookups += 1;
                if let Some(at) = started_at.remove(&event.id()) {
                    report.latencies.push(now() - at);
                }
                if let Event::Failed { error, .. } = event {
                    *report.failed.entry(error.kind().to_string()).or_default() += 1;
                }
                if started < count {
                    match start_one(&mut resolver, &mut started) {
                        Ok((id, at)) => {
                            started_at.insert(id, at);
                        }
                        Err(e) => {
                            *report.failed.entry(e.kind().to_string()).or_default() += 1;
                            report.lookups += 1;
                        }
                    }
                }
            }
            if !busy {
                break;
            }
        }
        if report.lookups >= count {
            break;
        }
        let wait = resolver
            .poll_timeout()
            .map(|deadline| deadline.saturating_duration_since(now()) + Duration::from_micros(500));
        match sockets.poll.poll(&mut events, wait) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => return Err(e),
            _ => {}
        }
        for event in events.iter() {
            let Ok(id) = u32::try_from(event.token().0).map(SocketId::from_raw) else {
                continue;
            };
            let Some(socket) = sockets.open.get(&id) else {
                continue;
            };
            // Edge-triggered: read until a batch comes back short.
            let mut failed = false;
            loop {
                // One clock reading a batch: its datagrams were all waiting.
                let at = now();
                let deliver = |from, bytes: &[u8]| resolver.handle_datagram(at, id, from, bytes);
                match batch.recv(socket, deliver) {
                    Ok(n) if n == BATCH => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // An ICMP error, reported once: answers may wait
                    // behind it.
                    Err(e) if e.kind() != io::ErrorKind::WouldBlock && !failed => failed = true,
                    _ => break,
                }
            }
        }
        resolver.handle_timeout(now());
    }
    report.elapsed = clock.now() - Instant::ZERO;
    report.cpu = cpu_time() - cpu_start;
    for id in sockets.open.keys().copied().collect::<Vec<_>>() {
        sockets.close(id);
    }
    report.own_drops = sockets.drops;
    report.max_sockets = sockets.most;
    report.retransmissions = resolver.stats().retransmissions;
    report.spurious_resends = resolver.stats().spurious_resends;
    report.resends_held = resolver.stats().resends_held;
    report.servers = resolver.servers();
    report.os_drops = udp_receive_buffer_drops()
        .zip(drops_start)
        .map(|(end, start)| end.saturating_sub(start));
    Ok(report)
}

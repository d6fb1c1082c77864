//! impp-resolver over smoltcp, the network stack of embedded Rust (embassy-net
//! wraps it): the resolver with its default features off, each query's UDP
//! socket a smoltcp UDP socket on a port of its own (S28), a truncated answer
//! asked again over a smoltcp TCP socket (S22), smoltcp's clock as the
//! resolver's time. Here the device is a Linux TAP interface; on a board it
//! is the board's Ethernet or Wi-Fi driver (`smoltcp::phy::Device`), and the
//! rest of this file stays as it is.
//!
//! ```text
//! impp-resolver-smoltcp TAP LOCAL_IP/PREFIX SERVER_IP:PORT URI...
//! ```
//!
//! Prints each URI on a line of its own, then its endpoints in `resolve`'s
//! format (`<priority> <weight> <port> <target> <addrs>`). Exit 0 when every
//! URI resolved, 2 when one failed (`error: <kind>: <detail>` on stderr).
//! Last, on stderr: `# N queries, M over TCP`.
//! `run.sh` sets up a network namespace, the TAP device and a DNS server,
//! and runs it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::io::AsRawFd;
use std::process::ExitCode;

use impp_resolver::{
    Config, Event, Instant, Protocol, ResolutionId, Resolver, SocketId, Transport, Uri,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Medium, TunTapInterface, wait as phy_wait};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration as SmolDuration, Instant as SmolInstant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint};

/// The TCP connection to one server (S22): its socket, and what is still to
/// be written on it.
struct Connection {
    handle: SocketHandle,
    unsent: Vec<u8>,
    /// Once established: a later close is the server's (or a reset).
    opened: bool,
}

/// The smoltcp side of the resolver's sockets.
struct Sockets {
    set: SocketSet<'static>,
    /// One smoltcp UDP socket per resolver socket, each on its own port.
    udp: BTreeMap<SocketId, SocketHandle>,
    ports: BTreeSet<u16>,
    tcp: BTreeMap<SocketAddr, Connection>,
}

/// A server's address for smoltcp: IPv4 only, as this stack is built
/// (`proto-ipv4`); an IPv6 server's queries fail to send (S27: the machine
/// asks the next server).
fn to_endpoint(addr: SocketAddr) -> Option<IpEndpoint> {
    match addr {
        SocketAddr::V4(v4) => Some(IpEndpoint::from(v4)),
        SocketAddr::V6(_) => None,
    }
}

fn endpoint_addr(endpoint: IpEndpoint) -> SocketAddr {
    let IpAddress::Ipv4(ip) = endpoint.addr;
    SocketAddr::new(IpAddr::V4(ip), endpoint.port)
}

impl Sockets {
    /// A fresh ephemeral port (RFC 6056's range), drawn from `rng`.
    fn port(&mut self, rng: &mut ChaCha20Rng) -> u16 {
        loop {
            let port = 49152 + (rng.next_u32() % 16384) as u16;
            if self.ports.insert(port) {
                return port;
            }
        }
    }

    fn udp(&mut self, id: SocketId, rng: &mut ChaCha20Rng) -> SocketHandle {
        if let Some(&handle) = self.udp.get(&id) {
            return handle;
        }
        let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 16], vec![0; 8192]);
        let mut socket = udp::Socket::new(buffer(), buffer());
        let port = self.port(rng);
        socket.bind(port).expect("a fresh port binds");
        let handle = self.set.add(socket);
        self.udp.insert(id, handle);
        handle
    }

    fn close_udp(&mut self, id: SocketId) {
        if let Some(handle) = self.udp.remove(&id) {
            let socket = self.set.remove(handle);
            if let smoltcp::socket::Socket::Udp(socket) = socket {
                self.ports.remove(&socket.endpoint().port);
            }
        }
    }

    fn close_tcp(&mut self, server: SocketAddr) {
        if let Some(connection) = self.tcp.remove(&server) {
            self.set.get_mut::<tcp::Socket>(connection.handle).abort();
            self.set.remove(connection.handle);
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tap, local, server, uris @ ..] = &args[..] else {
        eprintln!("usage: impp-resolver-smoltcp TAP LOCAL_IP/PREFIX SERVER_IP:PORT URI...");
        return ExitCode::from(2);
    };
    let (Ok(local), Ok(server)) = (local.parse::<IpCidr>(), server.parse::<SocketAddr>()) else {
        eprintln!("error: usage: LOCAL_IP/PREFIX and SERVER_IP:PORT");
        return ExitCode::from(2);
    };
    let uris: Vec<Uri> = match uris.iter().map(|u| u.parse()).collect() {
        Ok(uris) => uris,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut device = match TunTapInterface::new(tap, Medium::Ethernet) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("error: TAP device {tap}: {e}");
            return ExitCode::from(2);
        }
    };
    let fd = device.as_raw_fd();

    // Every random number, the resolver's and the ports', from one
    // generator; a device seeds it from its hardware RNG.
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("OS randomness");
    let mut rng = ChaCha20Rng::from_seed(seed);

    let mut config = IfaceConfig::new(EthernetAddress([0x02, 0, 0, 0, 0, 0x02]).into());
    config.random_seed = rng.next_u64();
    let start = SmolInstant::now();
    let mut iface = Interface::new(config, &mut device, start);
    iface.update_ip_addrs(|addrs| addrs.push(local).expect("one address"));

    let resolver_config = Config {
        servers: vec![server],
        ..Config::default()
    };
    let mut resolver = Resolver::new(resolver_config, ChaCha20Rng::seed_from_u64(rng.next_u64()));
    // smoltcp's clock, as the resolver's: microseconds since the start.
    let now = |at: SmolInstant| Instant::from_micros((at - start).total_micros());

    let mut ids: Vec<ResolutionId> = Vec::new();
    for uri in &uris {
        match resolver.resolve_uri(now(start), uri, &[Protocol::XMPP, Protocol::SIP], None) {
            Ok(id) => ids.push(id),
            Err(e) => {
                eprintln!("error: {uri}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut results: BTreeMap<ResolutionId, Event> = BTreeMap::new();
    let mut sockets = Sockets {
        set: SocketSet::new(vec![]),
        udp: BTreeMap::new(),
        ports: BTreeSet::new(),
        tcp: BTreeMap::new(),
    };
    let mut buffer = vec![0u8; 8192];

    while results.len() < ids.len() {
        let at = SmolInstant::now();
        iface.poll(at, &mut device, &mut sockets.set);
        let t = now(at);

        // What arrived, to the machine.
        let udp: Vec<(SocketId, SocketHandle)> =
            sockets.udp.iter().map(|(&id, &h)| (id, h)).collect();
        for (id, handle) in udp {
            let socket = sockets.set.get_mut::<udp::Socket>(handle);
            while let Ok((len, meta)) = socket.recv_slice(&mut buffer) {
                resolver.handle_datagram(t, id, endpoint_addr(meta.endpoint), &buffer[..len]);
            }
        }
        let servers: Vec<SocketAddr> = sockets.tcp.keys().copied().collect();
        for server in servers {
            let connection = sockets.tcp.get_mut(&server).expect("listed");
            let socket = sockets.set.get_mut::<tcp::Socket>(connection.handle);
            connection.opened |= socket.may_send();
            while socket.can_recv() {
                let Ok(len) = socket.recv_slice(&mut buffer) else {
                    break;
                };
                resolver.handle_stream(t, server, &buffer[..len]);
            }
            if !connection.unsent.is_empty()
                && socket.can_send()
                && let Ok(sent) = socket.send_slice(&connection.unsent)
            {
                connection.unsent.drain(..sent);
            }
            // Closed by the server, or never opened: the machine hears of
            // it and asks elsewhere or again.
            let gone = !socket.is_open() || (connection.opened && !socket.may_recv());
            if gone {
                sockets.close_tcp(server);
                resolver.handle_stream_closed(t, server);
            }
        }

        // What the machine wants sent, and closed.
        while let Some(transmit) = resolver.poll_transmit() {
            match (transmit.transport, transmit.socket) {
                (Transport::Udp, Some(id)) => {
                    let handle = sockets.udp(id, &mut rng);
                    let socket = sockets.set.get_mut::<udp::Socket>(handle);
                    let sent = to_endpoint(transmit.server)
                        .is_some_and(|to| socket.send_slice(&transmit.payload, to).is_ok());
                    if !sent {
                        resolver.handle_send_failed(t, &transmit);
                    }
                }
                _ => {
                    if !sockets.tcp.contains_key(&transmit.server) {
                        let buffer = || tcp::SocketBuffer::new(vec![0; 16384]);
                        let mut socket = tcp::Socket::new(buffer(), buffer());
                        let port = sockets.port(&mut rng);
                        let connected = to_endpoint(transmit.server)
                            .is_some_and(|to| socket.connect(iface.context(), to, port).is_ok());
                        if !connected {
                            resolver.handle_send_failed(t, &transmit);
                            continue;
                        }
                        let handle = sockets.set.add(socket);
                        let connection = Connection {
                            handle,
                            unsent: Vec::new(),
                            opened: false,
                        };
                        sockets.tcp.insert(transmit.server, connection);
                    }
                    let connection = sockets.tcp.get_mut(&transmit.server).expect("opened");
                    connection.unsent.extend_from_slice(&transmit.payload);
                }
            }
        }
        while let Some(server) = resolver.poll_close() {
            sockets.close_tcp(server);
        }
        while let Some(id) = resolver.poll_close_socket() {
            sockets.close_udp(id);
        }
        while let Some(event) = resolver.poll_event() {
            let id = match &event {
                Event::Resolved { id, .. } | Event::Failed { id, .. } => *id,
            };
            results.insert(id, event);
        }
        if let Some(deadline) = resolver.poll_timeout()
            && deadline <= t
        {
            resolver.handle_timeout(t);
            continue;
        }
        if results.len() == ids.len() {
            break;
        }
        // Send what was queued before sleeping.
        iface.poll(SmolInstant::now(), &mut device, &mut sockets.set);
        let stack = iface.poll_delay(SmolInstant::now(), &sockets.set);
        let machine = resolver.poll_timeout().map(|deadline| {
            let left = deadline
                .as_micros()
                .saturating_sub(now(SmolInstant::now()).as_micros());
            SmolDuration::from_micros(left)
        });
        let wait = match (stack, machine) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // A queued TCP write waits for the connection: look again soon.
        let wait = if sockets.tcp.values().any(|c| !c.unsent.is_empty()) {
            Some(wait.map_or(SmolDuration::from_millis(10), |w| {
                w.min(SmolDuration::from_millis(10))
            }))
        } else {
            wait
        };
        phy_wait(fd, wait).expect("waiting on the TAP device");
    }

    // How the answers came: over TCP after a truncated UDP answer (S22).
    let stats = resolver.stats();
    eprintln!(
        "# {} queries, {} over TCP",
        stats.queries_sent, stats.tcp_queries_sent
    );
    let mut failed = false;
    for (uri, id) in uris.iter().zip(&ids) {
        println!("{uri}");
        match &results[id] {
            Event::Resolved { answer, .. } => print!("{answer}"),
            Event::Failed { error, .. } => {
                eprintln!("error: {}: {error}", error.kind());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

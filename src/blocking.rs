//! A blocking driver over `std::net::UdpSocket` (feature `std`).
//!
//! It runs the sans-IO [`Resolver`] to completion for one URI: handy for
//! command-line tools and tests. Servers and event loops should drive the
//! [`Resolver`] themselves.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use hickory_proto::rr::Name;

use crate::{Answer, Config, Error, Event, Instant, Protocol, ResolutionId, Resolver, Uri};

/// Where DNS servers are listed on Unix systems.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// The longest slice of time spent waiting on one socket when servers of
/// both address families are configured and both sockets must be watched.
const DUAL_STACK_SLICE: Duration = Duration::from_millis(10);

/// Why the blocking driver could not produce an [`Answer`].
#[derive(Debug)]
pub enum BlockingError {
    /// The resolution itself failed.
    Resolve(Error),
    /// A socket, the system configuration or the OS random source failed.
    Io(io::Error),
}

impl core::fmt::Display for BlockingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BlockingError::Resolve(e) => e.fmt(f),
            BlockingError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for BlockingError {}

impl From<io::Error> for BlockingError {
    fn from(e: io::Error) -> Self {
        BlockingError::Io(e)
    }
}

impl From<Error> for BlockingError {
    fn from(e: Error) -> Self {
        BlockingError::Resolve(e)
    }
}

/// The system's DNS servers: the `nameserver` lines of `/etc/resolv.conf`
/// (parsed by the `resolv-conf` crate), on port 53.
pub fn system_servers() -> io::Result<Vec<SocketAddr>> {
    servers_from_resolv_conf(&std::fs::read(RESOLV_CONF)?)
}

/// The servers a `resolv.conf` text names, on port 53; the local host's when
/// it names none (as the C library does).
pub fn servers_from_resolv_conf(text: &[u8]) -> io::Result<Vec<SocketAddr>> {
    let conf = resolv_conf::Config::parse(text)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{RESOLV_CONF}: {e}")))?;
    Ok(conf
        .get_nameservers_or_local()
        .into_iter()
        .map(|ip| SocketAddr::new(IpAddr::from(ip), 53))
        .collect())
}

/// A ChaCha20 generator seeded from the operating system.
pub fn os_rng() -> io::Result<ChaCha20Rng> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| io::Error::other(format!("OS random source: {e}")))?;
    Ok(ChaCha20Rng::from_seed(seed))
}

/// Resolves `uri` over UDP, blocking until the answer or
/// `config.resolution_timeout`, whichever comes first. With no
/// `config.servers`, the system's are used. Randomness comes from the OS.
pub fn resolve_uri(
    config: Config,
    uri: &Uri,
    protocols: &[Protocol],
    fallback_port: Option<u16>,
) -> Result<Answer, BlockingError> {
    run(config, |resolver, now| {
        resolver.resolve_uri(uri, protocols, fallback_port, now)
    })
}

/// Resolves a plain RFC 2782 owner name such as
/// `_xmpp-server._tcp.example.com.` (S8), as [`resolve_uri`] does a URI.
pub fn resolve_srv(config: Config, owner: &Name) -> Result<Answer, BlockingError> {
    run(config, |resolver, now| resolver.resolve_srv(owner, now))
}

/// Drives one resolution, started by `start`, to its event over UDP sockets.
fn run(
    mut config: Config,
    start: impl FnOnce(&mut Resolver<ChaCha20Rng>, Instant) -> Result<ResolutionId, Error>,
) -> Result<Answer, BlockingError> {
    if config.servers.is_empty() {
        config.servers = system_servers()?;
    }
    let v4 = bind_if(&config.servers, SocketAddr::is_ipv4, "0.0.0.0:0")?;
    let v6 = bind_if(&config.servers, SocketAddr::is_ipv6, "[::]:0")?;
    let sockets: Vec<&UdpSocket> = v4.iter().chain(v6.iter()).collect();
    let origin = std::time::Instant::now();
    let now = || Instant::from_std(origin, std::time::Instant::now());

    let mut resolver = Resolver::new(config, os_rng()?);
    let id = start(&mut resolver, now())?;
    let mut buf = vec![0u8; 65_535];
    loop {
        while let Some(t) = resolver.poll_transmit() {
            let socket = if t.server.is_ipv4() { &v4 } else { &v6 };
            if let Some(socket) = socket {
                // A failed send is like a lost packet: the attempt times out
                // and the next server is tried.
                let _ = socket.send_to(&t.payload, t.server);
            }
        }
        while let Some(event) = resolver.poll_event() {
            match event {
                Event::Resolved { id: done, answer } if done == id => return Ok(answer),
                Event::Failed { id: done, error } if done == id => return Err(error.into()),
                _ => {}
            }
        }
        let Some(deadline) = resolver.poll_timeout() else {
            // Cannot happen while the resolution is in flight; be safe anyway.
            return Err(Error::Timeout { name: Name::root() }.into());
        };
        let mut wait = deadline.saturating_duration_since(now());
        if sockets.len() > 1 {
            wait = wait.min(DUAL_STACK_SLICE);
        }
        for socket in &sockets {
            // A zero timeout means "block forever" to std: wait at least 1 ms.
            socket.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
            match socket.recv_from(&mut buf) {
                Ok((len, from)) => {
                    resolver.handle_datagram(now(), from, &buf[..len]);
                    break;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                // ICMP errors reported on the socket: treat like a lost packet.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => return Err(e.into()),
            }
        }
        // Always, even after a datagram: a flood of stray packets must not
        // keep the deadline from being enforced.
        resolver.handle_timeout(now());
    }
}

fn bind_if(
    servers: &[SocketAddr],
    family: fn(&SocketAddr) -> bool,
    local: &str,
) -> io::Result<Option<UdpSocket>> {
    if servers.iter().any(family) {
        UdpSocket::bind(local).map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameservers_in_order_on_port_53() {
        let text = b"# comment\nsearch example.com\nnameserver 192.0.2.1\nnameserver 2001:db8::53\noptions ndots:2\n";
        let servers = servers_from_resolv_conf(text).unwrap();
        assert_eq!(
            servers,
            [
                "192.0.2.1:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn resolv_conf_without_nameservers_means_localhost() {
        let servers = servers_from_resolv_conf(b"search example.com\n").unwrap();
        assert!(!servers.is_empty());
        assert!(
            servers
                .iter()
                .all(|s| s.ip().is_loopback() && s.port() == 53)
        );
    }

    #[test]
    fn garbled_resolv_conf_is_an_error() {
        assert!(servers_from_resolv_conf(b"nameserver not-an-ip\n").is_err());
    }
}

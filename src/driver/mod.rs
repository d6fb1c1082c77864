//! The drivers: the machine over real sockets, blocking ([`blocking`], on
//! mio) and async (`tokio`, feature `tokio`), and what both share: the
//! system's configuration from resolv.conf, a UDP socket connected to its
//! server, the read budgets that keep the deadline whatever a
//! server sends (S27), and [`DriverError`]. Nothing here is in the no_std
//! core, and the core imports nothing from here.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use crate::{Config, Dnssec, Error, StartError, Transport, TrustAd};

pub mod batch;
pub mod blocking;
#[cfg(feature = "tokio")]
pub mod tokio;

/// Reads a socket takes in one pass of a driver before the others, and the
/// clock, get their turn: a server that floods it (junk datagrams, framed
/// answers to the wrong question, faster than they are parsed) cannot hold
/// a resolution past its deadline. tokio's own budget is 128 operations.
pub(crate) const READ_BUDGET: usize = 64;

/// Reads of a TCP connection per pass: one, of up to 64 KiB (hundreds of
/// answers). Four made each pass under a flood longer, and the tokio
/// driver's caller on a current-thread runtime waited dozens of passes for
/// an answer the deadline had given (measured in `tests/floods.rs`, debug
/// build: up to 260 ms late with four reads, 5–7 ms with one).
pub(crate) const STREAM_READ_BUDGET: usize = 1;

/// A non-blocking UDP socket on a port the OS picks, connected to
/// `server`, for the queries the machine sends to it (S28).
pub(crate) fn bind_udp(server: SocketAddr) -> io::Result<UdpSocket> {
    batch::open_udp(server)
}

/// Where DNS servers are listed on Unix systems.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// The system's DNS servers: the `nameserver` lines of `/etc/resolv.conf`
/// (parsed by the `resolv-conf` crate), on port 53.
pub fn system_servers() -> std::io::Result<Vec<SocketAddr>> {
    servers_from_resolv_conf(&std::fs::read(RESOLV_CONF)?)
}

/// The system's configuration: [`config_from_resolv_conf`] of
/// `/etc/resolv.conf`.
pub fn system_config() -> std::io::Result<Config> {
    config_from_resolv_conf(&std::fs::read(RESOLV_CONF)?)
}

/// A [`Config`] from a `resolv.conf` text: its servers
/// ([`servers_from_resolv_conf`]) and the options that map onto the
/// machine, over [`Config::default`]:
///
/// - `timeout:n` → `attempt_timeout` n seconds (the wait before any round
///   trip is measured; 1–30 s);
/// - `attempts:n` → `attempts` n rounds (1–16), the work budget;
/// - `rotate` → `rotate`: questions start at each server in turn;
/// - `use-vc` → `transport` [`Transport::Tcp`];
/// - `edns0` → `edns_payload` 1232, which is already the default: the
///   machine sends EDNS(0) unless told otherwise, and retries without it on
///   FORMERR (S21);
/// - `trust-ad` → `dnssec` with [`TrustAd::All`] (S34): as glibc does with
///   it, ask for DNSSEC and believe every listed server's AD bit, the
///   path to them being declared trusted.
///
/// `timeout:5` and `attempts:2` are the C library's defaults and cannot be
/// told from an absent option, so they leave the machine's own defaults
/// (2 s; 16 rounds, bounded by the deadline) in place.
pub fn config_from_resolv_conf(text: &[u8]) -> std::io::Result<Config> {
    let conf = parse_resolv_conf(text)?;
    let defaults = resolv_conf::Config::new();
    let mut config = Config {
        servers: servers_of(&conf),
        ..Config::default()
    };
    if conf.timeout != defaults.timeout {
        config.attempt_timeout = Duration::from_secs(u64::from(conf.timeout.clamp(1, 30)));
    }
    if conf.attempts != defaults.attempts {
        config.attempts = u8::try_from(conf.attempts.clamp(1, 16)).unwrap_or(16);
    }
    config.rotate = conf.rotate;
    if conf.use_vc {
        config.transport = Transport::Tcp;
    }
    if conf.edns0 {
        config.edns_payload = Some(config.edns_payload.unwrap_or(1232));
    }
    if conf.trust_ad {
        config.dnssec = Some(Dnssec {
            trust_ad: TrustAd::All,
            ..Dnssec::default()
        });
    }
    Ok(config)
}

fn parse_resolv_conf(text: &[u8]) -> io::Result<resolv_conf::Config> {
    resolv_conf::Config::parse(text)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{RESOLV_CONF}: {e}")))
}

fn servers_of(conf: &resolv_conf::Config) -> Vec<SocketAddr> {
    conf.get_nameservers_or_local()
        .into_iter()
        .map(|ip| SocketAddr::new(IpAddr::from(ip), 53))
        .collect()
}

/// The servers a `resolv.conf` text names, on port 53; the local host's when
/// it names none (as the C library does).
pub fn servers_from_resolv_conf(text: &[u8]) -> std::io::Result<Vec<SocketAddr>> {
    Ok(servers_of(&parse_resolv_conf(text)?))
}

/// Why a driver ([`blocking`](crate::driver::blocking), [`tokio`](crate::tokio))
/// could not produce an [`Answer`](crate::Answer), or a connection to one.
#[derive(Debug)]
pub enum DriverError {
    /// The resolution could not start: the resolver's [`crate::StartError`].
    Start(crate::StartError),
    /// The resolution itself failed: the resolver's [`crate::Error`].
    Resolve(crate::Error),
    /// A socket, the system configuration or the OS random source failed,
    /// or the driver stopped: a [`std::io::Error`].
    Io(std::io::Error),
    /// Resolved, but no connection attempt succeeded (S29): each one, and
    /// how it failed, a [`crate::connect::ConnectError`].
    Connect(crate::connect::ConnectError),
}

impl core::fmt::Display for DriverError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DriverError::Start(e) => e.fmt(f),
            DriverError::Resolve(e) => e.fmt(f),
            DriverError::Connect(e) => e.fmt(f),
            DriverError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for DriverError {}

impl From<std::io::Error> for DriverError {
    fn from(e: std::io::Error) -> Self {
        DriverError::Io(e)
    }
}

impl From<StartError> for DriverError {
    fn from(e: StartError) -> Self {
        DriverError::Start(e)
    }
}

impl From<Error> for DriverError {
    fn from(e: Error) -> Self {
        DriverError::Resolve(e)
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
    fn resolv_conf_options_map_onto_the_config() {
        let text = b"nameserver 127.0.0.1\noptions timeout:3 attempts:4 rotate use-vc edns0\n";
        let config = config_from_resolv_conf(text).unwrap();
        assert_eq!(config.attempt_timeout, Duration::from_secs(3));
        assert_eq!(config.attempts, 4);
        assert!(config.rotate);
        assert_eq!(config.transport, Transport::Tcp);
        assert_eq!(config.edns_payload, Some(1232));
        // Without options, and with the C library's defaults spelt out, the
        // machine's own defaults stay.
        for text in [
            &b"nameserver 127.0.0.1\n"[..],
            b"options timeout:5 attempts:2\n",
        ] {
            let config = config_from_resolv_conf(text).unwrap();
            let defaults = Config::default();
            assert_eq!(config.attempt_timeout, defaults.attempt_timeout);
            assert_eq!(config.attempts, defaults.attempts);
            assert!(!config.rotate);
            assert_eq!(config.transport, Transport::Udp);
            assert_eq!(config.dnssec, None);
        }
        // S34: `trust-ad` asks for DNSSEC and believes every server.
        let config = config_from_resolv_conf(b"nameserver 192.0.2.53\noptions trust-ad\n").unwrap();
        let dnssec = config.dnssec.expect("DNSSEC on");
        assert_eq!(dnssec.trust_ad, TrustAd::All);
        assert!(!dnssec.dane);
        // Out-of-range values are brought into range.
        let config = config_from_resolv_conf(b"options timeout:99 attempts:0\n").unwrap();
        assert_eq!(config.attempt_timeout, Duration::from_secs(30));
        assert_eq!(config.attempts, 1);
    }

    #[test]
    fn garbled_resolv_conf_is_an_error() {
        assert!(servers_from_resolv_conf(b"nameserver not-an-ip\n").is_err());
    }
}

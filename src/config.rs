//! What a [`Resolver`](crate::Resolver) may do: servers, timeouts, retries
//! and every bound (SPEC S21–S23, S27).

use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

/// The highest `Config::max_queries` honoured: query ids are 16 bits per
/// server, and at most half of them are ever in use, so a fresh random id is
/// found in two draws on average.
pub(crate) const MAX_QUERIES_CAP: usize = 32_768;

/// The most servers used; later ones in `Config::servers` are ignored.
pub const MAX_SERVERS: usize = 64;

/// How a message travels to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Transport {
    /// One UDP datagram.
    #[default]
    Udp,
    /// A TCP connection to the server, shared by all TCP queries to it
    /// (RFC 7766 pipelining). Messages carry the two-byte length prefix.
    Tcp,
}

/// Which address family to try first within one target (S17, RFC 8305 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum AddressOrder {
    /// IPv6 first, then alternate (the RFC 8305 default).
    #[default]
    Ipv6First,
    /// IPv4 first, then alternate.
    Ipv4First,
}

/// Settings of a [`Resolver`](crate::Resolver). `Config::default()` gives the
/// documented defaults.
///
/// How a question is retried (S23): attempt *k* goes to server *k* mod *n*
/// (so every server is tried before one is repeated), and waits
/// `attempt_timeout × 2^round` (at most `max_attempt_timeout`), where the
/// round is *k* div *n*. After `attempts` rounds the question fails. A server
/// that answers SERVFAIL, REFUSED, NOTIMP or another error is not asked
/// that question again. The whole resolution ends by `resolution_timeout`
/// whatever the attempts still planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Recursive DNS servers, tried in this order; at most [`MAX_SERVERS`]
    /// are used. No default: the caller must name at least one (the `std`
    /// driver reads `/etc/resolv.conf`).
    pub servers: Vec<SocketAddr>,
    /// How long the first round of attempts waits for each server. Default 2 s.
    ///
    /// All `attempts` rounds over `n` servers take up to
    /// `n × attempt_timeout × (2^attempts − 1)` (less where
    /// `max_attempt_timeout` caps a round). A `resolution_timeout` shorter
    /// than that ends the resolution before its last attempts are made:
    /// with the defaults and one server, a 1.5 s deadline leaves room for
    /// no retry at all. [`Config::fit_to_deadline`] sizes the two together.
    pub attempt_timeout: Duration,
    /// The cap of the doubling attempt timeout. Default 8 s.
    pub max_attempt_timeout: Duration,
    /// Rounds over the server list before a question fails; 0 is treated
    /// as 1. Default 2.
    pub attempts: u8,
    /// Deadline of a whole resolution, from its start. Default 10 s.
    ///
    /// It wins over the attempts: see `attempt_timeout` for how long they
    /// take, and [`Config::fit_to_deadline`] to make them fit.
    pub resolution_timeout: Duration,
    /// [`Transport::Udp`] (default): UDP first, and TCP for a question
    /// whose UDP answer was truncated (S22). [`Transport::Tcp`]: every
    /// query over TCP.
    pub transport: Transport,
    /// Whether a truncated UDP answer is asked again over TCP (S22).
    /// Default on. Off is for drivers that have no TCP: a truncated answer
    /// is then that server's failure
    /// ([`ServerFailure::Truncated`](crate::ServerFailure::Truncated)),
    /// and no TCP [`Transmit`](crate::Transmit) is ever made with
    /// `transport` [`Transport::Udp`].
    pub tcp_fallback: bool,
    /// S20 "0x20": randomise the letter case of each UDP query's name and
    /// accept only answers that echo it exactly. Default off: some
    /// middleboxes do not preserve case.
    pub case_randomization: bool,
    /// EDNS(0) UDP payload size to advertise, or `None` for no OPT record
    /// (S21). A server answering FORMERR to an OPT record is asked once
    /// more without it. Default 1232.
    pub edns_payload: Option<u16>,
    /// Most CNAME hops followed for one name (S25). Default 8.
    pub max_cname_hops: u8,
    /// Most records (all sections together) read from one answer; a
    /// larger answer counts as that server failing with
    /// [`ServerFailure::TooLarge`](crate::ServerFailure::TooLarge) (S27).
    /// Default 2048.
    pub max_records: u16,
    /// Longest TCP message accepted, which bounds the reassembly buffer of
    /// each connection (S27). A longer length prefix breaks the connection.
    /// Default 65 535 (no limit below DNS's own).
    pub max_tcp_message: u16,
    /// Most endpoints in a result: the first this many targets in RFC 2782
    /// order are kept, and only their addresses looked up (S13). Default 64;
    /// 0 is treated as 1.
    pub max_endpoints: usize,
    /// Most resolutions in flight at once (S27). Default 100 000.
    pub max_resolutions: usize,
    /// Most distinct questions on the wire at once (S27). Default 16 384;
    /// values above 32 768 are treated as 32 768.
    pub max_queries: usize,
    /// Address family order within one target (S17). Default IPv6 first.
    pub address_order: AddressOrder,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            servers: Vec::new(),
            attempt_timeout: Duration::from_secs(2),
            max_attempt_timeout: Duration::from_secs(8),
            attempts: 2,
            resolution_timeout: Duration::from_secs(10),
            transport: Transport::Udp,
            tcp_fallback: true,
            case_randomization: false,
            edns_payload: Some(1232),
            max_cname_hops: 8,
            max_records: 2048,
            max_tcp_message: u16::MAX,
            max_endpoints: 64,
            max_resolutions: 100_000,
            max_queries: 16_384,
            address_order: AddressOrder::Ipv6First,
        }
    }
}

impl Config {
    /// This configuration with `resolution_timeout` set to `deadline` and
    /// the attempt timeouts sized so that every attempt fits inside it:
    /// `n` servers and `a` rounds of doubling timeouts take
    /// `n × t × (2^a − 1)`, so `t` is `deadline / (n × (2^a − 1))`, never
    /// more than the `attempt_timeout` already set, and the cap of the
    /// doubling is `t × 2^(a−1)`. Set `servers` and `attempts` first.
    ///
    /// ```
    /// use std::time::Duration;
    /// use impp_resolver::Config;
    ///
    /// let config = Config {
    ///     servers: vec!["127.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()],
    ///     attempts: 2,
    ///     ..Config::default()
    /// }
    /// .fit_to_deadline(Duration::from_millis(1500));
    /// // Two servers, two rounds: 2 × t × 3 = 1.5 s, so t = 250 ms, then 500 ms.
    /// assert_eq!(config.attempt_timeout, Duration::from_millis(250));
    /// assert_eq!(config.max_attempt_timeout, Duration::from_millis(500));
    /// assert_eq!(config.resolution_timeout, Duration::from_millis(1500));
    /// ```
    pub fn fit_to_deadline(mut self, deadline: Duration) -> Config {
        let attempts = u32::from(self.attempts.clamp(1, 31));
        let rounds = (1u32 << attempts) - 1;
        let servers = u32::try_from(self.servers.len().clamp(1, MAX_SERVERS)).unwrap_or(1);
        let slots = rounds.saturating_mul(servers);
        self.attempt_timeout = (deadline / slots).min(self.attempt_timeout);
        self.max_attempt_timeout = self.attempt_timeout.saturating_mul(1 << (attempts - 1));
        self.resolution_timeout = deadline;
        self
    }

    /// The configuration with every value brought into its documented range.
    pub(crate) fn normalized(mut self) -> Self {
        self.servers.truncate(MAX_SERVERS);
        self.attempts = self.attempts.max(1);
        self.max_queries = self.max_queries.min(MAX_QUERIES_CAP);
        // Zero endpoints would turn "records exist" into an empty success.
        self.max_endpoints = self.max_endpoints.max(1);
        self
    }

    /// The attempt timeout of round `round` (S23): doubled each round, capped.
    pub(crate) fn attempt_timeout_of(&self, round: u32) -> Duration {
        let factor = 1u32.checked_shl(round.min(31)).unwrap_or(u32::MAX);
        self.attempt_timeout
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_attempt_timeout.max(self.attempt_timeout))
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Config {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let servers = (0..u.int_in_range(1..=3)?)
            .map(|_| {
                let ip: [u8; 4] = u.arbitrary()?;
                Ok(SocketAddr::from((ip, u.int_in_range(1..=u16::MAX)?)))
            })
            .collect::<arbitrary::Result<Vec<_>>>()?;
        Ok(Config {
            servers,
            attempt_timeout: Duration::from_millis(u.int_in_range(1..=5_000)?),
            max_attempt_timeout: Duration::from_millis(u.int_in_range(1..=10_000)?),
            attempts: u.int_in_range(0..=4)?,
            resolution_timeout: Duration::from_millis(u.int_in_range(1..=20_000)?),
            transport: u.arbitrary()?,
            tcp_fallback: u.arbitrary()?,
            case_randomization: u.arbitrary()?,
            edns_payload: u.arbitrary()?,
            max_cname_hops: u.int_in_range(0..=16)?,
            max_records: u.int_in_range(0..=4096)?,
            max_tcp_message: u.arbitrary()?,
            max_endpoints: u.int_in_range(1..=128)?,
            max_resolutions: u.int_in_range(1..=1_000)?,
            max_queries: u.int_in_range(1..=1_000)?,
            address_order: u.arbitrary()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_timeout_doubles_per_round_up_to_the_cap() {
        let config = Config::default();
        let secs = |round| config.attempt_timeout_of(round).as_secs();
        assert_eq!(
            [secs(0), secs(1), secs(2), secs(3), secs(40)],
            [2, 4, 8, 8, 8]
        );
        // A cap below the first timeout never shortens the first attempt.
        let odd = Config {
            max_attempt_timeout: Duration::from_millis(1),
            ..Config::default()
        };
        assert_eq!(odd.attempt_timeout_of(5), Duration::from_secs(2));
    }

    #[test]
    fn fitted_attempts_fill_the_deadline_and_no_more() {
        for servers in 1..=4u16 {
            for attempts in 1..=5u8 {
                let config = Config {
                    servers: (0..servers)
                        .map(|p| SocketAddr::from(([127, 0, 0, 1], 5300 + p)))
                        .collect(),
                    attempts,
                    ..Config::default()
                }
                .fit_to_deadline(Duration::from_millis(1500));
                let total: Duration = (0..u32::from(attempts))
                    .map(|round| config.attempt_timeout_of(round) * u32::from(servers))
                    .sum();
                assert!(total <= config.resolution_timeout, "{servers} {attempts}");
                assert!(config.attempt_timeout > Duration::ZERO);
            }
        }
        // Never longer than the attempt timeout already chosen.
        let roomy = Config {
            servers: alloc::vec![SocketAddr::from(([127, 0, 0, 1], 53))],
            ..Config::default()
        }
        .fit_to_deadline(Duration::from_secs(60));
        assert_eq!(roomy.attempt_timeout, Duration::from_secs(2));
        assert_eq!(roomy.max_attempt_timeout, Duration::from_secs(4));
    }

    #[test]
    fn normalized_brings_values_into_range() {
        let config = Config {
            servers: (0..100)
                .map(|p| SocketAddr::from(([192, 0, 2, 1], p)))
                .collect(),
            attempts: 0,
            max_queries: usize::MAX,
            max_endpoints: 0,
            ..Config::default()
        }
        .normalized();
        assert_eq!(config.servers.len(), MAX_SERVERS);
        assert_eq!(config.attempts, 1);
        assert_eq!(config.max_queries, MAX_QUERIES_CAP);
        assert_eq!(config.max_endpoints, 1);
    }
}

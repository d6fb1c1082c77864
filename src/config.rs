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

/// The EDNS(0) UDP payload advertised by default: 1232 bytes, the DNS
/// Flag Day 2020 figure, which fits an IPv6 minimum MTU with room to spare.
const DEFAULT_EDNS_PAYLOAD: u16 = 1232;

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
/// How a question is retried (S23): it is asked again and again until it is
/// answered or its resolution's deadline (`resolution_timeout`) passes,
/// within a budget of `attempts` rounds over the server list. Each round
/// asks every server that may still be asked once, the one expected to
/// answer soonest first (by its measured round trips; now and then another
/// is tried first, to notice when it recovers). The wait before the next
/// attempt is the retransmission timeout of the best server — smoothed RTT
/// plus four times its variance (RFC 6298) within
/// `[min_attempt_timeout, max_attempt_timeout]`, or `attempt_timeout`
/// before any answer was timed — doubled for each attempt the question has
/// already made, up to `max_attempt_timeout` (but never below that first
/// wait), yet only as often as those servers have timed out in a row since
/// they last answered anything: loss on the path of a server that answers
/// other questions costs a round-trip timeout, not an ever longer wait. A
/// server that answers SERVFAIL, REFUSED, NOTIMP or another error is not
/// asked that question again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Recursive DNS servers, tried in this order; at most [`MAX_SERVERS`]
    /// are used. No default: the caller must name at least one (the `std`
    /// driver reads `/etc/resolv.conf`).
    pub servers: Vec<SocketAddr>,
    /// How long an attempt waits before any answer from the servers has
    /// been timed (a new resolver, or estimates forgotten after 15 minutes
    /// unused). Default 2 s, as the C library's resolver.
    ///
    /// A `resolution_timeout` that is not several times this leaves little
    /// room for a retry while nothing is measured: with the defaults and one
    /// server, a 1.5 s deadline allows no retry at all until an answer has
    /// been timed. [`Config::fit_to_deadline`] sizes the two together.
    pub attempt_timeout: Duration,
    /// The floor of a measured retransmission timeout. Default 50 ms (as
    /// unbound's `infra-cache-min-rtt`): a server that answers in a tenth of
    /// a millisecond is still given long enough for a busy host's scheduling
    /// hiccup, rather than asked again at once.
    pub min_attempt_timeout: Duration,
    /// The ceiling of a measured retransmission timeout and of its doubling
    /// on each retry. Default 1 s: under loss a question is asked again at
    /// least every second until its deadline, so a lost packet costs about a
    /// second, not the rest of the resolution. Answers to earlier sends
    /// still count, so a slow server's answer is never wasted.
    pub max_attempt_timeout: Duration,
    /// The work budget: rounds over the server list a question may make
    /// (so at most `attempts × servers` queries); 0 is treated as 1.
    /// Default 16. The deadline usually ends a question first: with one
    /// server answering in a millisecond and every packet lost, 16 attempts
    /// take about 11.5 s.
    pub attempts: u8,
    /// Deadline of a whole resolution, from its start. Default 10 s.
    /// Attempts go on until it passes (or the budget runs out).
    pub resolution_timeout: Duration,
    /// Spread questions over the servers in turn (resolv.conf's `rotate`):
    /// each question's first attempt goes to the next server in the list,
    /// not to the fastest. Default off.
    pub rotate: bool,
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
    /// more without it. Default 1232. With `dnssec` set, `None` is taken
    /// as 1232: the DO bit rides on the OPT record.
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
    /// Most distinct questions in flight at once, asked or waiting their
    /// turn (S27). Default 16 384; values above 32 768 are treated as
    /// 32 768.
    pub max_queries: usize,
    /// Most questions being asked at once; the rest wait for one to end,
    /// the oldest resolution's first (S27). A question has at most one
    /// query open per server, so no server is sent more than this many of
    /// our queries at a time (plus resends), and a burst of resolutions
    /// cannot overflow a server's receive buffer with them: one with the
    /// Linux default of 208 KiB holds 256 small datagrams (measured), and
    /// at 256 outstanding a loopback hickory-server dropped some. Default
    /// 128: at a loopback round trip of 0.2 ms that is over half a million
    /// questions a second; at a recursive resolver's 50 ms for names it must
    /// look up, 2,560. Raise it for a server known to have a larger buffer
    /// (Knot, unbound and BIND set theirs to megabytes). 0 is treated as 1.
    pub max_outstanding: usize,
    /// Most UDP queries one local socket carries before a new socket (a
    /// new port, chosen by the OS) takes over; the old one is closed when
    /// no query waits on it (S28). Default 16: an off-path attacker must
    /// guess the port as well as the id, and a socket never has more than
    /// 16 answers (about 20 KiB with EDNS's 1232 bytes) to queue, far below
    /// any receive buffer. 1 gives every query a port of its own, at the
    /// cost of opening and closing a socket per query; `u32::MAX` keeps one
    /// socket per address family for good (only for drivers that cannot
    /// open more: it leaves the id alone to guess). 0 is treated as 1.
    pub queries_per_socket: u32,
    /// Address family order within one target (S17). Default IPv6 first.
    pub address_order: AddressOrder,
    /// Report each target's addresses as they arrive
    /// ([`Resolver::poll_progress`](crate::Resolver::poll_progress)), so
    /// that connecting can start before the last target resolves (S29).
    /// Default off: nothing is queued.
    pub progress: bool,
    /// The cache of answers (S26, S27): bounds and lifetimes. Default on,
    /// with [`CacheConfig::default`]; `None` sends every question to the
    /// network.
    pub cache: Option<CacheConfig>,
    /// DNSSEC status on every endpoint, and DANE (S33–S37): `None`, the
    /// default, asks nothing of DNSSEC and every endpoint is insecure;
    /// the queries are then byte for byte what they were without it.
    pub dnssec: Option<Dnssec>,
}

/// Reading a validating resolver's verdict (S33–S37). This crate does not
/// validate signatures itself: it sets the DO bit (RFC 3225) and believes
/// the AD bit (RFC 4035 §3.2.3) of servers it is told to trust, as glibc's
/// `trust-ad` and systemd-resolved do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Dnssec {
    /// Whose AD bit to believe. Default: loopback servers only.
    pub trust_ad: TrustAd,
    /// Look up TLSA records for endpoints that are secure (RFC 7673):
    /// `Endpoint::tlsa`. Default off.
    pub dane: bool,
}

/// Which servers' AD bit is believed (S34). An answer from any other
/// server is insecure whatever its AD bit says, and its SERVFAIL never
/// counts as bogus: the path to it is not protected, so anyone on that
/// path could set the bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum TrustAd {
    /// Servers on a loopback address (127.0.0.0/8, ::1): a validating
    /// resolver on this host.
    #[default]
    Loopback,
    /// Every configured server: resolv.conf's `options trust-ad`, for a
    /// network whose path to the resolver is trusted.
    All,
    /// No server: every answer is insecure.
    None,
}

impl TrustAd {
    /// Whether an answer from `server` may be believed secure.
    pub fn trusts(self, server: SocketAddr) -> bool {
        match self {
            TrustAd::Loopback => server.ip().is_loopback(),
            TrustAd::All => true,
            TrustAd::None => false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            servers: Vec::new(),
            attempt_timeout: Duration::from_secs(2),
            min_attempt_timeout: Duration::from_millis(50),
            max_attempt_timeout: Duration::from_secs(1),
            attempts: 16,
            rotate: false,
            resolution_timeout: Duration::from_secs(10),
            transport: Transport::Udp,
            tcp_fallback: true,
            case_randomization: false,
            edns_payload: Some(DEFAULT_EDNS_PAYLOAD),
            max_cname_hops: 8,
            max_records: 2048,
            max_tcp_message: u16::MAX,
            max_endpoints: 64,
            max_resolutions: 100_000,
            max_queries: 16_384,
            max_outstanding: 128,
            queries_per_socket: 16,
            address_order: AddressOrder::Ipv6First,
            progress: false,
            cache: Some(CacheConfig::default()),
            dnssec: None,
        }
    }
}

impl Config {
    /// This configuration with `resolution_timeout` set to `deadline`, and
    /// `attempt_timeout` (the wait before anything is measured) short
    /// enough that every server is asked at least twice before it:
    /// `n` servers take `n × t` for a round and `2 × n × t` for the next, so
    /// `t` is `deadline / (3 × n)`, never more than the `attempt_timeout`
    /// already set. Set `servers` first.
    ///
    /// ```
    /// use std::time::Duration;
    /// use impp_resolver::Config;
    ///
    /// let config = Config {
    ///     servers: vec!["127.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()],
    ///     ..Config::default()
    /// }
    /// .fit_to_deadline(Duration::from_millis(1500));
    /// // Two servers, two rounds: 2 × t + 2 × 2t = 1.5 s, so t = 250 ms.
    /// assert_eq!(config.attempt_timeout, Duration::from_millis(250));
    /// assert_eq!(config.resolution_timeout, Duration::from_millis(1500));
    /// ```
    pub fn fit_to_deadline(mut self, deadline: Duration) -> Config {
        let servers = u32::try_from(self.servers.len().clamp(1, MAX_SERVERS)).unwrap_or(1);
        self.attempt_timeout = (deadline / (3 * servers)).min(self.attempt_timeout);
        self.resolution_timeout = deadline;
        self
    }

    /// The configuration with every value brought into its documented range.
    pub(crate) fn normalized(mut self) -> Self {
        self.servers.truncate(MAX_SERVERS);
        self.attempts = self.attempts.max(1);
        self.max_queries = self.max_queries.min(MAX_QUERIES_CAP);
        self.max_outstanding = self.max_outstanding.max(1);
        self.queries_per_socket = self.queries_per_socket.max(1);
        // Zero endpoints would turn "records exist" into an empty success.
        self.max_endpoints = self.max_endpoints.max(1);
        // The DO bit rides on the OPT record (RFC 3225): DNSSEC needs one.
        if self.dnssec.is_some() && self.edns_payload.is_none() {
            self.edns_payload = Some(DEFAULT_EDNS_PAYLOAD);
        }
        self
    }

    /// The wait of a question's attempt after `earlier` attempts, from a
    /// first wait of `first` (S23): doubled each time, capped at
    /// `max_attempt_timeout` but never below `first`.
    pub(crate) fn backed_off(&self, first: Duration, earlier: u32) -> Duration {
        let factor = 1u32.checked_shl(earlier.min(31)).unwrap_or(u32::MAX);
        first
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_attempt_timeout.max(first))
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
            min_attempt_timeout: Duration::from_millis(u.int_in_range(0..=500)?),
            max_attempt_timeout: Duration::from_millis(u.int_in_range(1..=10_000)?),
            attempts: u.int_in_range(0..=16)?,
            rotate: u.arbitrary()?,
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
            max_outstanding: u.int_in_range(0..=64)?,
            queries_per_socket: u.int_in_range(0..=20)?,
            address_order: u.arbitrary()?,
            progress: u.arbitrary()?,
            cache: u.arbitrary()?,
            dnssec: u.arbitrary()?,
        })
    }
}

/// Bounds and lifetimes of the cache (S26, S27); `Config::cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most entries kept. An entry is one RRset, one CNAME link or one
    /// negative answer: a domain with four targets fills one (its SRV set,
    /// when the addresses came in the additional section) to nine (and an
    /// A and an AAAA per target). Default 10,000: a server's few hundred
    /// peer domains several times over. 0 is treated as 1.
    pub max_entries: usize,
    /// Most bytes the entries hold: each counts its slot and its share of
    /// the index (116 bytes) plus the payload of every allocation it owns
    /// (key, records, addresses). An address entry takes about 150 bytes,
    /// an SRV set of four targets with eight addresses 694 (`cargo bench
    /// --bench cache`). Beyond it the heap holds at most one chunk of 64
    /// empty slots (4.6 KiB) and the free list's spare room: a million
    /// names through an 8 MiB cache peaked at 7.7 MB of heap
    /// (the `cache_memory` test, DEVELOPING.md). Default 4 MiB: 10,000 entries of
    /// addresses, or about 2,500 domains of four targets.
    pub max_bytes: usize,
    /// The shortest a stored TTL is made. Default 0: TTLs as given.
    pub min_ttl: Duration,
    /// The longest a stored TTL is made. Default 1 day.
    pub max_ttl: Duration,
    /// The longest a negative answer (NXDOMAIN, NODATA) is kept. Default
    /// 1 hour, as RFC 2308 §5 suggests at most 3 hours.
    pub max_negative_ttl: Duration,
    /// Serve-stale (RFC 8767, S31): answer from expired data when the
    /// servers do not. Default `None`: off.
    pub serve_stale: Option<ServeStale>,
}

/// How serve-stale (RFC 8767, S31) behaves: expired entries are kept for
/// `keep`; a resolution that needs one asks the servers as usual, and
/// when no fresh answer has come within `client_timer`, or every server
/// failed, the expired data stands in, with a TTL of `answer_ttl` and
/// [`Answer::stale`](crate::Answer::stale) set, while the question goes
/// on being asked and a fresh answer still refreshes the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ServeStale {
    /// How long expired data is kept. Default 1 day (RFC 8767 §5
    /// suggests 1 to 3 days).
    pub keep: Duration,
    /// How long a resolution waits for a fresh answer before it takes
    /// the stale one. Default 1.8 s (RFC 8767 §5). Keep it below
    /// `Config::resolution_timeout`, or the deadline comes first.
    pub client_timer: Duration,
    /// The TTL a stale answer carries. Default 30 s (RFC 8767 §4).
    pub answer_ttl: u32,
    /// After a refresh failed, stale data is served at once, without
    /// asking, for this long. Default 30 s (RFC 8767 §5's failure
    /// recheck timer).
    pub retry_after: Duration,
}

impl Default for ServeStale {
    fn default() -> Self {
        ServeStale {
            keep: Duration::from_secs(86_400),
            client_timer: Duration::from_millis(1_800),
            answer_ttl: 30,
            retry_after: Duration::from_secs(30),
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_entries: 10_000,
            max_bytes: 4 << 20,
            min_ttl: Duration::ZERO,
            max_ttl: Duration::from_secs(86_400),
            max_negative_ttl: Duration::from_secs(3_600),
            serve_stale: None,
        }
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for CacheConfig {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        // Small bounds, so that fuzzing reaches eviction.
        Ok(CacheConfig {
            max_entries: u.int_in_range(0..=64)?,
            max_bytes: u.int_in_range(0..=16_384)?,
            min_ttl: Duration::from_secs(u.int_in_range(0..=600)?),
            max_ttl: Duration::from_secs(u.int_in_range(0..=86_400)?),
            max_negative_ttl: Duration::from_secs(u.int_in_range(0..=3_600)?),
            serve_stale: u.arbitrary()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_never_below_the_first_wait() {
        let config = Config::default();
        let ms = |first, earlier| config.backed_off(Duration::from_millis(first), earlier);
        assert_eq!(
            [
                ms(50, 0),
                ms(50, 1),
                ms(50, 2),
                ms(50, 4),
                ms(50, 5),
                ms(50, 40)
            ],
            [50, 100, 200, 800, 1000, 1000].map(Duration::from_millis)
        );
        // Before anything is measured the first wait is 2 s, above the cap.
        assert_eq!(ms(2000, 3), Duration::from_secs(2));
    }

    #[test]
    fn fitted_first_waits_leave_two_rounds_inside_the_deadline() {
        for servers in 1..=4u16 {
            let config = Config {
                servers: (0..servers)
                    .map(|p| SocketAddr::from(([127, 0, 0, 1], 5300 + p)))
                    .collect(),
                ..Config::default()
            }
            .fit_to_deadline(Duration::from_millis(1500));
            let two_rounds = (config.attempt_timeout * 3) * u32::from(servers);
            assert!(two_rounds <= config.resolution_timeout, "{servers}");
            assert!(config.attempt_timeout > Duration::ZERO);
        }
        // Never longer than the attempt timeout already chosen.
        let roomy = Config {
            servers: alloc::vec![SocketAddr::from(([127, 0, 0, 1], 53))],
            ..Config::default()
        }
        .fit_to_deadline(Duration::from_secs(60));
        assert_eq!(roomy.attempt_timeout, Duration::from_secs(2));
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
        // The DO bit rides on an OPT record (S33): DNSSEC brings one back.
        let config = Config {
            edns_payload: None,
            dnssec: Some(Dnssec::default()),
            ..Config::default()
        }
        .normalized();
        assert_eq!(config.edns_payload, Some(DEFAULT_EDNS_PAYLOAD));
        let plain = Config {
            edns_payload: None,
            ..Config::default()
        };
        assert_eq!(plain.normalized().edns_payload, None);
    }

    #[test]
    fn trust_ad_believes_whom_it_says() {
        let loopback: SocketAddr = "127.0.0.53:53".parse().unwrap();
        let v6: SocketAddr = "[::1]:53".parse().unwrap();
        let remote: SocketAddr = "192.0.2.53:53".parse().unwrap();
        assert!(TrustAd::Loopback.trusts(loopback) && TrustAd::Loopback.trusts(v6));
        assert!(!TrustAd::Loopback.trusts(remote));
        assert!(TrustAd::All.trusts(remote));
        assert!(!TrustAd::None.trusts(loopback));
    }
}

//! The simulated network: servers with their zones and faults, and an
//! off-path forger.

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Name;
use rand_core::Rng;

use super::zone::Zone;

/// How often something happens, in thousandths: `Chance::percent(30)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Chance(u16);

impl Chance {
    /// Never.
    pub const NEVER: Chance = Chance(0);
    /// Every time.
    pub const ALWAYS: Chance = Chance(1000);

    /// `n` in a thousand (at most 1,000).
    pub const fn per_mille(n: u16) -> Chance {
        Chance(if n > 1000 { 1000 } else { n })
    }

    /// `n` in a hundred (at most 100).
    pub const fn percent(n: u8) -> Chance {
        Chance::per_mille(n as u16 * 10)
    }

    /// Thousandths.
    pub const fn as_per_mille(self) -> u16 {
        self.0
    }

    /// One draw: whether it happens this time.
    pub(crate) fn happens(self, rng: &mut impl Rng) -> bool {
        self.0 > 0 && (rng.next_u32() % 1000) < u32::from(self.0)
    }
}

/// An error a server answers with instead of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// How often it answers so.
    pub chance: Chance,
    /// SERVFAIL, REFUSED or any other rcode.
    pub rcode: ResponseCode,
    /// An Extended DNS Error code (RFC 8914) to send with it: 6, say, for
    /// "DNSSEC Bogus".
    pub ede: Option<u16>,
}

/// What a server does wrong, each drawn afresh for every packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// A query or an answer (each, over UDP) lost on the way.
    pub loss: Chance,
    /// An answer delivered twice.
    pub duplicate: Chance,
    /// The time from a query to its answer, drawn evenly from this range:
    /// a range wider than the gap between two queries reorders answers.
    pub delay: (Duration, Duration),
    /// Answers nothing at all: a dead server.
    pub silent: bool,
    /// Answers with an error instead.
    pub failure: Option<Failure>,
    /// Over UDP, sets TC and sends no records though they would fit.
    pub truncate: Chance,
    /// Sets TC over TCP too: a broken server.
    pub truncate_tcp: bool,
    /// Over TCP, closes the connection instead of answering.
    pub close_tcp: Chance,
    /// Over TCP, an answer arrives in pieces split at random bytes (the
    /// length prefix too).
    pub split_tcp: bool,
    /// FORMERR to every query with an OPT record: a server from before
    /// EDNS (RFC 6891 §7).
    pub no_edns: bool,
    /// Its answers carry records for names off the question's chain (and
    /// not the targets of an SRV answer), in every section, pointing at
    /// the network's [`Planted`] data: a server trying to poison a cache
    /// (RFC 2181 §5.4.1).
    pub stray: Chance,
}

impl Default for Faults {
    /// None: a server that answers every query in 10 ms.
    fn default() -> Self {
        Faults {
            loss: Chance::NEVER,
            duplicate: Chance::NEVER,
            delay: (Duration::from_millis(10), Duration::from_millis(10)),
            silent: false,
            failure: None,
            truncate: Chance::NEVER,
            truncate_tcp: false,
            close_tcp: Chance::NEVER,
            split_tcp: false,
            no_edns: false,
            stray: Chance::NEVER,
        }
    }
}

impl Faults {
    /// Lossy, reordering, duplicating, and slow now and then: the network
    /// of a bad day, at `loss`.
    pub fn lossy(loss: Chance) -> Faults {
        Faults {
            loss,
            duplicate: Chance::percent(5),
            delay: (Duration::from_millis(1), Duration::from_millis(300)),
            ..Faults::default()
        }
    }

    /// The delay of one answer.
    pub(crate) fn draw_delay(&self, rng: &mut impl Rng) -> Duration {
        let (low, high) = (
            self.delay.0.min(self.delay.1),
            self.delay.0.max(self.delay.1),
        );
        let span = u64::try_from((high - low).as_micros()).unwrap_or(u64::MAX);
        let extra = if span == 0 {
            0
        } else {
            rng.next_u64() % (span + 1)
        };
        low + Duration::from_micros(extra)
    }
}

/// One authoritative server: where it listens, what it serves, and what
/// it does wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// Its address: put it in `Config::servers`.
    pub address: SocketAddr,
    /// The zones it answers for; REFUSED for names in none of them.
    pub zones: Vec<Zone>,
    /// What it does wrong.
    pub faults: Faults,
}

impl Server {
    /// A faultless server at `address` for `zones`.
    pub fn new(address: SocketAddr, zones: Vec<Zone>) -> Server {
        Server {
            address,
            zones,
            faults: Faults::default(),
        }
    }

    /// The same server, misbehaving as `faults` says.
    pub fn with_faults(mut self, faults: Faults) -> Server {
        self.faults = faults;
        self
    }
}

/// An off-path attacker: it knows which question was asked (it made the
/// victim ask it) but not the query's id, source port or socket, so every
/// answer it forges is wrong in one of them: a guessed id (never one a
/// query to that server for that question has out), another source port,
/// another question, or another of the resolver's sockets. Its answers
/// point at the network's [`Planted`] data and claim AD. A resolver that
/// takes one is broken (RFC 5452 §9.1):
/// [`Simulation::poisoned_endpoints`] counts what it let through.
///
/// [`Simulation::poisoned_endpoints`]: super::Simulation::poisoned_endpoints
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forger {
    /// How often it races a UDP query; its answers arrive before the real
    /// one.
    pub chance: Chance,
    /// How many answers it forges each time.
    pub answers: u8,
}

impl Forger {
    /// A forger that races `chance` of the queries with one answer each.
    pub fn new(chance: Chance) -> Forger {
        Forger { chance, answers: 1 }
    }
}

/// What the forger's answers and a poisoning server's stray records point
/// at: never a real endpoint of the zones, so any endpoint carrying it
/// came from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// The address of planted A records.
    pub v4: Ipv4Addr,
    /// The address of planted AAAA records.
    pub v6: Ipv6Addr,
    /// The target of planted SRV and CNAME records.
    pub target: Name,
    /// The port of planted SRV records.
    pub port: u16,
}

impl Default for Planted {
    /// 192.0.2.66, 2001:db8::66, `forged.invalid.`, port 6666.
    fn default() -> Self {
        Planted {
            v4: Ipv4Addr::new(192, 0, 2, 66),
            v6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66),
            target: Name::from_ascii("forged.invalid.").unwrap_or_else(|_| Name::root()),
            port: 6666,
        }
    }
}

impl Planted {
    /// Whether `endpoint` carries anything planted: its target, its port
    /// or one of its addresses.
    pub fn in_endpoint(&self, endpoint: &crate::Endpoint) -> bool {
        endpoint.target == self.target
            || endpoint.port == self.port
            || endpoint.addresses.iter().any(|&ip| self.is_address(ip))
    }

    /// Whether `ip` is a planted address.
    pub fn is_address(&self, ip: IpAddr) -> bool {
        ip == IpAddr::V4(self.v4) || ip == IpAddr::V6(self.v6)
    }
}

/// The servers and the attacker of one simulated network.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    /// The servers, by address.
    pub servers: Vec<Server>,
    /// The off-path attacker, if any.
    pub forger: Option<Forger>,
    /// What forgeries and stray records point at.
    pub planted: Planted,
}

impl Network {
    /// A network of `servers`, no attacker.
    pub fn new(servers: Vec<Server>) -> Network {
        Network {
            servers,
            forger: None,
            planted: Planted::default(),
        }
    }

    /// The same network with `forger` on it.
    pub fn with_forger(mut self, forger: Forger) -> Network {
        self.forger = Some(forger);
        self
    }

    /// The servers' addresses, for `Config::servers`.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(|s| s.address).collect()
    }

    pub(crate) fn server(&self, address: SocketAddr) -> Option<&Server> {
        self.servers.iter().find(|s| s.address == address)
    }
}

#[cfg(feature = "arbitrary")]
mod arbitrary_impls {
    use super::*;
    use arbitrary::{Arbitrary, Result, Unstructured};

    impl<'a> Arbitrary<'a> for Chance {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(Chance::per_mille(u.int_in_range(0..=1000)?))
        }
    }

    impl<'a> Arbitrary<'a> for Failure {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            let rcode = *u.choose(&[
                ResponseCode::ServFail,
                ResponseCode::Refused,
                ResponseCode::NotImp,
                ResponseCode::FormErr,
            ])?;
            let ede = if u.arbitrary()? {
                Some(u.int_in_range(0..=30)?)
            } else {
                None
            };
            Ok(Failure {
                chance: u.arbitrary()?,
                rcode,
                ede,
            })
        }
    }

    /// Faults as a fuzzer draws them: mostly mild (a hostile network that
    /// never answers teaches little), with every kind possible.
    impl<'a> Arbitrary<'a> for Faults {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            let mild = |u: &mut Unstructured<'a>| -> Result<Chance> {
                Ok(Chance::per_mille(u.int_in_range(0..=400)?))
            };
            let low = Duration::from_micros(u.int_in_range(0..=500_000)?);
            let high = low + Duration::from_micros(u.int_in_range(0..=2_000_000)?);
            Ok(Faults {
                loss: mild(u)?,
                duplicate: mild(u)?,
                delay: (low, high),
                silent: u.ratio(1, 8)?,
                failure: if u.ratio(1, 4)? {
                    Some(u.arbitrary()?)
                } else {
                    None
                },
                truncate: mild(u)?,
                truncate_tcp: u.ratio(1, 16)?,
                close_tcp: mild(u)?,
                split_tcp: u.arbitrary()?,
                no_edns: u.ratio(1, 8)?,
                stray: if u.ratio(1, 4)? {
                    mild(u)?
                } else {
                    Chance::NEVER
                },
            })
        }
    }

    impl<'a> Arbitrary<'a> for Forger {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(Forger {
                chance: u.arbitrary()?,
                answers: u.int_in_range(1..=4)?,
            })
        }
    }
}

#[cfg(feature = "arbitrary")]
impl Network {
    /// A whole hostile network drawn from a fuzzer's input: one to three
    /// servers at 192.0.2.53, .54 and .55 (port 53), each serving all of
    /// `zones` with faults of its own, and now and then a forger.
    pub fn arbitrary_for(
        zones: &[Zone],
        u: &mut arbitrary::Unstructured<'_>,
    ) -> arbitrary::Result<Network> {
        let count = u.int_in_range(1..=3u8)?;
        let servers = (0..count)
            .map(|i| {
                let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53 + i)), 53);
                Ok(Server::new(address, zones.to_vec()).with_faults(u.arbitrary()?))
            })
            .collect::<arbitrary::Result<Vec<_>>>()?;
        let forger = if u.ratio(1, 3)? {
            Some(u.arbitrary()?)
        } else {
            None
        };
        Ok(Network {
            servers,
            forger,
            planted: Planted::default(),
        })
    }
}

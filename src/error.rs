//! Why a resolution did not produce endpoints.

use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;

use hickory_proto::rr::Name;

use crate::service::NameError;

/// Why a resolution failed, or could not start.
///
/// Every variant is distinct so that callers can tell "the domain does not
/// exist" from "the servers are broken" from "the network is down".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The URI has no destination (`im:`), so there is nothing to resolve (S4).
    NoDestination,
    /// No protocol to try and no fallback port: nothing could be found.
    NoProtocols,
    /// A name to resolve is not a valid DNS name.
    InvalidName(NameError),
    /// The configuration lists no DNS servers.
    NoServers,
    /// Starting this resolution would exceed `Config::max_resolutions` (S27).
    TooManyResolutions,
    /// Asking one more question would exceed `Config::max_queries` (S27).
    TooManyQueries,
    /// The SRV RRset is the single target `.`: the service is decidedly not
    /// available at this domain (S11).
    Unavailable {
        /// The SRV owner name that said so.
        name: Name,
    },
    /// The name does not exist (NXDOMAIN). For a URI this means every
    /// protocol's SRV name, and the domain itself if fallback was enabled.
    NxDomain {
        /// The last name found not to exist.
        name: Name,
    },
    /// The name exists but has no records of the type asked (NODATA).
    NoData {
        /// The name without the records.
        name: Name,
    },
    /// The servers answered SERVFAIL (S16: never a reason to fall back).
    ServFail {
        /// The name being asked about.
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// The servers refused, or answered with another error rcode.
    Refused {
        /// The name being asked about.
        name: Name,
        /// The DNS response code.
        rcode: u16,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// No server answered in time, or the resolution's deadline passed.
    Timeout {
        /// The name being asked about.
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// A CNAME chain loops or is longer than `Config::max_cname_hops` (S25).
    CnameLoop {
        /// The name whose chain loops.
        name: Name,
    },
    /// The answers were truncated (TC=1) and could not be used (S22).
    Truncated {
        /// The name being asked about.
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// The servers sent referrals instead of answers: they are not
    /// recursive resolvers for this name.
    Referral {
        /// The name being asked about.
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// An answer held more records than `Config::max_records`, or a TCP
    /// message was longer than `Config::max_tcp_message` (S27).
    TooLarge {
        /// The name being asked about.
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// The answers matched the question but could not be decoded.
    Malformed {
        /// The name being asked about.
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
}

impl Error {
    /// A short, stable, machine-readable name for the kind of error, as the
    /// `resolve` example prints it: `unavailable`, `nxdomain`, `nodata`,
    /// `servfail`, `refused`, `timeout`, `cname-loop`, `truncated`,
    /// `referral`, `malformed`, `too-large`, `no-destination`, `no-protocols`, `invalid-name`,
    /// `no-servers`, `too-many-resolutions`, `too-many-queries`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NoDestination => "no-destination",
            Error::NoProtocols => "no-protocols",
            Error::InvalidName(_) => "invalid-name",
            Error::NoServers => "no-servers",
            Error::TooManyResolutions => "too-many-resolutions",
            Error::TooManyQueries => "too-many-queries",
            Error::Unavailable { .. } => "unavailable",
            Error::NxDomain { .. } => "nxdomain",
            Error::NoData { .. } => "nodata",
            Error::ServFail { .. } => "servfail",
            Error::Refused { .. } => "refused",
            Error::Timeout { .. } => "timeout",
            Error::CnameLoop { .. } => "cname-loop",
            Error::Truncated { .. } => "truncated",
            Error::Referral { .. } => "referral",
            Error::Malformed { .. } => "malformed",
            Error::TooLarge { .. } => "too-large",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoDestination => f.write_str("the URI has no destination"),
            Error::NoProtocols => f.write_str("no protocols to try and no fallback port"),
            Error::InvalidName(e) => write!(f, "invalid name: {e}"),
            Error::NoServers => f.write_str("no DNS servers configured"),
            Error::TooManyResolutions => f.write_str("too many resolutions in flight"),
            Error::TooManyQueries => f.write_str("too many queries in flight"),
            Error::Unavailable { name } => {
                write!(f, "{name} says the service is not available (target \".\")")
            }
            Error::NxDomain { name } => write!(f, "{name} does not exist"),
            Error::NoData { name } => write!(f, "{name} has no records of the type asked"),
            Error::ServFail { name, servers } => {
                write!(f, "server failure for {name}{}", Reports(servers))
            }
            Error::Refused {
                name,
                rcode,
                servers,
            } => write!(
                f,
                "servers answered {} for {name}{}",
                RcodeName(*rcode),
                Reports(servers)
            ),
            Error::Timeout { name, servers } => {
                write!(f, "no answer in time for {name}{}", Reports(servers))
            }
            Error::CnameLoop { name } => write!(f, "CNAME loop or chain too long at {name}"),
            Error::Truncated { name, servers } => {
                write!(f, "truncated answers for {name}{}", Reports(servers))
            }
            Error::Referral { name, servers } => {
                write!(f, "servers sent a referral for {name}{}", Reports(servers))
            }
            Error::Malformed { name, servers } => {
                write!(f, "malformed answer for {name}{}", Reports(servers))
            }
            Error::TooLarge { name, servers } => {
                write!(f, "answer too large for {name}{}", Reports(servers))
            }
        }
    }
}

impl core::error::Error for Error {}

/// What one server did with a question, when it did not answer it usefully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerFailure {
    /// No answer within the attempt timeout.
    Timeout,
    /// The TCP connection closed, was reset or could not be made before
    /// the answer came.
    Closed,
    /// An error rcode: SERVFAIL (2), NOTIMP (4), REFUSED (5), FORMERR (1)
    /// also without EDNS, or another.
    Rcode(u16),
    /// TC=1 even over TCP.
    Truncated,
    /// A referral instead of an answer: not a recursive resolver for the name.
    Referral,
    /// The header and question matched but the rest could not be decoded.
    Malformed,
    /// More records than `Config::max_records`, or a TCP message longer
    /// than `Config::max_tcp_message` (S27).
    TooLarge,
}

impl ServerFailure {
    /// How much the failure says about the name, to pick the error a
    /// question ends with: an answer beats a garbled answer beats silence.
    fn weight(self) -> u8 {
        match self {
            ServerFailure::Rcode(2) => 6,
            ServerFailure::Rcode(_) => 5,
            ServerFailure::Referral => 4,
            ServerFailure::TooLarge => 3,
            ServerFailure::Malformed => 2,
            ServerFailure::Truncated => 1,
            ServerFailure::Closed | ServerFailure::Timeout => 0,
        }
    }
}

impl fmt::Display for ServerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerFailure::Timeout => f.write_str("timeout"),
            ServerFailure::Closed => f.write_str("connection closed"),
            ServerFailure::Rcode(rcode) => RcodeName(*rcode).fmt(f),
            ServerFailure::Truncated => f.write_str("truncated over TCP"),
            ServerFailure::Referral => f.write_str("referral"),
            ServerFailure::Malformed => f.write_str("malformed"),
            ServerFailure::TooLarge => f.write_str("too large"),
        }
    }
}

/// The error a question ends with when no server answered it usefully:
/// the kind of the most telling failure (S23: "what each server answered").
pub(crate) fn servers_failed(name: Name, servers: Vec<(SocketAddr, ServerFailure)>) -> Error {
    let worst = servers
        .iter()
        .map(|(_, failure)| *failure)
        .fold(ServerFailure::Timeout, |a, b| {
            if b.weight() > a.weight() { b } else { a }
        });
    match worst {
        ServerFailure::Rcode(2) => Error::ServFail { name, servers },
        ServerFailure::Rcode(rcode) => Error::Refused {
            name,
            rcode,
            servers,
        },
        ServerFailure::Referral => Error::Referral { name, servers },
        ServerFailure::TooLarge => Error::TooLarge { name, servers },
        ServerFailure::Malformed => Error::Malformed { name, servers },
        ServerFailure::Truncated => Error::Truncated { name, servers },
        ServerFailure::Closed | ServerFailure::Timeout => Error::Timeout { name, servers },
    }
}

/// An rcode by its RFC 1035/6895 mnemonic.
struct RcodeName(u16);

impl fmt::Display for RcodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("FORMERR"),
            2 => f.write_str("SERVFAIL"),
            3 => f.write_str("NXDOMAIN"),
            4 => f.write_str("NOTIMP"),
            5 => f.write_str("REFUSED"),
            rcode => write!(f, "rcode {rcode}"),
        }
    }
}

/// " (server: failure, ...)" after an error's message, or nothing.
struct Reports<'a>(&'a [(SocketAddr, ServerFailure)]);

impl fmt::Display for Reports<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (server, failure)) in self.0.iter().enumerate() {
            let open = if i == 0 { " (" } else { ", " };
            write!(f, "{open}{server}: {failure}")?;
        }
        if !self.0.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl From<NameError> for Error {
    fn from(e: NameError) -> Self {
        Error::InvalidName(e)
    }
}

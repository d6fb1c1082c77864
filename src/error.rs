//! Why a resolution did not produce endpoints.

use core::fmt;

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
    },
    /// The servers refused, or answered with another error rcode.
    Refused {
        /// The name being asked about.
        name: Name,
        /// The DNS response code.
        rcode: u16,
    },
    /// No server answered in time, or the resolution's deadline passed.
    Timeout {
        /// The name being asked about.
        name: Name,
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
    },
    /// The servers sent referrals instead of answers: they are not
    /// recursive resolvers for this name.
    Referral {
        /// The name being asked about.
        name: Name,
    },
    /// The answers matched the question but could not be decoded.
    Malformed {
        /// The name being asked about.
        name: Name,
    },
}

impl Error {
    /// A short, stable, machine-readable name for the kind of error, as the
    /// `resolve` example prints it: `unavailable`, `nxdomain`, `nodata`,
    /// `servfail`, `refused`, `timeout`, `cname-loop`, `truncated`,
    /// `referral`, `malformed`, `no-destination`, `no-protocols`, `invalid-name`,
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
            Error::ServFail { name } => write!(f, "server failure for {name}"),
            Error::Refused { name, rcode } => {
                write!(f, "servers answered rcode {rcode} for {name}")
            }
            Error::Timeout { name } => write!(f, "no answer in time for {name}"),
            Error::CnameLoop { name } => write!(f, "CNAME loop or chain too long at {name}"),
            Error::Truncated { name } => write!(f, "truncated answers for {name}"),
            Error::Referral { name } => write!(f, "servers sent a referral for {name}"),
            Error::Malformed { name } => write!(f, "malformed answer for {name}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<NameError> for Error {
    fn from(e: NameError) -> Self {
        Error::InvalidName(e)
    }
}

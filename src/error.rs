//! Why a resolution did not start, or did not produce endpoints (S16,
//! S23, S27, S32).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;

use hickory_proto::rr::Name;

use crate::service::NameError;

/// Why a resolution that had started ended without endpoints: the error of
/// [`Event::Failed`](crate::Event::Failed).
///
/// Every variant is distinct so that callers can tell "the domain does not
/// exist" from "the servers are broken" from "the network is down".
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Asking one more question would have exceeded `Config::max_queries`
    /// (S27), so a lookup the resolution needed could not be made.
    TooManyQueries,
    /// The SRV RRset is the single target `.`: the service is decidedly not
    /// available at this domain (S11).
    Unavailable {
        /// The SRV owner name that said so.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
    },
    /// The name does not exist (NXDOMAIN). For a URI this means every
    /// protocol's SRV name, and the domain itself if fallback was enabled.
    NxDomain {
        /// The last name found not to exist.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
    },
    /// The name exists but has no records of the type asked (NODATA).
    NoData {
        /// The name without the records.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
    },
    /// The servers answered SERVFAIL (S16: never a reason to fall back).
    ServFail {
        /// The name being asked about.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// The servers refused, or answered with another error rcode.
    Refused {
        /// The name being asked about.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
        /// The DNS response code.
        rcode: u16,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// No server answered in time, or the resolution's deadline passed.
    Timeout {
        /// The name being asked about.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// A CNAME chain loops or is longer than `Config::max_cname_hops`
    /// (S25), whatever rcode came with it (S32).
    CnameLoop {
        /// The name whose chain loops.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
    },
    /// The answers were truncated (TC=1) and could not be used (S22).
    Truncated {
        /// The name being asked about.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// The servers sent referrals instead of answers: they are not
    /// recursive resolvers for this name.
    Referral {
        /// The name being asked about.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// An answer held more records than `Config::max_records`, or a TCP
    /// message was longer than `Config::max_tcp_message` (S27).
    TooLarge {
        /// The name being asked about.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// The answers matched the question but could not be decoded.
    Malformed {
        /// The name being asked about.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
        /// What each server asked did.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// A trusted validating resolver found the answer bogus (S36): it
    /// answered SERVFAIL with an Extended DNS Error about DNSSEC. Its
    /// records were forged, broken or expired; no other server is asked,
    /// since none could make them secure.
    Bogus {
        /// The name being asked about.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        name: Name,
        /// The server that said so, with its rcode and EDE.
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
}

/// Why `resolve_uri` or `resolve_srv` started nothing. No event follows.
///
/// Kept apart from [`Error`] (as quinn-proto keeps `ConnectError` apart from
/// `ConnectionError`): these are the caller's mistakes or the machine's
/// limits, known before any packet is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartError {
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
    /// Its first questions would exceed `Config::max_queries` (S27).
    TooManyQueries,
}

/// The kind of an [`Error`] or a [`StartError`], for matching and for
/// printing a stable word (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Unavailable`]
    Unavailable,
    /// [`Error::NxDomain`]
    NxDomain,
    /// [`Error::NoData`]
    NoData,
    /// [`Error::ServFail`]
    ServFail,
    /// [`Error::Refused`]
    Refused,
    /// [`Error::Timeout`]
    Timeout,
    /// [`Error::CnameLoop`]
    CnameLoop,
    /// [`Error::Truncated`]
    Truncated,
    /// [`Error::Referral`]
    Referral,
    /// [`Error::Malformed`]
    Malformed,
    /// [`Error::TooLarge`]
    TooLarge,
    /// [`Error::Bogus`]
    Bogus,
    /// [`StartError::NoDestination`]
    NoDestination,
    /// [`StartError::NoProtocols`]
    NoProtocols,
    /// [`StartError::InvalidName`]
    InvalidName,
    /// [`StartError::NoServers`]
    NoServers,
    /// [`StartError::TooManyResolutions`]
    TooManyResolutions,
    /// [`Error::TooManyQueries`] or [`StartError::TooManyQueries`]
    TooManyQueries,
}

impl ErrorKind {
    /// A short, stable, machine-readable word, as the `resolve` example
    /// prints it: `unavailable`, `nxdomain`, `nodata`, `servfail`,
    /// `refused`, `timeout`, `cname-loop`, `truncated`, `referral`,
    /// `malformed`, `too-large`, `no-destination`, `no-protocols`,
    /// `invalid-name`, `no-servers`, `too-many-resolutions`,
    /// `too-many-queries`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::NxDomain => "nxdomain",
            ErrorKind::NoData => "nodata",
            ErrorKind::ServFail => "servfail",
            ErrorKind::Refused => "refused",
            ErrorKind::Timeout => "timeout",
            ErrorKind::CnameLoop => "cname-loop",
            ErrorKind::Truncated => "truncated",
            ErrorKind::Referral => "referral",
            ErrorKind::Malformed => "malformed",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::Bogus => "bogus",
            ErrorKind::NoDestination => "no-destination",
            ErrorKind::NoProtocols => "no-protocols",
            ErrorKind::InvalidName => "invalid-name",
            ErrorKind::NoServers => "no-servers",
            ErrorKind::TooManyResolutions => "too-many-resolutions",
            ErrorKind::TooManyQueries => "too-many-queries",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The kind of error; `kind().as_str()` is the word `resolve` prints.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::TooManyQueries => ErrorKind::TooManyQueries,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::NxDomain { .. } => ErrorKind::NxDomain,
            Error::NoData { .. } => ErrorKind::NoData,
            Error::ServFail { .. } => ErrorKind::ServFail,
            Error::Refused { .. } => ErrorKind::Refused,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::CnameLoop { .. } => ErrorKind::CnameLoop,
            Error::Truncated { .. } => ErrorKind::Truncated,
            Error::Referral { .. } => ErrorKind::Referral,
            Error::Malformed { .. } => ErrorKind::Malformed,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
            Error::Bogus { .. } => ErrorKind::Bogus,
        }
    }
}

impl StartError {
    /// The kind of error; `kind().as_str()` is the word `resolve` prints.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StartError::NoDestination => ErrorKind::NoDestination,
            StartError::NoProtocols => ErrorKind::NoProtocols,
            StartError::InvalidName(_) => ErrorKind::InvalidName,
            StartError::NoServers => ErrorKind::NoServers,
            StartError::TooManyResolutions => ErrorKind::TooManyResolutions,
            StartError::TooManyQueries => ErrorKind::TooManyQueries,
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NoDestination => f.write_str("the URI has no destination"),
            StartError::NoProtocols => f.write_str("no protocols to try and no fallback port"),
            StartError::InvalidName(e) => write!(f, "invalid name: {e}"),
            StartError::NoServers => f.write_str("no DNS servers configured"),
            StartError::TooManyResolutions => f.write_str("too many resolutions in flight"),
            StartError::TooManyQueries => f.write_str("too many queries in flight"),
        }
    }
}

impl core::error::Error for StartError {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names as they went on the wire: hickory's own `Display` turns
        // `xn--` labels into Unicode without checking them, so an invalid
        // A-label could show as another name than the one asked.
        let name = match self {
            Error::TooManyQueries => String::new(),
            Error::Unavailable { name }
            | Error::NxDomain { name }
            | Error::NoData { name }
            | Error::ServFail { name, .. }
            | Error::Refused { name, .. }
            | Error::Timeout { name, .. }
            | Error::CnameLoop { name }
            | Error::Truncated { name, .. }
            | Error::Referral { name, .. }
            | Error::Malformed { name, .. }
            | Error::TooLarge { name, .. }
            | Error::Bogus { name, .. } => name.to_ascii(),
        };
        match self {
            Error::TooManyQueries => f.write_str("too many queries in flight"),
            Error::Unavailable { .. } => {
                write!(f, "{name} says the service is not available (target \".\")")
            }
            Error::NxDomain { .. } => write!(f, "{name} does not exist"),
            Error::NoData { .. } => write!(f, "{name} has no records of the type asked"),
            Error::ServFail { servers, .. } => {
                write!(f, "server failure for {name}{}", Reports(servers))
            }
            Error::Refused { rcode, servers, .. } => write!(
                f,
                "servers answered {} for {name}{}",
                RcodeName(*rcode),
                Reports(servers)
            ),
            Error::Timeout { servers, .. } => {
                write!(f, "no answer in time for {name}{}", Reports(servers))
            }
            Error::CnameLoop { .. } => write!(f, "CNAME loop or chain too long at {name}"),
            Error::Truncated { servers, .. } => {
                write!(f, "truncated answers for {name}{}", Reports(servers))
            }
            Error::Referral { servers, .. } => {
                write!(f, "servers sent a referral for {name}{}", Reports(servers))
            }
            Error::Malformed { servers, .. } => {
                write!(f, "malformed answer for {name}{}", Reports(servers))
            }
            Error::TooLarge { servers, .. } => {
                write!(f, "answer too large for {name}{}", Reports(servers))
            }
            Error::Bogus { servers, .. } => write!(f, "{name}{}", Reports(servers)),
        }
    }
}

impl core::error::Error for Error {}

/// What one server did with a question, when it did not answer it usefully.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerFailure {
    /// No answer within the attempt timeout.
    Timeout,
    /// The TCP connection closed, was reset or could not be made before
    /// the answer came.
    Closed,
    /// The driver could not send the datagram to it (no route, an address
    /// family its socket cannot reach): the next server was tried at once
    /// ([`Resolver::handle_send_failed`](crate::Resolver::handle_send_failed)).
    Unsendable,
    /// An error rcode: SERVFAIL (2), NOTIMP (4), REFUSED (5), FORMERR (1)
    /// also without EDNS, or another; with the Extended DNS Error the
    /// server attached, if any (S32).
    Rcode {
        /// The DNS response code, extended bits included.
        rcode: u16,
        /// The answer's EDE option (RFC 8914).
        extended: Option<ExtendedError>,
    },
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

/// An Extended DNS Error (RFC 8914, S32): why a server failed, in its words.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtendedError {
    /// The INFO-CODE, e.g. 0 "other", 6 "DNSSEC bogus", 22 "no reachable authority".
    pub code: u16,
    /// The EXTRA-TEXT, at most [`ExtendedError::MAX_TEXT`] characters, with
    /// control characters replaced so that it is safe to print.
    pub text: String,
}

impl ExtendedError {
    /// The longest EXTRA-TEXT kept, in characters (S27); the rest is cut.
    pub const MAX_TEXT: usize = 200;

    /// Reads an EDE option's data: a two-byte INFO-CODE, then UTF-8 text
    /// (read lossily). `None` when shorter than two bytes.
    pub(crate) fn from_option(data: &[u8]) -> Option<ExtendedError> {
        let (code, text) = data.split_first_chunk::<2>()?;
        let text = String::from_utf8_lossy(text)
            .chars()
            .take(Self::MAX_TEXT)
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect();
        Some(ExtendedError {
            code: u16::from_be_bytes(*code),
            text,
        })
    }
}

impl ExtendedError {
    /// Whether the code says DNSSEC validation failed (RFC 8914 §4: 1–2
    /// and 5–12; 3, a stale answer, and 4, a forged one by policy, are not
    /// about signatures).
    pub fn is_dnssec_failure(&self) -> bool {
        matches!(self.code, 1 | 2 | 5..=12)
    }
}

impl fmt::Display for ExtendedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EDE {}", self.code)?;
        if !self.text.is_empty() {
            write!(f, ": {}", self.text)?;
        }
        Ok(())
    }
}

impl ServerFailure {
    /// An error rcode without an Extended DNS Error.
    pub const fn rcode(rcode: u16) -> ServerFailure {
        ServerFailure::Rcode {
            rcode,
            extended: None,
        }
    }

    /// How much the failure says about the name, to pick the error a
    /// question ends with: an answer beats a garbled answer beats silence.
    /// SERVFAIL with an Extended DNS Error saying DNSSEC validation
    /// failed (S36).
    pub(crate) fn is_bogus(&self) -> bool {
        match self {
            ServerFailure::Rcode {
                rcode: 2,
                extended: Some(extended),
            } => extended.is_dnssec_failure(),
            _ => false,
        }
    }

    fn weight(&self) -> u8 {
        match self {
            ServerFailure::Rcode { rcode: 2, .. } => 6,
            ServerFailure::Rcode { .. } => 5,
            ServerFailure::Referral => 4,
            ServerFailure::TooLarge => 3,
            ServerFailure::Malformed => 2,
            ServerFailure::Truncated => 1,
            ServerFailure::Closed | ServerFailure::Unsendable | ServerFailure::Timeout => 0,
        }
    }
}

impl fmt::Display for ServerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerFailure::Timeout => f.write_str("timeout"),
            ServerFailure::Closed => f.write_str("connection closed"),
            ServerFailure::Unsendable => f.write_str("could not be sent to"),
            ServerFailure::Rcode {
                rcode,
                extended: None,
            } => RcodeName(*rcode).fmt(f),
            ServerFailure::Rcode {
                rcode,
                extended: Some(extended),
            } => write!(f, "{}, {extended}", RcodeName(*rcode)),
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
        .map(|(_, failure)| failure)
        .fold(&ServerFailure::Timeout, |a, b| {
            if b.weight() > a.weight() { b } else { a }
        });
    match *worst {
        ServerFailure::Rcode { rcode: 2, .. } => Error::ServFail { name, servers },
        ServerFailure::Rcode { rcode, .. } => Error::Refused {
            name,
            rcode,
            servers,
        },
        ServerFailure::Referral => Error::Referral { name, servers },
        ServerFailure::TooLarge => Error::TooLarge { name, servers },
        ServerFailure::Malformed => Error::Malformed { name, servers },
        ServerFailure::Truncated => Error::Truncated { name, servers },
        ServerFailure::Closed | ServerFailure::Unsendable | ServerFailure::Timeout => {
            Error::Timeout { name, servers }
        }
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

impl From<NameError> for StartError {
    fn from(e: NameError) -> Self {
        StartError::InvalidName(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_error_text_is_bounded_and_printable() {
        let mut data = alloc::vec![0, 6];
        data.extend_from_slice(b"bad\x1b[31m sig");
        let ede = ExtendedError::from_option(&data).unwrap();
        assert_eq!(ede.code, 6);
        assert_eq!(ede.text, "bad\u{FFFD}[31m sig");
        let long = [&[0u8, 0][..], &[b'x'; 1000]].concat();
        let ede = ExtendedError::from_option(&long).unwrap();
        assert_eq!(ede.text.chars().count(), ExtendedError::MAX_TEXT);
        assert_eq!(ExtendedError::from_option(&[1]), None);
        let failure = ServerFailure::Rcode {
            rcode: 2,
            extended: ExtendedError::from_option(b"\0\0max. restarts reached"),
        };
        assert_eq!(
            alloc::format!("{failure}"),
            "SERVFAIL, EDE 0: max. restarts reached"
        );
    }

    #[test]
    fn kinds_keep_their_words() {
        assert_eq!(Error::TooManyQueries.kind().as_str(), "too-many-queries");
        assert_eq!(StartError::TooManyQueries.kind(), ErrorKind::TooManyQueries);
        assert_eq!(StartError::NoDestination.kind().as_str(), "no-destination");
        let name = Name::root();
        assert_eq!(
            alloc::format!("{}", Error::CnameLoop { name }.kind()),
            "cname-loop"
        );
    }
}

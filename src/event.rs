//! What a resolution hands back: its id, its endpoints and where they came
//! from, and the one event that ends it (SPEC S13, S17).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use hickory_proto::rr::Name;
use hickory_proto::rr::rdata::TLSA;

use crate::error::Error;

/// Names one resolution from start to its single final [`Event`].
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResolutionId(pub(crate) u64);

/// One place to try, in order: a target host, its port and its addresses.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// SRV priority (0 for the S16 fallback).
    pub priority: u16,
    /// SRV weight (0 for the S16 fallback).
    pub weight: u16,
    /// Port to connect to.
    pub port: u16,
    /// The target host name (absolute).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
    pub target: Name,
    /// The target's addresses in Happy Eyeballs order (S17). Empty when the
    /// target's A and AAAA lookups found nothing or failed: the caller may
    /// skip it or resolve the name itself.
    pub addresses: Vec<IpAddr>,
    /// The SRV owner name whose record this is (in a merged set, S30, each
    /// endpoint's own); `None` for the S16 fallback.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_maybe_name))]
    pub service: Option<Name>,
    /// The DNSSEC status of what the endpoint rests on (S35): without
    /// `Config::dnssec`, insecure throughout.
    pub security: Security,
    /// The target's TLSA records (DANE, RFC 7673, S37), when
    /// `Dnssec::dane` is on and they were secure; empty otherwise. When
    /// there are any, the server's certificate must match one of them
    /// (RFC 6698 §2.1, RFC 7671): `dane::verify` (feature `dane`) tells
    /// whether a chain does.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arbitrary_tlsa))]
    pub tlsa: Vec<TLSA>,
}

/// The DNSSEC status of one RRset, as RFC 4035 §4.3 names them.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecurityStatus {
    /// A trusted validating resolver vouched for it (AD bit, S34).
    Secure,
    /// Not vouched for: an unsigned zone, an untrusted server, glue from
    /// an additional section, stale data, or DNSSEC turned off.
    Insecure,
    /// It could not be told: the lookup failed or timed out.
    Indeterminate,
    /// The validating resolver found it forged, broken or expired (S36).
    Bogus,
}

/// The DNSSEC status of each part an endpoint rests on (S35). Each part
/// counts its CNAME links too: a chain is as secure as its weakest link.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Security {
    /// The SRV RRset the endpoint's record came from; `None` for the S16
    /// fallback, which has none.
    pub srv: Option<SecurityStatus>,
    /// The target's A and AAAA RRsets that gave addresses (the worst of
    /// them); with no address at all, the worst of both lookups. Bogus
    /// when either family was bogus: its addresses are left out.
    pub addresses: SecurityStatus,
    /// The TLSA RRset (S37); `None` when it was not asked: DANE off, or
    /// the SRV and address RRsets not all secure.
    pub tlsa: Option<SecurityStatus>,
}

impl Security {
    /// Insecure throughout, as every endpoint is without DNSSEC.
    pub const INSECURE: Security = Security {
        srv: Some(SecurityStatus::Insecure),
        addresses: SecurityStatus::Insecure,
        tlsa: None,
    };

    /// Whether the SRV RRset (if any) and the addresses are all secure:
    /// the condition for DANE and for checking the certificate against
    /// the SRV target's name (RFC 7673 §3.1, §4).
    pub fn is_secure(&self) -> bool {
        self.srv.is_none_or(|s| s == SecurityStatus::Secure)
            && self.addresses == SecurityStatus::Secure
    }

    /// Whether the endpoint may be connected to: nothing it rests on was
    /// bogus, and its TLSA lookup, if made, did not fail (RFC 7673 §3.3:
    /// a bogus or indeterminate TLSA answer rules the target out). The
    /// connector skips endpoints that may not be.
    pub fn is_usable(&self) -> bool {
        let bogus = |s: SecurityStatus| s == SecurityStatus::Bogus;
        !self.srv.is_some_and(bogus)
            && !bogus(self.addresses)
            && self.tlsa.is_none_or(|s| s < SecurityStatus::Indeterminate)
    }
}

/// One word for `resolve --dnssec`: `secure`, `insecure`, or `bogus` for
/// an endpoint not to be used.
impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.is_usable(), self.is_secure()) {
            (false, _) => "bogus",
            (true, true) => "secure",
            (true, false) => "insecure",
        })
    }
}

impl Endpoint {
    /// The target as a user should see it, in one spelling everywhere
    /// (this crate's `Display`s, `resolve`, connect errors): as it goes on
    /// the wire, in ASCII (an `xn--` label is never shown decoded), without
    /// the trailing dot. `target` itself is the absolute name.
    pub fn host(&self) -> String {
        host(&self.target)
    }

    /// The names the server's certificate may be checked against (RFC
    /// 7673 §4, RFC 6125, RFC 6120 §13.7.2): always the service domain,
    /// the one the user asked for; the SRV target as well only when the
    /// SRV RRset was secure, for otherwise whoever forged the SRV answer
    /// chose that name, and a certificate for it proves nothing.
    pub fn certificate_names(&self) -> Vec<Name> {
        // `_service._proto.domain.` → `domain.`; the fallback's target is
        // the domain itself.
        let Some(service) = &self.service else {
            return alloc::vec![self.target.clone()];
        };
        let domain = service.base_name().base_name();
        let mut names = alloc::vec![domain];
        if self.security.srv == Some(SecurityStatus::Secure) && !names.contains(&self.target) {
            names.push(self.target.clone());
        }
        names
    }
}

/// [`Endpoint::host`] for any name.
pub(crate) fn host(name: &Name) -> String {
    let mut text = name.to_ascii();
    if text.len() > 1 && text.ends_with('.') {
        text.pop();
    }
    text
}

/// One line, as the `resolve` example prints it:
/// `<priority> <weight> <port> <target> <addr>[,<addr>...]`, the target
/// without its trailing dot, `-` for no addresses.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = self.host();
        write!(
            f,
            "{} {} {} {target} ",
            self.priority, self.weight, self.port
        )?;
        if self.addresses.is_empty() {
            return f.write_str("-");
        }
        for (i, ip) in self.addresses.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{ip}")?;
        }
        Ok(())
    }
}

/// Where the endpoints came from.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// An SRV RRset.
    Srv {
        /// The SRV owner name asked (before any CNAME).
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        owner: Name,
        /// Its position in the caller's list of protocols (0 for `resolve_srv`).
        index: usize,
    },
    /// Several SRV RRsets merged into one and ordered together (S30):
    /// [`Resolver::resolve_srv_set`](crate::Resolver::resolve_srv_set). Each
    /// endpoint names its own in [`Endpoint::service`].
    SrvSet {
        /// The owner names asked, in the order given.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_names))]
        owners: Vec<Name>,
    },
    /// The domain's own addresses, standing in for one SRV record (S16).
    Fallback {
        /// The domain.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::name::arbitrary_name))]
        domain: Name,
    },
}

/// A finished resolution's result.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Endpoints in the order to try them (S13).
    pub endpoints: Vec<Endpoint>,
    /// Targets left out by `Config::max_endpoints` (S13): the RRset had
    /// this many more usable records than `endpoints` holds.
    pub omitted: usize,
    /// Where they came from: which protocol's SRV records, or the fallback.
    pub via: Via,
    /// Seconds the answer may be reused: the lowest TTL of the records it
    /// rests on, and of the negative answers (NXDOMAIN, NODATA with an SOA:
    /// a protocol passed over, a family without addresses) it rests on; for
    /// those from the cache, what is left of it.
    pub ttl: u32,
    /// Whether any part of the answer came from the cache (S26).
    pub from_cache: bool,
    /// Whether any part of it is expired data the servers did not
    /// refresh in time (serve-stale, S31); then `ttl` is at most
    /// `ServeStale::answer_ttl`.
    pub stale: bool,
}

/// The endpoints, one line each as [`Endpoint`] prints them.
impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for endpoint in &self.endpoints {
            writeln!(f, "{endpoint}")?;
        }
        Ok(())
    }
}

/// With `Config::progress`: what is known of one endpoint before its
/// resolution ends (S29), so that connecting can start before the last
/// target resolves ([`Connector::handle_progress`](crate::connect::Connector::handle_progress)).
/// Not an end: the resolution still ends with exactly one [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The resolution.
    pub id: ResolutionId,
    /// The endpoint's place in the answer's S13 order.
    pub index: usize,
    /// How many endpoints the answer will have.
    pub endpoints: usize,
    /// The endpoint, with the addresses known so far (in S17 order).
    pub endpoint: Endpoint,
    /// Whether its address lookups are all done.
    pub complete: bool,
}

/// What the machine tells the caller. Each resolution ends with exactly one.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The resolution produced endpoints.
    Resolved {
        /// Which resolution.
        id: ResolutionId,
        /// Its result.
        answer: Answer,
    },
    /// The resolution failed.
    Failed {
        /// Which resolution.
        id: ResolutionId,
        /// Why.
        error: Error,
    },
}

impl Event {
    /// The resolution this event ends.
    pub fn id(&self) -> ResolutionId {
        match self {
            Event::Resolved { id, .. } | Event::Failed { id, .. } => *id,
        }
    }
}

/// TLSA records for `arbitrary`: any usage, selector and matching type
/// (known or not), a few bytes of data.
#[cfg(feature = "arbitrary")]
fn arbitrary_tlsa(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Vec<TLSA>> {
    let count = u.int_in_range(0..=3u8)?;
    (0..count)
        .map(|_| {
            let (usage, selector, matching): (u8, u8, u8) = u.arbitrary()?;
            let data: Vec<u8> = u.arbitrary()?;
            Ok(TLSA::new(
                usage.into(),
                selector.into(),
                matching.into(),
                data,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    #[test]
    fn a_target_has_one_spelling_ascii_without_the_root_dot() {
        let name = |s: &str| Name::from_ascii(s).unwrap();
        assert_eq!(host(&name("a.example.test.")), "a.example.test");
        assert_eq!(host(&name("xn--zz-zzz.example.")), "xn--zz-zzz.example");
        assert_eq!(host(&Name::root()), ".");
        let endpoint = Endpoint {
            priority: 0,
            weight: 0,
            port: 5222,
            target: name("a.example.test."),
            addresses: Vec::new(),
            service: None,
            security: Security::INSECURE,
            tlsa: Vec::new(),
        };
        assert!(format!("{endpoint}").contains(&endpoint.host()));
    }

    #[test]
    fn endpoints_print_as_resolve_lines() {
        let endpoint = Endpoint {
            priority: 10,
            weight: 75,
            port: 5222,
            target: Name::from_ascii("chat1.example.com.").unwrap(),
            addresses: vec![
                "2001:db8::11".parse().unwrap(),
                "192.0.2.11".parse().unwrap(),
            ],
            service: None,
            security: Security::INSECURE,
            tlsa: Vec::new(),
        };
        assert_eq!(
            format!("{endpoint}"),
            "10 75 5222 chat1.example.com 2001:db8::11,192.0.2.11"
        );
        let bare = Endpoint {
            addresses: Vec::new(),
            ..endpoint.clone()
        };
        assert_eq!(format!("{bare}"), "10 75 5222 chat1.example.com -");
        let answer = Answer {
            endpoints: vec![endpoint, bare],
            omitted: 0,
            via: Via::Fallback {
                domain: Name::root(),
            },
            ttl: 60,
            from_cache: false,
            stale: false,
        };
        assert_eq!(
            format!("{answer}"),
            "10 75 5222 chat1.example.com 2001:db8::11,192.0.2.11\n\
             10 75 5222 chat1.example.com -\n"
        );
    }

    #[test]
    fn usable_and_secure_follow_each_part() {
        use SecurityStatus::*;
        let all = |srv, addresses, tlsa| Security {
            srv,
            addresses,
            tlsa,
        };
        assert!(all(Some(Secure), Secure, None).is_secure());
        assert!(
            all(None, Secure, None).is_secure(),
            "the fallback has no SRV"
        );
        assert!(!all(Some(Insecure), Secure, None).is_secure());
        assert!(!all(Some(Secure), Insecure, None).is_secure());
        assert!(all(Some(Secure), Secure, Some(Secure)).is_usable());
        assert!(all(Some(Secure), Secure, Some(Insecure)).is_usable());
        // RFC 7673 §3.3: a bogus or failed TLSA lookup rules it out.
        assert!(!all(Some(Secure), Secure, Some(Indeterminate)).is_usable());
        assert!(!all(Some(Secure), Secure, Some(Bogus)).is_usable());
        assert!(!all(Some(Secure), Bogus, None).is_usable());
        assert!(all(Some(Secure), Indeterminate, None).is_usable());
        assert_eq!(all(Some(Secure), Bogus, None).to_string(), "bogus");
        assert_eq!(Security::INSECURE.to_string(), "insecure");
        assert_eq!(all(None, Secure, None).to_string(), "secure");
    }

    #[test]
    fn certificate_names_add_the_target_only_under_a_secure_srv() {
        let name = |s: &str| Name::from_ascii(s).unwrap();
        let mut endpoint = Endpoint {
            priority: 0,
            weight: 0,
            port: 5222,
            target: name("chat.example.net."),
            addresses: Vec::new(),
            service: Some(name("_xmpp-client._tcp.example.com.")),
            security: Security::INSECURE,
            tlsa: Vec::new(),
        };
        assert_eq!(endpoint.certificate_names(), [name("example.com.")]);
        endpoint.security.srv = Some(SecurityStatus::Secure);
        assert_eq!(
            endpoint.certificate_names(),
            [name("example.com."), name("chat.example.net.")]
        );
        endpoint.service = None;
        assert_eq!(endpoint.certificate_names(), [name("chat.example.net.")]);
    }
}

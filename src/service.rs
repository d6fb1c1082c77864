//! SRV owner names: `_im._xmpp.example.com.` and friends (SPEC S6–S8).

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use crate::uri::hyphen_at_edge;

/// A protocol label such as `_xmpp` or `_sip` (RFC 3861 §3, S6).
///
/// The caller lists the protocols it speaks in order of preference; each one
/// becomes one SRV query `_im.<protocol>.<domain>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Protocol(Cow<'static, str>);

impl Protocol {
    /// XMPP (RFC 3921, registered for both `_im` and `_pres`).
    pub const XMPP: Protocol = Protocol(Cow::Borrowed("_xmpp"));
    /// SIP (RFC 5509, registered for both `_im` and `_pres`).
    pub const SIP: Protocol = Protocol(Cow::Borrowed("_sip"));

    /// A caller-defined protocol label. It must start with `_` (RFC 3861 MUST)
    /// followed by 1–62 letters, digits or hyphens (an RFC 2782 label).
    pub fn new(label: &str) -> Result<Protocol, NameError> {
        check_label(label)?;
        Ok(Protocol(Cow::Owned(String::from(label))))
    }

    /// The label, including its leading underscore.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for Protocol {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, NameError> {
        Protocol::new(s)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Protocol {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        // Mostly the registered labels, sometimes a well-formed custom one.
        Ok(match u.int_in_range(0..=3)? {
            0 => Protocol::SIP,
            1 => {
                let len = u.int_in_range(1..=12)?;
                let mut label = String::from("_");
                for _ in 0..len {
                    label.push(*u.choose(b"abcdefghijklmnopqrstuvwxyz0123456789")? as char);
                }
                Protocol(Cow::Owned(label))
            }
            _ => Protocol::XMPP,
        })
    }
}

/// A service or protocol label, or a name built from them, is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameError {
    /// The label does not start with `_`.
    MissingUnderscore,
    /// The label has a character other than a letter, digit or hyphen after `_`.
    BadCharacter,
    /// The label is `_` alone or longer than 63 octets.
    BadLength,
    /// The whole name would be longer than 255 octets.
    NameTooLong,
    /// The domain is not a DNS name (an empty label, a label over 63
    /// octets, a label that begins or ends with a hyphen).
    BadDomain,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::MissingUnderscore => "service label must start with '_'",
            NameError::BadCharacter => "service label may hold only letters, digits and '-'",
            NameError::BadLength => "service label must be 2 to 63 octets",
            NameError::NameTooLong => "query name longer than 255 octets",
            NameError::BadDomain => "domain is not a valid DNS name",
        })
    }
}

impl core::error::Error for NameError {}

fn check_label(label: &str) -> Result<(), NameError> {
    let rest = label
        .strip_prefix('_')
        .ok_or(NameError::MissingUnderscore)?;
    if rest.is_empty() || label.len() > 63 {
        return Err(NameError::BadLength);
    }
    if !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(NameError::BadCharacter);
    }
    Ok(())
}

/// The absolute RFC 2782 owner name `_service._proto.name.` (S8), such as
/// `_xmpp-server._tcp.example.com.`. The domain is always taken as absolute:
/// there is no search list (S5).
pub fn service_name(service: &str, proto: &str, domain: &str) -> Result<Name, NameError> {
    service_owner(service, proto, checked_domain(domain)?)
}

/// `_service._proto.` in front of a domain [`checked_domain`] passed. The
/// labels, all checked, are laid end to end as [`owner_wire`] lays them
/// and read back by hickory-proto's decoder, which makes the name in one
/// pass: appending them one by one made and moved a name a label, three
/// times the cost (issue 24: building names was a third of a cache hit by
/// URI, and a fifth of starting a resolution).
pub(crate) fn service_owner(service: &str, proto: &str, domain: &str) -> Result<Name, NameError> {
    let mut wire = [0; 256];
    let len = write_owner(service, proto, domain, &mut wire)?;
    // The root's empty label ends it (the array is zeroed).
    let mut name =
        Name::read(&mut BinDecoder::new(&wire[..=len])).map_err(|_| NameError::NameTooLong)?;
    name.set_fqdn(true);
    Ok(name)
}

/// [`service_owner`]'s name in wire form with its letters lower-cased and
/// without the root's empty label, written to the start of `out` (at
/// least 255 bytes): the bytes written, or the error `service_owner`
/// gives. The cache's key for the name, made without making the name
/// (issue 24: building names was most of what a cache hit by URI cost
/// beyond one by SRV name).
pub(crate) fn owner_wire(
    service: &str,
    proto: &str,
    domain: &str,
    out: &mut [u8],
) -> Result<usize, NameError> {
    let len = write_owner(service, proto, domain, out)?;
    // A length octet (at most 63) is no letter.
    out[..len].make_ascii_lowercase();
    Ok(len)
}

/// The labels of `_service._proto.domain` in wire form, letters as given,
/// without the root's empty label, at the start of `out`: the bytes
/// written. Every label is checked first (S4, S8), so each is 1 to 63
/// bytes and none holds a dot.
fn write_owner(
    service: &str,
    proto: &str,
    domain: &str,
    out: &mut [u8],
) -> Result<usize, NameError> {
    check_label(service)?;
    check_label(proto)?;
    // The name's length in wire form, its root's octet included, as
    // hickory-proto counts it against 255.
    let domain_wire = if domain.is_empty() {
        0
    } else {
        domain.len() + 1
    };
    let len = 1 + service.len() + 1 + proto.len() + domain_wire;
    if len + 1 > 255 || out.len() < len {
        return Err(NameError::NameTooLong);
    }
    let mut at = 0;
    for label in [service.as_bytes(), proto.as_bytes()]
        .into_iter()
        .chain(labels(domain))
    {
        out[at] = label.len() as u8;
        out[at + 1..at + 1 + label.len()].copy_from_slice(label);
        at += 1 + label.len();
    }
    Ok(at)
}

/// An absolute name for a domain [`checked_domain`] passed (S5: no search
/// list; a missing root dot is implied).
pub(crate) fn domain_name(domain: &str) -> Result<Name, NameError> {
    let mut name = Name::from_labels(labels(domain)).map_err(|_| NameError::BadDomain)?;
    name.set_fqdn(true);
    Ok(name)
}

/// A domain's labels, as bytes (none for the root).
fn labels(domain: &str) -> impl Iterator<Item = &[u8]> {
    // Split as bytes: a dot is one byte, and a char pattern costs more.
    domain
        .as_bytes()
        .split(|&b| b == b'.')
        .filter(|l| !l.is_empty())
}

/// `domain` without its root dot, once it passed S4 in one pass over the
/// text: letters, digits, hyphens (never at a label's edge) and
/// underscores, no empty label, short enough for a name. A domain from a
/// parsed [`Uri`](crate::Uri) passed these already; one from elsewhere (a
/// `Uri` built by hand, [`service_name`]) may fail them here.
pub(crate) fn checked_domain(domain: &str) -> Result<&str, NameError> {
    let text = domain.strip_suffix('.').unwrap_or(domain);
    // In wire form: a length octet per label, and the root's.
    if text.len() + 2 > 255 {
        return Err(NameError::NameTooLong);
    }
    if text.is_empty() {
        return Ok(text);
    }
    let host_label = |label: &[u8]| {
        !label.is_empty()
            && label.len() <= 63
            && hyphen_at_edge(label).is_none()
            && label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !text.as_bytes().split(|&b| b == b'.').all(host_label) {
        return Err(NameError::BadDomain);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uri::Scheme;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    /// The cache's key by URI agrees with the name it stands for: the
    /// same bytes, lower-cased, and the same error wherever one fails,
    /// at the 255-byte edge too.
    #[test]
    fn owner_wire_is_the_owner_name_in_wire_form() {
        let mut domains: Vec<String> = ["Example.COM", "a.b", "", "x"]
            .iter()
            .map(|d| d.to_string())
            .collect();
        for total in 230..=256 {
            // Labels of 50 and one shorter, as long as `total` in text.
            let mut d = String::new();
            while d.len() + 51 <= total {
                d.push_str(&"q".repeat(50));
                d.push('.');
            }
            d.push_str(&"R".repeat((total - d.len()).max(1)));
            domains.push(d);
        }
        let labels = ["_im", "_xmpp", "_X-y", "im", "_", "_a.b"];
        for domain in &domains {
            let Ok(domain) = checked_domain(domain) else {
                continue;
            };
            for service in labels {
                for proto in labels {
                    let mut wire = [0u8; 300];
                    let ours = owner_wire(service, proto, domain, &mut wire);
                    let name = service_owner(service, proto, domain);
                    match (ours, name) {
                        (Ok(len), Ok(name)) => {
                            let mut expected = Vec::new();
                            for label in name.iter() {
                                expected.push(label.len() as u8);
                                expected.extend(label.iter().map(u8::to_ascii_lowercase));
                            }
                            assert_eq!(&wire[..len], &expected[..], "{service}.{proto}.{domain}");
                        }
                        (Err(a), Err(b)) => assert_eq!(a, b, "{service}.{proto}.{domain}"),
                        (a, b) => panic!("{service}.{proto}.{domain}: {a:?} against {b:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn owner_names_for_both_schemes() {
        let n = service_name(Scheme::Im.service_label(), "_xmpp", "example.com").unwrap();
        assert_eq!(n.to_string(), "_im._xmpp.example.com.");
        let n = service_name(Scheme::Pres.service_label(), "_sip", "Example.ORG").unwrap();
        assert_eq!(n.to_string(), "_pres._sip.Example.ORG.");
        assert!(n.is_fqdn());
    }

    #[test]
    fn general_srv_names() {
        let n = service_name("_xmpp-server", "_tcp", "example.com").unwrap();
        assert_eq!(n.to_string(), "_xmpp-server._tcp.example.com.");
        let n = service_name("_sip", "_udp", "example.com.").unwrap();
        assert_eq!(n.to_string(), "_sip._udp.example.com.");
    }

    #[test]
    fn custom_protocols_are_validated() {
        assert_eq!(Protocol::new("_irc").unwrap().as_str(), "_irc");
        assert_eq!(Protocol::new("irc"), Err(NameError::MissingUnderscore));
        assert_eq!(Protocol::new("_"), Err(NameError::BadLength));
        assert_eq!(Protocol::new("_a.b"), Err(NameError::BadCharacter));
        assert_eq!(Protocol::new("_a_b"), Err(NameError::BadCharacter));
        let long = alloc::format!("_{}", "x".repeat(63));
        assert_eq!(Protocol::new(&long), Err(NameError::BadLength));
    }

    #[test]
    fn a_domain_that_is_no_dns_name_says_so_not_that_it_is_long() {
        for domain in [
            "-example.com",
            "example-.com",
            "a..b",
            "x".repeat(64).as_str(),
            "exa mple.com",
            "a@b.com",
            "ex\\.ample.com",
            "..",
        ] {
            assert_eq!(
                service_name("_xmpp-client", "_tcp", domain),
                Err(NameError::BadDomain),
                "{domain}"
            );
        }
    }

    #[test]
    fn overlong_names_are_errors() {
        let label = "a".repeat(63);
        let domain = [&label[..]; 4].join(".");
        assert_eq!(
            service_name("_im", "_xmpp", &domain),
            Err(NameError::NameTooLong)
        );
        // 255 bytes in wire form with the root's: the longest name there is.
        let longest = alloc::format!("{label}.{label}.{label}.{}", "b".repeat(51));
        let name = service_name("_im", "_xmpp", &longest).unwrap();
        assert_eq!(name.len(), 254, "its text, the root's dot included");
        assert_eq!(
            name,
            Name::from_ascii(alloc::format!("_im._xmpp.{longest}.")).unwrap()
        );
        assert_eq!(
            service_name("_im", "_xmpp", &alloc::format!("{longest}b")),
            Err(NameError::NameTooLong)
        );
    }

    #[test]
    fn owners_built_label_by_label_equal_names_parsed_whole() {
        for domain in ["example.com", "Example.ORG.", "_under.example", "a-b.c"] {
            let built = service_name("_im", "_xmpp", domain).unwrap();
            let text = alloc::format!("_im._xmpp.{}.", domain.trim_end_matches('.'));
            let parsed = Name::from_ascii(&text).unwrap();
            assert_eq!(built, parsed, "{domain}");
            assert_eq!(built.to_ascii(), text, "case and labels kept");
            assert!(built.is_fqdn());
        }
        // The root: the owner is the two labels alone.
        assert_eq!(
            service_name("_im", "_xmpp", "").unwrap().to_ascii(),
            "_im._xmpp."
        );
    }
}

//! Matching a server's certificate chain against an endpoint's TLSA
//! records (DANE: RFC 6698 §2.1, RFC 7671, RFC 7673; SPEC S37), with
//! `x509-cert` to read the certificates and `sha2` to hash them. Feature
//! `dane`; no_std.
//!
//! Use it inside the TLS handshake's certificate check, with the chain the
//! server sent (its own certificate first) and [`Endpoint::tlsa`]:
//!
//! - [`Verdict::Matched`] by a DANE-EE (usage 3) record: the server is
//!   authenticated by its key alone; RFC 7671 §5.1 says its names and
//!   dates are not checked.
//! - [`Verdict::Matched`] by a DANE-TA (usage 2) record: the certificate
//!   at `certificate` is the trust anchor. The chain from the server's
//!   certificate up to it must still verify, and the server's certificate
//!   must name one of [`Endpoint::certificate_names`] (RFC 7671 §5.2).
//! - [`Verdict::Mismatch`]: there were records to go by and none matched:
//!   do not go on with this server.
//! - [`Verdict::Unusable`]: no record of a usage, selector and matching
//!   type known here (PKIX usages 0 and 1 are not, RFC 7672 §3.1.3): as
//!   if there were no TLSA records (RFC 7671 §4.1), authenticate as
//!   without DANE.
//!
//! [`Endpoint::tlsa`]: crate::Endpoint::tlsa
//! [`Endpoint::certificate_names`]: crate::Endpoint::certificate_names

use alloc::vec::Vec;
use core::fmt;

use hickory_proto::rr::rdata::TLSA;
use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use sha2::{Digest, Sha256, Sha512};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

/// What the TLSA records say of a certificate chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The record at `record` matched the certificate at `certificate`
    /// (0: the server's own).
    Matched {
        /// Its index among the records.
        record: usize,
        /// The index in the chain of the certificate it matched.
        certificate: usize,
        /// DANE-EE or DANE-TA: what is left to check (module docs).
        usage: CertUsage,
    },
    /// Usable records, and none matched.
    Mismatch,
    /// No usable record: authenticate as without DANE.
    Unusable,
}

/// A chain that cannot be matched at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaneError {
    /// The server sent no certificate.
    EmptyChain,
    /// The certificate at this index of the chain is not DER X.509.
    Certificate {
        /// Its index (0: the server's own).
        index: usize,
    },
}

impl fmt::Display for DaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DaneError::EmptyChain => f.write_str("the server sent no certificate"),
            DaneError::Certificate { index } => {
                write!(f, "certificate {index} of the chain is not DER X.509")
            }
        }
    }
}

impl core::error::Error for DaneError {}

/// Whether `chain` (DER certificates, the server's own first) satisfies one
/// of `records`: DANE-EE (usage 3) against the server's certificate,
/// DANE-TA (usage 2) against any certificate above it; selectors 0 (the
/// whole certificate) and 1 (its SubjectPublicKeyInfo); matching types 0
/// (exact), 1 (SHA-256) and 2 (SHA-512). Records of other kinds are
/// skipped.
pub fn verify(chain: &[&[u8]], records: &[TLSA]) -> Result<Verdict, DaneError> {
    if chain.is_empty() {
        return Err(DaneError::EmptyChain);
    }
    // Each certificate's SubjectPublicKeyInfo, as DER: read once, and
    // every certificate read, so that a garbled chain is an error whatever
    // the records ask for.
    let keys = chain
        .iter()
        .enumerate()
        .map(|(index, der)| {
            let certificate =
                Certificate::from_der(der).map_err(|_| DaneError::Certificate { index })?;
            let key = certificate.tbs_certificate().subject_public_key_info();
            key.to_der().map_err(|_| DaneError::Certificate { index })
        })
        .collect::<Result<Vec<Vec<u8>>, DaneError>>()?;
    let mut usable = false;
    for (record, tlsa) in records.iter().enumerate() {
        let candidates = match tlsa.cert_usage {
            CertUsage::DaneEe => 0..1,
            CertUsage::DaneTa => 1..chain.len(),
            _ => continue,
        };
        if !matches!(tlsa.selector, Selector::Full | Selector::Spki)
            || !matches!(
                tlsa.matching,
                Matching::Raw | Matching::Sha256 | Matching::Sha512
            )
        {
            continue;
        }
        usable = true;
        for certificate in candidates {
            let selected: &[u8] = match tlsa.selector {
                Selector::Full => chain[certificate],
                _ => &keys[certificate],
            };
            if associated(selected, tlsa.matching, &tlsa.cert_data) {
                return Ok(Verdict::Matched {
                    record,
                    certificate,
                    usage: tlsa.cert_usage,
                });
            }
        }
    }
    Ok(match usable {
        true => Verdict::Mismatch,
        false => Verdict::Unusable,
    })
}

/// Whether `data` is `selected` as `matching` presents it (RFC 6698
/// §2.1.3): itself, or its SHA-256 or SHA-512 digest. Truncated or
/// lengthened data never matches.
fn associated(selected: &[u8], matching: Matching, data: &[u8]) -> bool {
    match matching {
        Matching::Raw => selected == data,
        Matching::Sha256 => Sha256::digest(selected).as_slice() == data,
        Matching::Sha512 => Sha512::digest(selected).as_slice() == data,
        _ => false,
    }
}

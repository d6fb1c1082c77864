//! `dane::verify` (S37) against certificates made here with rcgen: a CA
//! and a server certificate it signed. The TLSA data is computed from
//! rcgen's own DER and key, not from the code under test.
#![cfg(feature = "dane")]

use impp_resolver::dane::{DaneError, Verdict, verify};
use impp_resolver::proto::rr::rdata::TLSA;
use impp_resolver::proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};
use sha2::{Digest, Sha256, Sha512};

struct Chain {
    server: Vec<u8>,
    server_key: Vec<u8>,
    ca: Vec<u8>,
    ca_key: Vec<u8>,
}

fn chain() -> Chain {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(vec!["ca.example".to_string()]).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["chat.secure.test".to_string()]).unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let server = params.signed_by(&server_key, &issuer).unwrap();
    Chain {
        server: server.der().to_vec(),
        server_key: server_key.subject_public_key_info(),
        ca: ca.der().to_vec(),
        ca_key: ca_key.subject_public_key_info(),
    }
}

fn tlsa(usage: CertUsage, selector: Selector, matching: Matching, selected: &[u8]) -> TLSA {
    let data = match matching {
        Matching::Raw => selected.to_vec(),
        Matching::Sha256 => Sha256::digest(selected).to_vec(),
        Matching::Sha512 => Sha512::digest(selected).to_vec(),
        _ => unreachable!(),
    };
    TLSA::new(usage, selector, matching, data)
}

#[test]
fn dane_ee_matches_the_server_certificate_by_every_selector_and_matching_type() {
    let c = chain();
    let presented = [c.server.as_slice(), c.ca.as_slice()];
    for (selector, selected) in [(Selector::Full, &c.server), (Selector::Spki, &c.server_key)] {
        for matching in [Matching::Raw, Matching::Sha256, Matching::Sha512] {
            let record = tlsa(CertUsage::DaneEe, selector, matching, selected);
            let expected = Verdict::Matched {
                record: 0,
                certificate: 0,
                usage: CertUsage::DaneEe,
            };
            assert_eq!(
                verify(&presented, &[record]),
                Ok(expected),
                "{selector:?} {matching:?}"
            );
        }
    }
}

#[test]
fn dane_ta_matches_the_ca_above_the_server_and_never_the_server_itself() {
    let c = chain();
    let presented = [c.server.as_slice(), c.ca.as_slice()];
    let ca = tlsa(
        CertUsage::DaneTa,
        Selector::Spki,
        Matching::Sha256,
        &c.ca_key,
    );
    let matched = Verdict::Matched {
        record: 0,
        certificate: 1,
        usage: CertUsage::DaneTa,
    };
    assert_eq!(verify(&presented, &[ca]), Ok(matched));
    let full = tlsa(CertUsage::DaneTa, Selector::Full, Matching::Sha512, &c.ca);
    assert!(matches!(
        verify(&presented, &[full]),
        Ok(Verdict::Matched { certificate: 1, .. })
    ));
    // The server's own key as a trust anchor: not above it in the chain.
    let own = tlsa(
        CertUsage::DaneTa,
        Selector::Spki,
        Matching::Sha256,
        &c.server_key,
    );
    assert_eq!(verify(&presented, &[own]), Ok(Verdict::Mismatch));
    // Without the CA in the chain, there is nothing to match.
    let ca = tlsa(
        CertUsage::DaneTa,
        Selector::Spki,
        Matching::Sha256,
        &c.ca_key,
    );
    assert_eq!(verify(&[c.server.as_slice()], &[ca]), Ok(Verdict::Mismatch));
}

#[test]
fn mismatches_wrong_selectors_and_truncated_data_never_match() {
    let c = chain();
    let presented = [c.server.as_slice(), c.ca.as_slice()];
    // Another key's digest.
    let other = tlsa(
        CertUsage::DaneEe,
        Selector::Spki,
        Matching::Sha256,
        &c.ca_key,
    );
    assert_eq!(verify(&presented, &[other]), Ok(Verdict::Mismatch));
    // The key's digest under the selector of the whole certificate.
    let mut wrong = tlsa(
        CertUsage::DaneEe,
        Selector::Spki,
        Matching::Sha256,
        &c.server_key,
    );
    wrong.selector = Selector::Full;
    assert_eq!(verify(&presented, &[wrong]), Ok(Verdict::Mismatch));
    // Truncated data, digest and exact alike.
    let mut short = tlsa(
        CertUsage::DaneEe,
        Selector::Spki,
        Matching::Sha256,
        &c.server_key,
    );
    short.cert_data.pop();
    assert_eq!(verify(&presented, &[short]), Ok(Verdict::Mismatch));
    let mut short = tlsa(CertUsage::DaneEe, Selector::Full, Matching::Raw, &c.server);
    short.cert_data.truncate(c.server.len() / 2);
    assert_eq!(verify(&presented, &[short]), Ok(Verdict::Mismatch));
    let mut long = tlsa(
        CertUsage::DaneEe,
        Selector::Spki,
        Matching::Sha512,
        &c.server_key,
    );
    long.cert_data.push(0);
    assert_eq!(verify(&presented, &[long]), Ok(Verdict::Mismatch));
}

#[test]
fn one_matching_record_among_others_is_enough_and_named() {
    let c = chain();
    let presented = [c.server.as_slice(), c.ca.as_slice()];
    let records = [
        tlsa(
            CertUsage::DaneEe,
            Selector::Spki,
            Matching::Sha256,
            &c.ca_key,
        ),
        tlsa(
            CertUsage::PkixEe,
            Selector::Spki,
            Matching::Sha256,
            &c.server_key,
        ),
        tlsa(
            CertUsage::DaneEe,
            Selector::Spki,
            Matching::Sha256,
            &c.server_key,
        ),
    ];
    let matched = Verdict::Matched {
        record: 2,
        certificate: 0,
        usage: CertUsage::DaneEe,
    };
    assert_eq!(verify(&presented, &records), Ok(matched));
}

#[test]
fn records_of_unknown_kinds_leave_dane_unusable() {
    let c = chain();
    let presented = [c.server.as_slice()];
    let pkix = tlsa(
        CertUsage::PkixEe,
        Selector::Spki,
        Matching::Sha256,
        &c.server_key,
    );
    let mut private = tlsa(
        CertUsage::DaneEe,
        Selector::Spki,
        Matching::Sha256,
        &c.server_key,
    );
    private.matching = Matching::Private;
    assert_eq!(verify(&presented, &[pkix, private]), Ok(Verdict::Unusable));
    assert_eq!(verify(&presented, &[]), Ok(Verdict::Unusable));
}

#[test]
fn a_garbled_or_empty_chain_is_an_error() {
    let c = chain();
    let record = tlsa(
        CertUsage::DaneEe,
        Selector::Full,
        Matching::Sha256,
        &c.server,
    );
    assert_eq!(
        verify(&[], std::slice::from_ref(&record)),
        Err(DaneError::EmptyChain)
    );
    let truncated = &c.ca[..c.ca.len() - 10];
    assert_eq!(
        verify(
            &[c.server.as_slice(), truncated],
            std::slice::from_ref(&record)
        ),
        Err(DaneError::Certificate { index: 1 })
    );
    assert_eq!(
        verify(&[b"not a certificate".as_slice()], &[record]),
        Err(DaneError::Certificate { index: 0 })
    );
}

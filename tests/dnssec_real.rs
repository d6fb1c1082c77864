//! DNSSEC status and DANE (S33–S37) over a real validating path: zones
//! signed in the test set-up, served by NSD, validated by Unbound with
//! trust anchors and Extended DNS Errors, all on loopback
//! (`impp_test_support::dnssec_lab`). Each test starts its own lab.

use std::time::Duration;

use impp_resolver::blocking::Client;
use impp_resolver::proto::rr::Name;
use impp_resolver::proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use impp_resolver::{
    Answer, Config, Dnssec, Error, ErrorKind, Protocol, SecurityStatus, TrustAd, Uri,
};
use impp_test_support::dnssec_lab::{self, Lab, SECURE_TLSA};

use SecurityStatus::{Bogus, Insecure, Secure};

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn config(lab: &Lab, dnssec: Option<Dnssec>) -> Config {
    Config {
        servers: vec![lab.resolver],
        resolution_timeout: Duration::from_secs(5),
        dnssec,
        ..Config::default()
    }
}

fn dnssec(dane: bool) -> Option<Dnssec> {
    Some(Dnssec {
        dane,
        ..Dnssec::default()
    })
}

fn srv(client: &mut Client, owner: &str) -> Result<Answer, Error> {
    let id = client.start_srv(&name(owner)).unwrap();
    client.wait(id).expect("no socket error")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_secure_srv_with_a_secure_target_is_secure_and_cached_so() {
    let lab = dnssec_lab::start();
    let mut client = Client::new(config(&lab, dnssec(false))).unwrap();
    for round in 0..2 {
        let answer = srv(&mut client, "_xmpp-client._tcp.secure.test.").unwrap();
        assert_eq!(answer.from_cache, round == 1);
        let [endpoint] = &answer.endpoints[..] else {
            panic!("{answer:?}")
        };
        assert_eq!(endpoint.target, name("chat.secure.test."));
        assert_eq!(endpoint.security.srv, Some(Secure), "round {round}");
        assert_eq!(endpoint.security.addresses, Secure, "round {round}");
        assert!(endpoint.security.is_secure() && endpoint.security.is_usable());
        assert_eq!(endpoint.security.tlsa, None, "DANE off: not asked");
        // RFC 7673 §4: the SRV was secure, so its target may be checked too.
        assert_eq!(
            endpoint.certificate_names(),
            [name("secure.test."), name("chat.secure.test.")]
        );
        assert_eq!(endpoint.to_string().split(' ').count(), 5);
    }
    // An im: URI goes the same way (RFC 3861: `_im._xmpp`).
    let uri: Uri = "im:alice@secure.test".parse().unwrap();
    let id = client.start_uri(&uri, &[Protocol::XMPP], None).unwrap();
    let answer = client.wait(id).unwrap().unwrap();
    assert!(answer.endpoints[0].security.is_secure());
}

#[test]
fn a_target_in_an_unsigned_zone_leaves_the_endpoint_insecure() {
    let lab = dnssec_lab::start();
    let mut client = Client::new(config(&lab, dnssec(true))).unwrap();
    let answer = srv(&mut client, "_xmpp-client._tcp.outside.secure.test.").unwrap();
    let endpoint = &answer.endpoints[0];
    assert_eq!(endpoint.target, name("host.plain.test."));
    assert_eq!(endpoint.security.srv, Some(Secure));
    assert_eq!(endpoint.security.addresses, Insecure);
    assert!(!endpoint.security.is_secure());
    // Its TLSA exists, unsigned: not even asked for an insecure endpoint.
    assert_eq!(endpoint.security.tlsa, None);
    assert!(endpoint.tlsa.is_empty());
    // The SRV was secure: its target is a name to check all the same.
    assert_eq!(
        endpoint.certificate_names(),
        [name("outside.secure.test."), name("host.plain.test.")]
    );
}

#[test]
fn an_unsigned_zone_and_a_cname_leaving_a_signed_one_are_insecure() {
    let lab = dnssec_lab::start();
    let mut client = Client::new(config(&lab, dnssec(true))).unwrap();
    let plain = srv(&mut client, "_xmpp-client._tcp.plain.test.").unwrap();
    let endpoint = &plain.endpoints[0];
    assert_eq!(endpoint.security.srv, Some(Insecure));
    assert_eq!(endpoint.security.addresses, Insecure);
    assert_eq!(endpoint.security.tlsa, None);
    // Whoever could forge the SRV chose the target: only the domain counts.
    assert_eq!(endpoint.certificate_names(), [name("plain.test.")]);

    let alias = srv(&mut client, "_xmpp-client._tcp.alias.secure.test.").unwrap();
    let endpoint = &alias.endpoints[0];
    assert_eq!(endpoint.target, name("host.plain.test."));
    assert_eq!(
        endpoint.security.srv,
        Some(Insecure),
        "the chain's weakest link"
    );
    assert_eq!(
        endpoint.certificate_names(),
        [name("alias.secure.test.")],
        "the service domain is the one asked, before the CNAME"
    );
}

#[test]
fn an_srv_changed_after_signing_is_bogus_with_ede_6() {
    let lab = dnssec_lab::start();
    let mut client = Client::new(config(&lab, dnssec(false))).unwrap();
    let error = srv(&mut client, "_xmpp-client._tcp.bogus.test.").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Bogus, "{error}");
    let text = error.to_string();
    assert!(
        text.starts_with("_xmpp-client._tcp.bogus.test. ("),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}: SERVFAIL, EDE 6", lab.resolver)),
        "{text}"
    );
}

#[test]
fn expired_signatures_are_bogus_with_ede_7() {
    let lab = dnssec_lab::start();
    let mut client = Client::new(config(&lab, dnssec(false))).unwrap();
    let error = srv(&mut client, "_xmpp-client._tcp.expired.test.").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Bogus, "{error}");
    assert!(error.to_string().contains("EDE 7"), "{error}");
}

#[test]
fn a_bogus_target_is_left_without_addresses_and_not_to_be_used() {
    let lab = dnssec_lab::start();
    let mut client = Client::new(config(&lab, dnssec(false))).unwrap();
    let answer = srv(&mut client, "_xmpp-client._tcp.badtarget.secure.test.").unwrap();
    let endpoint = &answer.endpoints[0];
    assert_eq!(endpoint.target, name("chat.bogus.test."));
    assert_eq!(endpoint.security.srv, Some(Secure));
    assert_eq!(endpoint.security.addresses, Bogus);
    assert!(endpoint.addresses.is_empty(), "{endpoint}");
    assert!(!endpoint.security.is_usable());
}

#[test]
fn dane_attaches_secure_tlsa_only() {
    let lab = dnssec_lab::start();
    let mut client = Client::new(config(&lab, dnssec(true))).unwrap();
    for round in 0..2 {
        let answer = srv(&mut client, "_xmpp-client._tcp.secure.test.").unwrap();
        let endpoint = &answer.endpoints[0];
        assert_eq!(endpoint.security.tlsa, Some(Secure), "round {round}");
        let [tlsa] = &endpoint.tlsa[..] else {
            panic!("{endpoint:?}")
        };
        assert_eq!(tlsa.cert_usage, CertUsage::DaneEe);
        assert_eq!(tlsa.selector, Selector::Spki);
        assert_eq!(tlsa.matching, Matching::Sha256);
        assert_eq!(hex(&tlsa.cert_data), SECURE_TLSA);
        assert!(endpoint.security.is_usable());
    }
}

#[test]
fn ad_from_an_untrusted_server_is_ignored_and_its_servfail_is_not_bogus() {
    let lab = dnssec_lab::start();
    let untrusted = Some(Dnssec {
        trust_ad: TrustAd::None,
        dane: true,
    });
    let mut client = Client::new(config(&lab, untrusted)).unwrap();
    let answer = srv(&mut client, "_xmpp-client._tcp.secure.test.").unwrap();
    let endpoint = &answer.endpoints[0];
    assert_eq!(endpoint.security.srv, Some(Insecure));
    assert_eq!(endpoint.security.addresses, Insecure);
    assert_eq!(endpoint.security.tlsa, None);
    let error = srv(&mut client, "_xmpp-client._tcp.bogus.test.").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServFail, "{error}");
}

#[test]
fn without_dnssec_everything_is_insecure_as_before() {
    let lab = dnssec_lab::start();
    let mut client = Client::new(config(&lab, None)).unwrap();
    let answer = srv(&mut client, "_xmpp-client._tcp.secure.test.").unwrap();
    assert_eq!(
        answer.endpoints[0].security,
        impp_resolver::Security::INSECURE
    );
    assert!(answer.endpoints[0].tlsa.is_empty());
}

#[test]
fn the_tokio_driver_carries_status_and_tlsa() {
    let lab = dnssec_lab::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = config(&lab, dnssec(true));
    let answer = runtime.block_on(async move {
        let client = impp_resolver::tokio::Client::new(config).unwrap();
        client
            .resolve_srv(&name("_xmpp-client._tcp.secure.test."))
            .await
            .unwrap()
    });
    let endpoint = &answer.endpoints[0];
    assert!(endpoint.security.is_secure());
    assert_eq!(hex(&endpoint.tlsa[0].cert_data), SECURE_TLSA);
}

/// The `resolve` example, built by `cargo test` beside this test.
fn resolve(args: &[&str]) -> (Option<i32>, String, String) {
    let path = impp_test_support::records::example_binary("resolve");
    let out = std::process::Command::new(path)
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn resolve_prints_the_status_column_and_tlsa_lines_through_both_drivers() {
    let lab = dnssec_lab::start();
    let server = lab.resolver.to_string();
    for driver in [&[][..], &["--async"][..]] {
        let run = |extra: &[&str], name: &str| {
            let args = [
                &["--server", server.as_str()],
                driver,
                extra,
                &["--srv", name],
            ]
            .concat();
            resolve(&args)
        };
        let secure = "_xmpp-client._tcp.secure.test";
        let chat =
            "0 5 5222 chat.secure.test 2001:db8::10,192.0.2.10 _xmpp-client._tcp.secure.test";
        // Without the flags, the output is what it always was.
        assert_eq!(
            run(&[], secure),
            (Some(0), format!("{chat}\n"), String::new())
        );
        assert_eq!(run(&["--dnssec"], secure).1, format!("{chat} secure\n"));
        assert_eq!(
            run(&["--dane"], secure).1,
            format!("{chat} secure\ntlsa 3 1 1 {SECURE_TLSA}\n")
        );
        let outside = run(&["--dane"], "_xmpp-client._tcp.outside.secure.test");
        assert!(outside.1.ends_with(" insecure\n"), "{outside:?}");
        assert_eq!(
            outside.1.lines().count(),
            1,
            "no TLSA for an insecure endpoint"
        );
        let untrusted = run(&["--trust-ad", "none"], secure);
        assert_eq!(untrusted.1, format!("{chat} insecure\n"));
        let bad_target = run(&["--dnssec"], "_xmpp-client._tcp.badtarget.secure.test");
        assert!(
            bad_target
                .1
                .ends_with(" - _xmpp-client._tcp.badtarget.secure.test bogus\n"),
            "{bad_target:?}"
        );
        let (code, out, err) = run(&["--dnssec"], "_xmpp-client._tcp.bogus.test");
        assert_eq!((code, out.as_str()), (Some(2), ""));
        // Unbound gives the EDE's text the first time, not from its cache.
        let expected =
            format!("error: bogus: _xmpp-client._tcp.bogus.test. ({server}: SERVFAIL, EDE 6");
        assert!(err.starts_with(&expected), "{err}");
    }
}

#[test]
fn a_merged_set_keeps_each_records_status_and_a_fallback_has_its_addresses() {
    let lab = dnssec_lab::start();
    let mut client = Client::new(config(&lab, dnssec(false))).unwrap();
    let owners = [
        name("_xmpp-client._tcp.secure.test."),
        name("_xmpp-client._tcp.plain.test."),
    ];
    let id = client.start_srv_set(&owners).unwrap();
    let answer = client.wait(id).unwrap().unwrap();
    assert_eq!(answer.endpoints.len(), 2);
    for endpoint in &answer.endpoints {
        let expected = match endpoint.service.as_ref() {
            Some(s) if *s == owners[0] => Secure,
            Some(s) if *s == owners[1] => Insecure,
            other => panic!("{other:?}"),
        };
        assert_eq!(endpoint.security.srv, Some(expected), "{endpoint}");
        assert_eq!(endpoint.security.addresses, expected, "{endpoint}");
    }

    // No `_im._sip.secure.test.` (a secure NXDOMAIN): the domain's own
    // signed address stands in (S16), with its own status.
    let uri: Uri = "im:alice@secure.test".parse().unwrap();
    let id = client
        .start_uri(&uri, &[Protocol::SIP], Some(5222))
        .unwrap();
    let answer = client.wait(id).unwrap().unwrap();
    let [endpoint] = &answer.endpoints[..] else {
        panic!("{answer:?}")
    };
    assert_eq!(endpoint.target, name("secure.test."));
    assert_eq!(endpoint.security.srv, None);
    assert_eq!(endpoint.security.addresses, Secure);
    assert!(endpoint.security.is_secure());
    assert_eq!(endpoint.certificate_names(), [name("secure.test.")]);
}

//! DANE with progress reports (S29, S37), in virtual time against answers
//! made here as a trusted validating resolver on loopback would send them
//! (the AD bit set): an endpoint is not reported usable until its TLSA is
//! known, however early its first addresses come, and the TLSA question is
//! asked only once both families are in and secure.

use impp_resolver::proto::op::{Message, MessageType, OpCode, Query};
use impp_resolver::proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use impp_resolver::proto::rr::rdata::{A, AAAA, SRV, TLSA};
use impp_resolver::proto::rr::{Name, RData, Record, RecordType};
use impp_resolver::{Config, Dnssec, Event, Instant, Resolver, SecurityStatus, Transmit, TrustAd};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// The answer to `transmit`'s question, AD set, with `data` (none: NODATA).
fn answer(transmit: &Transmit, data: Option<RData>) -> Vec<u8> {
    let query = Message::from_vec(&transmit.payload).unwrap();
    let question: Query = query.queries[0].clone();
    let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    reply.metadata.authentic_data = true;
    if let Some(data) = data {
        reply.add_answer(Record::from_rdata(question.name().clone(), 300, data));
    }
    reply.add_query(question);
    reply.to_vec().unwrap()
}

fn question(transmit: &Transmit) -> (Name, RecordType) {
    let query = Message::from_vec(&transmit.payload).unwrap();
    let q = &query.queries[0];
    (q.name().clone(), q.query_type())
}

#[test]
fn a_secure_endpoint_waits_for_its_tlsa_before_it_is_usable() {
    let server = "127.0.0.1:53".parse().unwrap();
    let config = Config {
        servers: vec![server],
        progress: true,
        dnssec: Some(Dnssec {
            trust_ad: TrustAd::Loopback,
            dane: true,
        }),
        ..Config::default()
    };
    let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(5));
    let now = Instant::ZERO;
    let id = r
        .resolve_srv(now, &name("_xmpp-client._tcp.example.com."))
        .unwrap();
    let srv = r.poll_transmit().unwrap();
    let target = name("chat.example.com.");
    let data = RData::SRV(SRV::new(0, 0, 5222, target.clone()));
    r.handle_datagram(now, srv.socket.unwrap(), server, &answer(&srv, Some(data)));

    // A and AAAA are asked; no TLSA yet: the addresses are not in.
    let mut asked: Vec<Transmit> = std::iter::from_fn(|| r.poll_transmit()).collect();
    asked.sort_by_key(|t| question(t).1);
    let kinds: Vec<RecordType> = asked.iter().map(|t| question(t).1).collect();
    assert_eq!(kinds, [RecordType::A, RecordType::AAAA]);
    while r.poll_progress().is_some() {}

    // The IPv6 address first: reported, but not to be connected to yet.
    let v6 = RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    r.handle_datagram(
        now,
        asked[1].socket.unwrap(),
        server,
        &answer(&asked[1], Some(v6)),
    );
    let progress = r.poll_progress().expect("a report of the IPv6 address");
    assert_eq!(progress.endpoint.addresses.len(), 1);
    assert!(!progress.complete);
    assert!(
        !progress.endpoint.security.is_usable(),
        "connectable before its TLSA is known: {:?}",
        progress.endpoint.security
    );
    assert!(
        r.poll_transmit().is_none(),
        "no TLSA before both families are in"
    );

    // The IPv4 address: now the TLSA question goes out.
    let v4 = RData::A(A::new(192, 0, 2, 1));
    r.handle_datagram(
        now,
        asked[0].socket.unwrap(),
        server,
        &answer(&asked[0], Some(v4)),
    );
    let tlsa_query = r.poll_transmit().expect("the TLSA question");
    assert_eq!(
        question(&tlsa_query),
        (name("_5222._tcp.chat.example.com."), RecordType::TLSA)
    );
    while let Some(p) = r.poll_progress() {
        assert!(!p.endpoint.security.is_usable(), "TLSA still out: {p:?}");
    }
    assert!(r.poll_event().is_none());

    // The TLSA answer ends it: usable, with its record.
    let record = TLSA::new(
        CertUsage::DaneEe,
        Selector::Spki,
        Matching::Sha256,
        vec![1; 32],
    );
    let bytes = answer(&tlsa_query, Some(RData::TLSA(record.clone())));
    r.handle_datagram(now, tlsa_query.socket.unwrap(), server, &bytes);
    let last = std::iter::from_fn(|| r.poll_progress()).last().unwrap();
    assert!(last.complete && last.endpoint.security.is_usable());
    let Some(Event::Resolved { id: ended, answer }) = r.poll_event() else {
        panic!("resolved")
    };
    assert_eq!(ended, id);
    let endpoint = &answer.endpoints[0];
    assert_eq!(endpoint.security.tlsa, Some(SecurityStatus::Secure));
    assert_eq!(endpoint.tlsa, [record]);
    assert!(endpoint.security.is_secure());
}

//! Benchmarks 2 and 3: the machine's cost per resolution, no sockets.
//!
//! - `resolution/additional`: start an `im:` resolution, feed the canned SRV
//!   answer (4 targets, their A and AAAA in the additional section), take
//!   the event. Beside it, `floor/additional`: hickory-proto alone encoding
//!   the same query and decoding the same answer. Goal: ours ≤ 1.25× floor.
//! - `resolution/address-queries` and `floor/address-queries`: the same
//!   without the additional section, so 8 more queries and answers.
//! - `resolution/signed-address-queries`: the same with DNSSEC on (S33):
//!   the DO bit on every query, every answer with the AD bit and an RRSIG
//!   (96 bytes, as for ECDSA P-256) beside each RRset, from a trusted
//!   server, so every endpoint is secure.
//! - `scale/N`: N resolutions in flight at once, then all answered; cost
//!   per resolution. Goal: at 100 000 ≤ 1.3× at 1. A server has 65 536 ids,
//!   so distinct questions in flight are capped at 32 768 (`max_queries`):
//!   `scale/1`, `/1000` and `/30000` use a domain each; `scale/100000`
//!   spreads 100 000 resolutions over 25 000 domains, 4 coalesced on each
//!   question, as an XMPP server's many users of one peer domain would.

use std::collections::HashMap;
use std::time::{Duration, Instant as StdInstant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use impp_resolver::proto::op::{Edns, Message, MessageType, OpCode, Query};
use impp_resolver::proto::rr::rdata::{A, AAAA, NULL, SRV};
use impp_resolver::proto::rr::{RData, Record, RecordType};
use impp_resolver::{Config, Dnssec, Event, Instant, Protocol, Resolver, Transmit, TrustAd, Uri};
use impp_test_support::records::{SERVER, config, name};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn resolver() -> Resolver<ChaCha20Rng> {
    resolver_with(None)
}

fn resolver_with(dnssec: Option<Dnssec>) -> Resolver<ChaCha20Rng> {
    let config = Config {
        dnssec,
        max_queries: 32_768,
        // The machine's own capacity: every question on the wire at once.
        max_outstanding: 32_768,
        // The cost of resolving, not of remembering: the cache has a
        // bench of its own.
        cache: None,
        ..config(&[SERVER])
    };
    Resolver::new(config, ChaCha20Rng::seed_from_u64(7))
}

/// With `signed`, as a validating resolver answers a DO query for a signed
/// zone: the AD bit, and an RRSIG after each RRset of the answer section.
fn reply(question: Query, signed: bool, build: impl FnOnce(&mut Message)) -> Vec<u8> {
    let mut m = Message::new(0, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    m.metadata.authentic_data = signed;
    let owner = question.name().clone();
    m.add_query(question);
    build(&mut m);
    if signed {
        // Opaque to this crate: it only skips them.
        let rrsig = RData::Unknown {
            code: RecordType::RRSIG,
            rdata: NULL::with((0..96).collect()),
        };
        m.add_answer(Record::from_rdata(owner, 300, rrsig));
    }
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    m.set_edns(edns);
    m.to_vec().unwrap()
}

fn target(domain: &str, i: usize) -> String {
    format!("xmpp{i}.{domain}")
}

/// The SRV answer for `_im._xmpp.<domain>`: 4 targets, and with
/// `additional` their A and AAAA records.
fn srv_answer(domain: &str, additional: bool) -> Vec<u8> {
    srv_answer_signed(domain, additional, false)
}

fn srv_answer_signed(domain: &str, additional: bool, signed: bool) -> Vec<u8> {
    let owner = name(&format!("_im._xmpp.{domain}"));
    reply(Query::query(owner.clone(), RecordType::SRV), signed, |m| {
        for i in 0..4 {
            let t = name(&target(domain, i));
            m.add_answer(Record::from_rdata(
                owner.clone(),
                300,
                RData::SRV(SRV::new(10, 10 + i as u16, 5222, t.clone())),
            ));
            if additional {
                m.add_additional(Record::from_rdata(
                    t.clone(),
                    300,
                    RData::A(A::new(192, 0, 2, i as u8)),
                ));
                m.add_additional(Record::from_rdata(
                    t,
                    300,
                    RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16)),
                ));
            }
        }
    })
}

/// The A and AAAA answers of the 4 targets, keyed by the question bytes
/// a query carries (after the 12-byte header, before the 11-byte OPT).
fn address_answers(domain: &str, signed: bool) -> HashMap<Vec<u8>, Vec<u8>> {
    let mut answers = HashMap::new();
    for i in 0..4 {
        let t = name(&target(domain, i));
        for rtype in [RecordType::A, RecordType::AAAA] {
            let q = Query::query(t.clone(), rtype);
            let bytes = reply(q.clone(), signed, |m| {
                let data = match rtype {
                    RecordType::A => RData::A(A::new(192, 0, 2, i as u8)),
                    _ => RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16)),
                };
                m.add_answer(Record::from_rdata(t.clone(), 300, data));
            });
            answers.insert(query_key(q), bytes);
        }
    }
    answers
}

/// The question section of a query with one question and one OPT record.
fn question_bytes(query: &[u8]) -> &[u8] {
    &query[12..query.len() - 11]
}

/// The question bytes a query for `q` carries.
fn query_key(q: Query) -> Vec<u8> {
    let mut m = Message::new(0, MessageType::Query, OpCode::Query);
    m.add_query(q);
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    m.set_edns(edns);
    question_bytes(&m.to_vec().unwrap()).to_vec()
}

/// Hands `answer` in as the reply to `query`, with the query's id.
fn answer_to(r: &mut Resolver<ChaCha20Rng>, query: &Transmit, answer: &mut [u8]) {
    answer[..2].copy_from_slice(&query.payload[..2]);
    let socket = query.socket.expect("UDP");
    r.handle_datagram(Instant::ZERO, socket, SERVER, answer);
}

#[inline(never)] // a frame callgrind can select: --toggle-collect='*one_resolution*'
fn one_resolution(
    r: &mut Resolver<ChaCha20Rng>,
    uri: &Uri,
    srv: &mut [u8],
    addresses: &mut HashMap<Vec<u8>, Vec<u8>>,
) -> Event {
    r.resolve_uri(Instant::ZERO, uri, &[Protocol::XMPP], None)
        .unwrap();
    let query = r.poll_transmit().unwrap();
    answer_to(r, &query, srv);
    while let Some(query) = r.poll_transmit() {
        let answer = addresses.get_mut(question_bytes(&query.payload)).unwrap();
        answer_to(r, &query, answer);
    }
    r.poll_event().unwrap()
}

/// hickory-proto alone: encode `queries` queries and decode their answers.
#[inline(never)]
fn floor(queries: &[Query], answers: &[Vec<u8>]) -> usize {
    let mut total = 0;
    for (i, (q, a)) in queries.iter().zip(answers).enumerate() {
        let mut m = Message::new(i as u16, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(q.clone());
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        m.set_edns(edns);
        total += m.to_vec().unwrap().len();
        total += Message::from_vec(a).unwrap().answers.len();
    }
    total
}

fn per_resolution(c: &mut Criterion) {
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let srv_q = Query::query(name("_im._xmpp.example.com."), RecordType::SRV);
    let mut group = c.benchmark_group("per-resolution");
    group.throughput(Throughput::Elements(1));

    let mut srv = srv_answer("example.com.", true);
    let mut none = HashMap::new();
    let mut r = resolver();
    group.bench_function("ours/additional", |b| {
        b.iter(|| one_resolution(&mut r, &uri, &mut srv, &mut none))
    });
    let answers = [srv.clone()];
    group.bench_function("floor/additional", |b| {
        b.iter(|| floor(std::slice::from_ref(&srv_q), &answers))
    });

    let mut srv = srv_answer("example.com.", false);
    let mut addresses = address_answers("example.com.", false);
    let mut r = resolver();
    group.bench_function("ours/address-queries", |b| {
        b.iter(|| one_resolution(&mut r, &uri, &mut srv, &mut addresses))
    });
    let mut queries = vec![srv_q.clone()];
    let mut answers = vec![srv.clone()];
    for answer in addresses.values() {
        let m = Message::from_vec(answer).unwrap();
        queries.push(m.queries[0].clone());
        answers.push(answer.clone());
    }
    group.bench_function("floor/address-queries", |b| {
        b.iter(|| floor(&queries, &answers))
    });

    let mut srv = srv_answer_signed("example.com.", false, true);
    let mut addresses = address_answers("example.com.", true);
    let dnssec = Dnssec {
        trust_ad: TrustAd::All,
        dane: false,
    };
    let mut r = resolver_with(Some(dnssec));
    let Event::Resolved { answer, .. } = one_resolution(&mut r, &uri, &mut srv, &mut addresses)
    else {
        panic!("resolved")
    };
    assert!(answer.endpoints.iter().all(|e| e.security.is_secure()));
    group.bench_function("ours/signed-address-queries", |b| {
        b.iter(|| one_resolution(&mut r, &uri, &mut srv, &mut addresses))
    });
    group.finish();
}

/// N resolutions in flight, then all answered: time per resolution.
fn run_in_flight(uris: &[Uri], answers: &mut [Vec<u8>]) -> Duration {
    let mut r = resolver();
    let start = StdInstant::now();
    let mut queries = Vec::with_capacity(answers.len());
    for uri in uris {
        r.resolve_uri(Instant::ZERO, uri, &[Protocol::XMPP], None)
            .unwrap();
        // Only the first resolution of a domain sends a query (S24).
        queries.extend(r.poll_transmit());
    }
    assert_eq!(queries.len(), answers.len());
    for (query, answer) in queries.iter().zip(answers.iter_mut()) {
        answer_to(&mut r, query, answer);
    }
    let mut events = 0;
    while r.poll_event().is_some() {
        events += 1;
    }
    assert_eq!(events, uris.len());
    start.elapsed()
}

fn scale(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale");
    group.sample_size(10);
    for (n, per_domain) in [(1usize, 1), (1_000, 1), (30_000, 1), (100_000, 4)] {
        let domains: Vec<String> = (0..n / per_domain)
            .map(|i| format!("d{i}.example."))
            .collect();
        let uris: Vec<Uri> = (0..n)
            .map(|i| {
                let domain = domains[i / per_domain].trim_end_matches('.');
                format!("im:user{i}@{domain}").parse().unwrap()
            })
            .collect();
        let mut answers: Vec<Vec<u8>> = domains.iter().map(|d| srv_answer(d, true)).collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| run_in_flight(&uris, &mut answers)).sum())
        });
    }
    group.finish();
}

criterion_group!(benches, per_resolution, scale);
criterion_main!(benches);

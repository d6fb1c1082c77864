//! Hostile servers: an answer claiming 65 535 records, a CNAME loop, a
//! compression-pointer loop, names of 255 and 256 octets, a 64 KiB TCP
//! message, and an id collision between two in-flight queries. Each ends
//! in a typed error or a correct result, and the heap stays bounded: a
//! counting allocator measures the peak while each answer is handled.
//!
//! One test function only, so no other test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use impp_resolver::proto::op::Edns;
use impp_resolver::proto::rr::rdata::{A, SRV};
use impp_resolver::proto::rr::{Name, RData, Record};
use impp_resolver::{Config, Event, Instant, Protocol, Resolver, Transport, Uri};
use impp_test_support::records::{
    FIRST_SOCKET, OWNER, SERVER, cname, config, framed, name, query_id, srv_response,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{SeedableRng, TryCryptoRng, TryRng};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes allocated beyond what was live when `f` started, at its peak.
fn peak_during(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - base
}

/// A resolver with the SRV query for `im:fred@example.com` out; its id.
fn started(config: Config) -> (Resolver<ChaCha20Rng>, u16) {
    let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(9));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    r.resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None)
        .unwrap();
    let id = query_id(&r.poll_transmit().unwrap());
    (r, id)
}

fn udp_config() -> Config {
    Config {
        max_endpoints: 4,
        ..config(&[SERVER])
    }
}

fn tcp_config() -> Config {
    Config {
        transport: Transport::Tcp,
        ..udp_config()
    }
}

/// The error kind the resolution ended with, or "resolved:<n endpoints>";
/// after a silent wind-down if it is still going.
fn outcome(r: &mut Resolver<ChaCha20Rng>) -> String {
    loop {
        while r.poll_transmit().is_some() {}
        while r.poll_close().is_some() {}
        if let Some(event) = r.poll_event() {
            assert_eq!(r.resolutions_in_flight(), 0);
            return match event {
                Event::Resolved { answer, .. } => format!("resolved:{}", answer.endpoints.len()),
                Event::Failed { error, .. } => error.kind().to_string(),
            };
        }
        let now = r.poll_timeout().expect("still in flight, so a deadline");
        r.handle_timeout(now);
    }
}

/// A generator stuck on one value: every id draw collides.
struct Stuck;

impl TryRng for Stuck {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(7)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(7)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.fill(7);
        Ok(())
    }
}

impl TryCryptoRng for Stuck {}

/// A 12-byte header claiming `answers` records, then the question.
fn claiming(id: u16, answers: u16, body: &[u8]) -> Vec<u8> {
    let question = srv_response(id, |_| {});
    let mut m = question.clone();
    m[6..8].copy_from_slice(&answers.to_be_bytes());
    m.extend_from_slice(body);
    m
}

#[test]
fn hostile_answers_end_typed_with_bounded_memory() {
    const BOUND: usize = 4 << 20; // 4 MiB for any one answer
    let mut report = Vec::new();

    // 1. 65 535 records claimed in a 64 KiB TCP message (it cannot hold
    // them): refused from the header, before any decoding.
    let (mut r, id) = started(tcp_config());
    let body: Vec<u8> = std::iter::repeat_n(
        [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1],
        4090,
    )
    .flatten()
    .collect();
    let message = claiming(id, u16::MAX, &body);
    assert!(message.len() <= usize::from(u16::MAX));
    let peak = peak_during(|| r.handle_stream(Instant::from_millis(1), SERVER, &framed(&message)));
    report.push(("65535 records claimed", peak, outcome(&mut r)));

    // The same with the record cap lifted: decoding fails, typed.
    let mut config = tcp_config();
    config.max_records = u16::MAX;
    let (mut r, id) = started(config);
    let message = claiming(id, u16::MAX, &body);
    let peak = peak_during(|| r.handle_stream(Instant::from_millis(1), SERVER, &framed(&message)));
    report.push(("65535 records, no cap", peak, outcome(&mut r)));

    // 2. A CNAME loop inside one answer.
    let (mut r, id) = started(udp_config());
    let message = srv_response(id, |m| {
        m.add_answer(cname(OWNER, "b.example.com."));
        m.add_answer(cname("b.example.com.", OWNER));
    });
    let peak =
        peak_during(|| r.handle_datagram(Instant::from_millis(1), FIRST_SOCKET, SERVER, &message));
    report.push(("CNAME loop", peak, outcome(&mut r)));

    // 3. A compression pointer that points at itself, as an answer's owner.
    let (mut r, id) = started(udp_config());
    let mut message = claiming(id, 1, &[]);
    let at = message.len() as u16;
    message.extend_from_slice(&(0xC000 | at).to_be_bytes());
    message.extend_from_slice(&[0, 33, 0, 1, 0, 0, 0, 60, 0, 0]);
    let peak =
        peak_during(|| r.handle_datagram(Instant::from_millis(1), FIRST_SOCKET, SERVER, &message));
    report.push(("compression-pointer loop", peak, outcome(&mut r)));

    // 4. Names of 255 octets (the most allowed) and 256 (one too many) as
    // SRV targets. 255 = 3 × (1 + 63) + (1 + 61) + 1.
    let label = |c: u8, n: usize| String::from_utf8(vec![c; n]).unwrap();
    let longest = format!(
        "{}.{}.{}.{}.",
        label(b'a', 63),
        label(b'b', 63),
        label(b'c', 63),
        label(b'd', 61)
    );
    let wire_len = |n: &Name| n.iter().map(|l| l.len() + 1).sum::<usize>() + 1;
    assert_eq!(wire_len(&name(&longest)), 255);
    let (mut r, id) = started(udp_config());
    let message = srv_response(id, |m| {
        m.add_answer(Record::from_rdata(
            name(OWNER),
            60,
            RData::SRV(SRV::new(0, 0, 5222, name(&longest))),
        ));
        m.add_additional(Record::from_rdata(
            name(&longest),
            60,
            RData::A(A::new(192, 0, 2, 7)),
        ));
    });
    let peak =
        peak_during(|| r.handle_datagram(Instant::from_millis(1), FIRST_SOCKET, SERVER, &message));
    report.push(("255-octet name", peak, outcome(&mut r)));
    // One octet more: hand-spliced, since hickory-proto will not build it.
    let (mut r, id) = started(udp_config());
    let mut message = srv_response(id, |m| {
        m.add_answer(Record::from_rdata(
            name(OWNER),
            60,
            RData::SRV(SRV::new(0, 0, 5222, name(&longest))),
        ));
    });
    let d = message
        .windows(62)
        .position(|w| w[0] == 61 && w[1..].iter().all(|&b| b == b'd'))
        .unwrap();
    message[d] = 62;
    message.insert(d + 1, b'd');
    let rdlength_at = d - 6 - 2 - 3 * 64 - 2;
    let rdlength = u16::from_be_bytes([message[rdlength_at], message[rdlength_at + 1]]) + 1;
    message[rdlength_at..rdlength_at + 2].copy_from_slice(&rdlength.to_be_bytes());
    let peak =
        peak_during(|| r.handle_datagram(Instant::from_millis(1), FIRST_SOCKET, SERVER, &message));
    report.push(("256-octet name", peak, outcome(&mut r)));

    // 5. A valid 64 KiB TCP message: 560 SRV records with long, uncompressed (RFC 2782) targets.
    let (mut r, id) = started(tcp_config());
    let message = srv_response(id, |m| {
        for i in 0..560u16 {
            let target = format!("{}{i:04}.example.com.", label(b't', 59));
            m.add_answer(Record::from_rdata(
                name(OWNER),
                60,
                RData::SRV(SRV::new(i, 0, 5222, name(&target))),
            ));
        }
        // hickory-proto encodes at most the EDNS payload size, else 512.
        let mut edns = Edns::new();
        edns.set_max_payload(u16::MAX);
        m.set_edns(edns);
    });
    assert!(
        message.len() > 60_000 && message.len() <= 65_535,
        "{}",
        message.len()
    );
    // TC clear: a whole, valid message.
    assert_eq!(message[2] & 0x02, 0);
    let peak = peak_during(|| {
        for piece in framed(&message).chunks(1000) {
            r.handle_stream(Instant::from_millis(1), SERVER, piece);
        }
    });
    // Four endpoints (max_endpoints), whose addresses nobody answers.
    report.push(("64 KiB TCP message", peak, outcome(&mut r)));

    // 6. Two queries in flight to one server while the generator repeats
    // itself: their ids still differ, and the answer to one, sent with the
    // other's id, matches nothing.
    let mut r = Resolver::new(udp_config(), Stuck);
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let first = r
        .resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None)
        .unwrap();
    let other: Uri = "im:fred@example.org".parse().unwrap();
    let _second = r
        .resolve_uri(Instant::ZERO, &other, &[Protocol::XMPP], None)
        .unwrap();
    let a = r.poll_transmit().unwrap();
    let b = r.poll_transmit().unwrap();
    let (id_a, id_b) = (
        u16::from_be_bytes([a.payload[0], a.payload[1]]),
        u16::from_be_bytes([b.payload[0], b.payload[1]]),
    );
    assert_ne!(id_a, id_b, "one server, two queries, one id");
    let answer_a_with_b_id = srv_response(id_b, |m| {
        m.add_answer(Record::from_rdata(
            name(OWNER),
            60,
            RData::SRV(SRV::new(0, 0, 5222, Name::root())),
        ));
    });
    r.handle_datagram(
        Instant::from_millis(1),
        FIRST_SOCKET,
        SERVER,
        &answer_a_with_b_id,
    );
    assert_eq!(r.stats().dropped_wrong_question, 1);
    assert!(r.poll_event().is_none());
    let answer_a = srv_response(id_a, |m| {
        m.add_answer(Record::from_rdata(
            name(OWNER),
            60,
            RData::SRV(SRV::new(0, 0, 5222, Name::root())),
        ));
    });
    r.handle_datagram(Instant::from_millis(2), FIRST_SOCKET, SERVER, &answer_a);
    match r.poll_event() {
        Some(Event::Failed { id, error }) => {
            assert_eq!(id, first);
            assert_eq!(error.kind().as_str(), "unavailable");
        }
        other => panic!("{other:?}"),
    }

    for (what, peak, outcome) in &report {
        eprintln!("{what}: peak {peak} bytes, {outcome}");
        assert!(*peak < BOUND, "{what}: {peak} bytes");
    }
    let outcomes: Vec<&str> = report.iter().map(|(_, _, o)| o.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "too-large",
            "malformed",
            "cname-loop",
            "malformed",
            "resolved:1",
            "malformed",
            "resolved:4",
        ]
    );
}

//! Benchmark 6: the cache (S26).
//!
//! 1. A hit: the CPU of a whole resolution served from the cache —
//!    `im:fred@cache.example` over `_xmpp` (`resolve_uri`, which parses the
//!    URI's domain each time) and its SRV name `_im._xmpp.cache.example.`
//!    (`resolve_srv`), four targets with IPv4 and IPv6 addresses, the S10
//!    order drawn afresh — beside hickory-resolver
//!    0.26's lookup of the same SRV name and the targets' addresses with
//!    its cache warm (current-thread tokio, as it runs), in the same run,
//!    against the same loopback hickory-server. Goal: ≥ 10× less CPU.
//! 2. Bytes the cache counts for one SRV RRset of four targets whose eight
//!    addresses came in the additional section.
//!
//! 3. Eviction: the hit ratio of the cache (CLOCK) on a Zipf-distributed
//!    stream of SRV names larger than it holds, beside an exact LRU and a
//!    FIFO of the same size fed the same stream.
//!
//! `cargo bench --bench cache` (`CACHE_HITS=N` resolutions per measure,
//! default 200 000; three measures each, all printed).

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData};
use impp_resolver::proto::op::{Message, MessageType, OpCode, Query};
use impp_resolver::proto::rr::rdata::{A, AAAA, SRV};
use impp_resolver::proto::rr::{Record, RecordType};
use impp_resolver::{Clock, Config, Event, Instant, Protocol, Resolver, SocketId, Uri};
use impp_test_support::loadgen::cpu_time;
use impp_test_support::records::srv_answer_with_glue;
use impp_test_support::zone_server;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const ZONE: &str = "$ORIGIN cache.example.\n$TTL 86400\n\
    @ IN SOA ns hostmaster 1 3600 600 86400 86400\n@ IN NS ns\nns IN A 192.0.2.53\n\
    _im._xmpp IN SRV 10 40 5222 a\n_im._xmpp IN SRV 10 30 5222 b\n\
    _im._xmpp IN SRV 10 20 5222 c\n_im._xmpp IN SRV 20 10 5222 d\n\
    a IN A 192.0.2.1\na IN AAAA 2001:db8::1\nb IN A 192.0.2.2\nb IN AAAA 2001:db8::2\n\
    c IN A 192.0.2.3\nc IN AAAA 2001:db8::3\nd IN A 192.0.2.4\nd IN AAAA 2001:db8::4\n";

fn hits() -> u32 {
    std::env::var("CACHE_HITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000)
}

/// Microseconds of CPU per call of `f`, over `n` calls.
fn cpu_per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let start = cpu_time();
    for _ in 0..n {
        f();
    }
    (cpu_time() - start).as_secs_f64() * 1e6 / f64::from(n)
}

/// Ours: one resolution over real UDP to warm the cache, then every
/// resolution from it: of the URI (its domain parsed and the SRV name
/// built each time), then of the SRV name as hickory-resolver is given it.
fn ours(server: SocketAddr, n: u32) -> (Vec<f64>, Vec<f64>) {
    let config = Config {
        servers: vec![server],
        // One socket does for warming: every query leaves from it.
        queries_per_socket: u32::MAX,
        ..Config::default()
    };
    let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(9));
    let uri: Uri = "im:fred@cache.example".parse().unwrap();
    let xmpp = [Protocol::XMPP];
    let clock = Clock::new();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    r.resolve_uri(clock.now(), &uri, &xmpp, None).unwrap();
    let mut buf = [0u8; 4096];
    let mut id = SocketId::from_raw(0);
    let warm = loop {
        while let Some(t) = r.poll_transmit() {
            id = t.socket.unwrap();
            socket.send_to(&t.payload, t.server).unwrap();
        }
        if let Some(event) = r.poll_event() {
            break event;
        }
        if let Ok((len, from)) = socket.recv_from(&mut buf) {
            r.handle_datagram(clock.now(), id, from, &buf[..len]);
        }
        r.handle_timeout(clock.now());
    };
    let Event::Resolved { answer, .. } = warm else {
        panic!("warming failed: {warm:?}");
    };
    assert_eq!(answer.endpoints.len(), 4);
    let now = clock.now();
    let check = |r: &mut Resolver<ChaCha20Rng>| match r.poll_event() {
        Some(Event::Resolved { answer, .. }) => {
            assert!(answer.from_cache && answer.endpoints[3].addresses.len() == 2);
        }
        other => panic!("not from the cache: {other:?}"),
    };
    let by_uri = (0..3)
        .map(|_| {
            cpu_per_call(n, || {
                r.resolve_uri(now, &uri, &xmpp, None).unwrap();
                check(&mut r);
            })
        })
        .collect();
    let owner = impp_resolver::proto::rr::Name::from_ascii("_im._xmpp.cache.example.").unwrap();
    let by_srv = (0..3)
        .map(|_| {
            cpu_per_call(n, || {
                r.resolve_srv(now, &owner).unwrap();
                check(&mut r);
            })
        })
        .collect();
    (by_uri, by_srv)
}

/// hickory-resolver, cache warm: the SRV lookup, then the addresses of
/// every target the additional section did not give.
fn hickory(server: SocketAddr, n: u32) -> Vec<f64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ns = NameServerConfig::udp_and_tcp(server.ip());
    for c in &mut ns.connections {
        c.port = server.port();
    }
    let mut builder = hickory_resolver::Resolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    );
    builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    let resolver = Arc::new(runtime.block_on(async { builder.build() }).unwrap());
    let owner = Name::from_ascii("_im._xmpp.cache.example.").unwrap();
    let lookup = || {
        runtime.block_on(async {
            let srv = resolver.srv_lookup(owner.clone()).await.unwrap();
            let mut addresses = 0;
            for record in srv.answers() {
                if let RData::SRV(s) = &record.data {
                    addresses += resolver
                        .lookup_ip(s.target.clone())
                        .await
                        .unwrap()
                        .iter()
                        .count();
                }
            }
            assert_eq!(addresses, 8);
        })
    };
    lookup();
    (0..3).map(|_| cpu_per_call(n, lookup)).collect()
}

/// Bytes counted for one SRV RRset of four targets with their addresses
/// in the additional section: fed to the machine directly.
fn bytes_per_srv_set() -> (usize, usize) {
    let server: SocketAddr = "192.0.2.53:53".parse().unwrap();
    let config = Config {
        servers: vec![server],
        ..Config::default()
    };
    let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(1));
    let owner = impp_resolver::proto::rr::Name::from_ascii("_im._xmpp.cache.example.").unwrap();
    r.resolve_srv(Instant::ZERO, &owner).unwrap();
    let t = r.poll_transmit().unwrap();
    let q = Message::from_vec(&t.payload).unwrap();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(owner.clone(), RecordType::SRV));
    for (i, label) in ["a", "b", "c", "d"].into_iter().enumerate() {
        let target =
            impp_resolver::proto::rr::Name::from_ascii(format!("{label}.cache.example.")).unwrap();
        m.add_answer(Record::from_rdata(
            owner.clone(),
            3600,
            RData::SRV(SRV::new(10, 10, 5222, target.clone())),
        ));
        let i = i as u8 + 1;
        m.add_additional(Record::from_rdata(
            target.clone(),
            3600,
            RData::A(A::new(192, 0, 2, i)),
        ));
        m.add_additional(Record::from_rdata(
            target,
            3600,
            RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(i))),
        ));
    }
    r.handle_datagram(
        Instant::ZERO,
        t.socket.unwrap(),
        server,
        &m.to_vec().unwrap(),
    );
    assert!(matches!(r.poll_event(), Some(Event::Resolved { .. })));
    let stats = r.stats();
    (stats.cache_entries, stats.cache_bytes)
}

/// Hit ratios of the cache, an exact LRU and a FIFO, each holding
/// `capacity` names, over `accesses` draws from a Zipf(`s`) law over
/// `names` names.
fn eviction(names: usize, capacity: usize, accesses: usize, s: f64) -> (f64, f64, f64) {
    use rand_core::Rng;
    use std::collections::{BTreeMap, HashMap, VecDeque};
    let mut cumulative = Vec::with_capacity(names);
    let mut sum = 0.0;
    for k in 1..=names {
        sum += 1.0 / (k as f64).powf(s);
        cumulative.push(sum);
    }
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let trace: Vec<usize> = (0..accesses)
        .map(|_| {
            let u = (rng.next_u64() as f64 / u64::MAX as f64) * sum;
            cumulative.partition_point(|&c| c < u).min(names - 1)
        })
        .collect();
    // The cache itself, through the machine.
    let server: SocketAddr = "192.0.2.53:53".parse().unwrap();
    let config = Config {
        servers: vec![server],
        cache: Some(impp_resolver::CacheConfig {
            max_entries: capacity,
            max_bytes: usize::MAX,
            ..Default::default()
        }),
        ..Config::default()
    };
    let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(4));
    let owners: Vec<_> = (0..names)
        .map(|i| {
            impp_resolver::proto::rr::Name::from_ascii(format!("_im._xmpp.d{i}.example.")).unwrap()
        })
        .collect();
    let mut hits = 0;
    for &i in &trace {
        r.resolve_srv(Instant::ZERO, &owners[i]).unwrap();
        if let Some(t) = r.poll_transmit() {
            r.handle_datagram(
                Instant::ZERO,
                t.socket.unwrap(),
                server,
                &srv_answer_with_glue(&t.payload, 86_400),
            );
            while r.poll_close_socket().is_some() {}
        } else {
            hits += 1;
        }
        assert!(matches!(r.poll_event(), Some(Event::Resolved { .. })));
        r.poll_timeout();
    }
    // Exact LRU: last use per name, and names by last use.
    let (mut lru_hits, mut last, mut by_use) = (0, HashMap::new(), BTreeMap::new());
    for (t, &i) in trace.iter().enumerate() {
        if let Some(old) = last.insert(i, t) {
            by_use.remove(&old);
            lru_hits += 1;
        } else if last.len() > capacity {
            let (_, evicted) = by_use.pop_first().unwrap();
            last.remove(&evicted);
        }
        by_use.insert(t, i);
    }
    // FIFO: the oldest insertion goes, whatever its use.
    let (mut fifo_hits, mut held, mut queue) =
        (0, std::collections::HashSet::new(), VecDeque::new());
    for &i in &trace {
        if held.contains(&i) {
            fifo_hits += 1;
            continue;
        }
        if held.len() == capacity {
            held.remove(&queue.pop_front().unwrap());
        }
        held.insert(i);
        queue.push_back(i);
    }
    let ratio = |h: usize| h as f64 / accesses as f64;
    (ratio(hits), ratio(lru_hits), ratio(fifo_hits))
}

fn main() {
    // `cargo test --benches` runs this too: then only briefly.
    let n = if std::env::args().any(|a| a == "--bench") {
        hits()
    } else {
        1_000
    };
    let server = zone_server::start(&[("cache.example.", ZONE)]);
    let (by_uri, by_srv) = ours(server, n);
    let theirs = hickory(server, n);
    let (entries, bytes) = bytes_per_srv_set();
    let accesses = if n >= 100_000 { 500_000 } else { 2_000 };
    let show = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("cache hit, CPU µs per whole resolution ({n} each, 3 measures):");
    println!("  ours, resolve_uri:            {}", show(&by_uri));
    println!("  ours, resolve_srv:            {}", show(&by_srv));
    println!("  hickory-resolver, cache warm: {}", show(&theirs));
    println!(
        "  ratio (medians): {:.1}× less CPU by URI, {:.1}× by SRV name",
        median(&theirs) / median(&by_uri),
        median(&theirs) / median(&by_srv)
    );
    println!(
        "one SRV RRset of 4 targets with 8 additional addresses: {entries} entry, {bytes} bytes counted"
    );
    println!("eviction: hit ratio over {accesses} Zipf draws from 100,000 names:");
    for (capacity, skew) in [(1_000, 0.8), (10_000, 0.8), (1_000, 1.0), (10_000, 1.0)] {
        let (ours, lru, fifo) = eviction(100_000, capacity, accesses, skew);
        println!(
            "  {capacity} entries, s = {skew}: CLOCK (ours) {:.4}, LRU {:.4}, FIFO {:.4}",
            ours, lru, fifo
        );
    }
}

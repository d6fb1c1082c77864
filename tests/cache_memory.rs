//! The cache's byte bound, checked with a counting allocator (S27): a
//! million distinct names pass through one resolver, and the heap never
//! holds more than `CacheConfig::max_bytes` plus the documented overhead
//! of the table and the slot array.
//!
//! One test in its own binary, so no other test's allocations count.
//! `CACHE_NAMES=N` changes the million.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use impp_resolver::proto::rr::Name;
use impp_resolver::{CacheConfig, Config, Event, Instant, Resolver};
use impp_test_support::records::{FIRST_SOCKET, srv_answer_with_glue};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters only watch.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the fresh allocation and copy it may be: both at once.
        grew(new_size);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn a_million_names_stay_within_the_byte_bound() {
    let names: u32 = std::env::var("CACHE_NAMES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let cache = CacheConfig {
        // The byte bound is the one that binds.
        max_entries: usize::MAX,
        max_bytes: 8 << 20,
        ..CacheConfig::default()
    };
    let server = "192.0.2.53:53".parse().unwrap();
    let config = Config {
        servers: vec![server],
        cache: Some(cache.clone()),
        // The scheduler remembers this many ended queries (to tell late
        // answers from forged ones): few, so that its memory is not
        // mistaken for the cache's.
        max_queries: 64,
        ..Config::default()
    };
    let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(5));
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut peak_entries = 0;
    for i in 0..names {
        let owner = Name::from_ascii(format!("_xmpp-server._tcp.d{i}.example.")).unwrap();
        r.resolve_srv(Instant::ZERO, &owner).unwrap();
        let t = r.poll_transmit().unwrap();
        let socket = t.socket.unwrap_or(FIRST_SOCKET);
        r.handle_datagram(
            Instant::ZERO,
            socket,
            server,
            &srv_answer_with_glue(&t.payload, 3600),
        );
        assert!(matches!(r.poll_event(), Some(Event::Resolved { .. })));
        while r.poll_close_socket().is_some() {}
        // As a driver does: this also lets go of the timers that ended.
        // What may be left is an idle socket's linger (S28).
        let linger = Some(Instant::from_millis(1_000));
        assert!([None, linger].contains(&r.poll_timeout()));
        peak_entries = peak_entries.max(r.stats().cache_entries);
    }
    let stats = r.stats();
    assert_eq!(stats.cache_insertions, u64::from(names));
    assert!(stats.cache_bytes <= cache.max_bytes, "{stats:?}");
    assert!(stats.cache_evictions > 0, "{stats:?}");
    let peak = PEAK.load(Ordering::Relaxed) - base;
    // The documented overhead beyond max_bytes (CacheConfig::max_bytes):
    // one chunk of empty slots, the table's old copy while it grows, the
    // free list's spare room, and the one resolution in flight: 8 bytes an
    // entry and 64 KiB.
    let overhead = 8 * peak_entries + (64 << 10);
    println!(
        "{names} names: peak heap {peak} bytes, {peak_entries} entries at most \
         ({} bytes counted at the end), bound {} + overhead {overhead}",
        stats.cache_bytes, cache.max_bytes
    );
    assert!(
        peak <= cache.max_bytes + overhead,
        "peak {peak} > {} + {overhead}",
        cache.max_bytes
    );
}

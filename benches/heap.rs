//! Benchmark 3, memory: heap bytes per resolution in flight, measured by a
//! counting global allocator around starting N resolutions (their SRV
//! queries handed out and sent, nothing answered yet). Goal: ≤ 1 KiB.
//!
//! `cargo bench --bench heap` prints one line per N.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use impp_resolver::{Config, Instant, Protocol, Resolver, Uri};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let server: SocketAddr = "192.0.2.53:53".parse().unwrap();
    println!("resolutions in flight | questions | heap bytes per resolution");
    for (n, per_domain) in [(1usize, 1), (1_000, 1), (30_000, 1), (100_000, 4)] {
        let uris: Vec<Uri> = (0..n)
            .map(|i| {
                format!("im:user{i}@d{}.example", i / per_domain)
                    .parse()
                    .unwrap()
            })
            .collect();
        let config = Config {
            servers: vec![server],
            max_queries: 32_768,
            max_outstanding: 32_768,
            // Resolutions in flight only; cached bytes are measured apart.
            cache: None,
            ..Config::default()
        };
        let mut r = Resolver::new(config, ChaCha20Rng::seed_from_u64(1));
        let before = LIVE.load(Ordering::Relaxed);
        for uri in &uris {
            r.resolve_uri(Instant::ZERO, uri, &[Protocol::XMPP], None)
                .unwrap();
            // The caller sends it; the payload's memory is the caller's.
            drop(r.poll_transmit());
        }
        let after = LIVE.load(Ordering::Relaxed);
        let per = (after - before) as f64 / n as f64;
        println!("{n:>21} | {:>9} | {per:.0}", r.stats().queries_in_flight);
    }
}

//! impp-resolver without std, proven: a `#![no_std]` `#![no_main]` binary
//! with its own panic handler and allocator resolves `im:fred@example.com`
//! from answer bytes it holds, prints the endpoints through libc's
//! `write`, and exits 0.
//!
//! If any crate in the dependency graph linked std, this would not build:
//! std brings a second `#[panic_handler]`. `.ci/run` builds and runs it:
//!
//! ```text
//! cargo run --release --manifest-path examples/no_std/Cargo.toml
//! ```
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::alloc::{GlobalAlloc, Layout};
use core::ffi::{CStr, c_char, c_int};
use core::sync::atomic::AtomicUsize;
use core::sync::atomic::Ordering::Relaxed;

use impp_resolver::{Config, Event, Instant, Protocol, Resolver, Uri};
use rand_core::SeedableRng;

/// The C library's allocator, which every hosted target has, counting the
/// bytes live and their peak (for `--footprint`: BENCHMARKS.md).
struct Malloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn count(grown: usize, shrunk: usize) {
    let live = LIVE.fetch_add(grown, Relaxed) + grown - shrunk;
    LIVE.fetch_sub(shrunk, Relaxed);
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: malloc/free/realloc honour the size; alignment beyond what malloc
// guarantees (16 bytes on the targets this runs on) is refused.
unsafe impl GlobalAlloc for Malloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > 16 {
            return core::ptr::null_mut();
        }
        // SAFETY: plain malloc; null on failure is what GlobalAlloc expects.
        let ptr: *mut u8 = unsafe { libc::malloc(layout.size()).cast() };
        if !ptr.is_null() {
            count(layout.size(), 0);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, layout.size());
        // SAFETY: `ptr` came from malloc or realloc above.
        unsafe { libc::free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        if layout.align() > 16 {
            return core::ptr::null_mut();
        }
        // SAFETY: `ptr` came from malloc or realloc above.
        let new: *mut u8 = unsafe { libc::realloc(ptr.cast(), size).cast() };
        if !new.is_null() {
            count(size, layout.size());
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Malloc = Malloc;

fn print(fd: c_int, text: &str) {
    // SAFETY: a valid buffer of `len` bytes.
    unsafe {
        libc::write(fd, text.as_ptr().cast(), text.len());
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    print(2, &format!("panic: {info}\n"));
    // SAFETY: ends the process, as a panic with panic = "abort" would.
    unsafe { libc::abort() }
}

// The precompiled `alloc` of a hosted toolchain refers to the unwinder even
// with panic = "abort"; these are never called.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: as above.
    unsafe { libc::abort() }
}

#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

/// The answer a recursive server gives to the machine's one query (SRV
/// `_im._xmpp.example.com.`, id 0 here): one target, its address in the
/// additional section. Included as bytes, as a device's test vectors would
/// be, so that no DNS encoder is linked into the measured binary
/// (BENCHMARKS.md, "Footprint"); hickory-proto decodes it in the machine.
const ANSWER: [u8; 80] = [
    0x00, 0x00, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, // header
    0x03, b'_', b'i', b'm', 0x05, b'_', b'x', b'm', b'p', b'p', // question
    0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, //
    0x00, 0x21, 0x00, 0x01, // SRV IN
    0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x0d, // SRV, TTL 300
    0x00, 0x00, 0x00, 0x00, 0x14, 0x66, // priority 0, weight 0, port 5222
    0x04, b'x', b'm', b'p', b'p', 0xc0, 0x16, // xmpp.example.com.
    0xc0, 0x39, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, // A, TTL 300
    192, 0, 2, 1,
];

/// [`ANSWER`] with the query's id.
fn answer(query: &[u8]) -> [u8; 80] {
    let mut answer = ANSWER;
    answer[..2].copy_from_slice(&query[..2]);
    answer
}

/// One whole resolution with `config`: its answer, or what went wrong.
fn resolve(config: Config) -> Result<impp_resolver::Answer, String> {
    let mut resolver = Resolver::new(config, rand_chacha::ChaCha20Rng::seed_from_u64(7));
    let uri: Uri = "im:fred@example.com".parse().map_err(|_| "URI")?;
    let id = resolver
        .resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None)
        .map_err(|e| format!("did not start: {e}"))?;
    let mut now = Instant::ZERO;
    loop {
        now = now + core::time::Duration::from_millis(1);
        while let Some(transmit) = resolver.poll_transmit() {
            let socket = transmit.socket.ok_or("a TCP query")?;
            resolver.handle_datagram(now, socket, transmit.server, &answer(&transmit.payload));
        }
        match resolver.poll_event() {
            Some(Event::Resolved { id: done, answer }) if done == id => return Ok(answer),
            Some(Event::Failed { error, .. }) => {
                return Err(format!("{}: {error}", error.kind()));
            }
            _ => {}
        }
        match resolver.poll_timeout() {
            Some(deadline) => resolver.handle_timeout(deadline),
            None => return Err("nothing left to do".into()),
        }
    }
}

/// Peak heap bytes of `f`, over what was live before it.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed) - before)
}

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // A documentation address: nothing is sent anywhere, the answers are
    // handed in by `resolve`.
    let server = "192.0.2.53:53".parse().unwrap();
    let config = Config {
        servers: alloc::vec![server],
        ..Config::default()
    };
    // SAFETY: argv holds argc C strings, as the C runtime passes them.
    let footprint =
        argc > 1 && unsafe { CStr::from_ptr(*argv.add(1)) }.to_bytes() == b"--footprint";
    if footprint {
        // The heap a device plans for: an empty resolver, and the peak of
        // one whole resolution, cache off and with the default cache.
        let (resolver, empty) =
            peak_of(|| Resolver::new(config.clone(), rand_chacha::ChaCha20Rng::seed_from_u64(7)));
        let size = core::mem::size_of_val(&resolver);
        drop(resolver);
        let no_cache = Config {
            cache: None,
            ..config.clone()
        };
        let (a, off) = peak_of(|| resolve(no_cache));
        let (b, on) = peak_of(|| resolve(config));
        if a.is_err() || b.is_err() {
            print(2, "error: a resolution failed\n");
            return 2;
        }
        print(
            1,
            &format!(
                "resolver: {size} bytes, {empty} bytes of heap empty\n\
                 one resolution, peak heap: {off} bytes cache off, {on} bytes default cache\n"
            ),
        );
        return 0;
    }
    match resolve(config) {
        Ok(answer) => {
            print(1, &format!("{answer}"));
            0
        }
        Err(e) => {
            print(2, &format!("error: {e}\n"));
            2
        }
    }
}

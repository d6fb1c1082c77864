//! impp-resolver without std, proven: a `#![no_std]` `#![no_main]` binary
//! with its own panic handler and allocator resolves `im:fred@example.com`
//! from answers it builds in memory, prints the endpoints through libc's
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
use core::ffi::{c_char, c_int};

use impp_resolver::proto::op::{Message, MessageType, OpCode};
use impp_resolver::proto::rr::rdata::{A, SRV};
use impp_resolver::proto::rr::{Name, RData, Record};
use impp_resolver::{Config, Event, Instant, Protocol, Resolver, Uri};
use rand_core::SeedableRng;

/// The C library's allocator, which every hosted target has.
struct Malloc;

// SAFETY: malloc/free/realloc honour the size; alignment beyond what malloc
// guarantees (16 bytes on the targets this runs on) is refused.
unsafe impl GlobalAlloc for Malloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > 16 {
            return core::ptr::null_mut();
        }
        // SAFETY: plain malloc; null on failure is what GlobalAlloc expects.
        unsafe { libc::malloc(layout.size()).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from malloc or realloc above.
        unsafe { libc::free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        if layout.align() > 16 {
            return core::ptr::null_mut();
        }
        // SAFETY: `ptr` came from malloc or realloc above.
        unsafe { libc::realloc(ptr.cast(), size).cast() }
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

/// The answer a recursive server would give to `query`: one SRV target,
/// its address in the additional section.
fn answer(query: &[u8]) -> alloc::vec::Vec<u8> {
    let query = Message::from_vec(query).expect("the machine's query");
    let owner = query.queries[0].name().clone();
    let target = Name::from_ascii("xmpp.example.com.").unwrap();
    let mut m = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_available = true;
    m.add_query(query.queries[0].clone());
    m.add_answer(Record::from_rdata(
        owner,
        300,
        RData::SRV(SRV::new(0, 0, 5222, target.clone())),
    ));
    m.add_additional(Record::from_rdata(
        target,
        300,
        RData::A(A::new(192, 0, 2, 1)),
    ));
    m.to_vec().expect("encodes")
}

#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // A documentation address: nothing is sent anywhere, the answers are
    // handed in below.
    let server = "192.0.2.53:53".parse().unwrap();
    let config = Config {
        servers: alloc::vec![server],
        ..Config::default()
    };
    let mut resolver = Resolver::new(config, rand_chacha::ChaCha20Rng::seed_from_u64(7));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let id = resolver
        .resolve_uri(Instant::ZERO, &uri, &[Protocol::XMPP], None)
        .unwrap();
    let mut now = Instant::ZERO;
    loop {
        now = now + core::time::Duration::from_millis(1);
        while let Some(transmit) = resolver.poll_transmit() {
            let socket = transmit.socket.expect("UDP");
            resolver.handle_datagram(now, socket, transmit.server, &answer(&transmit.payload));
        }
        match resolver.poll_event() {
            Some(Event::Resolved { id: done, answer }) if done == id => {
                let mut out = String::new();
                out += &format!("{answer}");
                print(1, &out);
                return 0;
            }
            Some(Event::Failed { error, .. }) => {
                print(2, &format!("error: {}: {error}\n", error.kind()));
                return 2;
            }
            _ => {}
        }
        match resolver.poll_timeout() {
            Some(deadline) => resolver.handle_timeout(deadline),
            None => return 3,
        }
    }
}

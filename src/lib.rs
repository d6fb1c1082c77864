//! A sans-IO resolver for instant-messaging and presence addresses.
//!
//! `impp-resolver` turns `im:alice@example.com` or `pres:bob@example.org`
//! into the ordered list of servers that accept them, as RFC 3861 describes:
//! SRV lookups of `_im._xmpp.example.com` and friends, RFC 2782
//! priority/weight ordering, and the addresses of each target.
//!
//! The core is a pure state machine (`no_std` + `alloc`): it emits DNS
//! query packets and consumes answers through a byte-level interface. The
//! caller owns the sockets, the clock and the random generator. Answers come
//! in through [`Resolver::handle_datagram`] (UDP), [`Resolver::handle_stream`]
//! and [`Resolver::handle_stream_closed`] (TCP). Each UDP query names the
//! local socket it leaves from ([`SocketId`]: a fresh port every
//! `Config::queries_per_socket` queries, S28), and a datagram is handed in
//! with the socket it arrived on; a datagram that could not be sent goes
//! back through [`Resolver::handle_send_failed`]. After every `handle_*`
//! call, drain [`Resolver::poll_transmit`], [`Resolver::poll_close`],
//! [`Resolver::poll_close_socket`], [`Resolver::poll_progress`] and
//! [`Resolver::poll_event`] (progress before events: the one order that
//! matters), then ask [`Resolver::poll_timeout`] when to call
//! [`Resolver::handle_timeout`]. Every started resolution ends with exactly
//! one [`Event`], by its deadline, unless [`Resolver::cancel`]led.
//! [`Resolver`]'s own documentation gives the rules a TCP driver follows.
//!
//! The machine keeps the answers it vets for their lifetime (S26, on by
//! default, bounded: [`CacheConfig`]): a repeated resolution is answered
//! from memory, its event ready when `resolve_*` returns, with no packet.
//! Serve-stale (S31, [`ServeStale`]) is there to turn on.
//!
//! With the `std` feature, [`Clock`] gives the machine's time from the
//! system's monotonic clock, [`os_rng`] an OS-seeded generator, and
//! [`blocking::Client`] a ready-made driver that runs many resolutions at
//! once over UDP and TCP. With the `tokio` feature, `tokio::Client` does
//! the same as a task on a tokio runtime, for `async` callers.
//!
//! ```
//! use impp_resolver::{Config, ErrorKind, Event, Instant, Protocol, Resolver, Uri};
//!
//! let config = Config {
//!     servers: vec!["192.0.2.53:53".parse().unwrap()],
//!     ..Config::default()
//! };
//! // Every random number the machine draws (query ids, the SRV order) comes
//! // from this generator: OS-seeded ChaCha20 here (feature `std`); any
//! // `rand_core::CryptoRng` will do, and a seeded one replays a run.
//! let rng = impp_resolver::os_rng().expect("OS randomness");
//! let mut resolver = Resolver::new(config, rng);
//! let uri: Uri = "im:alice@example.com".parse().unwrap();
//! let now = Instant::ZERO;
//! let id = resolver
//!     .resolve_uri(now, &uri, &[Protocol::XMPP, Protocol::SIP], None)
//!     .unwrap();
//!
//! // Send what the machine asks for (here: the two SRV queries)...
//! while let Some(transmit) = resolver.poll_transmit() {
//!     assert_eq!(transmit.server, "192.0.2.53:53".parse().unwrap());
//!     // sockets[transmit.socket.unwrap()].send(&transmit.payload), connected to transmit.server
//! }
//! // ...feed back what arrives with `handle_datagram`, and the time with
//! // `handle_timeout`. Here no server ever answers:
//! while let Some(deadline) = resolver.poll_timeout() {
//!     resolver.handle_timeout(deadline);
//!     while resolver.poll_transmit().is_some() {}
//! }
//! match resolver.poll_event() {
//!     Some(Event::Failed { id: ended, error }) => {
//!         assert_eq!(ended, id);
//!         assert_eq!(error.kind(), ErrorKind::Timeout);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! # Module map
//!
//! One concept a file, one layer a folder; the SPEC.md rules each holds
//! are named after it. Data flows from the top of this list down to the
//! wire and back, and each module imports only from those below it
//! (`python3 ../shared/tools/layers.py` finds no circle).
//!
//! - [`uri`]: `im:`/`pres:` URIs (S1–S5).
//! - [`service`]: SRV owner names such as `_im._xmpp.example.com.` (S6–S8).
//! - `resolver/`: the machine, [`Resolver`] (S27), in `mod.rs`; beside it
//!   `plan.rs`, one resolution's lookups and stages (S7, S11, S14–S17,
//!   S25); `hit.rs`, a resolution the cache answers whole; `waiters.rs`,
//!   which resolutions wait on which question (S24).
//! - [`connect`]: connecting to the endpoints found, Happy Eyeballs over
//!   SRV, [`connect::Connector`] (S29).
//! - `event`: what a resolution hands back: [`Event`], [`Answer`],
//!   [`Endpoint`], [`Via`] (S13, S17).
//! - `cache`: what answers teach, kept for their lifetime, bounded (S26,
//!   S27, S31).
//! - `scheduler/`: one question's life on the wire, in `mod.rs`: ids,
//!   servers, attempts, UDP and TCP, matching answers, how many are asked
//!   at once (S18–S24, S27); `rtt.rs`, round-trip estimates per server
//!   (S23); `sockets.rs`, which local UDP socket each query leaves from,
//!   [`SocketId`] (S28); `timer.rs`, deadlines with lazy deletion.
//! - [`srv`]: RFC 2782 ordering of one SRV RRset (S9–S12).
//! - `wire/`: the only code that reads or writes DNS messages, through
//!   hickory-proto: `message.rs` (S12, S18–S22, S25, S27, S32), `name.rs`
//!   (names compared and hashed without case, 0x20: S12, S20, S24),
//!   `tcp.rs` (the length prefix and reassembly: S22, S27).
//! - [`sim`] (feature `sim`): a simulated DNS network in virtual time, for
//!   users' own tests: zones, faults, a forger, one seed.
//! - `dane` (feature `dane`): a certificate chain against an endpoint's
//!   TLSA records (S37).
//! - `error`: [`StartError`], [`Error`], [`ServerFailure`] (S16, S23, S27,
//!   S32).
//! - `stats`: [`Stats`] counters (S19, S27).
//! - `config`: [`Config`], [`CacheConfig`] and the rest of the settings
//!   (S21–S23, S26, S27, S31); it imports nothing else of the crate.
//! - `time`: the caller's clock, [`Instant`] (and [`Clock`], feature `std`).
//! - `rng` (feature `std`): [`DefaultRng`] and [`os_rng`].
//! - `driver/` (feature `std`): the machine over real sockets —
//!   [`blocking`] on `mio`, `tokio` (feature `tokio`) as a tokio task —
//!   and what both share in `mod.rs`: resolv.conf, a UDP socket of the
//!   server's family, the read budgets (S27), [`DriverError`]. The core
//!   never imports from it.
#![cfg_attr(not(feature = "std"), no_std)]
// docs.rs shows which items need which feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

mod cache;
mod config;
pub mod connect;
#[cfg(feature = "dane")]
pub mod dane;
mod error;
mod event;
mod map;
mod resolver;
mod scheduler;
pub mod service;
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;
pub mod srv;
mod stats;
mod time;
pub mod uri;
mod wire;

#[cfg(feature = "std")]
mod driver;
#[cfg(feature = "std")]
mod rng;

#[cfg(feature = "std")]
pub use driver::blocking;
#[cfg(feature = "tokio")]
pub use driver::tokio;

pub use config::{
    AddressOrder, CacheConfig, Config, Dnssec, MAX_SERVERS, ServeStale, Transport, TrustAd,
};
#[cfg(feature = "std")]
pub use driver::DriverError;
pub use error::{Error, ErrorKind, ExtendedError, ServerFailure, StartError};
pub use event::{Answer, Endpoint, Event, Progress, ResolutionId, Security, SecurityStatus, Via};
pub use resolver::Resolver;
#[cfg(feature = "std")]
pub use rng::{DefaultRng, os_rng};
pub use scheduler::Transmit;
pub use scheduler::sockets::SocketId;
pub use service::{NameError, Protocol};
pub use srv::{SrvOrder, SrvRecord, order_srv};
pub use stats::{ServerStatus, Stats};
#[cfg(feature = "std")]
pub use time::Clock;
pub use time::Instant;

/// The rand_core crate (0.10) whose `CryptoRng` the [`Resolver`] takes.
pub use rand_core;
pub use uri::{Mailbox, Scheme, Uri, UriError, UriErrorKind};

/// The hickory-proto crate this one speaks DNS with, for its [`Name`](proto::rr::Name) type.
pub use hickory_proto as proto;

/// The README's code blocks, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

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
//! with the socket it arrived on. After every `handle_*` call,
//! drain [`Resolver::poll_transmit`], [`Resolver::poll_close`],
//! [`Resolver::poll_close_socket`] and
//! [`Resolver::poll_event`], then ask [`Resolver::poll_timeout`] when to call
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
//!     .resolve_uri(&uri, &[Protocol::XMPP, Protocol::SIP], None, now)
//!     .unwrap();
//!
//! // Send what the machine asks for (here: the two SRV queries)...
//! while let Some(transmit) = resolver.poll_transmit() {
//!     assert_eq!(transmit.server, "192.0.2.53:53".parse().unwrap());
//!     // sockets[transmit.socket.unwrap()].send_to(&transmit.payload, transmit.server)
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
//! One concept a file; the SPEC.md rules each holds are named after it.
//! Data flows from the top of this list down to the wire and back.
//!
//! - [`uri`]: `im:`/`pres:` URIs (S1–S5).
//! - [`service`]: SRV owner names such as `_im._xmpp.example.com.` (S6–S8).
//! - [`srv`]: RFC 2782 ordering of one SRV RRset (S9–S12).
//! - `resolver`: the public state machine, [`Resolver`] (S27).
//! - `plan`: one resolution's lookups and stages (S7, S11, S14–S17, S25).
//! - `event`: what a resolution hands back: [`Event`], [`Answer`],
//!   [`Endpoint`], [`Via`] (S13, S17).
//! - `cache`: answers kept for their lifetime, bounded (S26, S27).
//! - `hit`: a resolution the cache answers whole, without the plan.
//! - `waiters`: which resolutions wait on which question (S24).
//! - `scheduler`: the question scheduler: ids, servers, attempts, UDP and
//!   TCP, matching answers, how many are asked at once (S18–S24, S27).
//! - `sockets`: which local UDP socket each query leaves from,
//!   [`SocketId`] (S28).
//! - `rtt`: round-trip estimates per server, for timeouts and server order
//!   (S23).
//! - `tcp`: the TCP length prefix and reassembly (S22, S27).
//! - `message`: the only code that reads or writes DNS messages, through
//!   hickory-proto (S12, S18–S22, S25, S27, S32).
//! - [`connect`]: connecting to the endpoints found, Happy Eyeballs over
//!   SRV, [`connect::Connector`] (S29).
//! - `timer`: deadlines with lazy deletion.
//! - `config`: [`Config`] and [`Transport`] (S21–S23, S27).
//! - `error`: [`StartError`], [`Error`], [`ServerFailure`] (S16, S23, S27,
//!   S32).
//! - `stats`: [`Stats`] counters (S19, S27).
//! - `time`: the caller's clock, [`Instant`] (and [`Clock`], feature `std`).
//! - `rng` (feature `std`): [`DefaultRng`] and [`os_rng`].
//! - `blocking` (feature `std`): a driver over real sockets, on `mio`.
//! - `tokio` (feature `tokio`): a driver as a tokio task, for async code.
#![cfg_attr(not(feature = "std"), no_std)]
// docs.rs shows which items need which feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

mod cache;
mod config;
pub mod connect;
mod error;
mod event;
mod hit;
mod message;
mod plan;
mod resolver;
mod rtt;
mod scheduler;
pub mod service;
mod sockets;
pub mod srv;
mod stats;
mod tcp;
mod time;
mod timer;
pub mod uri;
mod waiters;

#[cfg(feature = "std")]
pub mod blocking;
#[cfg(feature = "std")]
mod rng;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use cache::{CacheConfig, ServeStale};
pub use config::{AddressOrder, Config, MAX_SERVERS, Transport};
#[cfg(feature = "std")]
pub use error::DriverError;
pub use error::{Error, ErrorKind, ExtendedError, ServerFailure, StartError};
pub use event::{Answer, Endpoint, Event, Progress, ResolutionId, Via};
pub use resolver::Resolver;
#[cfg(feature = "std")]
pub use rng::{DefaultRng, os_rng};
pub use scheduler::Transmit;
pub use service::{NameError, Protocol};
pub use sockets::SocketId;
pub use srv::{SrvOrder, SrvRecord, order_srv};
pub use stats::Stats;
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

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
//! and [`Resolver::handle_stream_closed`] (TCP). After every `handle_*` call,
//! drain [`Resolver::poll_transmit`], [`Resolver::poll_close`] and
//! [`Resolver::poll_event`], then ask [`Resolver::poll_timeout`] when to call
//! [`Resolver::handle_timeout`]. Every started resolution ends with exactly
//! one [`Event`], by its deadline, unless [`Resolver::cancel`]led.
//!
//! ```
//! use impp_resolver::{Config, Event, Instant, Protocol, Resolver, Uri};
//! # use rand_chacha::ChaCha20Rng; use rand_core::SeedableRng;
//! # let rng = ChaCha20Rng::seed_from_u64(1); // use an OS-seeded CSPRNG in real code
//! let config = Config {
//!     servers: vec!["192.0.2.53:53".parse().unwrap()],
//!     ..Config::default()
//! };
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
//!     // socket.send_to(&transmit.payload, transmit.server)
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
//!         assert_eq!(error.kind(), "timeout");
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! Module map (each holds the SPEC rules named):
//! [`uri`] S1–S5, [`service`] S6–S8, [`srv`] S9–S13, `message` S12 S18–S22,
//! `transport` S18–S24 S27, `config` S21–S23 S27, `resolver` S7 S11 S14–S17 S25.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

mod config;
mod error;
mod message;
mod resolver;
pub mod service;
pub mod srv;
mod time;
mod transport;
pub mod uri;

#[cfg(feature = "std")]
pub mod blocking;

pub use config::{AddressOrder, Config, MAX_SERVERS};
pub use error::{Error, ServerFailure};
pub use resolver::{Answer, Endpoint, Event, ResolutionId, Resolver, Via};
pub use service::{NameError, Protocol};
pub use srv::{SrvOrder, SrvRecord, order_srv};
pub use time::Instant;
pub use transport::{Stats, Transmit, Transport};
pub use uri::{Mailbox, Scheme, Uri, UriError, UriErrorKind};

/// The hickory-proto crate this one speaks DNS with, for its [`Name`](proto::rr::Name) type.
pub use hickory_proto as proto;

/// The README's code blocks, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

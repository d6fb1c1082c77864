//! A simulated DNS network for testing code that uses the resolver
//! (feature `sim`): zones from master-file text or records, servers that
//! answer from them as authoritative servers do and misbehave on purpose
//! (loss, duplication, reordering, delay, silence, errors with an EDE,
//! truncation, closed and split TCP streams), an off-path forger, and a
//! driver that runs a [`Resolver`](crate::Resolver) in virtual time. No
//! sockets, no clock: a seed replays a run exactly.
//!
//! ```
//! use impp_resolver::sim::{Chance, Faults, Network, Server, Simulation, Zone};
//! use impp_resolver::{Config, Event, Protocol, Resolver, Uri};
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//!
//! // A master file: a line that starts with blanks continues the owner
//! // above, so each record here starts its own line.
//! let text = "@ 300 IN SOA ns hostmaster 1 3600 600 86400 60\n\
//!             _im._xmpp 300 IN SRV 0 0 5222 chat\n\
//!             chat 300 IN A 192.0.2.1\n";
//! let zone = Zone::parse("example.com.", text).unwrap();
//! let server = Server::new("192.0.2.53:53".parse().unwrap(), vec![zone])
//!     .with_faults(Faults::lossy(Chance::percent(30)));
//! let network = Network::new(vec![server]);
//! let config = Config { servers: network.addresses(), ..Config::default() };
//! let resolver = Resolver::new(config, ChaCha20Rng::seed_from_u64(1));
//! let mut sim = Simulation::new(resolver, network, 7);
//! let uri: Uri = "im:alice@example.com".parse().unwrap();
//! sim.resolve_uri(&uri, &[Protocol::XMPP], None).unwrap();
//! sim.run().unwrap();
//! // Exactly one event, whatever the loss did.
//! assert_eq!(sim.events().len(), 1);
//! if let (_, Event::Resolved { answer, .. }) = &sim.events()[0] {
//!     assert_eq!(answer.endpoints[0].port, 5222);
//! }
//! ```
//!
//! [`reply_to`] answers one [`Transmit`] from zones, for tests that drive
//! the resolver by hand.

mod network;
mod simulation;
mod zone;

use alloc::vec::Vec;

pub use network::{Chance, Failure, Faults, Forger, Network, Planted, Server};
pub use simulation::{Anomaly, Counts, Packet, PacketKind, Simulation, Unsettled};
pub use zone::{Reply, Zone, ZoneError, answer};

use crate::Transmit;
use crate::Transport;

/// The bytes an authoritative server holding `zones` sends back for
/// `transmit`, framed as it came (with the length prefix over TCP), for
/// the resolver's `handle_datagram` or `handle_stream`: [`answer`] without
/// faults. `None` if the transmit holds no DNS query.
pub fn reply_to(transmit: &Transmit, zones: &[Zone]) -> Option<Vec<u8>> {
    match transmit.transport {
        Transport::Udp => answer(zones, &transmit.payload, false)?.to_vec().ok(),
        Transport::Tcp => {
            let query = transmit.payload.get(2..)?;
            let reply = answer(zones, query, true)?.to_vec().ok()?;
            let len = u16::try_from(reply.len()).ok()?;
            let mut framed = Vec::with_capacity(2 + reply.len());
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&reply);
            Some(framed)
        }
    }
}

//! What impp-resolver's tests, benches, examples and fuzz targets share,
//! written once: record and message builders, the scripted DNS world that
//! drives the machine through virtual time, a real DNS server on loopback,
//! the load generator, and the fuzz targets' invariant checkers.
//!
//! Not published; a dev-dependency of the crate and a dependency of `fuzz/`.

pub mod records;
pub mod scripted;

#[cfg(feature = "server")]
pub mod busy_server;
#[cfg(feature = "fuzz")]
pub mod checks;
#[cfg(feature = "server")]
pub mod dnssec_lab;
#[cfg(feature = "server")]
pub mod flood;
#[cfg(feature = "server")]
pub mod loadgen;
#[cfg(feature = "server")]
pub mod script_server;
#[cfg(feature = "server")]
pub mod zone_server;

//! A tour that works offline: starts a real DNS server (hickory-server) on a
//! loopback port serving `examples/demo.zone`, then resolves a few URIs
//! against it over real UDP and prints each result as `resolve` would.
//!
//! ```text
//! cargo run --example demo
//! ```

use std::time::Duration;

use impp_resolver::DriverError;
use impp_resolver::blocking;
use impp_resolver::{Config, Protocol, Uri};
use impp_test_support::zone_server;

fn main() {
    let server = zone_server::start(&[("example.com.", include_str!("demo.zone"))]);
    println!("# DNS server for example.com listening on {server} (UDP and TCP)");
    let config = Config {
        servers: vec![server],
        resolution_timeout: Duration::from_secs(5),
        ..Config::default()
    };
    let cases: &[(&str, Option<u16>)] = &[
        ("im:alice@example.com", None),
        ("pres:bob@example.com", None),
        ("im:carol@closed.example.com", Some(5222)),
        ("im:dave@nowhere.example.com", None),
        ("im:", None),
    ];
    for (text, fallback) in cases {
        println!();
        match fallback {
            Some(port) => println!("$ resolve --fallback-port {port} {text}"),
            None => println!("$ resolve {text}"),
        }
        let uri: Uri = match text.parse() {
            Ok(uri) => uri,
            Err(e) => {
                println!("error: invalid-uri: {text}: {e}");
                continue;
            }
        };
        match blocking::resolve_uri(
            config.clone(),
            &uri,
            &[Protocol::XMPP, Protocol::SIP],
            *fallback,
        ) {
            Ok(answer) => print!("{answer}"),
            Err(DriverError::Start(e)) => println!("error: {}: {e}", e.kind()),
            Err(DriverError::Resolve(e)) => println!("error: {}: {e}", e.kind()),
            Err(DriverError::Io(e)) => println!("error: io: {e}"),
            Err(DriverError::Connect(e)) => println!("error: connect: {e}"),
        }
    }
}

//! A property test of your own code over simulated hostile networks: the
//! template to copy (feature `sim`, and `arbitrary` to draw networks).
//!
//! ```text
//! cargo run --release --example property_test -- [--seeds N] [--loss PERCENT]
//! ```
//!
//! The code under test is [`plan`]: what an XMPP server might do with each
//! resolution's outcome (connect, retry later, give up). For every seed a
//! whole network is drawn with `Network::arbitrary_for` (one to three
//! servers, each with its own loss, duplication, delays, silence, errors,
//! truncation and TCP faults, and now and then an off-path forger);
//! `--loss` sets every server's loss instead. Every URI below is resolved
//! on it in virtual time, and these must hold:
//!
//! - each resolution ends with exactly one event, by its deadline;
//! - `plan` connects only to addresses the zones hold (never a forger's);
//! - `plan` gives up only on a name the zones say has no service.
//!
//! Prints `seeds: N, resolutions: R, violations: V`, then how the
//! resolutions came out and how many forged answers arrived, the first few
//! violations with their seeds (`SIM_SEED`-style replay: the same seed
//! gives the same run), and exits 0 when V is 0.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use arbitrary::Unstructured;
use impp_resolver::proto::rr::RData;
use impp_resolver::sim::{Chance, Network, Simulation, Zone};
use impp_resolver::{Config, ErrorKind, Event, Protocol, ResolutionId, Resolver, Uri};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// The zone your tests need; here, a few shapes of real XMPP domains.
const ZONE: &str = "\
$ORIGIN example.com.
$TTL 300
@                  IN SOA   ns hostmaster 1 3600 600 86400 60
_im._xmpp          IN SRV   10 60 5222 a
_im._xmpp          IN SRV   10 20 5222 b
_im._xmpp          IN SRV   20 0  5269 c
a                  IN A     192.0.2.1
a                  IN AAAA  2001:db8::1
b                  IN A     192.0.2.2
c                  IN AAAA  2001:db8::3
_im._xmpp.alias    IN SRV   0 0 5222 chat
chat               IN CNAME a
_im._xmpp.closed   IN SRV   0 0 0 .
nosrv              IN A     192.0.2.9
";

/// The URIs resolved on every network, and whether the zone gives them a
/// service at all.
const URIS: [(&str, bool); 5] = [
    ("im:alice@example.com", true),
    ("im:bob@alias.example.com", true),
    ("im:carol@closed.example.com", false),
    ("im:dave@nosrv.example.com", false),
    ("im:erin@missing.example.com", false),
];

/// The code under test: what to do with a resolution's outcome.
#[derive(Debug)]
enum Plan {
    Connect(Vec<SocketAddr>),
    RetryIn(Duration),
    GiveUp,
}

fn plan(event: &Event) -> Plan {
    match event {
        Event::Resolved { answer, .. } => {
            let targets: Vec<SocketAddr> = answer
                .endpoints
                .iter()
                .flat_map(|e| e.addresses.iter().map(|ip| SocketAddr::new(*ip, e.port)))
                .collect();
            if targets.is_empty() {
                Plan::RetryIn(Duration::from_secs(60))
            } else {
                Plan::Connect(targets)
            }
        }
        Event::Failed { error, .. } => match error.kind() {
            ErrorKind::NxDomain | ErrorKind::NoData | ErrorKind::Unavailable => Plan::GiveUp,
            _ => Plan::RetryIn(Duration::from_secs(30)),
        },
    }
}

fn main() -> ExitCode {
    let (seeds, loss) = match flags() {
        Ok(flags) => flags,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let zones = vec![Zone::parse("example.com.", ZONE).expect("the zone parses")];
    let addresses: BTreeSet<IpAddr> = zones[0]
        .records()
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
            _ => None,
        })
        .collect();
    let mut resolutions = 0;
    let mut violations = Vec::new();
    // What the runs did, so that a pass is seen to mean something.
    let (mut connected, mut retried, mut given_up, mut forged) = (0, 0, 0, 0);
    for seed in 0..seeds {
        let network = match draw_network(&zones, seed, loss) {
            Ok(network) => network,
            Err(e) => {
                eprintln!("error: seed {seed}: no network drawn: {e}");
                return ExitCode::from(2);
            }
        };
        let config = Config {
            servers: network.addresses(),
            resolution_timeout: Duration::from_secs(10),
            ..Config::default()
        };
        let deadline = config.resolution_timeout;
        let resolver = Resolver::new(config, ChaCha20Rng::seed_from_u64(seed));
        let mut sim = Simulation::new(resolver, network, seed);
        let mut started: BTreeMap<ResolutionId, (&str, bool)> = BTreeMap::new();
        for (uri, served) in URIS {
            let parsed: Uri = uri.parse().expect("the URIs parse");
            match sim.resolve_uri(&parsed, &[Protocol::XMPP], None) {
                Ok(id) => {
                    started.insert(id, (uri, served));
                }
                Err(e) => violations.push(format!("seed {seed}: {uri} did not start: {e}")),
            }
        }
        resolutions += started.len();
        if let Err(e) = sim.run() {
            violations.push(format!("seed {seed}: {e}"));
            continue;
        }
        forged += sim.counts().forged;
        let mut ended = BTreeMap::new();
        for (at, event) in sim.events() {
            let id = match event {
                Event::Resolved { id, .. } | Event::Failed { id, .. } => *id,
            };
            let Some(&(uri, served)) = started.get(&id) else {
                violations.push(format!(
                    "seed {seed}: an event for no resolution: {event:?}"
                ));
                continue;
            };
            *ended.entry(id).or_insert(0) += 1;
            // Every resolution started at time zero.
            if at.as_micros() > u64::try_from(deadline.as_micros()).unwrap_or(u64::MAX) {
                violations.push(format!(
                    "seed {seed}: {uri} ended at {at:?}, past its deadline"
                ));
            }
            match plan(event) {
                Plan::Connect(targets) => {
                    connected += 1;
                    if !served {
                        violations.push(format!("seed {seed}: {uri} connects: {targets:?}"));
                    }
                    for target in targets {
                        if !addresses.contains(&target.ip()) {
                            violations.push(format!("seed {seed}: {uri} connects to {target}"));
                        }
                    }
                }
                Plan::GiveUp if served => {
                    violations.push(format!("seed {seed}: {uri} given up: {event:?}"));
                }
                Plan::GiveUp => given_up += 1,
                Plan::RetryIn(wait) if wait < Duration::from_secs(30) => {
                    violations.push(format!("seed {seed}: {uri} retried in {wait:?}"));
                }
                Plan::RetryIn(_) => retried += 1,
            }
        }
        for (id, (uri, _)) in &started {
            match ended.get(id) {
                Some(1) => {}
                Some(n) => violations.push(format!("seed {seed}: {uri} ended {n} times")),
                None => violations.push(format!("seed {seed}: {uri} never ended")),
            }
        }
    }
    println!(
        "seeds: {seeds}, resolutions: {resolutions}, violations: {}",
        violations.len()
    );
    println!(
        "outcomes: {connected} connect, {retried} retry, {given_up} give up; \
         {forged} forged answers delivered"
    );
    for violation in violations.iter().take(10) {
        println!("{violation}");
    }
    if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A hostile network drawn from the seed: the bytes a fuzzer would give,
/// made by a seeded generator. `loss` (percent), if given, is every
/// server's loss.
fn draw_network(zones: &[Zone], seed: u64, loss: Option<u8>) -> arbitrary::Result<Network> {
    let mut bytes = vec![0; 512];
    ChaCha20Rng::seed_from_u64(seed ^ 0x5eed).fill_bytes(&mut bytes);
    let mut network = Network::arbitrary_for(zones, &mut Unstructured::new(&bytes))?;
    if let Some(loss) = loss {
        for server in &mut network.servers {
            server.faults.loss = Chance::percent(loss);
        }
    }
    Ok(network)
}

fn flags() -> Result<(u64, Option<u8>), lexopt::Error> {
    use lexopt::prelude::*;
    let (mut seeds, mut loss) = (1_000, None);
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("seeds") => seeds = parser.value()?.parse()?,
            Long("loss") => {
                let percent: u8 = parser.value()?.parse()?;
                if percent > 100 {
                    return Err("--loss takes a percentage, 0 to 100".into());
                }
                loss = Some(percent);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok((seeds, loss))
}

//! A load generator: resolves `im:`/`pres:` URIs against one DNS server as
//! fast as it answers, `--concurrency` at a time, and reports throughput and
//! client CPU per lookup. For sizing a deployment, and the driver of
//! benchmark 4 (`benches/end_to_end.rs`).
//!
//! ```text
//! cargo run --release --example loadgen -- --server IP:PORT \
//!     --concurrency C --count N [--cache] [--socket-drops] URI...
//! ```
//!
//! URIs are resolved round-robin with the default protocols (`_xmpp`, then
//! `_sip`): SRV and the addresses of every target, as `resolve` does; one
//! lookup is one full resolution. Failed resolutions are counted by kind.
//! Before the last two lines come the latency percentiles of the
//! resolutions that ended (`latency-ms p50: X`, then p90, p99 and max), then
//! `queries: N`, the queries sent; the last two lines are `lookups/s: X`
//! and `cpu-us/lookup: Y`.
//!
//! The cache is off unless `--cache` is given, so that every lookup goes
//! to the server and runs compare; with it, a name's later lookups are
//! answered from memory for as long as its records live.
//!
//! `--socket-drops` also counts the datagrams the OS dropped on each of
//! its own sockets, with a system call as each closes; that CPU is in the
//! run's, so it is off by default and the OS-wide count is given instead.

use std::net::SocketAddr;
use std::process::ExitCode;

use impp_resolver::Uri;
use impp_test_support::loadgen::{self, Counting};

const USAGE: &str =
    "usage: loadgen --server IP:PORT --concurrency C --count N [--cache] [--socket-drops] URI...";

/// What the command line asks for.
struct Args {
    server: SocketAddr,
    concurrency: usize,
    count: u64,
    cache: bool,
    socket_drops: bool,
    uris: Vec<Uri>,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let (mut server, mut concurrency, mut count, mut uris) = (None, 1, 1000, Vec::new());
    let (mut cache, mut socket_drops) = (false, false);
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("server") => server = Some(parser.value()?.parse()?),
            Long("concurrency") => concurrency = parser.value()?.parse()?,
            Long("count") => count = parser.value()?.parse()?,
            Long("cache") => cache = true,
            Long("socket-drops") => socket_drops = true,
            Value(text) => {
                let text = text.string()?;
                uris.push(text.parse().map_err(|e| format!("{text}: {e}"))?);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    if concurrency == 0 || count == 0 {
        return Err("--concurrency and --count must be above zero".into());
    }
    if uris.is_empty() {
        return Err("at least one URI is required".into());
    }
    Ok(Args {
        server: server.ok_or("--server is required")?,
        concurrency,
        count,
        cache,
        socket_drops,
        uris,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => {
            eprintln!("loadgen: {problem}\n{USAGE}");
            return ExitCode::from(1);
        }
    };
    let config = loadgen::config(args.server, args.cache);
    let counting = match args.socket_drops {
        true => Counting::SocketDrops,
        false => Counting::Lookups,
    };
    let report = match loadgen::run_with(config, args.concurrency, args.count, &args.uris, counting)
    {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: io: {e}");
            return ExitCode::from(2);
        }
    };
    println!("lookups: {}", report.lookups);
    println!("failed: {} {:?}", report.failures(), report.failed);
    println!(
        "queries/lookup: {:.2}",
        report.queries as f64 / report.lookups as f64
    );
    // Questions asked again (S23), and of those, resends the server
    // answered the first send of after all: it was busy, not lossy.
    println!("re-asked: {}", report.retransmissions);
    println!("re-asked-needlessly: {}", report.spurious_resends);
    println!("re-asks-held: {}", report.resends_held);
    for server in &report.servers {
        let (srtt, rttvar) = server.round_trip.unwrap_or_default();
        println!(
            "server {}: window {}, srtt {:.1} ms, rttvar {:.1} ms, timeout {:.1} ms",
            server.address,
            server.window,
            srtt.as_secs_f64() * 1e3,
            rttvar.as_secs_f64() * 1e3,
            server.timeout.as_secs_f64() * 1e3
        );
    }
    println!("wall-s: {:.3}", report.elapsed.as_secs_f64());
    // Answers the OS dropped because a socket's receive buffer was full:
    // the cause, where timeouts are only the symptom.
    let shown = |drops: Option<u64>| drops.map_or("unknown".to_string(), |d| d.to_string());
    println!(
        "os-receive-buffer-drops: {} (on this machine)",
        shown(report.os_drops)
    );
    match report.own_drops {
        Some(drops) => println!("own-socket-drops: {drops}"),
        None => println!("own-socket-drops: not counted (--socket-drops counts them)"),
    }
    // What loss costs: latencies of the resolutions that ended.
    for (label, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
        let latency = report.latency_percentile(p);
        println!("latency-ms {label}: {:.1}", latency.as_secs_f64() * 1e3);
    }
    println!("queries: {}", report.queries);
    println!("lookups/s: {:.0}", report.lookups_per_sec());
    println!("cpu-us/lookup: {:.1}", report.cpu_us_per_lookup());
    ExitCode::SUCCESS
}

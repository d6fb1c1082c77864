//! Benchmark 4: end to end over loopback against a real DNS server in a
//! separate process (hickory-server serving a generated zone of 100
//! domains, each with two SRV targets and their A and AAAA records).
//!
//! Ours (the `loadgen` example's single-threaded mio loop), our tokio
//! driver (`impp_resolver::tokio::Client`, current-thread runtime, a task
//! per lookup) and hickory-resolver 0.26 (tokio current-thread runtime,
//! cache off, A and AAAA) do the same work in the same run: SRV for `_im._xmpp` and `_im._sip`
//! of a domain at once, then the addresses of every target not given in the
//! additional section. Reported: lookups/s and client CPU (getrusage) per
//! lookup at concurrency 1 and 64. Goal: our CPU per lookup ≥ 2× lower.
//!
//! `cargo bench --bench end_to_end` (`E2E_COUNT=N` lookups per run, default
//! 20 000; `E2E_RUNS=R` runs of each, default 3: median and range;
//! `E2E_CONCURRENCY=64,1024,4096` the levels, default 1 and 64;
//! `E2E_DOMAINS=N` domains served and asked, default 100).
//!
//! The scale runs (thousands in flight, BENCHMARKS.md §4):
//! `E2E_DOMAINS=20000 E2E_CONCURRENCY=64,1024,4096 E2E_RUNS=1 cargo bench --bench end_to_end`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use hickory_resolver::Resolver;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use impp_resolver::Uri;
use impp_test_support::busy_server::BusyServer;
use impp_test_support::loadgen::{self, Report, cpu_time};
use impp_test_support::zone_server;

const DOMAINS: usize = 100;

/// Domains in the served zone: `DOMAINS`, or `E2E_DOMAINS` for the scale
/// runs, where thousands in flight must not share questions.
fn domains() -> usize {
    std::env::var("E2E_DOMAINS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(DOMAINS)
}

/// In the child process: serve the zone until stdin closes.
/// With `IMPP_E2E_SERVICE_US=N`, behind a [`BusyServer`] that answers one
/// query at a time, N µs each (`benches/busy/run.sh`); it prints what it
/// was asked when stdin closes.
fn serve() {
    let zone = zone_server::bench_zone(domains());
    // `IMPP_E2E_BACKEND=IP:PORT`: another server of the same zone (NSD,
    // which gives the targets' addresses in the additional section).
    let mut addr = match std::env::var("IMPP_E2E_BACKEND") {
        Ok(backend) => backend.parse().expect("IMPP_E2E_BACKEND=IP:PORT"),
        Err(_) => zone_server::start(&[("bench.example.", &zone)]),
    };
    let service = std::env::var("IMPP_E2E_SERVICE_US")
        .ok()
        .and_then(|us| us.parse().ok())
        .map(std::time::Duration::from_micros);
    let busy = service.map(|service| BusyServer::start(addr, service));
    if let Some(busy) = &busy {
        addr = busy.addr;
    }
    println!("{addr}");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    if let Some(busy) = busy {
        let counts = busy.counts();
        println!("server-queries: {}", counts.queries);
        println!("server-asked-again: {}", counts.asked_again);
        println!("server-unanswered: {}", counts.unanswered);
    }
}

/// One lookup the way ours does it, through hickory-resolver.
async fn hickory_lookup(
    resolver: &Resolver<TokioRuntimeProvider>,
    domain: &str,
) -> Result<(), String> {
    let xmpp = Name::from_ascii(format!("_im._xmpp.{domain}.")).unwrap();
    let sip = Name::from_ascii(format!("_im._sip.{domain}.")).unwrap();
    let (xmpp, _sip) = tokio::join!(resolver.srv_lookup(xmpp), resolver.srv_lookup(sip));
    let srv = xmpp.map_err(|e| e.to_string())?;
    let mut targets = Vec::new();
    for record in srv.answers() {
        if let RData::SRV(s) = &record.data {
            targets.push(s.target.clone());
        }
    }
    for target in targets {
        let given = srv.additionals().iter().any(|r| {
            r.name == target && matches!(r.record_type(), RecordType::A | RecordType::AAAA)
        });
        if !given {
            let ips = resolver
                .lookup_ip(target)
                .await
                .map_err(|e| e.to_string())?;
            if ips.iter().next().is_none() {
                return Err("no addresses".into());
            }
        }
    }
    Ok(())
}

fn hickory_run(server: SocketAddr, concurrency: usize, count: u64, domains: &[String]) -> Report {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut ns = NameServerConfig::udp_and_tcp(server.ip());
        for c in &mut ns.connections {
            c.port = server.port();
        }
        let mut builder = Resolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![ns]),
            TokioRuntimeProvider::default(),
        );
        builder.options_mut().cache_size = 0;
        builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        if let Some((timeout, attempts)) = hickory_timing() {
            builder.options_mut().timeout = timeout;
            builder.options_mut().attempts = attempts;
        }
        let resolver = Arc::new(builder.build().unwrap());
        keep_in_flight(concurrency, count, |i| {
            let resolver = resolver.clone();
            let domain = domains[i as usize % domains.len()].clone();
            async move { hickory_lookup(&resolver, &domain).await }
        })
        .await
    })
}

/// The same lookups through our tokio driver (`impp_resolver::tokio::Client`)
/// on a current-thread runtime, as hickory-resolver runs: one task per
/// lookup, `concurrency` at a time.
fn tokio_run(server: SocketAddr, concurrency: usize, count: u64, uris: &[Uri]) -> Report {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = impp_resolver::Config {
            servers: vec![server],
            tcp_fallback: false,
            // As hickory-resolver's here: every lookup goes to the server.
            cache: None,
            ..impp_resolver::Config::default()
        };
        let client = impp_resolver::tokio::Client::new(config).unwrap();
        keep_in_flight(concurrency, count, |i| {
            let client = client.clone();
            let uri = uris[i as usize % uris.len()].clone();
            async move {
                let protocols = [impp_resolver::Protocol::XMPP, impp_resolver::Protocol::SIP];
                let result = client.resolve_uri(&uri, &protocols, None).await;
                result.map(|_| ()).map_err(|e| e.to_string())
            }
        })
        .await
    })
}

/// Runs `lookup(0)`, `lookup(1)` … `lookup(count - 1)` as tasks on the
/// current runtime, `concurrency` at a time, timing each and the CPU of the
/// whole.
async fn keep_in_flight<F, L>(concurrency: usize, count: u64, lookup: L) -> Report
where
    L: Fn(u64) -> F,
    F: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let cpu_start = cpu_time();
    let start = Instant::now();
    let mut report = Report::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut started = 0u64;
    let spawn = |tasks: &mut tokio::task::JoinSet<_>, i: u64| {
        let lookup = lookup(i);
        tasks.spawn(async move {
            let start = Instant::now();
            let result = lookup.await;
            (start.elapsed(), result)
        });
    };
    while started < count.min(concurrency as u64) {
        spawn(&mut tasks, started);
        started += 1;
    }
    while let Some(joined) = tasks.join_next().await {
        report.lookups += 1;
        let result = match joined {
            Ok((took, result)) => {
                report.latencies.push(took);
                result
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            *report.failed.entry(e).or_default() += 1;
        }
        if started < count {
            spawn(&mut tasks, started);
            started += 1;
        }
    }
    report.elapsed = start.elapsed();
    report.cpu = cpu_time() - cpu_start;
    report
}

/// Minimum, median and maximum.
fn spread(values: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

/// `E2E_HICKORY_TIMING=<seconds>,<attempts>`: hickory-resolver's timeout
/// and attempts, for the loss benchmark (default: hickory's own).
fn hickory_timing() -> Option<(std::time::Duration, usize)> {
    let value = std::env::var("E2E_HICKORY_TIMING").ok()?;
    let (timeout, attempts) = value.split_once(',')?;
    Some((
        std::time::Duration::from_secs_f64(timeout.parse().ok()?),
        attempts.parse().ok()?,
    ))
}

/// `IMPP_E2E_HICKORY=<server>`: one hickory-resolver run against that
/// server (E2E_COUNT lookups, E2E_CONCURRENCY at a time), printed as
/// loadgen prints its own: for `benches/loss/run.sh`.
fn hickory_only(server: &str) {
    let server: SocketAddr = server.parse().expect("IMPP_E2E_HICKORY=IP:PORT");
    let env = |name, default| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (count, concurrency) = (env("E2E_COUNT", 500), env("E2E_CONCURRENCY", 16));
    let domains: Vec<String> = (0..domains())
        .map(|i| format!("d{i}.bench.example"))
        .collect();
    let report = hickory_run(server, concurrency as usize, count, &domains);
    println!("lookups: {}", report.lookups);
    println!("failed: {} {:?}", report.failures(), report.failed);
    println!("wall-s: {:.3}", report.elapsed.as_secs_f64());
    for (label, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
        let latency = report.latency_percentile(p);
        println!("latency-ms {label}: {:.1}", latency.as_secs_f64() * 1e3);
    }
    println!("lookups/s: {:.0}", report.lookups_per_sec());
    println!("cpu-us/lookup: {:.1}", report.cpu_us_per_lookup());
}

fn main() {
    if std::env::var_os("IMPP_E2E_SERVE").is_some() {
        return serve();
    }
    if let Ok(server) = std::env::var("IMPP_E2E_HICKORY") {
        return hickory_only(&server);
    }
    let count: u64 = std::env::var("E2E_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(20_000);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("IMPP_E2E_SERVE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server: SocketAddr = line.trim().parse().expect("server address");
    let domains: Vec<String> = (0..domains())
        .map(|i| format!("d{i}.bench.example"))
        .collect();
    let uris: Vec<Uri> = domains
        .iter()
        .map(|d| format!("im:user@{d}").parse().unwrap())
        .collect();

    let runs: usize = std::env::var("E2E_RUNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(3);

    println!("end to end, {runs} runs of {count} lookups, server {server} (separate process)");
    println!("median [min–max] of the runs");
    println!("client         | conc. | lookups/s              | cpu-us/lookup        | failed");
    let mut ratios = Vec::new();
    // `E2E_CONCURRENCY=64,1024,4096` for the scale runs (BENCHMARKS.md §4).
    let levels: Vec<usize> = std::env::var("E2E_CONCURRENCY")
        .ok()
        .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 64]);
    for concurrency in levels {
        // Warm all up, then alternate, so drift on the machine hits all.
        let _ = loadgen::run(server, concurrency, count / 10, &uris).unwrap();
        let _ = tokio_run(server, concurrency, count / 10, &uris);
        let _ = hickory_run(server, concurrency, count / 10, &domains);
        let mut ours = Vec::new();
        let mut ours_tokio = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..runs {
            ours.push(loadgen::run(server, concurrency, count, &uris).unwrap());
            ours_tokio.push(tokio_run(server, concurrency, count, &uris));
            theirs.push(hickory_run(server, concurrency, count, &domains));
        }
        for (name, reports) in [
            ("impp-resolver", &ours),
            ("impp tokio", &ours_tokio),
            ("hickory 0.26", &theirs),
        ] {
            let rate = spread(reports.iter().map(Report::lookups_per_sec));
            let cpu = spread(reports.iter().map(Report::cpu_us_per_lookup));
            let failed: u64 = reports.iter().map(Report::failures).sum();
            let kinds: BTreeMap<&String, u64> = reports.iter().flat_map(|r| r.failed.iter()).fold(
                BTreeMap::new(),
                |mut m, (k, v)| {
                    *m.entry(k).or_default() += v;
                    m
                },
            );
            println!(
                "{name:<14} | {concurrency:>5} | {:>6.0} [{:>6.0}–{:>6.0}] | {:>5.1} [{:>5.1}–{:>5.1}] | {failed} {kinds:?}",
                rate.1, rate.0, rate.2, cpu.1, cpu.0, cpu.2,
            );
        }
        let ours_cpu = spread(ours.iter().map(Report::cpu_us_per_lookup)).1;
        let tokio_cpu = spread(ours_tokio.iter().map(Report::cpu_us_per_lookup)).1;
        let theirs_cpu = spread(theirs.iter().map(Report::cpu_us_per_lookup)).1;
        ratios.push((concurrency, theirs_cpu / ours_cpu, theirs_cpu / tokio_cpu));
    }
    for (concurrency, ratio, tokio_ratio) in ratios {
        println!(
            "concurrency {concurrency}: hickory-resolver uses {ratio:.2}x our CPU per lookup, \
             {tokio_ratio:.2}x our tokio driver's (medians)"
        );
    }
    drop(child.stdin.take());
    let _ = child.wait();
}

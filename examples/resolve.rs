//! Resolve an `im:` or `pres:` URI to the servers that accept it.
//!
//! ```text
//! cargo run --example resolve -- [--server IP:PORT]... [--protocol LABEL]...
//!     [--fallback-port N] [--timeout-ms N] [--attempts N] [--max-endpoints N]
//!     [--tcp] [--0x20] [--async] URI
//! ```
//!
//! Without `--server`, the system's resolvers (`/etc/resolv.conf`). Protocols
//! default to `_xmpp` then `_sip`. Without `--fallback-port` there is no
//! A/AAAA fallback. `--timeout-ms` (default 5000) bounds the whole
//! resolution; queries are asked again until it passes, within a budget of
//! `--attempts` rounds over the servers (default 16), and the first waits
//! are sized so that at least two rounds fit inside it
//! (`Config::fit_to_deadline`). `--tcp` sends every query over TCP (otherwise
//! UDP, and TCP after a truncated answer); `--0x20` randomises the letter
//! case of UDP queries and requires it echoed. `--async` resolves through
//! the tokio driver (`impp_resolver::tokio::Client`) instead of the blocking
//! one, with the same output, errors and exit codes. `--max-endpoints N` (default
//! 64) keeps the first N targets; how many more there were goes to stderr as
//! `# N more endpoints not shown (max_endpoints M)`.
//!
//! Exit 0: one line per endpoint, `<priority> <weight> <port> <target> <addrs>`.
//! Exit 2: `error: <kind>: <detail>` on stderr, where kind is one of
//! `ErrorKind::as_str()` (`unavailable`, `nxdomain`, `nodata`, `servfail`,
//! `timeout`, `cname-loop`, `no-destination`, ...), or one of this program's
//! own: `invalid-uri`, or `io` when no socket or system configuration could
//! be had. Exit 1: bad usage.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use impp_resolver::DriverError;
use impp_resolver::blocking;
use impp_resolver::{Answer, Config, Protocol, Transport, Uri};

const USAGE: &str = "usage: resolve [--server IP:PORT]... [--protocol LABEL]... \
[--fallback-port N] [--timeout-ms N] [--attempts N] [--max-endpoints N] [--tcp] [--0x20] \
[--async] URI";

struct Args {
    servers: Vec<SocketAddr>,
    protocols: Vec<Protocol>,
    fallback_port: Option<u16>,
    timeout: Duration,
    attempts: u8,
    max_endpoints: usize,
    transport: Transport,
    case_randomization: bool,
    asynchronous: bool,
    uri: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut servers = Vec::new();
    let mut protocols = Vec::new();
    let mut fallback_port = None;
    let mut timeout = Duration::from_millis(5000);
    let mut attempts = Config::default().attempts;
    let mut max_endpoints = Config::default().max_endpoints;
    let mut transport = Transport::Udp;
    let mut case_randomization = false;
    let mut asynchronous = false;
    let mut uri = None;
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--server" => {
                let v = value("--server")?;
                servers.push(
                    v.parse()
                        .map_err(|_| format!("--server: not IP:PORT: {v}"))?,
                );
            }
            "--protocol" => {
                let v = value("--protocol")?;
                protocols.push(Protocol::new(&v).map_err(|e| format!("--protocol {v}: {e}"))?);
            }
            "--fallback-port" => {
                let v = value("--fallback-port")?;
                fallback_port = Some(
                    v.parse()
                        .map_err(|_| format!("--fallback-port: not a port: {v}"))?,
                );
            }
            "--timeout-ms" => {
                let v = value("--timeout-ms")?;
                let ms: u64 = v
                    .parse()
                    .map_err(|_| format!("--timeout-ms: not a number: {v}"))?;
                timeout = Duration::from_millis(ms);
            }
            "--attempts" => {
                let v = value("--attempts")?;
                attempts = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=16).contains(n))
                    .ok_or(format!("--attempts: not a number from 1 to 16: {v}"))?;
            }
            "--max-endpoints" => {
                let v = value("--max-endpoints")?;
                max_endpoints = v
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or(format!("--max-endpoints: not a positive number: {v}"))?;
            }
            "--tcp" => transport = Transport::Tcp,
            "--0x20" => case_randomization = true,
            "--async" => asynchronous = true,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ if uri.is_some() => return Err("only one URI".into()),
            _ => uri = Some(arg),
        }
    }
    if protocols.is_empty() {
        protocols = vec![Protocol::XMPP, Protocol::SIP];
    }
    Ok(Args {
        servers,
        protocols,
        fallback_port,
        timeout,
        attempts,
        max_endpoints,
        transport,
        case_randomization,
        asynchronous,
        uri: uri.ok_or("a URI is required")?,
    })
}

fn fail(kind: &str, detail: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {kind}: {detail}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("resolve: {problem}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(1);
        }
    };
    let uri: Uri = match args.uri.parse() {
        Ok(uri) => uri,
        Err(e) => return fail("invalid-uri", format!("{}: {e}", args.uri)),
    };
    let servers = if args.servers.is_empty() {
        match blocking::system_servers() {
            Ok(servers) => servers,
            Err(e) => return fail("io", e),
        }
    } else {
        args.servers
    };
    // Every attempt fits inside the deadline.
    let config = Config {
        attempts: args.attempts,
        max_endpoints: args.max_endpoints,
        transport: args.transport,
        case_randomization: args.case_randomization,
        servers,
        ..Config::default()
    }
    .fit_to_deadline(args.timeout);
    let result = if args.asynchronous {
        resolve_async(config, &uri, &args.protocols, args.fallback_port)
    } else {
        blocking::resolve_uri(config, &uri, &args.protocols, args.fallback_port)
    };
    match result {
        Ok(answer) => {
            print!("{answer}");
            if answer.omitted > 0 {
                eprintln!(
                    "# {} more endpoints not shown (max_endpoints {})",
                    answer.omitted, args.max_endpoints
                );
            }
            ExitCode::SUCCESS
        }
        Err(DriverError::Start(e)) => fail(e.kind().as_str(), e),
        Err(DriverError::Resolve(e)) => fail(e.kind().as_str(), e),
        Err(DriverError::Io(e)) => fail("io", e),
    }
}

/// The same resolution through the tokio driver, on a current-thread
/// runtime.
fn resolve_async(
    config: Config,
    uri: &Uri,
    protocols: &[Protocol],
    fallback_port: Option<u16>,
) -> Result<Answer, DriverError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = impp_resolver::tokio::Client::new(config)?;
        client.resolve_uri(uri, protocols, fallback_port).await
    })
}

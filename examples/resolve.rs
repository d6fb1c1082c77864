//! Resolve an `im:` or `pres:` URI to the servers that accept it.
//!
//! ```text
//! cargo run --example resolve -- [--server IP:PORT]... [--protocol LABEL]...
//!     [--fallback-port N] [--timeout-ms N] URI
//! ```
//!
//! Without `--server`, the system's resolvers (`/etc/resolv.conf`). Protocols
//! default to `_xmpp` then `_sip`. Without `--fallback-port` there is no
//! A/AAAA fallback. `--timeout-ms` (default 5000) bounds the whole resolution.
//!
//! Exit 0: one line per endpoint, `<priority> <weight> <port> <target> <addrs>`.
//! Exit 2: `error: <kind>: <detail>` on stderr, where kind is one of
//! `Error::kind()` (`unavailable`, `nxdomain`, `nodata`, `servfail`,
//! `timeout`, `cname-loop`, `no-destination`, ...) or `invalid-uri`, or `io`
//! when no socket or system configuration could be had. Exit 1: bad usage.

#[path = "support/output.rs"]
mod output;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use impp_resolver::blocking::{self, BlockingError};
use impp_resolver::{Config, Protocol, Uri};

const USAGE: &str = "usage: resolve [--server IP:PORT]... [--protocol LABEL]... \
[--fallback-port N] [--timeout-ms N] URI";

struct Args {
    servers: Vec<SocketAddr>,
    protocols: Vec<Protocol>,
    fallback_port: Option<u16>,
    timeout: Duration,
    uri: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut servers = Vec::new();
    let mut protocols = Vec::new();
    let mut fallback_port = None;
    let mut timeout = Duration::from_millis(5000);
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
    // Every server gets an attempt inside the deadline.
    let per_server = args.timeout / u32::try_from(servers.len().max(1)).unwrap_or(u32::MAX);
    let config = Config {
        attempt_timeout: per_server.min(Duration::from_secs(2)),
        resolution_timeout: args.timeout,
        servers,
        ..Config::default()
    };
    match blocking::resolve_uri(config, &uri, &args.protocols, args.fallback_port) {
        Ok(answer) => {
            for line in output::endpoint_lines(&answer) {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(BlockingError::Resolve(e)) => fail(e.kind(), e),
        Err(BlockingError::Io(e)) => fail("io", e),
    }
}

//! Resolve an `im:` or `pres:` URI to the servers that accept it.
//!
//! ```text
//! cargo run --example resolve -- [--server IP:PORT]... [--protocol LABEL]...
//!     [--fallback-port N] [--timeout-ms N] [--attempts N] [--max-endpoints N]
//!     [--tcp] [--0x20] [--async] [--connect] [--dnssec] [--dane]
//!     [--trust-ad all|loopback|none] (URI | --srv NAME...)
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
//! one, with the same output, errors and exit codes. `--connect` then
//! connects over TCP as `blocking::connect` does (Happy Eyeballs over SRV,
//! S29) and prints one line, `connected <target> <addr> <port>`, instead of
//! the endpoints; when every attempt fails, `error: connect: <detail>`
//! naming each attempt, exit 2. `--srv NAME` (repeatable, in place of the
//! URI) resolves plain SRV names such as `_xmpps-client._tcp.example.com`,
//! merged into one RRset (S30), and prints a sixth column: the SRV name
//! each record came from (no trailing dot). `--max-endpoints N` (default
//! 64) keeps the first N targets; how many more there were goes to stderr as
//! `# N more endpoints not shown (max_endpoints M)`.
//!
//! `--dnssec` sets the DO bit and believes the AD bit of the servers
//! `--trust-ad` names (default `loopback`; giving it implies `--dnssec`):
//! each endpoint line ends with one more column, `secure`, `insecure`, or
//! `bogus` for one DNSSEC rules out (S33–S36). `--dane` (implies
//! `--dnssec`) asks TLSA for secure endpoints and follows each endpoint
//! that has some with one line per record,
//! `tlsa <usage> <selector> <matching> <hex data>` (S37). A bogus answer
//! is `error: bogus: <detail with the EDE>`, exit 2.
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
use impp_resolver::connect::ConnectConfig;
use impp_resolver::proto::rr::Name;
use impp_resolver::{Answer, Config, Dnssec, Protocol, Transport, TrustAd, Uri};

const USAGE: &str = "usage: resolve [--server IP:PORT]... [--protocol LABEL]... \
[--fallback-port N] [--timeout-ms N] [--attempts N] [--max-endpoints N] [--tcp] [--0x20] \
[--async] [--connect] [--dnssec] [--dane] [--trust-ad all|loopback|none] (URI | --srv NAME...)";

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
    dnssec: Option<Dnssec>,
    connect: bool,
    srv: Vec<String>,
    uri: String,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        servers: Vec::new(),
        protocols: Vec::new(),
        fallback_port: None,
        timeout: Duration::from_millis(5000),
        attempts: Config::default().attempts,
        max_endpoints: Config::default().max_endpoints,
        transport: Transport::Udp,
        case_randomization: false,
        asynchronous: false,
        dnssec: None,
        connect: false,
        srv: Vec::new(),
        uri: String::new(),
    };
    let mut uri = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("server") => args.servers.push(parser.value()?.parse()?),
            Long("protocol") => {
                let label = parser.value()?.string()?;
                let protocol =
                    Protocol::new(&label).map_err(|e| format!("--protocol {label}: {e}"))?;
                args.protocols.push(protocol);
            }
            Long("fallback-port") => args.fallback_port = Some(parser.value()?.parse()?),
            Long("timeout-ms") => args.timeout = Duration::from_millis(parser.value()?.parse()?),
            Long("attempts") => {
                args.attempts = parser.value()?.parse()?;
                if !(1..=16).contains(&args.attempts) {
                    return Err("--attempts: not a number from 1 to 16".into());
                }
            }
            Long("max-endpoints") => {
                args.max_endpoints = parser.value()?.parse()?;
                if args.max_endpoints == 0 {
                    return Err("--max-endpoints: not a positive number".into());
                }
            }
            Long("tcp") => args.transport = Transport::Tcp,
            Long("0x20") => args.case_randomization = true,
            Long("async") => args.asynchronous = true,
            Long("dnssec") => {
                args.dnssec.get_or_insert_with(Dnssec::default);
            }
            Long("dane") => args.dnssec.get_or_insert_with(Dnssec::default).dane = true,
            Long("trust-ad") => {
                let trust = match parser.value()?.string()?.as_str() {
                    "all" => TrustAd::All,
                    "loopback" => TrustAd::Loopback,
                    "none" => TrustAd::None,
                    other => {
                        return Err(format!("--trust-ad {other}: all, loopback or none").into());
                    }
                };
                args.dnssec.get_or_insert_with(Dnssec::default).trust_ad = trust;
            }
            Long("connect") => args.connect = true,
            Long("srv") => args.srv.push(parser.value()?.string()?),
            Short('h') | Long("help") => return Err("".into()),
            Value(value) if uri.is_none() => uri = Some(value.string()?),
            Value(_) => return Err("only one URI".into()),
            _ => return Err(arg.unexpected()),
        }
    }
    if args.protocols.is_empty() {
        args.protocols = vec![Protocol::XMPP, Protocol::SIP];
    }
    match (uri, args.srv.is_empty()) {
        (Some(uri), true) => args.uri = uri,
        (None, false) => {}
        (Some(_), false) => return Err("a URI or --srv names, not both".into()),
        (None, true) => return Err("a URI (or --srv NAME) is required".into()),
    }
    Ok(args)
}

fn fail(kind: &str, detail: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {kind}: {detail}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => {
            let problem = problem.to_string();
            if !problem.is_empty() {
                eprintln!("resolve: {problem}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(1);
        }
    };
    // What to resolve: a URI, or (`--srv`) plain SRV names, merged.
    let what = if args.srv.is_empty() {
        match args.uri.parse() {
            Ok(uri) => What::Uri(uri),
            Err(e) => return fail("invalid-uri", format!("{}: {e}", args.uri)),
        }
    } else {
        let mut names = Vec::new();
        for text in &args.srv {
            match Name::from_ascii(text) {
                Ok(name) => names.push(name),
                Err(e) => return fail("invalid-name", format!("{text}: {e}")),
            }
        }
        What::Srv(names)
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
        dnssec: args.dnssec.clone(),
        servers,
        ..Config::default()
    }
    .fit_to_deadline(args.timeout);
    let result = match (&what, args.asynchronous) {
        (What::Uri(uri), false) => {
            blocking::resolve_uri(config, uri, &args.protocols, args.fallback_port)
        }
        (What::Srv(names), false) => blocking::resolve_srv_set(config, names),
        (what, true) => resolve_async(config, what, &args.protocols, args.fallback_port),
    };
    match result {
        Ok(answer) if args.connect => connect(&answer, args.timeout, args.asynchronous),
        Ok(answer) => {
            let dnssec = args.dnssec.is_some();
            for endpoint in &answer.endpoints {
                let mut line = endpoint.to_string();
                // A sixth column: the SRV name each record came from (S30).
                if matches!(what, What::Srv(_)) {
                    let service = endpoint.service.as_ref().map(Name::to_ascii);
                    let service = service.as_deref().unwrap_or("-");
                    line = format!("{line} {}", service.strip_suffix('.').unwrap_or(service));
                }
                if dnssec {
                    line = format!("{line} {}", endpoint.security);
                }
                println!("{line}");
                for tlsa in &endpoint.tlsa {
                    let data: String = tlsa.cert_data.iter().map(|b| format!("{b:02x}")).collect();
                    println!(
                        "tlsa {} {} {} {data}",
                        u8::from(tlsa.cert_usage),
                        u8::from(tlsa.selector),
                        u8::from(tlsa.matching)
                    );
                }
            }
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
        Err(DriverError::Connect(e)) => fail("connect", e),
    }
}

/// What the command line asks to resolve.
enum What {
    Uri(Uri),
    /// `--srv` names, merged into one RRset.
    Srv(Vec<Name>),
}

/// The same resolution through the tokio driver, on a current-thread
/// runtime.
fn resolve_async(
    config: Config,
    what: &What,
    protocols: &[Protocol],
    fallback_port: Option<u16>,
) -> Result<Answer, DriverError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = impp_resolver::tokio::Client::new(config)?;
        match what {
            What::Uri(uri) => client.resolve_uri(uri, protocols, fallback_port).await,
            What::Srv(names) => client.resolve_srv_set(names).await,
        }
    })
}

/// `--connect`: connects to `answer`'s endpoints within `timeout`, through
/// the tokio driver's `connect` with `--async`.
fn connect(answer: &Answer, timeout: Duration, asynchronous: bool) -> ExitCode {
    let config = ConnectConfig {
        timeout,
        ..ConnectConfig::default()
    };
    let connected = if asynchronous {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => return fail("io", e),
        };
        runtime
            .block_on(impp_resolver::tokio::connect(answer, &config))
            .map(|c| (c.endpoint, c.addr))
    } else {
        match blocking::connect(answer, &config) {
            Ok(result) => result.map(|c| (c.endpoint, c.addr)),
            Err(e) => return fail("io", e),
        }
    };
    match connected {
        Ok((endpoint, addr)) => {
            println!(
                "connected {} {} {}",
                endpoint.host(),
                addr.ip(),
                addr.port()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail("connect", e),
    }
}

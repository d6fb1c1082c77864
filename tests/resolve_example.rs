//! The `resolve` example's contract (its output is relied on): run the real
//! binary against a real DNS server on loopback. `cargo test` builds examples
//! before running tests, so the binary sits beside this test's own.

use impp_test_support::zone_server;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use impp_resolver::proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use impp_resolver::proto::rr::rdata::opt::EdnsOption;
use impp_test_support::flood::Flood;
use impp_test_support::records::{cname, example_binary, framed};
use impp_test_support::script_server::ScriptServer;
use impp_test_support::scripted::Zone;

fn resolve_binary() -> PathBuf {
    example_binary("resolve")
}

/// Runs the binary with `args` through both drivers, the blocking one and
/// (`--async`) the tokio one, checks that they agree, and returns the
/// blocking run's output for the test's own checks. They agree when they
/// exit alike, print the same lines (in any order: equal weights are
/// ordered at random, S10) and fail with the same kind.
fn run(args: &[&str]) -> Output {
    both(args, |args| {
        Command::new(resolve_binary()).args(args).output().unwrap()
    })
}

fn both(args: &[&str], run_one: impl Fn(&[&str]) -> Output) -> Output {
    let blocking = run_one(args);
    let asynchronous = run_one(&[&["--async"], args].concat());
    let lines = |out: &Output| {
        let mut lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
        lines.sort();
        lines
    };
    let kind = |out: &Output| {
        let err = text(&out.stderr);
        err.lines()
            .find(|l| l.starts_with("error: "))
            .and_then(|l| l.split(':').nth(1).map(String::from))
    };
    assert_eq!(
        asynchronous.status.code(),
        blocking.status.code(),
        "--async exits differently for {args:?}: {}",
        text(&asynchronous.stderr)
    );
    assert_eq!(
        lines(&asynchronous),
        lines(&blocking),
        "--async prints other lines for {args:?}"
    );
    assert_eq!(
        kind(&asynchronous),
        kind(&blocking),
        "--async fails otherwise for {args:?}"
    );
    blocking
}

/// Runs the binary (both drivers, as [`run`]), killing it if it has not
/// exited after a minute: the contract is that it returns by its deadline
/// whatever servers do.
fn run_bounded(args: &[&str]) -> Output {
    both(args, |args| {
        let mut child = Command::new(resolve_binary())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        for _ in 0..600 {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        child.kill().unwrap();
        panic!("resolve {args:?} did not return");
    })
}

/// A header-and-question answer to `query` with TC=1.
fn truncated(query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.truncation = true;
    for question in q.queries {
        m.add_query(question);
    }
    m.to_vec().ok()
}

/// A hostile server on one loopback port: over UDP it always truncates;
/// over TCP it either truncates too (`trickle` false) or sends a message
/// that never ends, one byte every 20 ms.
fn hostile_server(trickle: bool) -> SocketAddr {
    // The UDP port the OS picks may be taken for TCP: then try another.
    let (udp, tcp, addr) = (0..50)
        .find_map(|_| {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = udp.local_addr().unwrap();
            let tcp = TcpListener::bind(addr).ok()?;
            Some((udp, tcp, addr))
        })
        .expect("a loopback port free for both UDP and TCP");
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((len, from)) = udp.recv_from(&mut buf) {
            if let Some(reply) = truncated(&buf[..len]) {
                let _ = udp.send_to(&reply, from);
            }
        }
    });
    std::thread::spawn(move || {
        for stream in tcp.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                if trickle {
                    // A length prefix of 65 535 and then a byte at a time.
                    let _ = stream.write_all(&[0xFF, 0xFF]);
                    while stream.write_all(&[0]).is_ok() {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    return;
                }
                // Every query on the connection (several questions share
                // it) gets its truncated answer, until the client closes.
                let mut pending = Vec::new();
                let mut buf = [0u8; 1024];
                while let Ok(len @ 1..) = stream.read(&mut buf) {
                    pending.extend_from_slice(&buf[..len]);
                    while pending.len() >= 2 {
                        let size = usize::from(u16::from_be_bytes([pending[0], pending[1]]));
                        if pending.len() < 2 + size {
                            break;
                        }
                        let query: Vec<u8> = pending.drain(..2 + size).skip(2).collect();
                        if let Some(reply) = truncated(&query) {
                            let _ = stream.write_all(&framed(&reply));
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A UDP server on loopback that answers every query with `answer(query)`.
fn udp_server(answer: fn(&Message) -> Message) -> SocketAddr {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((len, from)) = udp.recv_from(&mut buf) {
            if let Ok(query) = Message::from_vec(&buf[..len]) {
                let _ = udp.send_to(&answer(&query).to_vec().unwrap(), from);
            }
        }
    });
    addr
}

/// SERVFAIL to `query`, with an Extended DNS Error 0 "max. restarts reached".
fn servfail_with_ede(query: &Message) -> Message {
    let mut m = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.response_code = ResponseCode::ServFail;
    m.add_query(query.queries[0].clone());
    let mut edns = Edns::new();
    let ede = [&[0u8, 0][..], b"max. restarts reached"].concat();
    edns.options_mut().insert(EdnsOption::Unknown(15, ede));
    m.set_edns(edns);
    m
}

/// What BIND 9.18 answers for a name whose CNAMEs loop: SERVFAIL, the two
/// CNAMEs, and the EDE.
fn bind_cname_loop(query: &Message) -> Message {
    let mut m = servfail_with_ede(query);
    let owner = query.queries[0].name().to_ascii();
    m.add_answer(cname(&owner, "loop.example.com."));
    m.add_answer(cname("loop.example.com.", &owner));
    m
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Exit 2, nothing on stdout, and `error: <kind>: ...` on stderr.
fn assert_fails_with(out: &Output, kind: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.starts_with(&format!("error: {kind}: ")), "{stderr}");
}

#[test]
fn prints_endpoints_in_rfc_order() {
    let server = zone_server::example_zones().to_string();
    let out = run(&[
        "--server",
        &server,
        "--protocol",
        "_xmpp",
        "im:fred@example.com",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    let mut head = lines[..3].to_vec();
    head.sort();
    assert_eq!(
        head,
        [
            "10 0 5222 c.example.com 192.0.2.3",
            "10 20 5222 b.example.com 192.0.2.2",
            "10 60 5222 a.example.com 2001:db8::1,192.0.2.1",
        ]
    );
    assert_eq!(lines[3], "20 0 5223 v6only.example.net 2001:db8::6");

    // Fallback on request, and the error line otherwise.
    let out = run(&[
        "--server",
        &server,
        "--fallback-port",
        "5222",
        "im:x@fallback.example.com",
    ]);
    assert_eq!(
        text(&out.stdout),
        "0 0 5222 fallback.example.com 192.0.2.10\n"
    );
    let out = run(&["--server", &server, "im:x@closed.example.com"]);
    assert_fails_with(&out, "unavailable");
    let out = run(&[
        "--server",
        &server,
        "pres:x@example.com",
        "--protocol",
        "_xmpp",
    ]);
    assert_fails_with(&out, "nodata");
}

#[test]
fn silent_server_times_out_at_the_deadline() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = silent.local_addr().unwrap().to_string();
    let out = run(&[
        "--server",
        &server,
        "--timeout-ms",
        "300",
        "im:fred@example.com",
    ]);
    assert_fails_with(&out, "timeout");
}

#[test]
fn transport_flags_against_the_real_server() {
    let server = zone_server::example_zones().to_string();
    for flags in [
        &["--tcp"][..],
        &["--0x20"],
        &["--attempts", "3"],
        &["--tcp", "--0x20", "--attempts", "1"],
    ] {
        let mut args = vec!["--server", &server];
        args.extend(flags);
        args.push("im:fred@big.example.com");
        let out = run(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{flags:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout).lines().count(), 40, "{flags:?}");
    }
}

#[test]
fn endless_truncation_is_an_error_not_a_loop() {
    let server = hostile_server(false).to_string();
    let out = run_bounded(&["--server", &server, "im:fred@example.com"]);
    assert_fails_with(&out, "truncated");
}

#[test]
fn a_trickle_of_tcp_bytes_still_ends_at_the_deadline() {
    let server = hostile_server(true).to_string();
    let out = run_bounded(&[
        "--server",
        &server,
        "--timeout-ms",
        "700",
        "--tcp",
        "im:fred@example.com",
    ]);
    assert_fails_with(&out, "timeout");
}

#[test]
fn a_flood_of_wrong_questions_still_ends_at_the_deadline_in_every_loop() {
    // TC=1, then framed answers to another question as fast as the server
    // can send them (S23, S27): `resolve` through both drivers and the
    // event-loop example end with a timeout while the flood still runs
    // (it stops by itself after 60 s, so a broken loop fails here rather
    // than hang).
    let flood = Flood::wrong_questions(Duration::from_secs(60));
    let server = flood.addr.to_string();
    let out = run_bounded(&[
        "--server",
        &server,
        "--timeout-ms",
        "1000",
        "im:fred@example.com",
    ]);
    assert_fails_with(&out, "timeout");
    let out = Command::new(example_binary("event_loop"))
        .args(["--server", &server, "im:fred@example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("error: timeout: "),
        "{}",
        text(&out.stdout)
    );
    assert!(!flood.lifetime_over(), "ended only when the flood did");
    assert!(flood.sent() > 1_000, "the flood ran");
}

#[test]
fn a_leading_hyphen_is_a_uri_error_at_its_byte() {
    // S4: not `invalid-name ... at most 255 octets`, which it once was.
    let out = run(&["--server", "127.0.0.1:9", "im:fred@-example.com"]);
    assert_fails_with(&out, "invalid-uri");
    assert_eq!(
        text(&out.stderr).trim_end(),
        "error: invalid-uri: im:fred@-example.com: domain label begins or ends with '-' at byte 8"
    );
}

#[test]
fn errors_show_names_as_they_went_on_the_wire() {
    // `xn--zz-zzz` is no valid A-label: hickory's Display shows it as
    // `z⦌z`, another name than the one asked.
    let server = ScriptServer::start(Zone::default());
    let server = server.addr.to_string();
    let out = run(&["--server", &server, "im:fred@xn--zz-zzz.example"]);
    assert_fails_with(&out, "nxdomain");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("_im._sip.xn--zz-zzz.example. does not exist"),
        "{stderr}"
    );
    assert!(stderr.is_ascii(), "{stderr}");
}

#[test]
fn loadgen_reports_throughput_and_cpu_as_its_last_lines() {
    let server = zone_server::example_zones().to_string();
    let uris = [
        "im:fred@example.com",
        "im:x@big.example.com",
        "im:y@nowhere.example.com",
    ];
    let loadgen = |extra: &[&str]| {
        let out = Command::new(example_binary("loadgen"))
            .args(["--server", &server, "--concurrency", "8", "--count", "200"])
            .args(extra)
            .args(uris)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    // Each socket's drops are counted only when asked: the system call as
    // each closes would be in the CPU the run reports.
    let plain = loadgen(&[]);
    assert!(
        plain
            .lines()
            .any(|l| l == "own-socket-drops: not counted (--socket-drops counts them)"),
        "{plain}"
    );
    let stdout = loadgen(&["--socket-drops"]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "lookups: 200", "{stdout}");
    // A third of the lookups are of a name that does not exist: counted,
    // not hidden. (The big set truncates over UDP, and loadgen has no TCP.)
    assert!(lines[1].starts_with("failed: 133 "), "{stdout}");
    assert!(lines[1].contains("\"nxdomain\": 66"), "{stdout}");
    let n = lines.len();
    let number = |line: &str, label: &str| -> f64 {
        line.strip_prefix(label)
            .unwrap_or_else(|| panic!("{line:?} is not {label:?}"))
            .parse()
            .unwrap()
    };
    assert!(number(lines[n - 2], "lookups/s: ") > 0.0);
    assert!(number(lines[n - 1], "cpu-us/lookup: ") > 0.0);
    // Queries sent, before those two: without --cache, every lookup asks.
    let queries = number(lines[n - 3], "queries: ");
    assert!(queries >= 200.0, "{stdout}");
    // What loss costs: latency percentiles, in order, before that.
    let percentiles: Vec<f64> = ["p50", "p90", "p99", "max"]
        .iter()
        .zip(&lines[n - 7..n - 3])
        .map(|(label, line)| number(line, &format!("latency-ms {label}: ")))
        .collect();
    assert!(percentiles.windows(2).all(|w| w[0] <= w[1]), "{stdout}");
    assert!(percentiles[0] > 0.0, "{stdout}");
    // The OS's own count of what it dropped, for this socket and the machine.
    let own = lines
        .iter()
        .find_map(|l| l.strip_prefix("own-socket-drops: "))
        .expect("own-socket-drops line");
    assert_eq!(
        own, "0",
        "200 lookups at 8 in flight overflow nothing: {stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("os-receive-buffer-drops: ")),
        "{stdout}"
    );
}

#[test]
fn loadgen_with_cache_asks_only_the_first_lookup_of_each_name() {
    let server = zone_server::example_zones().to_string();
    let uris = ["im:fred@example.com", "im:y@nowhere.example.com"];
    // Questions asked: the queries sent, less those sent again because an
    // answer was slow (a busy machine can make one wait past 50 ms).
    let queries = |extra: &[&str], count: &str| -> u64 {
        let out = Command::new(example_binary("loadgen"))
            .args(["--server", &server, "--concurrency", "1", "--count", count])
            .args(extra)
            .args(uris)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let number = |label: &str| -> u64 {
            let line = stdout.lines().find_map(|l| l.strip_prefix(label));
            line.unwrap_or_else(|| panic!("no {label:?} line: {stdout}"))
                .parse()
                .unwrap()
        };
        number("queries: ") - number("re-asked: ")
    };
    // One lookup of each name, as the first of a cached run makes.
    let first = queries(&[], "2");
    assert!(first >= 4, "{first}");
    // 200 lookups, 198 of them answered from memory (an NXDOMAIN with the
    // zone's SOA included): not one query more.
    assert_eq!(queries(&["--cache"], "200"), first);
    // Without the cache every lookup asks again.
    assert_eq!(queries(&[], "200"), first * 100);
}

#[test]
fn bad_uris_and_bad_usage() {
    let out = run(&["--server", "127.0.0.1:9", "im:fred@example.com."]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: invalid-uri: im:fred@example.com.: trailing dot in the domain at byte 19\n"
    );
    let out = run(&["--server", "127.0.0.1:9", "im:"]);
    assert_fails_with(&out, "no-destination");
    for args in [
        &[][..],
        &["--bogus", "im:a@b.example"],
        &["--server", "nonsense", "im:a@b.example"],
        &["--protocol", "xmpp", "im:a@b.example"],
        &["--attempts", "0", "im:a@b.example"],
        &["--attempts", "x", "im:a@b.example"],
    ] {
        assert_eq!(run(args).status.code(), Some(1), "{args:?}");
    }
}

#[test]
fn extended_dns_errors_show_in_the_detail() {
    // S32: the server's EDE code and text, beside its rcode.
    let server = udp_server(servfail_with_ede);
    let out = run_bounded(&["--server", &server.to_string(), "im:fred@example.com"]);
    assert_fails_with(&out, "servfail");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "({server}: SERVFAIL, EDE 0: max. restarts reached)"
        )),
        "{stderr}"
    );
}

#[test]
fn a_cname_loop_is_a_loop_whatever_the_rcode() {
    // S32: BIND's SERVFAIL with both CNAMEs is a loop, not a server failure.
    let server = udp_server(bind_cname_loop);
    let out = run_bounded(&["--server", &server.to_string(), "im:fred@example.com"]);
    assert_fails_with(&out, "cname-loop");
}

#[test]
fn max_endpoints_cuts_and_says_how_many_more() {
    // Which two of the three priority-10 endpoints show depends on the
    // weighted draw (S10), so the drivers cannot be compared line by line:
    // each is checked on its own.
    let server = zone_server::example_zones().to_string();
    let args = [
        "--server",
        &server,
        "--protocol",
        "_xmpp",
        "--max-endpoints",
        "2",
        "im:fred@example.com",
    ];
    for driver in [&[][..], &["--async"][..]] {
        let out = Command::new(resolve_binary())
            .args(driver)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{driver:?}: {lines:?}");
        assert!(
            lines.iter().all(|l| l.starts_with("10 ")),
            "{driver:?}: the cut keeps the first priority: {lines:?}"
        );
        assert_eq!(
            text(&out.stderr),
            "# 2 more endpoints not shown (max_endpoints 2)\n"
        );
    }
    let bad = run(&["--max-endpoints", "0", "im:fred@example.com"]);
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn event_loop_resolves_every_uri_at_once_over_udp_and_tcp() {
    let server = zone_server::example_zones().to_string();
    let out = Command::new(example_binary("event_loop"))
        .args([
            "--server",
            &server,
            "im:fred@example.com",
            "im:fred@big.example.com", // 40 targets: truncated, then TCP (S22)
            "im:nobody@nowhere.example.com",
            "im:",
        ])
        .output()
        .unwrap();
    // One URI failed: exit 2.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // Each URI, in the order given, then its endpoints or its error line.
    let at = |uri: &str| lines.iter().position(|l| *l == uri).unwrap();
    let (fred, big, nowhere, empty) = (
        at("im:fred@example.com"),
        at("im:fred@big.example.com"),
        at("im:nobody@nowhere.example.com"),
        at("im:"),
    );
    assert!(fred < big && big < nowhere && nowhere < empty);
    assert_eq!(big - fred - 1, 4, "four endpoints for example.com");
    assert_eq!(nowhere - big - 1, 40, "forty endpoints, over TCP");
    assert!(
        lines[nowhere + 1].starts_with("error: nxdomain: "),
        "{stdout}"
    );
    assert!(
        lines[empty + 1].starts_with("error: no-destination: "),
        "{stdout}"
    );
    // Endpoint lines in `resolve`'s format.
    let first: Vec<&str> = lines[fred + 1].split(' ').collect();
    assert_eq!(first.len(), 5, "{}", lines[fred + 1]);
    assert_eq!(first[2], "5222");
}

#[test]
fn connect_reaches_the_first_endpoint_that_accepts() {
    // Every address in this zone is loopback, and every port is the test's:
    // a listener, and a closed port (S29; nothing else is ever dialled).
    let (_listener, open, closed) = zone_server::listener_and_closed_port();
    let zone = zone_server::loopback_zone(
        "loop.example.",
        &format!(
            "_im._xmpp IN SRV 0 0 {closed} down\n_im._xmpp IN SRV 1 0 {open} up\n\
             down IN A 127.0.0.2\nup IN A 127.0.0.1\n_im._xmpp.dead IN SRV 0 0 {closed} down\n"
        ),
    );
    let server = zone_server::start(&[("loop.example.", &zone)]).to_string();
    let out = run(&["--server", &server, "--connect", "im:u@loop.example"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("connected up.loop.example 127.0.0.1 {open}\n")
    );
    let out = run(&["--server", &server, "--connect", "im:u@dead.loop.example"]);
    assert_fails_with(&out, "connect");
    assert!(
        text(&out.stderr).contains(&format!("down.loop.example 127.0.0.2:{closed} refused")),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn srv_names_merge_and_say_where_each_record_came_from() {
    // S30 with --srv, then --connect over the merged set. Loopback only.
    let (_listener, open, closed) = zone_server::listener_and_closed_port();
    let zone = zone_server::loopback_zone(
        "merge.example.",
        &format!(
            "_xmpps-client._tcp IN SRV 0 60 {open} tls\n_xmpp-client._tcp IN SRV 0 40 {closed} plain\n\
             tls IN A 127.0.0.1\nplain IN A 127.0.0.2\n"
        ),
    );
    let server = zone_server::start(&[("merge.example.", &zone)]).to_string();
    let names = [
        "--srv",
        "_xmpps-client._tcp.merge.example",
        "--srv",
        "_xmpp-client._tcp.merge.example",
        "--srv",
        "_nothing._tcp.merge.example",
    ];
    let out = run(&[&["--server", &server][..], &names].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("0 40 {closed} plain.merge.example 127.0.0.2 _xmpp-client._tcp.merge.example"),
            format!("0 60 {open} tls.merge.example 127.0.0.1 _xmpps-client._tcp.merge.example"),
        ]
    );
    // Whichever comes first, only the TLS one accepts.
    let out = run(&[&["--server", &server, "--connect"][..], &names].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("connected tls.merge.example 127.0.0.1 {open}\n")
    );
    // A URI and --srv together is bad usage.
    let out = run(&["--srv", "_x._tcp.merge.example", "im:a@merge.example"]);
    assert_eq!(out.status.code(), Some(1));
}

//! The `resolve` example's contract (its output is relied on): run the real
//! binary against a real DNS server on loopback. `cargo test` builds examples
//! before running tests, so the binary sits beside this test's own.

#[path = "support/zone_server.rs"]
mod zone_server;

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Command, Output};

fn resolve_binary() -> PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>/examples/resolve
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    path.push("examples");
    path.push(format!("resolve{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the whole `cargo test`, which builds the examples, or `cargo build --examples` first",
        path.display()
    );
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(resolve_binary()).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn prints_endpoints_in_rfc_order() {
    let server = zone_server::start(&[
        ("example.com.", include_str!("zones/example.com.zone")),
        ("example.net.", include_str!("zones/example.net.zone")),
    ])
    .to_string();
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
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: unavailable: "),
        "{}",
        text(&out.stderr)
    );
    let out = run(&[
        "--server",
        &server,
        "pres:x@example.com",
        "--protocol",
        "_xmpp",
    ]);
    assert!(
        text(&out.stderr).starts_with("error: nodata: "),
        "{}",
        text(&out.stderr)
    );
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
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: timeout: "),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
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
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: no-destination: "));
    for args in [
        &[][..],
        &["--bogus", "im:a@b.example"],
        &["--server", "nonsense", "im:a@b.example"],
        &["--protocol", "xmpp", "im:a@b.example"],
    ] {
        assert_eq!(run(args).status.code(), Some(1), "{args:?}");
    }
}

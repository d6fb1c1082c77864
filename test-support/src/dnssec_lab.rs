//! A real validating path on loopback (S33–S37): zones signed here with
//! `ldns-signzone`, served by NSD, behind an Unbound that validates them
//! against trust anchors made here, with Extended DNS Errors on. The tests
//! talk to Unbound exactly as a user's resolver talks to a local one.
//!
//! Needs `nsd`, `unbound` and `ldnsutils` (Debian packages), which
//! `.ci/run` installs. Every address in the zones is a documentation
//! address, never dialled.
//!
//! The zones:
//!
//! - `secure.test.` — signed, anchored, with an address of its own (for
//!   the S16 fallback: there is no `_im._sip`). `_xmpp-client._tcp` and
//!   `_im._xmpp` name `chat.secure.test.`, whose A, AAAA and
//!   `_5222._tcp` TLSA are signed; `_xmpp-client._tcp.outside` names a
//!   target in `plain.test.`; `_xmpp-client._tcp.alias` is a CNAME into
//!   `plain.test.`; `_xmpp-client._tcp.badtarget` names `chat.bogus.test.`.
//! - `plain.test.` — unsigned, no anchor: insecure. Its SRV and its
//!   target's TLSA (`_5222._tcp.host`) exist, unsigned.
//! - `bogus.test.` — signed, anchored, then its SRV's port and `chat`'s
//!   address changed: bogus (EDE 6).
//! - `expired.test.` — signed, anchored; its SRV's signature expired in
//!   2020 (its keys' is current, so the chain of trust holds): bogus
//!   (EDE 7).

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The TLSA data of `chat.secure.test.` (3 1 1, SHA-256 of an SPKI).
pub const SECURE_TLSA: &str = "abababababababababababababababababababababababababababababababab";
/// The TLSA data of `host.plain.test.`: unsigned, never to be used.
pub const PLAIN_TLSA: &str = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

/// NSD and Unbound running on loopback; both stop, and their directory
/// goes, when it is dropped.
pub struct Lab {
    dir: PathBuf,
    children: Vec<Child>,
    /// The validating resolver (Unbound), UDP and TCP.
    pub resolver: SocketAddr,
    /// The authoritative server (NSD): answers without an AD bit.
    pub authoritative: SocketAddr,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn secure_zone() -> String {
    format!(
        "@ SOA ns.secure.test. host.secure.test. 1 3600 600 86400 300\n\
         @ NS ns\n\
         ns A 127.0.0.1\n\
         @ A 192.0.2.11\n\
         _xmpp-client._tcp SRV 0 5 5222 chat.secure.test.\n\
         _im._xmpp SRV 0 5 5222 chat.secure.test.\n\
         chat A 192.0.2.10\n\
         chat AAAA 2001:db8::10\n\
         _5222._tcp.chat TLSA 3 1 1 {SECURE_TLSA}\n\
         _xmpp-client._tcp.outside SRV 0 5 5222 host.plain.test.\n\
         _xmpp-client._tcp.alias CNAME _xmpp-client._tcp.plain.test.\n\
         _xmpp-client._tcp.badtarget SRV 0 5 5222 chat.bogus.test.\n"
    )
}

fn plain_zone() -> String {
    format!(
        "@ SOA ns.plain.test. host.plain.test. 1 3600 600 86400 300\n\
         @ NS ns\n\
         ns A 127.0.0.1\n\
         _xmpp-client._tcp SRV 0 5 5222 host.plain.test.\n\
         host A 192.0.2.20\n\
         _5222._tcp.host TLSA 3 1 1 {PLAIN_TLSA}\n"
    )
}

fn small_signed_zone(origin: &str) -> String {
    format!(
        "@ SOA ns.{origin}. host.{origin}. 1 3600 600 86400 300\n\
         @ NS ns\n\
         ns A 127.0.0.1\n\
         _xmpp-client._tcp SRV 0 5 5222 chat.{origin}.\n\
         chat A 192.0.2.30\n"
    )
}

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program}: {e} (install nsd, unbound and ldnsutils: .ci/run does)")
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Signatures valid now (RRSIG times are 32-bit serial numbers: the two
/// must be less than 68 years apart).
const CURRENT: (&str, &str) = ("20240101000000", "20401231000000");
/// Signatures that expired in 2020.
const EXPIRED: (&str, &str) = ("20190101000000", "20200101000000");

/// Writes `origin`'s zone; signs it unless `signed` is false; returns the
/// trust anchor (the key's DNSKEY record) and the key of a signed zone.
fn zone(dir: &Path, origin: &str, body: &str, signed: bool) -> Option<(String, String)> {
    let file = format!("{origin}.zone");
    std::fs::write(
        dir.join(&file),
        format!("$ORIGIN {origin}.\n$TTL 300\n{body}"),
    )
    .unwrap();
    if !signed {
        return None;
    }
    let key = run(dir, "ldns-keygen", &["-a", "ECDSAP256SHA256", "-k", origin]);
    sign(dir, origin, &key, CURRENT, &format!("{origin}.signed"));
    let anchor = std::fs::read_to_string(dir.join(format!("{key}.key"))).unwrap();
    let anchor = anchor.lines().find(|l| !l.starts_with(';')).unwrap();
    let anchor = anchor.split(';').next().unwrap().replace('\t', " ");
    Some((anchor.trim().to_string(), key))
}

fn sign(dir: &Path, origin: &str, key: &str, (inception, expiration): (&str, &str), to: &str) {
    let file = format!("{origin}.zone");
    run(
        dir,
        "ldns-signzone",
        &[
            "-i", inception, "-e", expiration, "-o", origin, "-f", to, &file, key,
        ],
    );
}

/// The signed zone's lines for `owner` of `rtype` (the RRSIG lines of
/// that type when `rtype` is `RRSIG <type>`).
fn lines_of<'a>(text: &'a str, owner: &str, rtype: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let kind = match fields.get(3) {
                Some(&"RRSIG") => format!("RRSIG {}", fields.get(4).unwrap_or(&"")),
                Some(kind) => kind.to_string(),
                None => String::new(),
            };
            fields.first() == Some(&owner) && kind == rtype
        })
        .collect()
}

/// Puts the expired signature of `owner`'s `rtype` RRset in place of its
/// current one, signed with the same key.
fn expire(dir: &Path, origin: &str, key: &str, owner: &str, rtype: &str) {
    sign(dir, origin, key, EXPIRED, "expired.tmp");
    let old = std::fs::read_to_string(dir.join("expired.tmp")).unwrap();
    let path = dir.join(format!("{origin}.signed"));
    let text = std::fs::read_to_string(&path).unwrap();
    let rrsig = format!("RRSIG {rtype}");
    let (current, expired) = (
        lines_of(&text, owner, &rrsig),
        lines_of(&old, owner, &rrsig),
    );
    assert_eq!((current.len(), expired.len()), (1, 1), "{owner} {rrsig}");
    std::fs::write(&path, text.replace(current[0], expired[0])).unwrap();
}

/// Changes `from` to `to` in the one signed-zone line holding `owner` and
/// `rtype`, after signing: its signature no longer matches.
fn tamper(dir: &Path, origin: &str, owner: &str, rtype: &str, from: &str, to: &str) {
    let path = dir.join(format!("{origin}.signed"));
    let text = std::fs::read_to_string(&path).unwrap();
    let lines = lines_of(&text, owner, rtype);
    assert_eq!(lines.len(), 1, "{owner} {rtype} in {origin}");
    let changed = lines[0].replace(from, to);
    std::fs::write(&path, text.replace(lines[0], &changed)).unwrap();
}

/// A port free on loopback for UDP and TCP at this moment.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Whether a DNS server answers a query for `name` SOA at `server`.
fn answers(server: SocketAddr, name: &str) -> bool {
    use impp_resolver::proto::op::{Message, Query};
    use impp_resolver::proto::rr::{Name, RecordType};
    let mut query = Message::query();
    query.add_query(Query::query(
        Name::from_ascii(name).unwrap(),
        RecordType::SOA,
    ));
    query.metadata.recursion_desired = true;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let _ = socket.send_to(&query.to_vec().unwrap(), server);
    let mut buf = [0; 4096];
    socket.recv(&mut buf).is_ok()
}

/// Signs the zones, starts NSD and Unbound, and waits until Unbound
/// answers for every zone.
pub fn start() -> Lab {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("impp-dnssec-lab-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let signed: Vec<(String, String)> = [
        zone(&dir, "secure.test", &secure_zone(), true),
        zone(&dir, "plain.test", &plain_zone(), false),
        zone(&dir, "bogus.test", &small_signed_zone("bogus.test"), true),
        zone(
            &dir,
            "expired.test",
            &small_signed_zone("expired.test"),
            true,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let anchors: Vec<&String> = signed.iter().map(|(anchor, _)| anchor).collect();
    let expired_key = &signed[2].1;
    expire(
        &dir,
        "expired.test",
        expired_key,
        "_xmpp-client._tcp.expired.test.",
        "SRV",
    );
    // Changed after signing: the SRV's port, and the target's address.
    tamper(
        &dir,
        "bogus.test",
        "_xmpp-client._tcp.bogus.test.",
        "SRV",
        "5222",
        "5999",
    );
    tamper(
        &dir,
        "bogus.test",
        "chat.bogus.test.",
        "A",
        "192.0.2.30",
        "192.0.2.31",
    );
    // NSD serves the plain zone's own file.
    std::fs::copy(dir.join("plain.test.zone"), dir.join("plain.test.signed")).unwrap();

    let (nsd_port, unbound_port) = (free_port(), free_port());
    let d = dir.display();
    let mut nsd = format!(
        "server:\n  ip-address: 127.0.0.1@{nsd_port}\n  do-ip6: no\n  username: \"\"\n  \
         chroot: \"\"\n  zonesdir: \"{d}\"\n  zonelistfile: \"{d}/zone.list\"\n  \
         xfrdfile: \"{d}/xfrd.state\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  \
         logfile: \"{d}/nsd.log\"\n  server-count: 1\n  verbosity: 1\n\
         remote-control:\n  control-enable: no\n"
    );
    let mut unbound = format!(
        "server:\n  interface: 127.0.0.1@{unbound_port}\n  port: {unbound_port}\n  do-ip6: no\n  \
         username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  \
         use-syslog: no\n  logfile: \"{d}/unbound.log\"\n  verbosity: 1\n  \
         access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  \
         module-config: \"validator iterator\"\n  ede: yes\n  val-log-level: 2\n  \
         local-zone: \"test.\" nodefault\n"
    );
    for anchor in &anchors {
        writeln!(unbound, "  trust-anchor: \"{anchor}\"").unwrap();
    }
    unbound.push_str("remote-control:\n  control-enable: no\n");
    for origin in ["secure.test", "plain.test", "bogus.test", "expired.test"] {
        write!(
            nsd,
            "zone:\n  name: {origin}\n  zonefile: {origin}.signed\n"
        )
        .unwrap();
        write!(
            unbound,
            "stub-zone:\n  name: \"{origin}\"\n  stub-addr: 127.0.0.1@{nsd_port}\n  stub-prime: no\n"
        )
        .unwrap();
    }
    std::fs::write(dir.join("nsd.conf"), nsd).unwrap();
    std::fs::write(dir.join("unbound.conf"), unbound).unwrap();

    let spawn = |program: &str, conf: &str| {
        Command::new(program)
            .args(["-d", "-c", conf])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e} (install it: .ci/run does)"))
    };
    let mut lab = Lab {
        children: Vec::new(),
        resolver: SocketAddr::from(([127, 0, 0, 1], unbound_port)),
        authoritative: SocketAddr::from(([127, 0, 0, 1], nsd_port)),
        dir: dir.clone(),
    };
    lab.children.push(spawn("nsd", "nsd.conf"));
    lab.children.push(spawn("unbound", "unbound.conf"));
    let deadline = Instant::now() + Duration::from_secs(20);
    for (server, name) in [
        (lab.authoritative, "secure.test."),
        (lab.resolver, "plain.test."),
    ] {
        while !answers(server, name) {
            let log = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "{server} never answered:\n{}\n{}",
                log("nsd.log"),
                log("unbound.log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    lab
}

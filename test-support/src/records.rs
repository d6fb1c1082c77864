//! Names, records, configurations and messages, built the same way
//! everywhere.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use impp_resolver::proto::op::{Message, MessageType, OpCode, Query};
use impp_resolver::proto::rr::rdata::{A, AAAA, CNAME, SOA, SRV};
use impp_resolver::proto::rr::{Name, RData, Record, RecordType};
use impp_resolver::{Answer, Config, Endpoint, SocketId, Via};

/// The server of machine-level tests (a documentation address: nothing is
/// ever sent to it, the tests hand answers in themselves).
pub const SERVER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 53), 53));

/// The socket a new resolver's first UDP queries leave from (S28): ids
/// count up from 0.
pub const FIRST_SOCKET: SocketId = SocketId::from_raw(0);

/// The SRV owner name of `im:fred@example.com` over XMPP.
pub const OWNER: &str = "_im._xmpp.example.com.";

pub fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The default configuration with these servers.
pub fn config(servers: &[SocketAddr]) -> Config {
    Config {
        servers: servers.to_vec(),
        ..Config::default()
    }
}

pub fn srv(owner: &str, priority: u16, weight: u16, port: u16, target: &str) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::SRV(SRV::new(priority, weight, port, name(target))),
    )
}

pub fn a(owner: &str, ip: [u8; 4]) -> Record {
    Record::from_rdata(name(owner), 300, RData::A(A::from(Ipv4Addr::from(ip))))
}

pub fn aaaa(owner: &str, ip: &str) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::AAAA(AAAA::from(ip.parse::<std::net::Ipv6Addr>().unwrap())),
    )
}

pub fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::CNAME(CNAME(name(target))))
}

/// The SOA record of `zone` (the root too), as negative answers carry it.
pub fn soa(zone: &str) -> Record {
    let host = |label: &str| name(&format!("{label}.{}", zone.trim_start_matches('.')));
    Record::from_rdata(
        name(zone),
        60,
        RData::SOA(SOA::new(
            host("ns"),
            host("hostmaster"),
            1,
            3600,
            600,
            86400,
            60,
        )),
    )
}

/// A response with id `id` to the SRV question for [`OWNER`], filled by `build`.
pub fn srv_response(id: u16, build: impl FnOnce(&mut Message)) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_available = true;
    m.add_query(Query::query(name(OWNER), RecordType::SRV));
    build(&mut m);
    m.to_vec().unwrap()
}

/// `message` with its two-byte TCP length prefix (RFC 7766 §8).
pub fn framed(message: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(message);
    out
}

/// The id of a query the machine handed out, over UDP or TCP.
pub fn query_id(transmit: &impp_resolver::Transmit) -> u16 {
    let at = match transmit.transport {
        impp_resolver::Transport::Tcp => 2,
        _ => 0,
    };
    u16::from_be_bytes([transmit.payload[at], transmit.payload[at + 1]])
}

/// An endpoint of `target` on `port` with `addresses`, as a resolution
/// would hand it to a connector.
pub fn endpoint(target: &str, port: u16, addresses: &[&str]) -> Endpoint {
    Endpoint {
        priority: 0,
        weight: 0,
        port,
        target: name(target),
        service: None,
        addresses: addresses
            .iter()
            .map(|a| a.parse().expect("an IP address"))
            .collect(),
        security: impp_resolver::Security::INSECURE,
        tlsa: Vec::new(),
    }
}

/// An answer of `endpoints`, for feeding a connector directly.
pub fn answer_of(endpoints: Vec<Endpoint>) -> Answer {
    Answer {
        endpoints,
        omitted: 0,
        via: Via::Fallback {
            domain: name("example."),
        },
        ttl: 60,
        from_cache: false,
        stale: false,
    }
}

/// The answer to an SRV `query` (no length prefix): one record, target
/// `xmpp.` under the owner's parent, whose IPv4 address rides in the
/// additional section, all for `ttl`. Each name so answered is one cache
/// entry and asks nothing more.
pub fn srv_answer_with_glue(query: &[u8], ttl: u32) -> Vec<u8> {
    let q = Message::from_vec(query).unwrap();
    let owner = q.queries[0].name().clone();
    let target = name("xmpp").append_domain(&owner.base_name()).unwrap();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.add_query(q.queries[0].clone());
    m.add_answer(Record::from_rdata(
        owner,
        ttl,
        RData::SRV(SRV::new(0, 0, 5222, target.clone())),
    ));
    m.add_additional(Record::from_rdata(
        target,
        ttl,
        RData::A(A::new(192, 0, 2, 1)),
    ));
    m.to_vec().unwrap()
}

/// The path of example `name`, built by `cargo test` beside the running
/// test binary: target/<profile>/deps/<test> → target/<profile>/examples/<name>.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    path.push("examples");
    path.push(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the whole `cargo test`, which builds the examples, or `cargo build --examples` first",
        path.display()
    );
    path
}

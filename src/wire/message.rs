//! Building queries and reading answers (SPEC S12, S18–S22, S25, S27, S32).
//!
//! This is the only module that touches the DNS wire format, all of it
//! through hickory-proto. An answer is vetted in two steps: the header and
//! question are decoded and compared with what was asked (S19), and only
//! then is the whole message decoded and its rcode read. A forged or stray
//! packet therefore never gets as far as saying "NXDOMAIN".

use alloc::vec::Vec;
use core::net::IpAddr;

use hickory_proto::ProtoError;
use hickory_proto::op::{
    Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, Query, ResponseCode,
};
use hickory_proto::rr::rdata::TLSA;
use hickory_proto::rr::rdata::opt::OPT;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, Restrict,
};

use crate::error::{ExtendedError, ServerFailure};
use crate::srv::SrvRecord;
use crate::wire::name::{same_name, same_name_and_case};

/// Why a received packet was not accepted as the answer to a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mismatch {
    /// Too short or garbled to read a header and one question.
    Unreadable,
    /// QR is not set: a query, not a response.
    NotResponse,
    /// The question count is not 1, or QNAME/QTYPE/QCLASS differ from what was asked.
    WrongQuestion,
    /// S20: the QNAME differs only in letter case from the one sent.
    WrongCase,
}

/// Appends to `out` a recursive query for `name`/`rtype` with message id
/// `id` (S18) and, when `edns_payload` is set, an EDNS(0) OPT record
/// advertising that UDP payload size (S21), with the DO bit when
/// `dnssec_ok` (S33).
pub(crate) fn encode_query(
    out: &mut Vec<u8>,
    id: u16,
    name: &Name,
    rtype: RecordType,
    edns_payload: Option<u16>,
    dnssec_ok: bool,
) {
    // Each part is emitted through hickory-proto straight into one buffer,
    // not through a `Message`: every query and resend is encoded, and
    // building the message, its query list and the OPT record's copy of the
    // options cost a quarter of the encoding. The bytes are the same
    // (`the_lean_query_is_the_messages_bytes`).
    let mut metadata = Metadata::new(id, MessageType::Query, OpCode::Query);
    metadata.recursion_desired = true;
    let header = Header {
        metadata,
        counts: HeaderCounts {
            queries: 1,
            answers: 0,
            authorities: 0,
            additionals: u16::from(edns_payload.is_some()),
        },
    };
    let start = out.len();
    // The encoder reserves 512 bytes in a buffer smaller than that: the
    // caller's is kept from query to query, so that happens once.
    let mut encoder = BinEncoder::with_offset(out, start as u32);
    let emitted = header
        .emit(&mut encoder)
        .and_then(|()| emit_question_name(&mut encoder, name))
        .and_then(|()| rtype.emit(&mut encoder))
        .and_then(|()| DNSClass::IN.emit(&mut encoder))
        .and_then(|()| match edns_payload {
            Some(payload) => {
                let mut edns = Edns::new();
                edns.set_max_payload(payload);
                edns.set_dnssec_ok(dnssec_ok);
                edns.emit(&mut encoder)
            }
            None => Ok(()),
        });
    // Encoding a single well-formed question cannot fail: the name was
    // validated when it was built and nothing else varies.
    if emitted.is_err() {
        out.truncate(start);
    }
}

/// The question's name, each label through the encoder as the
/// length-prefixed string it is on the wire, then the root's empty label.
/// `Name::emit` writes the same bytes but also keeps a heap copy of every
/// suffix for compression, even when told not to compress: half of a
/// query's encoding, for a message with one name and nothing to point
/// back to (issue 24). Labels longer than 63 bytes cannot be in a `Name`.
fn emit_question_name(encoder: &mut BinEncoder<'_>, name: &Name) -> Result<(), ProtoError> {
    for label in name.iter() {
        encoder.emit_character_data(label)?;
    }
    encoder.emit(0)
}

/// A response whose header and question matched the query (S19), with the
/// decoder where vetting stopped: the rest is decoded from there, never
/// the header and question twice.
pub(crate) struct Vetted<'a> {
    header: Header,
    rest: BinDecoder<'a>,
}

/// Step one of S19: decode only the header and the question, and compare
/// the question with the one asked. With `exact_case` (S20), QNAME must also
/// echo the sent letter case.
pub(crate) fn vet<'a>(
    bytes: &'a [u8],
    name: &Name,
    rtype: RecordType,
    exact_case: bool,
) -> Result<Vetted<'a>, Mismatch> {
    let mut decoder = BinDecoder::new(bytes);
    let header = Header::read(&mut decoder).map_err(|_| Mismatch::Unreadable)?;
    if header.metadata.message_type != MessageType::Response {
        return Err(Mismatch::NotResponse);
    }
    if header.counts.queries != 1 {
        return Err(Mismatch::WrongQuestion);
    }
    let query = Query::read(&mut decoder).map_err(|_| Mismatch::Unreadable)?;
    // Name equality is case-insensitive, as DNS requires (S20 off).
    if !same_name(query.name(), name)
        || query.query_type() != rtype
        || query.query_class() != DNSClass::IN
    {
        return Err(Mismatch::WrongQuestion);
    }
    if exact_case && !same_name_and_case(query.name(), name) {
        return Err(Mismatch::WrongCase);
    }
    Ok(Vetted {
        header,
        rest: decoder,
    })
}

/// What a vetted answer says about the question, and what of it the cache
/// may keep (S26).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    /// The question as asked (its letter case aside): the cache's key.
    pub(crate) name: Name,
    pub(crate) rtype: RecordType,
    /// The CNAME links followed inside the answer, from `name` on (S25).
    /// A looping chain gives none: nothing of it is kept.
    pub(crate) chain: Vec<Link>,
    pub(crate) found: Found,
    /// DNSSEC (S34): a server whose AD bit is believed set it, so every
    /// RRset of the answer and authority sections (the chain, the records
    /// or the proof of their absence) was validated. The additional
    /// section is not covered (RFC 4035 §3.2.3).
    pub(crate) secure: bool,
}

/// One CNAME record of a chain: `owner` is an alias of `target`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Link {
    pub(crate) owner: Name,
    pub(crate) target: Name,
    pub(crate) ttl: u32,
}

/// The records of one RRset, in the form the plan uses them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Records {
    Srv(Vec<SrvRecord>),
    /// A or AAAA records, in answer order.
    Addresses(Vec<IpAddr>),
    /// TLSA records (RFC 6698), for DANE (S37).
    Tlsa(Vec<TLSA>),
}

impl Records {
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Records::Srv(r) => r.is_empty(),
            Records::Addresses(a) => a.is_empty(),
            Records::Tlsa(t) => t.is_empty(),
        }
    }
}

/// Why a lookup found no records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Absence {
    /// The name does not exist.
    NxDomain,
    /// The name exists without records of the type asked.
    NoData,
}

/// What the chain's last name has.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Found {
    /// Records of the asked type, their TTL (the RRset's lowest, S12), and
    /// the additional section's addresses with the lowest of their TTLs.
    Records {
        records: Records,
        ttl: u32,
        additional: Vec<(Name, IpAddr)>,
        additional_ttl: u32,
    },
    /// The chain ends at a name with no records and no sign the server
    /// looked: ask that name again (S25).
    Alias,
    /// NXDOMAIN or NODATA. `ttl`: how long to believe it, from the SOA
    /// that came with it (RFC 2308 §5); none came: `None`.
    Absent { absence: Absence, ttl: Option<u32> },
    /// The answer's CNAME chain loops back on itself or is too long (S25).
    CnameLoop,
}

impl Reply {
    /// The name whose records (or absence) the answer gives: the chain's
    /// last name.
    pub(crate) fn end(&self) -> &Name {
        self.chain.last().map_or(&self.name, |link| &link.target)
    }

    /// CNAME hops taken inside this answer (S25).
    pub(crate) fn hops(&self) -> u8 {
        // At most `max_hops` links are kept, so this fits.
        u8::try_from(self.chain.len()).unwrap_or(u8::MAX)
    }

    /// The lowest TTL of the chain's links (`u32::MAX` without one).
    pub(crate) fn chain_ttl(&self) -> u32 {
        self.chain.iter().map(|l| l.ttl).min().unwrap_or(u32::MAX)
    }
}

/// S26, RFC 2181 §8: a TTL with the top bit set counts as 0.
fn ttl_of(raw: u32) -> u32 {
    if raw > i32::MAX as u32 { 0 } else { raw }
}

/// Step two of S19: decode the rest of a vetted message and interpret it
/// for the question `name`/`rtype` (S12, S25). An `Err` is what the server
/// did instead of answering: TC=1 (S22: its records are never used), an
/// error rcode, a referral, garbage, or more than `max_records` records (S27).
/// `trust_ad`: whether this server's AD bit is believed (S34).
pub(crate) fn read_reply(
    vetted: Vetted<'_>,
    name: &Name,
    rtype: RecordType,
    max_hops: u8,
    max_records: u16,
    trust_ad: bool,
) -> Result<Reply, ServerFailure> {
    let Vetted { header, mut rest } = vetted;
    if header.metadata.truncation {
        return Err(ServerFailure::Truncated);
    }
    // S27: judge the size from the header before decoding anything more.
    let counts = &header.counts;
    let records =
        u32::from(counts.answers) + u32::from(counts.authorities) + u32::from(counts.additionals);
    if records > u32::from(max_records) {
        return Err(ServerFailure::TooLarge);
    }
    let op = header.metadata.op_code;
    // The additional section's addresses are taken as each record is
    // read: the rest of it is of no use (S14), and a record is large to
    // keep and move.
    let mut additional: Vec<(Name, IpAddr)> =
        Vec::with_capacity(usize::from(counts.additionals).min(16));
    let mut additional_ttl = u32::MAX;
    let take_address = |name, class, ttl, data| {
        let ip = match data {
            RData::A(a) if class == DNSClass::IN => IpAddr::V4(a.0),
            RData::AAAA(aaaa) if class == DNSClass::IN => IpAddr::V6(aaaa.0),
            _ => return,
        };
        additional_ttl = additional_ttl.min(ttl_of(ttl));
        additional.push((name, ip));
    };
    let sections = read_records(&mut rest, counts.answers, op).and_then(|answers| {
        let authorities = read_records(&mut rest, counts.authorities, op)?;
        let mut opt = None;
        read_section(
            &mut rest,
            counts.additionals,
            op,
            Some(&mut opt),
            take_address,
        )?;
        Some((answers, authorities, opt))
    });
    let Some((answers, authorities, opt)) = sections else {
        return Err(ServerFailure::Malformed);
    };
    let mut metadata = header.metadata;
    if let Some(opt) = &opt {
        // The rcode's high bits live in the OPT record (RFC 6891 §6.1.3).
        metadata.merge_response_code(opt.rcode_high);
    }
    let rcode = metadata.response_code;
    let secure = trust_ad && metadata.authentic_data;
    let chain = follow_chain(&answers, name, rtype, max_hops);
    let reply = |chain, found| Reply {
        name: name.clone(),
        rtype,
        chain,
        found,
        secure,
    };
    if rcode != ResponseCode::NoError && rcode != ResponseCode::NXDomain {
        // S32: a loop is a loop whatever rcode came with it (BIND answers
        // one with SERVFAIL and both CNAMEs).
        if chain.is_err() {
            return Ok(reply(Vec::new(), Found::CnameLoop));
        }
        let extended =
            opt.as_ref()
                .and_then(|opt| match opt.options.get(EdnsCode::Unknown(EDE_OPTION)) {
                    Some(EdnsOption::Unknown(_, data)) => ExtendedError::from_option(data),
                    _ => None,
                });
        return Err(ServerFailure::Rcode {
            rcode: u16::from(rcode),
            extended,
        });
    }
    let Ok(chain) = chain else {
        return Ok(reply(Vec::new(), Found::CnameLoop));
    };
    let owner = chain.last().map_or(name, |link| &link.target).clone();

    let is_wanted = |r: &Record| {
        r.dns_class == DNSClass::IN && r.record_type() == rtype && same_name(&r.name, &owner)
    };
    // One pass: each record's owner is compared once, and its data moved
    // once, into room made up front.
    let mut ttl = u32::MAX;
    let room = |of: &[RecordType]| {
        if of.contains(&rtype) {
            answers.len()
        } else {
            0
        }
    };
    let mut srv = Vec::with_capacity(room(&[RecordType::SRV]));
    let mut ips = Vec::with_capacity(room(&[RecordType::A, RecordType::AAAA]));
    let mut tlsa = Vec::with_capacity(room(&[RecordType::TLSA]));
    for r in answers.into_iter().filter(is_wanted) {
        // S12: the RRset's TTL is its lowest.
        ttl = ttl.min(ttl_of(r.ttl));
        match r.data {
            RData::SRV(s) => srv.push(SrvRecord {
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                target: s.target,
            }),
            RData::A(a) => ips.push(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) => ips.push(IpAddr::V6(aaaa.0)),
            RData::TLSA(t) => tlsa.push(t),
            _ => {}
        }
    }
    let records = match rtype {
        RecordType::SRV => Records::Srv(srv),
        RecordType::TLSA => Records::Tlsa(tlsa),
        _ => Records::Addresses(ips),
    };
    if !records.is_empty() {
        let found = Found::Records {
            records,
            ttl,
            additional,
            additional_ttl,
        };
        return Ok(reply(chain, found));
    }

    // RFC 2308 §5: a negative answer lives as long as the SOA that came
    // with it says, the lower of its TTL and MINIMUM; only an SOA of a zone
    // holding the name counts.
    let negative_ttl = authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) if r.dns_class == DNSClass::IN && r.name.zone_of(&owner) => {
            Some(ttl_of(r.ttl).min(ttl_of(soa.minimum)))
        }
        _ => None,
    });
    let in_authority = |rtype| authorities.iter().any(|r| r.record_type() == rtype);
    let has_soa = in_authority(RecordType::SOA);
    if rcode == ResponseCode::NXDomain {
        let found = Found::Absent {
            absence: Absence::NxDomain,
            ttl: negative_ttl,
        };
        return Ok(reply(chain, found));
    }
    if !same_name(&owner, name) && !has_soa {
        // An authoritative server that does not chase CNAMEs into other zones
        // (Knot, BIND: SPEC §8) returns the CNAME alone.
        return Ok(reply(chain, Found::Alias));
    }
    if same_name(&owner, name)
        && !metadata.authoritative
        && !has_soa
        && in_authority(RecordType::NS)
    {
        return Err(ServerFailure::Referral);
    }
    let found = Found::Absent {
        absence: Absence::NoData,
        ttl: negative_ttl,
    };
    Ok(reply(chain, found))
}

/// What the OPT record of an answer says that the machine reads.
struct Opt {
    /// The extended rcode's high eight bits: the top byte of the OPT
    /// record's TTL field (RFC 6891 §6.1.3), which hickory-proto decoded.
    rcode_high: u8,
    options: OPT,
}

/// Reads `count` records of one section as hickory-proto's
/// `Message::read_records` does, each as `Record::read` reads it
/// ([`read_record`]), with its checks: no empty record outside UPDATE;
/// OPT, SIG and TSIG only in the additional section (`opt` is given for
/// it), one OPT at most. Not `read_records` itself: it makes an OPT record
/// into an `Edns` through a conversion that panics, formatting the record,
/// on what cannot happen there, and that formatting linked every record
/// type's `Debug`, base64 and IDNA into a device's binary (BENCHMARKS.md
/// §7). Each record but the OPT goes to `keep` as it is read, in parts.
/// `None`: malformed.
fn read_section(
    decoder: &mut BinDecoder<'_>,
    count: u16,
    op: OpCode,
    mut opt: Option<&mut Option<Opt>>,
    mut keep: impl FnMut(Name, DNSClass, u32, RData),
) -> Option<()> {
    for _ in 0..count {
        let (name, class, ttl, data) = read_record(decoder)?;
        let rtype = data.record_type();
        if matches!(rtype, RecordType::OPT | RecordType::SIG | RecordType::TSIG) && opt.is_none() {
            return None;
        }
        if rtype == RecordType::OPT {
            let options = match data {
                RData::OPT(options) => options,
                _ => OPT::default(),
            };
            let found = Opt {
                rcode_high: (ttl >> 24) as u8,
                options,
            };
            let slot = opt.as_deref_mut()?;
            if slot.replace(found).is_some() {
                return None;
            }
            continue;
        }
        if matches!(data, RData::Update0(_)) && op != OpCode::Update {
            return None;
        }
        keep(name, class, ttl, data);
    }
    Some(())
}

/// One record, read exactly as hickory-proto's `Record::read` reads it
/// (an OPT record's owner must be the root and its class field is a
/// payload size; no data is UPDATE's empty record), through the same
/// readers, but handed out in parts: a `Record` is 272 bytes made and
/// moved for each record, where the additional section needs only owners
/// and addresses (issue 24).
fn read_record(decoder: &mut BinDecoder<'_>) -> Option<(Name, DNSClass, u32, RData)> {
    let name = Name::read(decoder).ok()?;
    let rtype = RecordType::read(decoder).ok()?;
    let class = if rtype == RecordType::OPT {
        if !name.is_root() {
            return None;
        }
        DNSClass::for_opt(decoder.read_u16().ok()?.unverified())
    } else {
        DNSClass::read(decoder).ok()?
    };
    let ttl = decoder.read_u32().ok()?.unverified();
    let length = decoder.read_u16().ok()?.unverified();
    if usize::from(length) > decoder.len() {
        return None;
    }
    let data = if length == 0 {
        RData::Update0(rtype)
    } else {
        RData::read(decoder, rtype, Restrict::new(length)).ok()?
    };
    Some((name, class, ttl, data))
}

/// A record of the parts [`read_record`] gives.
fn record(name: Name, class: DNSClass, ttl: u32, data: RData) -> Record {
    let mut record = Record::from_rdata(name, ttl, data);
    record.dns_class = class;
    record
}

/// The records of a section that holds no OPT ([`read_section`]).
fn read_records(decoder: &mut BinDecoder<'_>, count: u16, op: OpCode) -> Option<Vec<Record>> {
    let mut records = Vec::with_capacity(usize::from(count).min(8));
    read_section(decoder, count, op, None, |name, class, ttl, data| {
        records.push(record(name, class, ttl, data))
    })?;
    Some(records)
}

/// The EDNS option code of Extended DNS Errors (RFC 8914 §2).
const EDE_OPTION: u16 = 15;

/// The answer's chain loops or is longer than the hop limit (S25).
struct Looped;

/// Follows the CNAME chain from `name` inside the answer section (S25),
/// with loop detection and the hop limit. Records whose owner, type or
/// class do not fit are ignored (S12). Gives the links followed, in order.
fn follow_chain<'a>(
    answers: &'a [Record],
    name: &'a Name,
    rtype: RecordType,
    max_hops: u8,
) -> Result<Vec<Link>, Looped> {
    let mut chain: Vec<Link> = Vec::new();
    if rtype == RecordType::CNAME {
        return Ok(chain);
    }
    let mut owner = name;
    while let Some((target, cname_ttl)) = answers.iter().find_map(|r| match &r.data {
        RData::CNAME(cname) if r.dns_class == DNSClass::IN && same_name(&r.name, owner) => {
            Some((&cname.0, r.ttl))
        }
        _ => None,
    }) {
        let looped = same_name(target, name) || chain.iter().any(|l| same_name(&l.target, target));
        if looped || chain.len() >= usize::from(max_hops) {
            return Err(Looped);
        }
        chain.push(Link {
            owner: owner.clone(),
            target: target.clone(),
            ttl: ttl_of(cname_ttl),
        });
        owner = target;
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use core::net::Ipv4Addr;
    use hickory_proto::op::Message;
    use hickory_proto::rr::rdata::{A, CNAME, NS, SOA, SRV};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn query(id: u16, q: &Name, rtype: RecordType, edns: Option<u16>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_query(&mut out, id, q, rtype, edns, false);
        out
    }

    /// The section reader accepts and refuses exactly what hickory-proto's
    /// `Message::read_records` does, and gives the same records and OPT
    /// data, over well-formed answers and thousands of mutations of them:
    /// OPT, SIG and TSIG outside the additional section, a second OPT, empty
    /// records, truncated or overlong data.
    #[test]
    fn sections_read_as_hickory_reads_them() {
        use hickory_proto::rr::rdata::opt::EdnsOption;
        use rand_chacha::ChaCha8Rng;
        use rand_core::{Rng, SeedableRng};
        let q = name("_im._xmpp.example.com.");
        let mut bases = Vec::new();
        for with_edns in [false, true] {
            let mut m = Message::new(7, MessageType::Response, OpCode::Query);
            m.add_query(Query::query(q.clone(), RecordType::SRV));
            m.add_answer(Record::from_rdata(
                q.clone(),
                300,
                RData::SRV(SRV::new(0, 5, 5222, name("a.example.com."))),
            ));
            m.add_answer(Record::from_rdata(
                q.clone(),
                300,
                RData::CNAME(CNAME(name("b.example.com."))),
            ));
            m.add_authority(Record::from_rdata(
                name("example.com."),
                60,
                RData::NS(NS(name("ns.example.com."))),
            ));
            m.add_additional(Record::from_rdata(
                name("a.example.com."),
                300,
                RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
            ));
            if with_edns {
                let mut edns = Edns::new();
                edns.set_max_payload(1232);
                edns.set_rcode_high(1);
                edns.options_mut()
                    .insert(EdnsOption::Unknown(EDE_OPTION, vec![0, 6, b'x']));
                m.set_edns(edns);
            }
            bases.push(m.to_vec().unwrap());
        }
        let hickory = |bytes: &[u8]| {
            let mut d = BinDecoder::new(bytes);
            let header = Header::read(&mut d).ok()?;
            Query::read(&mut d).ok()?;
            let c = header.counts;
            let op = header.metadata.op_code;
            let mut read = |n: u16, additional| {
                Message::read_records(&mut d, usize::from(n), additional, op).ok()
            };
            let (answers, ..) = read(c.answers, false)?;
            let (authorities, ..) = read(c.authorities, false)?;
            let (additionals, edns, _) = read(c.additionals, true)?;
            let opt = edns.map(|e| (e.rcode_high(), e.options().clone()));
            Some((answers, authorities, additionals, opt))
        };
        let ours = |bytes: &[u8]| {
            let mut d = BinDecoder::new(bytes);
            let header = Header::read(&mut d).ok()?;
            Query::read(&mut d).ok()?;
            let c = header.counts;
            let op = header.metadata.op_code;
            let answers = read_records(&mut d, c.answers, op)?;
            let authorities = read_records(&mut d, c.authorities, op)?;
            let mut opt = None;
            let mut additionals = Vec::new();
            read_section(&mut d, c.additionals, op, Some(&mut opt), |n, c, t, r| {
                additionals.push(record(n, c, t, r))
            })?;
            let opt = opt.map(|o| (o.rcode_high, o.options));
            Some((answers, authorities, additionals, opt))
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut accepted, mut refused) = (0, 0);
        for round in 0..20_000 {
            let mut bytes = bases[round % bases.len()].clone();
            for _ in 0..(round % 4) {
                let at = rng.next_u32() as usize % bytes.len();
                bytes[at] = rng.next_u32() as u8;
            }
            // Now and then a record's type turned into OPT, SIG or TSIG,
            // or the counts raised, to reach the section rules.
            if round % 7 == 0 {
                let at = 12 + rng.next_u32() as usize % (bytes.len() - 13);
                let rtype = [41u16, 24, 250][round % 3].to_be_bytes();
                bytes[at..at + 2].copy_from_slice(&rtype);
            }
            let (theirs, mine) = (hickory(&bytes), ours(&bytes));
            assert_eq!(mine, theirs, "round {round}: {bytes:?}");
            if mine.is_some() {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            accepted > 2_000 && refused > 2_000,
            "{accepted} accepted, {refused} refused"
        );
    }

    #[test]
    fn the_lean_query_is_the_messages_bytes() {
        let names = [
            name("_im._xmpp.example.com."),
            name("_IM._xMpP.ExAmple.COM."),
            name("."),
            name("a.b.a.b.a.b."),
        ];
        for q in &names {
            for (rtype, edns, dnssec_ok) in [
                (RecordType::SRV, Some(1232), false),
                (RecordType::A, None, false),
                (RecordType::AAAA, Some(512), false),
                (RecordType::SRV, Some(1232), true),
                (RecordType::TLSA, Some(1232), true),
            ] {
                let mut message = Message::new(0xbeef, MessageType::Query, OpCode::Query);
                message.metadata.recursion_desired = true;
                message.add_query(Query::query(q.clone(), rtype));
                if let Some(payload) = edns {
                    let mut opt = Edns::new();
                    opt.set_max_payload(payload);
                    opt.set_dnssec_ok(dnssec_ok);
                    message.set_edns(opt);
                }
                // Appended after what the buffer holds (a TCP prefix).
                let mut out = vec![1, 2];
                encode_query(&mut out, 0xbeef, q, rtype, edns, dnssec_ok);
                assert_eq!(out[..2], [1, 2]);
                assert_eq!(out[2..], message.to_vec().unwrap(), "{q} {rtype}");
            }
        }
    }

    fn response(id: u16, q: &Name, rtype: RecordType) -> Message {
        let mut m = Message::new(id, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(q.clone(), rtype));
        m
    }

    fn full(m: &Message, q: &Name, rtype: RecordType) -> Result<Reply, ServerFailure> {
        let bytes = m.to_vec().unwrap();
        let vetted = vet(&bytes, q, rtype, false).expect("vetted");
        read_reply(vetted, q, rtype, 8, 100, false)
    }

    fn reply(m: &Message, q: &Name, rtype: RecordType) -> Result<Found, ServerFailure> {
        full(m, q, rtype).map(|r| r.found)
    }

    fn soa() -> Record {
        Record::from_rdata(
            name("example.com."),
            60,
            RData::SOA(SOA::new(
                name("ns.example.com."),
                name("h.example.com."),
                1,
                2,
                3,
                4,
                5,
            )),
        )
    }

    #[test]
    fn query_has_id_rd_question_and_edns() {
        let q = name("_im._xmpp.example.com.");
        let bytes = query(0xBEEF, &q, RecordType::SRV, Some(1232));
        let m = Message::from_vec(&bytes).unwrap();
        assert_eq!(m.metadata.id, 0xBEEF);
        assert!(m.metadata.recursion_desired);
        assert_eq!(m.metadata.message_type, MessageType::Query);
        assert_eq!(m.queries, vec![Query::query(q.clone(), RecordType::SRV)]);
        assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(1232));
        let plain = Message::from_vec(&query(1, &q, RecordType::SRV, None)).unwrap();
        assert!(plain.edns.is_none());
    }

    #[test]
    fn vetting_rejects_queries_and_wrong_questions() {
        let q = name("_im._xmpp.example.com.");
        let query = query(7, &q, RecordType::SRV, None);
        assert_eq!(
            vet(&query, &q, RecordType::SRV, false).err(),
            Some(Mismatch::NotResponse)
        );
        let other = response(7, &name("_im._sip.example.com."), RecordType::SRV)
            .to_vec()
            .unwrap();
        assert_eq!(
            vet(&other, &q, RecordType::SRV, false).err(),
            Some(Mismatch::WrongQuestion)
        );
        let wrong_type = response(7, &q, RecordType::A).to_vec().unwrap();
        assert_eq!(
            vet(&wrong_type, &q, RecordType::SRV, false).err(),
            Some(Mismatch::WrongQuestion)
        );
        assert_eq!(
            vet(&[1, 2, 3], &q, RecordType::SRV, false).err(),
            Some(Mismatch::Unreadable)
        );
        // Case differences in QNAME are accepted when 0x20 is off (S20).
        let upper = response(7, &name("_IM._XMPP.Example.COM."), RecordType::SRV)
            .to_vec()
            .unwrap();
        assert!(vet(&upper, &q, RecordType::SRV, false).is_ok());
        // With 0x20 on, only the exact echo passes.
        assert_eq!(
            vet(&upper, &q, RecordType::SRV, true).err(),
            Some(Mismatch::WrongCase)
        );
        let exact = response(7, &q, RecordType::SRV).to_vec().unwrap();
        assert!(vet(&exact, &q, RecordType::SRV, true).is_ok());
    }

    #[test]
    fn rcode_is_read_only_after_vetting() {
        // A forged NXDOMAIN for another question never reaches read_reply.
        let q = name("_im._xmpp.example.com.");
        let mut forged = response(9, &name("_im._xmpp.evil.com."), RecordType::SRV);
        forged.metadata.response_code = ResponseCode::NXDomain;
        assert!(vet(&forged.to_vec().unwrap(), &q, RecordType::SRV, false).is_err());
    }

    #[test]
    fn records_ignore_other_owners_types_and_keep_lowest_ttl() {
        let q = name("_im._xmpp.example.com.");
        let mut m = response(1, &q, RecordType::SRV);
        let srv = |ttl, target: &str| {
            Record::from_rdata(
                q.clone(),
                ttl,
                RData::SRV(SRV::new(0, 1, 5222, name(target))),
            )
        };
        m.add_answer(srv(300, "a.example.com."));
        m.add_answer(srv(100, "b.example.com."));
        m.add_answer(Record::from_rdata(
            name("_im._sip.example.com."),
            5,
            RData::SRV(SRV::new(0, 1, 5060, name("c.example.com."))),
        ));
        m.add_answer(Record::from_rdata(
            q.clone(),
            1,
            RData::A(A(Ipv4Addr::LOCALHOST)),
        ));
        m.add_additional(Record::from_rdata(
            name("a.example.com."),
            60,
            RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
        ));
        m.add_additional(Record::from_rdata(
            name("a.example.com."),
            0x8000_0000,
            RData::A(A(Ipv4Addr::new(192, 0, 2, 9))),
        ));
        let Ok(Found::Records {
            records: Records::Srv(records),
            additional,
            ttl,
            additional_ttl,
        }) = reply(&m, &q, RecordType::SRV)
        else {
            panic!("records expected")
        };
        assert_eq!(records.len(), 2);
        assert_eq!(ttl, 100);
        // S26: a TTL with the top bit set counts as 0.
        assert_eq!(additional_ttl, 0);
        let a = name("a.example.com.");
        assert_eq!(
            additional,
            vec![
                (a.clone(), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
                (a, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)))
            ]
        );
    }

    #[test]
    fn cname_chains_are_followed_inside_one_answer() {
        let q = name("www.example.com.");
        let mut m = response(1, &q, RecordType::A);
        m.add_answer(Record::from_rdata(
            q.clone(),
            50,
            RData::CNAME(CNAME(name("b.example.com."))),
        ));
        m.add_answer(Record::from_rdata(
            name("b.example.com."),
            70,
            RData::A(A(Ipv4Addr::LOCALHOST)),
        ));
        let reply = full(&m, &q, RecordType::A).unwrap();
        assert_eq!(reply.hops(), 1);
        assert_eq!(reply.chain_ttl(), 50);
        assert_eq!(reply.end(), &name("b.example.com."));
        assert!(matches!(reply.found, Found::Records { ttl: 70, .. }));
    }

    #[test]
    fn dangling_cname_asks_again_unless_soa_says_nodata() {
        let q = name("www.example.com.");
        let mut m = response(1, &q, RecordType::A);
        m.add_answer(Record::from_rdata(
            q.clone(),
            50,
            RData::CNAME(CNAME(name("other.net."))),
        ));
        let alias = full(&m, &q, RecordType::A).unwrap();
        assert_eq!(alias.found, Found::Alias);
        assert_eq!(alias.end(), &name("other.net."));
        assert_eq!(alias.chain_ttl(), 50);
        // An SOA of another zone than the chain's end gives no lifetime.
        m.add_authority(soa());
        assert_eq!(
            reply(&m, &q, RecordType::A),
            Ok(Found::Absent {
                absence: Absence::NoData,
                ttl: None
            })
        );
    }

    #[test]
    fn cname_loop_inside_one_answer() {
        let q = name("a.example.com.");
        let mut m = response(1, &q, RecordType::A);
        m.add_answer(Record::from_rdata(
            q.clone(),
            5,
            RData::CNAME(CNAME(name("b.example.com."))),
        ));
        m.add_answer(Record::from_rdata(
            name("b.example.com."),
            5,
            RData::CNAME(CNAME(q.clone())),
        ));
        assert_eq!(reply(&m, &q, RecordType::A), Ok(Found::CnameLoop));
    }

    #[test]
    fn negative_answers_referrals_and_errors() {
        let q = name("_im._xmpp.example.com.");
        let mut nx = response(1, &q, RecordType::SRV);
        nx.metadata.response_code = ResponseCode::NXDomain;
        assert_eq!(
            reply(&nx, &q, RecordType::SRV),
            Ok(Found::Absent {
                absence: Absence::NxDomain,
                ttl: None
            })
        );

        // RFC 2308 §5: the lower of the SOA's TTL (60) and MINIMUM (5).
        let mut nodata = response(1, &q, RecordType::SRV);
        nodata.add_authority(soa());
        assert_eq!(
            reply(&nodata, &q, RecordType::SRV),
            Ok(Found::Absent {
                absence: Absence::NoData,
                ttl: Some(5)
            })
        );
        nx.add_authority(soa());
        assert_eq!(
            reply(&nx, &q, RecordType::SRV),
            Ok(Found::Absent {
                absence: Absence::NxDomain,
                ttl: Some(5)
            })
        );

        let mut referral = response(1, &q, RecordType::SRV);
        referral.add_authority(Record::from_rdata(
            name("example.com."),
            60,
            RData::NS(NS(name("ns.example.net."))),
        ));
        assert_eq!(
            reply(&referral, &q, RecordType::SRV),
            Err(ServerFailure::Referral)
        );

        let mut servfail = response(1, &q, RecordType::SRV);
        servfail.metadata.response_code = ResponseCode::ServFail;
        assert_eq!(
            reply(&servfail, &q, RecordType::SRV),
            Err(ServerFailure::rcode(2))
        );

        let mut tc = response(1, &q, RecordType::SRV);
        tc.metadata.truncation = true;
        tc.add_answer(Record::from_rdata(
            q.clone(),
            5,
            RData::SRV(SRV::new(0, 0, 1, name("partial.example.com."))),
        ));
        assert_eq!(
            reply(&tc, &q, RecordType::SRV),
            Err(ServerFailure::Truncated)
        );
    }

    #[test]
    fn more_records_than_the_cap_is_too_large() {
        let q = name("_im._xmpp.example.com.");
        let mut m = response(1, &q, RecordType::SRV);
        for port in 0..101 {
            m.add_answer(Record::from_rdata(
                q.clone(),
                5,
                RData::SRV(SRV::new(0, 0, port, name("x.example.com."))),
            ));
        }
        assert_eq!(reply(&m, &q, RecordType::SRV), Err(ServerFailure::TooLarge));
    }

    #[test]
    fn garbage_after_a_good_question_is_malformed() {
        let q = name("_im._xmpp.example.com.");
        let mut m = response(1, &q, RecordType::SRV);
        m.add_answer(Record::from_rdata(
            q.clone(),
            5,
            RData::SRV(SRV::new(0, 0, 1, name("x.example.com."))),
        ));
        let mut bytes = m.to_vec().unwrap();
        bytes.truncate(bytes.len() - 3);
        let vetted = vet(&bytes, &q, RecordType::SRV, false).unwrap();
        assert_eq!(
            read_reply(vetted, &q, RecordType::SRV, 8, 100, false),
            Err(ServerFailure::Malformed)
        );
    }

    #[test]
    fn a_cname_loop_under_servfail_is_a_loop_and_ede_is_read() {
        let q = name("a.example.com.");
        let mut m = response(1, &q, RecordType::A);
        m.metadata.response_code = ResponseCode::ServFail;
        let mut edns = Edns::new();
        let ede = [&[0u8, 0][..], b"max. restarts reached"].concat();
        edns.options_mut()
            .insert(EdnsOption::Unknown(EDE_OPTION, ede));
        m.set_edns(edns);
        let Err(ServerFailure::Rcode {
            rcode: 2,
            extended: Some(extended),
        }) = reply(&m, &q, RecordType::A)
        else {
            panic!("SERVFAIL with its EDE expected");
        };
        assert_eq!(
            (extended.code, &*extended.text),
            (0, "max. restarts reached")
        );
        // The same SERVFAIL with a looping chain (BIND 9.18, S32).
        let b = name("b.example.com.");
        m.add_answer(Record::from_rdata(
            q.clone(),
            5,
            RData::CNAME(CNAME(b.clone())),
        ));
        m.add_answer(Record::from_rdata(b, 5, RData::CNAME(CNAME(q.clone()))));
        assert_eq!(reply(&m, &q, RecordType::A), Ok(Found::CnameLoop));
    }

    #[test]
    fn the_do_bit_is_set_only_when_asked() {
        let q = name("_im._xmpp.example.com.");
        let mut plain = Vec::new();
        encode_query(&mut plain, 7, &q, RecordType::SRV, Some(1232), false);
        let mut dnssec = Vec::new();
        encode_query(&mut dnssec, 7, &q, RecordType::SRV, Some(1232), true);
        let read = |bytes: &[u8]| Message::from_vec(bytes).unwrap().edns.unwrap();
        assert!(!read(&plain).flags().dnssec_ok);
        assert!(read(&dnssec).flags().dnssec_ok);
        // The bit is the one difference (RFC 3225: the top bit of the TTL
        // field's flags).
        let differ: Vec<usize> = (0..plain.len())
            .filter(|&i| plain[i] != dnssec[i])
            .collect();
        assert_eq!(differ.len(), 1);
    }

    #[test]
    fn the_ad_bit_makes_an_answer_secure_only_from_a_trusted_server() {
        let q = name("a.example.com.");
        let mut m = response(1, &q, RecordType::A);
        m.add_answer(Record::from_rdata(
            q.clone(),
            60,
            RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
        ));
        let read = |m: &Message, trusted| {
            let bytes = m.to_vec().unwrap();
            let vetted = vet(&bytes, &q, RecordType::A, false).unwrap();
            read_reply(vetted, &q, RecordType::A, 8, 100, trusted)
                .unwrap()
                .secure
        };
        assert!(!read(&m, true), "no AD bit");
        m.metadata.authentic_data = true;
        assert!(!read(&m, false), "AD from a server not trusted");
        assert!(read(&m, true));
    }

    #[test]
    fn tlsa_records_are_read_for_a_tlsa_question() {
        use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
        let q = name("_5222._tcp.chat.example.com.");
        let mut m = response(1, &q, RecordType::TLSA);
        let record = TLSA::new(
            CertUsage::DaneEe,
            Selector::Spki,
            Matching::Sha256,
            vec![0xab; 32],
        );
        m.add_answer(Record::from_rdata(
            q.clone(),
            60,
            RData::TLSA(record.clone()),
        ));
        match reply(&m, &q, RecordType::TLSA) {
            Ok(Found::Records {
                records: Records::Tlsa(tlsa),
                ..
            }) => assert_eq!(tlsa, [record]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn servfail_with_a_dnssec_ede_is_bogus_and_others_are_not() {
        let failure = |code: u16| ServerFailure::Rcode {
            rcode: 2,
            extended: Some(ExtendedError {
                code,
                text: alloc::string::String::new(),
            }),
        };
        for code in [1, 2, 5, 6, 7, 8, 9, 10, 11, 12] {
            assert!(failure(code).is_bogus(), "EDE {code}");
        }
        for code in [0, 3, 4, 13, 22] {
            assert!(!failure(code).is_bogus(), "EDE {code}");
        }
        assert!(!ServerFailure::rcode(2).is_bogus());
        let refused = ServerFailure::Rcode {
            rcode: 5,
            extended: Some(ExtendedError {
                code: 6,
                text: alloc::string::String::new(),
            }),
        };
        assert!(!refused.is_bogus());
    }
}

//! Zone data, and the answer an authoritative server gives from it.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// One zone: its origin and its records, as a master file (RFC 1035 §5)
/// or code gives them. A zone holds no delegations and no wildcards: the
/// kit's servers are authoritative for all of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    origin: Name,
    records: Vec<Record>,
    /// Questions answered with set sections instead of from the records.
    replies: Vec<(Name, RecordType, Reply)>,
}

/// What a hostile (or broken) authoritative server says to one question,
/// whatever its records say: any rcode, any records in any section, for
/// any names. [`Zone::with_reply`] sets it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    /// The rcode (NOERROR by default).
    pub rcode: ResponseCode,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section.
    pub authority: Vec<Record>,
    /// The additional section.
    pub additional: Vec<Record>,
}

/// A zone file the parser refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    /// hickory-proto's account of what was wrong, and where.
    pub message: String,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zone file: {}", self.message)
    }
}

impl core::error::Error for ZoneError {}

/// What a zone says of one name and type.
enum Found<'a> {
    Records(Vec<&'a Record>),
    Alias(&'a Record),
    NoData,
    NxDomain,
}

impl Zone {
    /// An empty zone for `origin` (made absolute). Give it an SOA record,
    /// as every real zone has, so that negative answers can be cached.
    pub fn new(origin: Name) -> Zone {
        let mut origin = origin;
        origin.set_fqdn(true);
        Zone {
            origin,
            records: Vec::new(),
            replies: Vec::new(),
        }
    }

    /// The zone, answering `name`/`rtype` with `reply` (AA set) instead of
    /// from its records: what an attacker's own zone says to plant records
    /// for other names, or a broken server's odd answer.
    pub fn with_reply(mut self, name: Name, rtype: RecordType, reply: Reply) -> Zone {
        self.replies.push((name, rtype, reply));
        self
    }

    /// The zone with `record` added (class IN, whatever it said).
    pub fn with(mut self, record: Record) -> Zone {
        self.add(record);
        self
    }

    /// Adds `record` (class IN, whatever it said).
    pub fn add(&mut self, mut record: Record) {
        record.dns_class = DNSClass::IN;
        self.records.push(record);
    }

    /// Reads RFC 1035 master-file text (through hickory-proto's parser):
    /// `$ORIGIN`, `$TTL`, relative names and the rest. `origin` is used
    /// until the text sets its own. `$INCLUDE` is refused.
    #[cfg(feature = "std")]
    pub fn parse(origin: &str, text: &str) -> Result<Zone, ZoneError> {
        use hickory_proto::serialize::txt::Parser;
        let error = |message: String| ZoneError { message };
        let origin = Name::from_ascii(origin).map_err(|e| error(alloc::format!("{e}")))?;
        let (origin, sets) = Parser::new(text, None, Some(origin))
            .parse()
            .map_err(|e| error(alloc::format!("{e}")))?;
        let mut zone = Zone::new(origin);
        for set in sets.into_values() {
            for record in set.records_without_rrsigs() {
                zone.add(record.clone());
            }
        }
        Ok(zone)
    }

    /// The zone's origin.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// Every record, in the order given.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Whether `name` is at or below the origin.
    pub fn holds(&self, name: &Name) -> bool {
        self.origin.zone_of(name)
    }

    fn soa(&self) -> Option<&Record> {
        self.records
            .iter()
            .find(|r| r.record_type() == RecordType::SOA && r.name == self.origin)
    }

    fn find(&self, name: &Name, rtype: RecordType) -> Found<'_> {
        let at: Vec<&Record> = self.records.iter().filter(|r| &r.name == name).collect();
        let of_type: Vec<&Record> = at
            .iter()
            .copied()
            .filter(|r| r.record_type() == rtype)
            .collect();
        if !of_type.is_empty() {
            return Found::Records(of_type);
        }
        if let Some(alias) = at.iter().find(|r| r.record_type() == RecordType::CNAME) {
            return Found::Alias(alias);
        }
        // A name with records of other types, or with names below it (an
        // empty non-terminal, as `_xmpp.example.com.` is), exists.
        let below = |r: &&Record| name.zone_of(&r.name);
        if !at.is_empty() || self.records.iter().any(|r| below(&r)) {
            Found::NoData
        } else {
            Found::NxDomain
        }
    }
}

/// The answer an authoritative server holding `zones` gives to `query` (a
/// whole DNS message, no TCP length prefix), as NSD and Knot give it:
/// AA set; the records asked for, or the CNAME chain to them through the
/// same zone; NXDOMAIN or NODATA with the zone's SOA; for SRV answers the
/// targets' A and AAAA records the zone holds in the additional section;
/// REFUSED for a name in none of the zones, FORMERR for a query it cannot
/// read. Over UDP (`tcp` false) an answer longer than 512 bytes, or than
/// the query's EDNS payload, is cut to its question with TC set. `None`
/// when the query is no DNS query at all (a server drops it).
pub fn answer(zones: &[Zone], query: &[u8], tcp: bool) -> Option<Message> {
    let query = Message::from_vec(query).ok()?;
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut m = Message::new(
        query.metadata.id,
        MessageType::Response,
        query.metadata.op_code,
    );
    m.metadata.recursion_desired = query.metadata.recursion_desired;
    if let Some(edns) = &query.edns {
        let mut ours = Edns::new();
        ours.set_max_payload(1232);
        ours.set_dnssec_ok(edns.flags().dnssec_ok);
        m.set_edns(ours);
    }
    let question = match (query.metadata.op_code, &query.queries[..]) {
        (OpCode::Query, [question]) if question.query_class() == DNSClass::IN => question.clone(),
        _ => {
            m.metadata.response_code = ResponseCode::FormErr;
            return Some(m);
        }
    };
    m.add_query(question.clone());
    fill(&mut m, zones, &question);
    let limit = match &query.edns {
        Some(edns) => usize::from(edns.max_payload().clamp(512, 1232)),
        None => 512,
    };
    if !tcp && m.to_vec().map_or(true, |bytes| bytes.len() > limit) {
        m.answers.clear();
        m.authorities.clear();
        m.additionals.clear();
        m.metadata.truncation = true;
    }
    Some(m)
}

/// The sections of the answer to `question`.
fn fill(m: &mut Message, zones: &[Zone], question: &Query) {
    let rtype = question.query_type();
    let mut name = question.name().clone();
    // The closest enclosing zone answers.
    let zone_of = |name: &Name| {
        zones
            .iter()
            .filter(|z| z.holds(name))
            .max_by_key(|z| z.origin.num_labels())
    };
    let Some(zone) = zone_of(&name) else {
        m.metadata.response_code = ResponseCode::Refused;
        return;
    };
    m.metadata.authoritative = true;
    let scripted = zone
        .replies
        .iter()
        .find(|(n, t, _)| n == &name && *t == rtype);
    if let Some((_, _, reply)) = scripted {
        m.metadata.response_code = reply.rcode;
        m.add_answers(reply.answers.iter().cloned());
        m.add_authorities(reply.authority.iter().cloned());
        m.add_additionals(reply.additional.iter().cloned());
        return;
    }
    let mut seen: Vec<Name> = Vec::new();
    loop {
        match zone.find(&name, rtype) {
            Found::Records(records) => {
                for record in records {
                    m.add_answer(with_name(record, &name));
                }
                if rtype == RecordType::SRV {
                    add_glue(m, zone);
                }
                return;
            }
            Found::Alias(alias) => {
                m.add_answer(with_name(alias, &name));
                let RData::CNAME(target) = &alias.data else {
                    return;
                };
                seen.push(name.clone());
                name = target.0.clone();
                // A chain leaving the zone, or looping, ends here: the
                // resolver asks on (RFC 1034 §4.3.2, step 3a).
                if !zone.holds(&name) || seen.contains(&name) || seen.len() > 8 {
                    return;
                }
            }
            Found::NoData => {
                m.add_authorities(zone.soa().cloned());
                return;
            }
            Found::NxDomain => {
                m.metadata.response_code = ResponseCode::NXDomain;
                m.add_authorities(zone.soa().cloned());
                return;
            }
        }
    }
}

/// A zone's record with the owner name in the question's letter case, as
/// servers echo it (0x20, S20).
fn with_name(record: &Record, name: &Name) -> Record {
    let mut record = record.clone();
    record.name = name.clone();
    record
}

/// The A and AAAA records the zone holds for the targets of the SRV
/// records in the answer section.
fn add_glue(m: &mut Message, zone: &Zone) {
    let targets: Vec<Name> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(srv) => Some(srv.target.clone()),
            _ => None,
        })
        .collect();
    let mut glue: Vec<Record> = Vec::new();
    for target in &targets {
        for rtype in [RecordType::A, RecordType::AAAA] {
            if let Found::Records(records) = zone.find(target, rtype) {
                for record in records {
                    if !glue.contains(record) {
                        glue.push(record.clone());
                    }
                }
            }
        }
    }
    m.add_additionals(glue);
}

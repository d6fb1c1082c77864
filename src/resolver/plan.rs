//! One resolution's plan and where it stands: the lookups it waits on, the
//! targets it chose, and how their results become an [`Answer`] or an
//! [`Error`] (SPEC S7, S11, S14–S17, S25). The machine in `resolver.rs`
//! moves a plan along; this module only describes it.
//!
//! The plan for `im:fred@example.com` with protocols `[_xmpp, _sip]`:
//!
//! 1. Ask SRV for `_im._xmpp.example.com.` and `_im._sip.example.com.` at
//!    once (S7 policy), and wait for them in the caller's order: the first
//!    protocol with records wins; an error on a preferred protocol ends the
//!    resolution with that error; NXDOMAIN/NODATA moves on to the next.
//! 2. Order the winning RRset (S9–S12). A sole `.` target ends it (S11).
//! 3. Take each target's addresses from the additional section when their
//!    owner is exactly the target (S14), else ask A and AAAA for it.
//! 4. With no SRV records anywhere and a fallback port, the domain's own
//!    A/AAAA stand in for one SRV record (S16).

use alloc::boxed::Box;
use alloc::collections::btree_map::Entry;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::net::IpAddr;

use hickory_proto::rr::rdata::TLSA;
use hickory_proto::rr::{Name, RecordType};

use crate::config::AddressOrder;
use crate::error::{Error, ErrorKind};
use crate::event::{Answer, Endpoint, Security, SecurityStatus, Via};
use crate::scheduler::QuestionId;
use crate::srv::SrvRecord;
use crate::wire::message::{Absence, Records};
use crate::wire::name::same_name;

/// One name being looked up, following CNAMEs across queries (S25).
#[derive(Debug)]
pub(crate) struct Lookup {
    /// The name asked now.
    pub(crate) name: Name,
    /// The name asked first, once a CNAME has replaced it in `name`; boxed,
    /// as most lookups never follow one.
    pub(crate) first: Option<Box<Name>>,
    /// CNAME hops followed so far, across all answers (S25).
    pub(crate) hops: u8,
    /// Every answer taken so far was DNSSEC-secure (S35): a chain is as
    /// secure as its weakest link.
    pub(crate) secure: bool,
    pub(crate) state: LookupState,
}

/// What one answer says of the name a lookup asked: its state, or the
/// name it is an alias of, to ask next (S25).
#[derive(Debug)]
pub(crate) enum Step {
    Done(LookupState),
    Alias(Name),
}

#[derive(Debug)]
pub(crate) enum LookupState {
    /// Not asked yet: a lookup about to be asked, or the place of one taken
    /// out to be asked on (`Resolver::step_lookup`). Read as still waiting,
    /// never as an answer.
    Unasked,
    Pending(QuestionId),
    Found {
        records: Records,
        additional: Vec<(Name, IpAddr)>,
    },
    Missing(Absence),
    /// Boxed: errors are large and rare, lookups many.
    Failed(Box<Error>),
    /// The same owner name as the earlier lookup at this index, listed
    /// again by the caller: never asked, as that lookup decides first (S7).
    Repeat(usize),
}

impl Lookup {
    pub(crate) fn new(name: Name, state: LookupState) -> Self {
        Lookup {
            name,
            first: None,
            hops: 0,
            secure: true,
            state,
        }
    }

    /// A lookup that needs no question: its records came in an additional
    /// section, which no AD bit covers (RFC 4035 §3.2.3): insecure.
    pub(crate) fn found(name: Name, records: Records) -> Self {
        let additional = Vec::new();
        let mut lookup = Lookup::new(
            name,
            LookupState::Found {
                records,
                additional,
            },
        );
        lookup.secure = false;
        lookup
    }

    /// A lookup to be filled in by asking (`Resolver::ask`).
    pub(crate) fn unasked(name: Name) -> Self {
        Lookup::new(name, LookupState::Unasked)
    }

    /// Moves on along a CNAME chain to `target`, `hops` links further
    /// (S25), remembering the name asked first.
    pub(crate) fn follow(&mut self, target: Name, hops: u8) {
        self.hops = self.hops.saturating_add(hops);
        if self.first.is_none() {
            let first = core::mem::replace(&mut self.name, target);
            self.first = Some(Box::new(first));
        } else {
            self.name = target;
        }
    }

    /// Takes what one answer, fresh or cached, says of the lookup's name,
    /// reached through `hops` CNAME links, and whether it was `secure`
    /// (S35): the one rule for both paths.
    /// CNAME hops count across all of a lookup's answers (S25): past
    /// `max_hops` the lookup fails as a loop, for a chain in the cache,
    /// fresh or stale, may loop as well as one on the wire. Returns true
    /// when the answer ended at an alias: the lookup now stands at its
    /// target, to be asked next.
    pub(crate) fn take(&mut self, step: Step, hops: u8, max_hops: u8, secure: bool) -> bool {
        self.secure &= secure;
        if hops > 0 && self.hops.saturating_add(hops) > max_hops {
            let name = self.origin().clone();
            self.state = LookupState::Failed(Box::new(Error::CnameLoop { name }));
            return false;
        }
        match step {
            Step::Done(state) => {
                self.state = state;
                false
            }
            Step::Alias(target) => {
                self.follow(target, hops);
                true
            }
        }
    }

    /// The name asked first, before any CNAME.
    pub(crate) fn origin(&self) -> &Name {
        self.first.as_deref().unwrap_or(&self.name)
    }

    /// Whether its state is still to come: asked and not answered, or not
    /// asked yet.
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(self.state, LookupState::Pending(_) | LookupState::Unasked)
    }

    pub(crate) fn pending_question(&self) -> Option<QuestionId> {
        match self.state {
            LookupState::Pending(qid) => Some(qid),
            _ => None,
        }
    }

    /// Its DNSSEC status (S35), once it is no longer waiting.
    pub(crate) fn status(&self) -> SecurityStatus {
        match &self.state {
            LookupState::Found { .. } | LookupState::Missing(_) if self.secure => {
                SecurityStatus::Secure
            }
            LookupState::Found { .. } | LookupState::Missing(_) | LookupState::Repeat(_) => {
                SecurityStatus::Insecure
            }
            LookupState::Failed(e) if e.kind() == ErrorKind::Bogus => SecurityStatus::Bogus,
            LookupState::Failed(_) | LookupState::Unasked | LookupState::Pending(_) => {
                SecurityStatus::Indeterminate
            }
        }
    }

    /// The lookup's addresses in answer order, as found (repeats and all).
    fn addresses(&self) -> &[IpAddr] {
        match &self.state {
            LookupState::Found {
                records: Records::Addresses(records),
                ..
            } => records,
            _ => &[],
        }
    }
}

/// An address family, and with it the record type that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    pub(crate) fn record_type(self) -> RecordType {
        match self {
            Family::V4 => RecordType::A,
            Family::V6 => RecordType::AAAA,
        }
    }
}

/// Which lookup of a resolution a question answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Place {
    /// The SRV lookup of the i-th owner name.
    Srv(usize),
    /// The A or AAAA lookup of the i-th target.
    Address { target: usize, family: Family },
    /// The TLSA lookup of the i-th target (S37).
    Tlsa { target: usize },
}

/// A chosen SRV target and the lookups of its addresses.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) record: SrvRecord,
    /// The SRV owner name the record came from; `None` for the fallback.
    pub(crate) service: Option<Name>,
    /// Whether the SRV RRset (and its CNAMEs) was secure (S35).
    pub(crate) srv_secure: bool,
    pub(crate) v4: Lookup,
    pub(crate) v6: Lookup,
    /// With DANE, once the endpoint is secure: its TLSA lookup (S37).
    /// Boxed: most targets never have one, and every byte here is paid
    /// per target in flight.
    pub(crate) tlsa: Option<Box<Lookup>>,
}

impl Target {
    /// A target whose addresses are known, from an additional section or
    /// none; `needs_lookup` says whether to ask for them.
    pub(crate) fn new(
        record: SrvRecord,
        service: Option<Name>,
        srv_secure: bool,
        ips: Vec<IpAddr>,
    ) -> Self {
        // The IPv4 addresses keep the list's room; the IPv6 get their own.
        let v6: Vec<IpAddr> = ips.iter().copied().filter(IpAddr::is_ipv6).collect();
        let mut v4 = ips;
        v4.retain(IpAddr::is_ipv4);
        Target {
            v4: Lookup::found(record.target.clone(), Records::Addresses(v4)),
            v6: Lookup::found(record.target.clone(), Records::Addresses(v6)),
            record,
            service,
            srv_secure,
            tlsa: None,
        }
    }

    /// Whether no address came with the target (S14: then ask A and AAAA).
    pub(crate) fn needs_lookup(&self) -> bool {
        self.v4.addresses().is_empty() && self.v6.addresses().is_empty()
    }

    pub(crate) fn lookup_mut(&mut self, family: Family) -> &mut Lookup {
        match family {
            Family::V4 => &mut self.v4,
            Family::V6 => &mut self.v6,
        }
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.addresses_pending() || self.tlsa.as_ref().is_some_and(|l| l.is_waiting())
    }

    /// Whether an address lookup is still to come.
    pub(crate) fn addresses_pending(&self) -> bool {
        self.v4.is_waiting() || self.v6.is_waiting()
    }

    /// The DNSSEC status of the endpoint's parts (S35), as known so far.
    pub(crate) fn security(&self) -> Security {
        let srv = self.service.as_ref().map(|_| match self.srv_secure {
            true => SecurityStatus::Secure,
            false => SecurityStatus::Insecure,
        });
        // The enum runs from best to worst: `max` is the worst.
        let families = [&self.v4, &self.v6];
        let statuses = families.map(Lookup::status);
        let given = families.iter().zip(statuses);
        let with_addresses = given
            .filter(|(l, _)| !l.addresses().is_empty())
            .map(|(_, s)| s);
        let addresses = if statuses.contains(&SecurityStatus::Bogus) {
            SecurityStatus::Bogus
        } else {
            with_addresses.max().unwrap_or(statuses[0].max(statuses[1]))
        };
        let tlsa = self.tlsa.as_ref().map(|l| l.status());
        Security {
            srv,
            addresses,
            tlsa,
        }
    }

    /// The secure TLSA records, the only ones that count (S37).
    fn tlsa_records(&self) -> Vec<TLSA> {
        match self.tlsa.as_ref().map(|l| (l.status(), &l.state)) {
            Some((
                SecurityStatus::Secure,
                LookupState::Found {
                    records: Records::Tlsa(records),
                    ..
                },
            )) => records.clone(),
            _ => Vec::new(),
        }
    }

    /// The name of its TLSA records (RFC 7673 §3.2): `_<port>._tcp.<target>`;
    /// `None` when that is too long to be a name.
    pub(crate) fn tlsa_name(&self) -> Option<Name> {
        let label = alloc::format!("_{}", self.record.port);
        let prefix = Name::from_labels([label.as_bytes(), b"_tcp".as_slice()]).ok()?;
        prefix.append_domain(&self.record.target).ok()
    }

    /// The endpoint as known so far, for a progress report (S29).
    pub(crate) fn snapshot(&self, order: AddressOrder) -> Endpoint {
        let addresses = self.ordered_addresses(order);
        let (security, tlsa) = (self.security(), self.tlsa_records());
        let (record, service) = (self.record.clone(), self.service.clone());
        endpoint(record, service, addresses, security, tlsa)
    }

    /// The endpoint, its addresses in S17 order.
    fn into_endpoint(self, order: AddressOrder) -> Endpoint {
        let addresses = self.ordered_addresses(order);
        let (security, tlsa) = (self.security(), self.tlsa_records());
        endpoint(self.record, self.service, addresses, security, tlsa)
    }

    fn ordered_addresses(&self, order: AddressOrder) -> Vec<IpAddr> {
        let (v6, v4) = (self.v6.addresses(), self.v4.addresses());
        order_addresses(v6.iter().copied(), v4.iter().copied(), order)
    }
}

/// The one way both paths (the plan, and the whole hit of `hit.rs`) make
/// an endpoint of a record (S13).
pub(crate) fn endpoint(
    record: SrvRecord,
    service: Option<Name>,
    addresses: Vec<IpAddr>,
    security: Security,
    tlsa: Vec<TLSA>,
) -> Endpoint {
    Endpoint {
        addresses,
        priority: record.priority,
        weight: record.weight,
        port: record.port,
        target: record.target,
        service,
        security,
        tlsa,
    }
}

/// S12 and S17, for both paths: each family's addresses in answer order
/// without repeats, the preferred family first, the families alternating.
pub(crate) fn order_addresses(
    v6: impl Iterator<Item = IpAddr>,
    v4: impl Iterator<Item = IpAddr>,
    order: AddressOrder,
) -> Vec<IpAddr> {
    match order {
        AddressOrder::Ipv6First => alternate(v6, v4),
        AddressOrder::Ipv4First => alternate(v4, v6),
    }
}

/// One address from `first`, one from `second`, and so on, each new to
/// the list. (The families never share an address, so "new to the list"
/// is "new to its family".)
fn alternate(
    mut first: impl Iterator<Item = IpAddr>,
    mut second: impl Iterator<Item = IpAddr>,
) -> Vec<IpAddr> {
    // Room for every address up front (a target has a few; a hostile
    // RRset's thousands grow as they come): growing one by one cost a
    // twentieth of a cache hit.
    let most = |it: &dyn Iterator<Item = IpAddr>| it.size_hint().1.unwrap_or(0);
    let mut out = Distinct {
        list: Vec::with_capacity((most(&first) + most(&second)).min(32)),
        seen: BTreeSet::new(),
    };
    loop {
        let x = first.find(|&ip| out.push(ip)).is_some();
        let y = second.find(|&ip| out.push(ip)).is_some();
        if !x && !y {
            return out.list;
        }
    }
}

/// A list of addresses without repeats (S12). A target has a few, where a
/// scan beats a set; a hostile RRset of thousands gets the set too, so it
/// costs n log n, not n².
#[derive(Default)]
struct Distinct {
    list: Vec<IpAddr>,
    seen: BTreeSet<IpAddr>,
}

impl Distinct {
    /// Adds `ip` unless it is there already; whether it was added.
    fn push(&mut self, ip: IpAddr) -> bool {
        let new = if self.list.len() < 16 {
            !self.list.contains(&ip)
        } else {
            if self.seen.is_empty() {
                self.seen.extend(self.list.iter().copied());
            }
            self.seen.insert(ip)
        };
        if new {
            self.list.push(ip);
        }
        new
    }
}

/// Where a resolution stands.
#[derive(Debug)]
pub(crate) enum Stage {
    /// Waiting for SRV answers, one lookup per owner name in preference order.
    Srv(Vec<Lookup>),
    /// Waiting for the addresses of the chosen targets.
    Addresses {
        via: Box<Via>,
        targets: Vec<Target>,
        /// Usable records left out by `Config::max_endpoints` (S13).
        omitted: usize,
    },
}

impl Stage {
    /// The lookup a place refers to in the current stage, with its record type.
    pub(crate) fn lookup_at(&mut self, place: Place) -> Option<(&mut Lookup, RecordType)> {
        match (self, place) {
            (Stage::Srv(lookups), Place::Srv(i)) => {
                lookups.get_mut(i).map(|l| (l, RecordType::SRV))
            }
            (Stage::Addresses { targets, .. }, Place::Address { target, family }) => {
                let lookup = targets.get_mut(target)?.lookup_mut(family);
                Some((lookup, family.record_type()))
            }
            (Stage::Addresses { targets, .. }, Place::Tlsa { target }) => {
                let lookup = targets.get_mut(target)?.tlsa.as_deref_mut()?;
                Some((lookup, RecordType::TLSA))
            }
            _ => None,
        }
    }
}

/// What the SRV stage has come to, in the caller's order of protocols (S7).
pub(crate) enum SrvOutcome {
    /// A preferred protocol (or, merged, any name) is still unanswered.
    Waiting,
    /// The RRsets to use: the first protocol's with records (S7), or every
    /// name's with records in a merged set (S30), moved out of the lookups.
    Found(Vec<FoundSet>),
    /// An error on a protocol preferred to any with records.
    Failed(Error),
    /// No protocol has records.
    Nothing,
}

/// One SRV RRset found: the position of its owner name among those asked,
/// the name (before any CNAME), its records and additional addresses.
#[derive(Debug)]
pub(crate) struct FoundSet {
    pub(crate) index: usize,
    pub(crate) owner: Name,
    pub(crate) records: Vec<SrvRecord>,
    pub(crate) additional: Vec<(Name, IpAddr)>,
    /// The RRset (and its CNAMEs) was DNSSEC-secure (S35).
    pub(crate) secure: bool,
}

/// The SRV records of a lookup's RRset, moved out.
fn take_srv(records: &mut Records) -> Vec<SrvRecord> {
    match records {
        Records::Srv(srv) => core::mem::take(srv),
        Records::Addresses(_) | Records::Tlsa(_) => Vec::new(),
    }
}

/// How the SRV RRsets of several owner names combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    /// In order of preference: the first with records is used (S7).
    Preferred,
    /// All used together, ordered as one RRset (S30).
    Merged,
}

/// One resolution in flight.
#[derive(Debug)]
pub(crate) struct Resolution {
    /// The domain and port of the S16 fallback, when enabled.
    /// Boxed: most resolutions have none, and every byte here is paid per
    /// resolution in flight.
    pub(crate) fallback: Option<Box<(Name, u16)>>,
    pub(crate) stage: Stage,
    pub(crate) combine: Combine,
    pub(crate) ttl: u32,
    /// Whether the cache answered any of its lookups.
    pub(crate) from_cache: bool,
    /// Whether any of them took expired data (S31).
    pub(crate) stale: bool,
    /// Its serve-stale client timer ran out: a lookup with stale data
    /// takes it at once (S31).
    pub(crate) client_timer_out: bool,
    /// Every question this resolution has waited on, for clean-up.
    pub(crate) asked: Vec<QuestionId>,
}

/// S30: once every name has answered, every RRset found, in the order the
/// names were given. A name with no records, or whose lookup failed, is not
/// an error while another has records (XEP-0368 asks for both sets to be
/// used, not for both to exist); with none, the first failure, or nothing.
fn merged_outcome(lookups: &mut [Lookup]) -> SrvOutcome {
    if lookups.iter().any(Lookup::is_waiting) {
        return SrvOutcome::Waiting;
    }
    let mut found = Vec::new();
    let mut failure = None;
    for (index, lookup) in lookups.iter_mut().enumerate() {
        match &mut lookup.state {
            LookupState::Found {
                records,
                additional,
            } => {
                let owner = lookup.first.as_deref().unwrap_or(&lookup.name);
                found.push(FoundSet {
                    index,
                    owner: owner.clone(),
                    records: take_srv(records),
                    additional: core::mem::take(additional),
                    secure: lookup.secure,
                });
            }
            // S36: a bogus answer for any of the names ends it, even
            // beside others with records: someone is forging this service.
            LookupState::Failed(e) if e.kind() == ErrorKind::Bogus => {
                return SrvOutcome::Failed((**e).clone());
            }
            LookupState::Failed(e) if failure.is_none() => failure = Some((**e).clone()),
            _ => {}
        }
    }
    match (found.is_empty(), failure) {
        (false, _) => SrvOutcome::Found(found),
        (true, Some(error)) => SrvOutcome::Failed(error),
        (true, None) => SrvOutcome::Nothing,
    }
}

impl Resolution {
    /// A resolution that has asked nothing yet: its SRV stage empty, its
    /// TTL unbounded until an answer bounds it.
    pub(crate) fn new(fallback: Option<(Name, u16)>, combine: Combine) -> Self {
        Resolution {
            fallback: fallback.map(Box::new),
            stage: Stage::Srv(Vec::new()),
            combine,
            ttl: u32::MAX,
            from_cache: false,
            stale: false,
            client_timer_out: false,
            asked: Vec::new(),
        }
    }

    /// Step 1 of the plan: what the SRV answers so far decide (S7).
    pub(crate) fn srv_outcome(&mut self) -> SrvOutcome {
        let Stage::Srv(lookups) = &mut self.stage else {
            return SrvOutcome::Waiting;
        };
        if self.combine == Combine::Merged {
            return merged_outcome(lookups);
        }
        for (index, lookup) in lookups.iter_mut().enumerate() {
            match &mut lookup.state {
                LookupState::Pending(_) | LookupState::Unasked => return SrvOutcome::Waiting,
                LookupState::Missing(_) | LookupState::Repeat(_) => continue,
                LookupState::Failed(e) => return SrvOutcome::Failed((**e).clone()),
                LookupState::Found {
                    records,
                    additional,
                } => {
                    // `origin()`, from the fields the match leaves free.
                    let owner = lookup.first.as_deref().unwrap_or(&lookup.name);
                    return SrvOutcome::Found(alloc::vec![FoundSet {
                        index,
                        owner: owner.clone(),
                        records: take_srv(records),
                        additional: core::mem::take(additional),
                        secure: lookup.secure,
                    }]);
                }
            }
        }
        SrvOutcome::Nothing
    }

    /// Step 3–4 of the plan: once no address lookup is pending, the result.
    /// `None` while some are.
    pub(crate) fn conclude(&mut self, order: AddressOrder) -> Option<Result<Answer, Error>> {
        let Stage::Addresses { targets, .. } = &self.stage else {
            return None;
        };
        if targets.iter().any(Target::is_pending) {
            return None;
        }
        // The resolution ends here: move its parts into the answer.
        let Stage::Addresses {
            via,
            targets,
            omitted,
        } = core::mem::replace(&mut self.stage, Stage::Srv(Vec::new()))
        else {
            return None;
        };
        if let Via::Fallback { domain } = &*via
            && targets[0].needs_lookup()
        {
            return Some(Err(fallback_error(domain, &targets[0])));
        }
        let endpoints = targets
            .into_iter()
            .map(|t| t.into_endpoint(order))
            .collect();
        Some(Ok(Answer {
            endpoints,
            omitted,
            via: *via,
            ttl: self.ttl,
            from_cache: self.from_cache,
            stale: self.stale,
        }))
    }

    /// The resolution's deadline passed with `error`: once its targets are
    /// known, it ends with them, those whose addresses did not come in time
    /// without addresses (S13), as a failed lookup leaves them; a fallback
    /// with no address fails with `error`. `None` while SRV answers are
    /// still awaited: then there is nothing to report.
    pub(crate) fn expire(
        &mut self,
        error: &Error,
        order: AddressOrder,
    ) -> Option<Result<Answer, Error>> {
        let Stage::Addresses { targets, .. } = &mut self.stage else {
            return None;
        };
        for target in targets.iter_mut() {
            let tlsa = target.tlsa.as_deref_mut();
            for lookup in [&mut target.v4, &mut target.v6].into_iter().chain(tlsa) {
                if lookup.is_waiting() {
                    lookup.state = LookupState::Failed(Box::new(error.clone()));
                }
            }
        }
        self.conclude(order)
    }

    /// The error when no protocol had SRV records and there is no fallback:
    /// NXDOMAIN when every owner was NXDOMAIN, else NODATA for the first
    /// NODATA.
    pub(crate) fn no_records_error(&self) -> Error {
        let lookups: &[Lookup] = match &self.stage {
            Stage::Srv(lookups) => lookups,
            Stage::Addresses { .. } => &[],
        };
        let nodata = lookups
            .iter()
            .find(|l| matches!(l.state, LookupState::Missing(Absence::NoData)));
        // `start` refuses a resolution with no owner and no fallback, so
        // there is a last lookup; the root stands in should there not be.
        let last = lookups.last().map(|l| match l.state {
            LookupState::Repeat(k) => &lookups[k],
            _ => l,
        });
        let name = nodata.or(last).map(|l| l.name.clone());
        let name = name.unwrap_or_else(Name::root);
        match nodata {
            Some(_) => Error::NoData { name },
            None => Error::NxDomain { name },
        }
    }

    /// A name the resolution is still waiting on, and its question, for a
    /// timeout's message.
    pub(crate) fn pending_lookup(&self) -> (Name, Option<QuestionId>) {
        let lookups: Vec<&Lookup> = match &self.stage {
            Stage::Srv(lookups) => lookups.iter().collect(),
            Stage::Addresses { targets, .. } => {
                targets.iter().flat_map(|t| [&t.v6, &t.v4]).collect()
            }
        };
        let pending = lookups.iter().find(|l| l.pending_question().is_some());
        let name = pending
            .or(lookups.first())
            .map(|l| l.name.clone())
            .or_else(|| self.fallback.as_ref().map(|f| f.0.clone()))
            .unwrap_or_else(Name::root);
        (name, pending.and_then(|l| l.pending_question()))
    }
}

/// For each owner name listed before, the place it was first listed (names
/// compare as DNS compares them, ignoring case). A scan for the few
/// protocols a caller lists; a map for a hostile thousand.
pub(crate) fn first_listings(owners: &[Name]) -> Vec<Option<usize>> {
    if owners.len() <= 16 {
        return (0..owners.len())
            .map(|i| owners[..i].iter().position(|o| same_name(o, &owners[i])))
            .collect();
    }
    let mut first = BTreeMap::new();
    owners
        .iter()
        .enumerate()
        .map(|(i, owner)| match first.entry(owner) {
            Entry::Occupied(e) => Some(*e.get()),
            Entry::Vacant(e) => {
                e.insert(i);
                None
            }
        })
        .collect()
}

/// The error when the fallback found no address: a lookup's failure first,
/// then NXDOMAIN if both said so, else NODATA.
fn fallback_error(domain: &Name, target: &Target) -> Error {
    for lookup in [&target.v6, &target.v4] {
        if let LookupState::Failed(e) = &lookup.state {
            return (**e).clone();
        }
    }
    let nx = |l: &Lookup| matches!(l.state, LookupState::Missing(Absence::NxDomain));
    let name = domain.clone();
    if nx(&target.v4) && nx(&target.v6) {
        Error::NxDomain { name }
    } else {
        Error::NoData { name }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn repeats_point_at_the_first_listing_whether_scanned_or_mapped() {
        let names: Vec<Name> = ["_a.example.", "_b.example.", "_A.Example.", "_c.example."]
            .iter()
            .map(|n| Name::from_ascii(n).unwrap())
            .collect();
        // Few names are scanned: the third is the first, in another case.
        assert_eq!(first_listings(&names), [None, None, Some(0), None]);
        // Many are mapped. After the first four, each place repeats the
        // first listing of its name: `_a` at 0, `_b` at 1, `_A` (`_a`)
        // at 0, `_c` at 3.
        let many: Vec<Name> = names.iter().cycle().take(40).cloned().collect();
        let expected: Vec<Option<usize>> = (0..40)
            .map(|i| match i {
                0 | 1 | 3 => None,
                2 => Some(0),
                i => Some([0, 1, 0, 3][i % 4]),
            })
            .collect();
        assert_eq!(first_listings(&many), expected);
    }

    #[test]
    fn a_lookup_not_asked_yet_is_waiting_never_an_answer() {
        // What a lookup's place holds while it is taken out to be asked on:
        // were it ever read, the resolution waits (and ends by its
        // deadline), rather than reading "no records" into it.
        for combine in [Combine::Preferred, Combine::Merged] {
            let mut r = Resolution::new(None, combine);
            r.stage = Stage::Srv(vec![Lookup::unasked(Name::root())]);
            assert!(matches!(r.srv_outcome(), SrvOutcome::Waiting));
        }
        let record = SrvRecord {
            priority: 0,
            weight: 0,
            port: 5222,
            target: Name::root(),
        };
        let mut target = Target::new(record, None, false, Vec::new());
        target.v4 = Lookup::unasked(Name::root());
        assert!(target.is_pending());
    }

    #[test]
    fn families_interleave_preferred_first() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let v6 = vec![ip("::1"), ip("::2")];
        let v4 = vec![ip("10.0.0.1")];
        let order = |v6: &Vec<IpAddr>, v4: &Vec<IpAddr>, o| {
            order_addresses(v6.iter().copied(), v4.iter().copied(), o)
        };
        assert_eq!(
            order(&v6, &v4, AddressOrder::Ipv6First),
            [ip("::1"), ip("10.0.0.1"), ip("::2")]
        );
        assert_eq!(
            order(&v6, &v4, AddressOrder::Ipv4First),
            [ip("10.0.0.1"), ip("::1"), ip("::2")]
        );
        // Repeats go (S12), whether scanned or, past 16, found in a set.
        let many: Vec<IpAddr> = (0..40)
            .map(|i| ip(&alloc::format!("10.0.0.{}", i % 20)))
            .collect();
        let got = order(&Vec::new(), &many, AddressOrder::Ipv6First);
        assert_eq!(got, many[..20]);
    }

    #[test]
    fn the_tlsa_name_is_port_and_tcp_before_the_target_unless_too_long() {
        let record = |target: &str| SrvRecord {
            priority: 0,
            weight: 0,
            port: 5269,
            target: Name::from_ascii(target).unwrap(),
        };
        let target = Target::new(record("chat.example.com."), None, true, Vec::new());
        assert_eq!(
            target.tlsa_name(),
            Some(Name::from_ascii("_5269._tcp.chat.example.com.").unwrap())
        );
        // 250 bytes of target leave no room for `_5269._tcp`: no TLSA name,
        // never a panic (the plan then gives the endpoint no DANE).
        let label = "a".repeat(61);
        let long = alloc::format!("{label}.{label}.{label}.{label}.");
        let target = Target::new(record(&long), None, true, Vec::new());
        assert_eq!(target.tlsa_name(), None);
    }
}

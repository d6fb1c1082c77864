//! The public state machine: a resolution is a small plan (SRV per protocol,
//! ordering, addresses of targets, fallback) driven by answers from the wire.
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
use alloc::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{Name, RData, RecordType};
use rand_core::CryptoRng;

use crate::config::{AddressOrder, Config};
use crate::error::{Error, servers_failed};
use crate::message::{Reply, same_name};
use crate::service::{Protocol, domain_name, srv_name};
use crate::srv::{SrvOrder, SrvRecord, order_srv};
use crate::time::Instant;
use crate::transport::{Ended, Outcome, QuestionId, Stats, Transmit, Wire};
use crate::uri::Uri;

/// Names one resolution from start to its single final [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResolutionId(u64);

/// One place to try, in order: a target host, its port and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// SRV priority (0 for the S16 fallback).
    pub priority: u16,
    /// SRV weight (0 for the S16 fallback).
    pub weight: u16,
    /// Port to connect to.
    pub port: u16,
    /// The target host name (absolute).
    pub target: Name,
    /// The target's addresses in Happy Eyeballs order (S17). Empty when the
    /// target's A and AAAA lookups found nothing or failed: the caller may
    /// skip it or resolve the name itself.
    pub addresses: Vec<IpAddr>,
}

/// Where the endpoints came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// An SRV RRset.
    Srv {
        /// The SRV owner name asked (before any CNAME).
        owner: Name,
        /// Its position in the caller's list of protocols (0 for `resolve_srv`).
        index: usize,
    },
    /// The domain's own addresses, standing in for one SRV record (S16).
    Fallback {
        /// The domain.
        domain: Name,
    },
}

/// A finished resolution's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Endpoints in the order to try them (S13).
    pub endpoints: Vec<Endpoint>,
    /// Where they came from: which protocol's SRV records, or the fallback.
    pub via: Via,
    /// Seconds the answer may be reused: the lowest TTL of the records used.
    pub ttl: u32,
}

/// What the machine tells the caller. Each resolution ends with exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The resolution produced endpoints.
    Resolved {
        /// Which resolution.
        id: ResolutionId,
        /// Its result.
        answer: Answer,
    },
    /// The resolution failed.
    Failed {
        /// Which resolution.
        id: ResolutionId,
        /// Why.
        error: Error,
    },
}

impl Event {
    /// The resolution this event ends.
    pub fn id(&self) -> ResolutionId {
        match self {
            Event::Resolved { id, .. } | Event::Failed { id, .. } => *id,
        }
    }
}

/// One name being looked up, following CNAMEs across queries (S25).
#[derive(Debug)]
struct Lookup {
    /// The name asked now.
    name: Name,
    /// The name asked first, once a CNAME has replaced it in `name`; boxed,
    /// as most lookups never follow one.
    first: Option<Box<Name>>,
    hops: u8,
    state: LookupState,
}

#[derive(Debug)]
enum LookupState {
    Pending(QuestionId),
    Found {
        records: Vec<RData>,
        additional: Vec<(Name, IpAddr)>,
    },
    /// NXDOMAIN (`true`) or NODATA (`false`).
    Missing(bool),
    /// Boxed: errors are large and rare, lookups many.
    Failed(Box<Error>),
}

impl Lookup {
    fn new(name: Name, state: LookupState) -> Self {
        Lookup {
            name,
            first: None,
            hops: 0,
            state,
        }
    }

    /// The name asked first, before any CNAME.
    fn origin(&self) -> &Name {
        self.first.as_deref().unwrap_or(&self.name)
    }

    fn pending_question(&self) -> Option<QuestionId> {
        match self.state {
            LookupState::Pending(qid) => Some(qid),
            _ => None,
        }
    }
}

/// Which lookup of a resolution a question answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    /// The SRV lookup of the i-th owner name.
    Srv(usize),
    /// The A (`v6 == false`) or AAAA lookup of the i-th target.
    Address { target: usize, v6: bool },
}

impl Slot {
    /// The lowest and highest slots, for range queries.
    const FIRST: Slot = Slot::Srv(0);
    const LAST: Slot = Slot::Address {
        target: usize::MAX,
        v6: true,
    };
}

/// Everyone waiting on question `qid`.
fn waiting_on(
    waiters: &BTreeSet<(QuestionId, ResolutionId, Slot)>,
    qid: QuestionId,
) -> impl Iterator<Item = (QuestionId, ResolutionId, Slot)> + '_ {
    waiters
        .range((qid, ResolutionId(0), Slot::FIRST)..=(qid, ResolutionId(u64::MAX), Slot::LAST))
        .copied()
}

#[derive(Debug)]
struct Target {
    record: SrvRecord,
    v4: Lookup,
    v6: Lookup,
}

#[derive(Debug)]
enum Stage {
    /// Waiting for SRV answers, one lookup per owner name in preference order.
    Srv(Vec<Lookup>),
    /// Waiting for the addresses of the chosen targets.
    Addresses { via: Box<Via>, targets: Vec<Target> },
}

#[derive(Debug)]
struct Resolution {
    /// The domain and port of the S16 fallback, when enabled.
    /// Boxed: most resolutions have none, and every byte here is paid per
    /// resolution in flight.
    fallback: Option<Box<(Name, u16)>>,
    stage: Stage,
    ttl: u32,
    /// Every question this resolution has waited on, for clean-up.
    asked: Vec<QuestionId>,
}

/// The sans-IO resolver. See the crate documentation for the driving loop.
///
/// `R` is the caller's cryptographically secure generator: it draws query
/// ids (S18) and the weighted SRV order (S10), and nothing else draws
/// randomness, so a seeded generator replays a run exactly.
pub struct Resolver<R> {
    rng: R,
    wire: Wire,
    resolutions: BTreeMap<ResolutionId, Resolution>,
    /// Who waits for each question: (question, resolution, slot). One
    /// ordered set rather than a set per question (a B-tree node each):
    /// a question's waiters, and one resolution's waits on a question, are
    /// both found by a range query, however many share the question.
    waiters: BTreeSet<(QuestionId, ResolutionId, Slot)>,
    deadlines: BinaryHeap<Reverse<(Instant, ResolutionId)>>,
    events: VecDeque<Event>,
    next_id: u64,
}

impl<R: CryptoRng> Resolver<R> {
    /// A resolver with `config`, drawing all randomness from `rng`.
    pub fn new(config: Config, rng: R) -> Self {
        Resolver {
            rng,
            wire: Wire::new(config.normalized()),
            resolutions: BTreeMap::new(),
            waiters: BTreeSet::new(),
            deadlines: BinaryHeap::new(),
            events: VecDeque::new(),
            next_id: 0,
        }
    }

    /// The configuration in force, with values brought into their
    /// documented ranges.
    pub fn config(&self) -> &Config {
        self.wire.config()
    }

    /// Starts resolving an `im:`/`pres:` URI (RFC 3861): SRV for each of
    /// `protocols` in order of preference (S6, S7), then the targets'
    /// addresses. With `fallback_port`, a domain without SRV records
    /// resolves to its own addresses on that port (S16).
    ///
    /// An `Err` means nothing was started and no event will follow.
    pub fn resolve_uri(
        &mut self,
        uri: &Uri,
        protocols: &[Protocol],
        fallback_port: Option<u16>,
        now: Instant,
    ) -> Result<ResolutionId, Error> {
        let domain = uri.domain().ok_or(Error::NoDestination)?;
        let owners = protocols
            .iter()
            .map(|p| srv_name(uri.scheme, p, domain))
            .collect::<Result<Vec<_>, _>>()?;
        let fallback = match fallback_port {
            Some(port) => Some((domain_name(domain)?, port)),
            None => None,
        };
        self.start(owners, fallback, now)
    }

    /// Starts resolving a plain RFC 2782 SRV owner name such as
    /// `_xmpp-server._tcp.example.com.` (S8). There is no address fallback.
    pub fn resolve_srv(&mut self, owner: &Name, now: Instant) -> Result<ResolutionId, Error> {
        let mut owner = owner.clone();
        owner.set_fqdn(true);
        self.start(alloc::vec![owner], None, now)
    }

    fn start(
        &mut self,
        owners: Vec<Name>,
        fallback: Option<(Name, u16)>,
        now: Instant,
    ) -> Result<ResolutionId, Error> {
        let config = self.wire.config();
        if config.servers.is_empty() {
            return Err(Error::NoServers);
        }
        if self.resolutions.len() >= config.max_resolutions {
            return Err(Error::TooManyResolutions);
        }
        if owners.is_empty() && fallback.is_none() {
            // No protocol to try and no fallback: nothing could ever be found.
            return Err(Error::NoProtocols);
        }
        // Refuse up front rather than start a resolution that fails at once.
        if self.wire.in_flight() + owners.len().max(2) > config.max_queries {
            return Err(Error::TooManyQueries);
        }
        let deadline = now + config.resolution_timeout;
        let id = ResolutionId(self.next_id);
        self.next_id += 1;
        self.resolutions.insert(
            id,
            Resolution {
                fallback: fallback.map(Box::new),
                stage: Stage::Srv(Vec::new()),
                ttl: u32::MAX,
                asked: Vec::new(),
            },
        );
        self.deadlines.push(Reverse((deadline, id)));
        let mut lookups = Vec::with_capacity(owners.len());
        for (i, owner) in owners.into_iter().enumerate() {
            let state = self.ask(id, &owner, RecordType::SRV, Slot::Srv(i), now);
            lookups.push(Lookup::new(owner, state));
        }
        if let Some(r) = self.resolutions.get_mut(&id) {
            r.stage = Stage::Srv(lookups);
        }
        self.advance(id, now);
        Ok(id)
    }

    /// Ends resolution `id` early and frees everything it held. No event
    /// follows: the caller already knows. Questions nobody else waits for
    /// stop being asked. Returns whether `id` was in flight.
    pub fn cancel(&mut self, id: ResolutionId) -> bool {
        let Some(r) = self.resolutions.remove(&id) else {
            return false;
        };
        for qid in r.asked {
            self.unwait(id, qid);
        }
        true
    }

    /// Hands in a UDP datagram received from `from`. Anything that is not
    /// the answer to a query in flight is dropped and counted in [`Stats`].
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        if let Some(ended) = self.wire.handle_datagram(now, from, bytes, &mut self.rng) {
            self.deliver_all(alloc::vec![ended], now);
        }
    }

    /// Hands in bytes read from the TCP connection to `server`, in any
    /// fragmentation: several answers per call, or one answer over many
    /// calls, in any order (S22, RFC 7766 §7).
    pub fn handle_stream(&mut self, now: Instant, server: SocketAddr, bytes: &[u8]) {
        let mut ended = Vec::new();
        self.wire
            .handle_stream(now, server, bytes, &mut self.rng, &mut ended);
        self.deliver_all(ended, now);
    }

    /// The TCP connection to `server` closed, was reset, or could not be
    /// opened. Its pending queries move on to the next server as if they had
    /// timed out.
    pub fn handle_stream_closed(&mut self, now: Instant, server: SocketAddr) {
        let mut ended = Vec::new();
        self.wire
            .handle_stream_closed(now, server, &mut self.rng, &mut ended);
        self.deliver_all(ended, now);
    }

    /// Tells the machine the time is `now`: attempts and resolutions whose
    /// deadline has passed move on or end.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut ended = Vec::new();
        self.wire.handle_timeout(now, &mut self.rng, &mut ended);
        self.deliver_all(ended, now);
        while let Some(&Reverse((due, id))) = self.deadlines.peek() {
            if due > now {
                break;
            }
            self.deadlines.pop();
            if let Some(r) = self.resolutions.get(&id) {
                let (name, qid) = pending_lookup(r);
                let servers = qid.map(|q| self.wire.failures(q)).unwrap_or_default();
                self.finish(id, Err(Error::Timeout { name, servers }));
            }
        }
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.wire.poll_transmit()
    }

    /// A server whose TCP connection the caller should close now: no query
    /// waits on it any more. A later TCP [`Transmit`] to it asks for a new
    /// connection.
    pub fn poll_close(&mut self) -> Option<SocketAddr> {
        self.wire.poll_close()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if anything
    /// is waiting.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((_, id))) = self.deadlines.peek() {
            if self.resolutions.contains_key(&id) {
                break;
            }
            self.deadlines.pop();
        }
        let resolution = self.deadlines.peek().map(|Reverse((due, _))| *due);
        match (self.wire.poll_timeout(), resolution) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Counters of packets sent, accepted and dropped, and of work in flight.
    pub fn stats(&self) -> Stats {
        self.wire.stats()
    }

    /// Resolutions started and not yet ended.
    pub fn resolutions_in_flight(&self) -> usize {
        self.resolutions.len()
    }

    /// Asks a question for resolution `id`, recording who waits for it.
    /// Over `Config::max_queries` the lookup fails at once (S27).
    fn ask(
        &mut self,
        id: ResolutionId,
        name: &Name,
        rtype: RecordType,
        slot: Slot,
        now: Instant,
    ) -> LookupState {
        let Some(qid) = self.wire.ask(name, rtype, now, &mut self.rng) else {
            return LookupState::Failed(Box::new(Error::TooManyQueries));
        };
        self.waiters.insert((qid, id, slot));
        if let Some(r) = self.resolutions.get_mut(&id) {
            r.asked.push(qid);
        }
        LookupState::Pending(qid)
    }

    /// Stops waiting for `qid` on behalf of `id`; a question nobody waits for
    /// is no longer retried.
    fn unwait(&mut self, id: ResolutionId, qid: QuestionId) {
        let mine: Vec<_> = self
            .waiters
            .range((qid, id, Slot::FIRST)..=(qid, id, Slot::LAST))
            .copied()
            .collect();
        for key in mine {
            self.waiters.remove(&key);
        }
        if waiting_on(&self.waiters, qid).next().is_none() {
            self.wire.forget(qid);
        }
    }

    fn deliver_all(&mut self, ended: Vec<Ended>, now: Instant) {
        for (qid, outcome) in ended {
            self.deliver(qid, outcome, now);
        }
    }

    /// Hands a question's outcome to everyone waiting for it.
    fn deliver(&mut self, qid: QuestionId, outcome: Outcome, now: Instant) {
        let list: Vec<_> = waiting_on(&self.waiters, qid).collect();
        for key in &list {
            self.waiters.remove(key);
        }
        for (_, id, slot) in list {
            self.apply(id, slot, &outcome, now);
            self.advance(id, now);
        }
    }

    /// Records `outcome` in the lookup at `slot` of resolution `id`, asking
    /// again when the answer is a CNAME to chase (S25).
    fn apply(&mut self, id: ResolutionId, slot: Slot, outcome: &Outcome, now: Instant) {
        let max_hops = self.config().max_cname_hops;
        let Some(r) = self.resolutions.get_mut(&id) else {
            return;
        };
        let Some((lookup, rtype)) = lookup_at(&mut r.stage, slot) else {
            return;
        };
        let name = lookup.name.clone();
        let state = match outcome {
            // S25: CNAME hops count across all of a lookup's answers.
            Outcome::Answer(Reply::Records { hops, .. } | Reply::Alias { hops, .. })
                if lookup.hops.saturating_add(*hops) > max_hops =>
            {
                LookupState::Failed(Box::new(Error::CnameLoop {
                    name: lookup.origin().clone(),
                }))
            }
            Outcome::Answer(Reply::Records {
                records,
                additional,
                ttl,
                ..
            }) => {
                r.ttl = r.ttl.min(*ttl);
                LookupState::Found {
                    records: records.clone(),
                    additional: additional.clone(),
                }
            }
            Outcome::Answer(Reply::Alias {
                name: alias,
                ttl,
                hops,
            }) => {
                r.ttl = r.ttl.min(*ttl);
                lookup.hops += hops;
                if lookup.first.is_none() {
                    lookup.first = Some(Box::new(lookup.name.clone()));
                }
                lookup.name = alias.clone();
                self.ask(id, alias, rtype, slot, now)
            }
            Outcome::Answer(Reply::NxDomain) => LookupState::Missing(true),
            Outcome::Answer(Reply::NoData) => LookupState::Missing(false),
            Outcome::Answer(Reply::CnameLoop) => {
                LookupState::Failed(Box::new(Error::CnameLoop { name }))
            }
            Outcome::Failed(servers) => {
                LookupState::Failed(Box::new(servers_failed(name, servers.clone())))
            }
        };
        if let Some((lookup, _)) = self
            .resolutions
            .get_mut(&id)
            .and_then(|r| lookup_at(&mut r.stage, slot))
        {
            lookup.state = state;
        }
    }

    /// Moves resolution `id` along its plan as far as its answers allow.
    fn advance(&mut self, id: ResolutionId, now: Instant) {
        let Some(r) = self.resolutions.get_mut(&id) else {
            return;
        };
        match &mut r.stage {
            Stage::Srv(lookups) => {
                // S7: the caller's order decides, whatever order answers arrive in.
                let mut chosen = None;
                for (i, lookup) in lookups.iter_mut().enumerate() {
                    match &mut lookup.state {
                        LookupState::Pending(_) => return,
                        LookupState::Missing(_) => continue,
                        LookupState::Failed(e) => {
                            let e = (**e).clone();
                            return self.finish(id, Err(e));
                        }
                        LookupState::Found {
                            records,
                            additional,
                        } => {
                            let found = (core::mem::take(records), core::mem::take(additional));
                            chosen = Some((i, lookup.origin().clone(), found.0, found.1));
                            break;
                        }
                    }
                }
                match chosen {
                    Some((index, owner, records, additional)) => {
                        self.use_srv(id, index, owner, records, additional, now)
                    }
                    None => self.fall_back(id, now),
                }
            }
            Stage::Addresses { targets, .. } => {
                let pending = targets.iter().any(|t| {
                    t.v4.pending_question().is_some() || t.v6.pending_question().is_some()
                });
                if pending {
                    return;
                }
                // The resolution ends here: move its parts into the answer.
                let Stage::Addresses { via, targets } =
                    core::mem::replace(&mut r.stage, Stage::Srv(Vec::new()))
                else {
                    return;
                };
                let order = self.wire.config().address_order;
                if let Via::Fallback { domain } = &*via
                    && addresses(&targets[0].v4).is_empty()
                    && addresses(&targets[0].v6).is_empty()
                {
                    let error = fallback_error(domain, &targets[0]);
                    return self.finish(id, Err(error));
                }
                let ttl = r.ttl;
                let endpoints: Vec<Endpoint> = targets
                    .into_iter()
                    .map(|t| Endpoint {
                        addresses: interleave(addresses(&t.v6), addresses(&t.v4), order),
                        priority: t.record.priority,
                        weight: t.record.weight,
                        port: t.record.port,
                        target: t.record.target,
                    })
                    .collect();
                let answer = Answer {
                    endpoints,
                    via: *via,
                    ttl,
                };
                self.finish(id, Ok(answer));
            }
        }
    }

    /// Step 2–3 of the plan: order the chosen RRset and look up its targets.
    fn use_srv(
        &mut self,
        id: ResolutionId,
        index: usize,
        owner: Name,
        records: Vec<RData>,
        additional: Vec<(Name, IpAddr)>,
        now: Instant,
    ) {
        // Lower-preference protocols are no longer needed.
        self.stop_srv_lookups(id);
        let records: Vec<SrvRecord> = records
            .into_iter()
            .filter_map(|data| match data {
                RData::SRV(srv) => Some(SrvRecord {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target: srv.target,
                }),
                _ => None,
            })
            .collect();
        let mut ordered = match order_srv(records, &mut self.rng) {
            SrvOrder::Unavailable => {
                return self.finish(id, Err(Error::Unavailable { name: owner }));
            }
            SrvOrder::Targets(t) => t,
        };
        ordered.truncate(self.config().max_endpoints);
        let via = Via::Srv { owner, index };
        self.look_up_targets(id, via, ordered, &additional, now);
    }

    /// Step 4 of the plan: no protocol had SRV records.
    fn fall_back(&mut self, id: ResolutionId, now: Instant) {
        let Some(r) = self.resolutions.get(&id) else {
            return;
        };
        let Some((domain, port)) = r.fallback.as_deref().cloned() else {
            let error = no_records_error(r);
            return self.finish(id, Err(error));
        };
        let record = SrvRecord {
            priority: 0,
            weight: 0,
            port,
            target: domain.clone(),
        };
        self.look_up_targets(id, Via::Fallback { domain }, alloc::vec![record], &[], now);
    }

    fn look_up_targets(
        &mut self,
        id: ResolutionId,
        via: Via,
        records: Vec<SrvRecord>,
        additional: &[(Name, IpAddr)],
        now: Instant,
    ) {
        // S14: additional-section addresses only when the owner is exactly
        // the target (names compare case-insensitively). Comparing each
        // target with each record is cheapest for the few records a real
        // answer carries; a section of hundreds gets an index, so a hostile
        // one costs n log n, not targets × records.
        let index = (additional.len() > 32).then(|| {
            let mut index: BTreeMap<&Name, Vec<IpAddr>> = BTreeMap::new();
            for (owner, ip) in additional {
                index.entry(owner).or_default().push(*ip);
            }
            index
        });
        let mut targets = Vec::with_capacity(records.len());
        let mut to_ask = Vec::new();
        for (i, record) in records.into_iter().enumerate() {
            let ips: Vec<IpAddr> = match &index {
                Some(index) => index.get(&record.target).cloned().unwrap_or_default(),
                None => additional
                    .iter()
                    .filter(|(owner, _)| same_name(owner, &record.target))
                    .map(|(_, ip)| *ip)
                    .collect(),
            };
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for ip in ips {
                let data = ip_rdata(ip);
                if ip.is_ipv4() {
                    v4.push(data)
                } else {
                    v6.push(data)
                }
            }
            if v4.is_empty() && v6.is_empty() {
                to_ask.push(i);
            }
            let found = |records| LookupState::Found {
                records,
                additional: Vec::new(),
            };
            targets.push(Target {
                v4: Lookup::new(record.target.clone(), found(v4)),
                v6: Lookup::new(record.target.clone(), found(v6)),
                record,
            });
        }
        let mut asked = Vec::with_capacity(to_ask.len());
        for i in to_ask {
            let name = targets[i].record.target.clone();
            let q4 = self.ask(
                id,
                &name,
                RecordType::A,
                Slot::Address {
                    target: i,
                    v6: false,
                },
                now,
            );
            let q6 = self.ask(
                id,
                &name,
                RecordType::AAAA,
                Slot::Address {
                    target: i,
                    v6: true,
                },
                now,
            );
            asked.push((i, q4, q6));
        }
        for (i, q4, q6) in asked {
            targets[i].v4 = Lookup::new(targets[i].record.target.clone(), q4);
            targets[i].v6 = Lookup::new(targets[i].record.target.clone(), q6);
        }
        if let Some(r) = self.resolutions.get_mut(&id) {
            r.stage = Stage::Addresses {
                via: Box::new(via),
                targets,
            };
        }
        self.advance(id, now);
    }

    fn stop_srv_lookups(&mut self, id: ResolutionId) {
        let Some(Resolution {
            stage: Stage::Srv(lookups),
            ..
        }) = self.resolutions.get(&id)
        else {
            return;
        };
        let pending: Vec<QuestionId> = lookups
            .iter()
            .filter_map(Lookup::pending_question)
            .collect();
        for qid in pending {
            self.unwait(id, qid);
        }
    }

    /// Ends resolution `id` with its one event and frees everything it held.
    fn finish(&mut self, id: ResolutionId, result: Result<Answer, Error>) {
        let Some(r) = self.resolutions.remove(&id) else {
            return;
        };
        for qid in r.asked {
            self.unwait(id, qid);
        }
        self.events.push_back(match result {
            Ok(answer) => Event::Resolved { id, answer },
            Err(error) => Event::Failed { id, error },
        });
    }
}

fn ip_rdata(ip: IpAddr) -> RData {
    match ip {
        IpAddr::V4(v4) => RData::A(v4.into()),
        IpAddr::V6(v6) => RData::AAAA(v6.into()),
    }
}

/// A lookup's addresses in answer order, exact duplicates dropped (S12).
fn addresses(lookup: &Lookup) -> Vec<IpAddr> {
    let LookupState::Found { records, .. } = &lookup.state else {
        return Vec::new();
    };
    let ips = records.iter().filter_map(|r| match r {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
        _ => None,
    });
    // A name has a few addresses, where a scan beats a set; a hostile
    // RRset of thousands gets the set, so it costs n log n, not n².
    if records.len() <= 16 {
        let mut out = Vec::with_capacity(records.len());
        for ip in ips {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
        out
    } else {
        let mut seen = BTreeSet::new();
        ips.filter(|ip| seen.insert(*ip)).collect()
    }
}

/// S17: alternate families, the preferred one first.
fn interleave(v6: Vec<IpAddr>, v4: Vec<IpAddr>, order: AddressOrder) -> Vec<IpAddr> {
    let (first, second) = match order {
        AddressOrder::Ipv6First => (v6, v4),
        AddressOrder::Ipv4First => (v4, v6),
    };
    let mut out = Vec::with_capacity(first.len() + second.len());
    let mut a = first.into_iter();
    let mut b = second.into_iter();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return out,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
}

/// The error when no protocol had SRV records and there is no fallback:
/// NXDOMAIN when every owner was NXDOMAIN, else NODATA for the first NODATA.
fn no_records_error(r: &Resolution) -> Error {
    let Stage::Srv(lookups) = &r.stage else {
        return Error::NoDestination;
    };
    let nodata = lookups
        .iter()
        .find(|l| matches!(l.state, LookupState::Missing(false)));
    match (nodata, lookups.last()) {
        (Some(l), _) => Error::NoData {
            name: l.name.clone(),
        },
        (None, Some(l)) => Error::NxDomain {
            name: l.name.clone(),
        },
        (None, None) => Error::NoProtocols,
    }
}

/// The error when the fallback found no address: a lookup's failure first,
/// then NXDOMAIN if both said so, else NODATA.
fn fallback_error(domain: &Name, target: &Target) -> Error {
    for lookup in [&target.v6, &target.v4] {
        if let LookupState::Failed(e) = &lookup.state {
            return (**e).clone();
        }
    }
    let nx = |l: &Lookup| matches!(l.state, LookupState::Missing(true));
    if nx(&target.v4) && nx(&target.v6) {
        Error::NxDomain {
            name: domain.clone(),
        }
    } else {
        Error::NoData {
            name: domain.clone(),
        }
    }
}

/// A name the resolution is still waiting on, and its question, for a
/// timeout's message.
fn pending_lookup(r: &Resolution) -> (Name, Option<QuestionId>) {
    let lookups: Vec<&Lookup> = match &r.stage {
        Stage::Srv(lookups) => lookups.iter().collect(),
        Stage::Addresses { targets, .. } => targets.iter().flat_map(|t| [&t.v6, &t.v4]).collect(),
    };
    let pending = lookups.iter().find(|l| l.pending_question().is_some());
    let name = pending
        .or(lookups.first())
        .map(|l| l.name.clone())
        .or_else(|| r.fallback.as_ref().map(|f| f.0.clone()))
        .unwrap_or_else(Name::root);
    (name, pending.and_then(|l| l.pending_question()))
}

/// The lookup a slot refers to in the current stage, with its record type.
fn lookup_at(stage: &mut Stage, slot: Slot) -> Option<(&mut Lookup, RecordType)> {
    match (stage, slot) {
        (Stage::Srv(lookups), Slot::Srv(i)) => lookups.get_mut(i).map(|l| (l, RecordType::SRV)),
        (Stage::Addresses { targets, .. }, Slot::Address { target, v6 }) => {
            let t = targets.get_mut(target)?;
            Some(if v6 {
                (&mut t.v6, RecordType::AAAA)
            } else {
                (&mut t.v4, RecordType::A)
            })
        }
        _ => None,
    }
}

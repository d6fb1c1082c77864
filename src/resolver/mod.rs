//! The public state machine: it starts resolutions, hands their questions to
//! the scheduler, and moves each resolution's plan (`plan.rs`) along as
//! answers arrive, until it ends with exactly one [`Event`] (SPEC S27: every
//! resolution is bounded and ends by its deadline).

mod hit;
mod plan;
mod waiters;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{Name, RecordType};
use rand_core::CryptoRng;

use crate::cache::{Cache, Data, Key};
use crate::config::Config;
use crate::error::{Error, StartError, servers_failed};
use crate::event::{Answer, Event, Progress, ResolutionId, SecurityStatus, Via};
use crate::map::{Map, map};
use crate::scheduler::sockets::SocketId;
use crate::scheduler::timer::Timers;
use crate::scheduler::{Ended, Outcome, QuestionId, Scheduler, Transmit};
use crate::service::{Protocol, checked_domain, domain_name, owner_wire, service_owner};
use crate::srv::{SrvOrder, SrvRecord, addresses_of_targets, order_srv};
use crate::stats::{ServerStatus, Stats};
use crate::time::Instant;
use crate::uri::Uri;
use crate::wire::message::{Absence, Found, Records, Reply};
use plan::{
    Combine, Family, FoundSet, Lookup, LookupState, Place, Resolution, SrvOutcome, Stage, Step,
    Target, first_listings,
};
use waiters::Waiters;

/// Where a target's record came from: the SRV owner name (`None` for the
/// S16 fallback) and whether that RRset was secure (S35).
type Origin = (Option<Name>, bool);

/// What cached `data` says of the name it was asked for, at `now`.
fn cached_step(data: &Data, now: Instant) -> Step {
    Step::Done(match data {
        Data::Alias(target) => return Step::Alias((**target).clone()),
        Data::Srv(set) => LookupState::Found {
            records: Records::Srv(set.records.to_vec()),
            additional: set.additional(now),
        },
        Data::Addresses(ips) => LookupState::Found {
            records: Records::Addresses(ips.to_vec()),
            additional: Vec::new(),
        },
        Data::Absent(absence) => LookupState::Missing(*absence),
        Data::Tlsa(records) => LookupState::Found {
            records: Records::Tlsa(records.to_vec()),
            additional: Vec::new(),
        },
    })
}

/// The sans-IO resolver. See the crate documentation for the driving loop.
///
/// `R` is the caller's cryptographically secure generator, any
/// [`rand_core::CryptoRng`] (rand_core 0.10, re-exported as
/// [`crate::rand_core`]); [`crate::os_rng`] makes one with feature `std`. It
/// draws query ids (S18) and the weighted SRV order (S10), and nothing else
/// draws randomness, so a seeded generator replays a run exactly.
///
/// # Driving it
///
/// After every call that hands something in (`resolve_*`, `cancel`,
/// `handle_*`), drain the queues, then ask
/// [`poll_timeout`](Self::poll_timeout) when to call
/// [`handle_timeout`](Self::handle_timeout). The queues:
///
/// - [`poll_transmit`](Self::poll_transmit): queries to send (a failed UDP
///   send goes back through [`handle_send_failed`](Self::handle_send_failed));
/// - [`poll_close`](Self::poll_close): TCP connections to close;
/// - [`poll_close_socket`](Self::poll_close_socket): UDP sockets to close;
/// - [`poll_progress`](Self::poll_progress) (with `Config::progress`):
///   targets' addresses as they arrive;
/// - [`poll_event`](Self::poll_event): resolutions that ended.
///
/// One order matters: drain `poll_progress` before `poll_event`, so that a
/// resolution's progress comes before its end. The others are independent.
/// Handing something in while draining (a send that failed, a stream that
/// closed) is allowed: it may queue more, so drain until every queue is
/// empty.
///
/// # TCP, as a driver must handle it
///
/// - A [`Transmit`] over [`Transport::Tcp`](crate::Transport::Tcp) goes on
///   your one connection to its server; open it if there is none. Its
///   payload carries the length prefix already. Several queries share the
///   connection, and their answers come back in any order.
/// - Hand every byte read from the connection to
///   [`handle_stream`](Self::handle_stream), however it is cut.
/// - When the connection fails, is refused or is closed by the server,
///   call [`handle_stream_closed`](Self::handle_stream_closed): its queries
///   move on to the next server at once.
/// - When [`poll_close`](Self::poll_close) names a server, close its
///   connection. Do **not** call `handle_stream_closed` for it: the machine
///   already forgot the connection (calling it anyway does nothing).
/// - A close and a new query to the same server cannot race: a new TCP
///   query to a server whose close is still queued takes the close back
///   out, so a server is never both in `poll_close` and behind a TCP
///   transmit not yet drained. A TCP transmit after a drained close means
///   "open a new connection".
///
/// # Time
///
/// Calling [`handle_timeout`](Self::handle_timeout) early, late or often is
/// harmless: it acts only on deadlines at or before the `now` it is given.
/// Late costs only lateness; every resolution still ends by its deadline as
/// soon as the machine is told the time.
pub struct Resolver<R> {
    rng: R,
    /// The settings in force (normalized); the scheduler keeps its own
    /// copy of those it works by.
    config: Config,
    scheduler: Scheduler,
    /// Answers kept for their lifetime (S26); `None` when turned off.
    cache: Option<Cache>,
    resolutions: BTreeMap<ResolutionId, Resolution>,
    waiters: Waiters,
    /// Resolution deadlines; those of ended resolutions are skipped.
    deadlines: Timers<ResolutionId>,
    /// Serve-stale (S31): when a resolution's client timer runs out
    /// (`None`), or a lookup takes its stale data at once (a place).
    stale_timers: Timers<(ResolutionId, Option<Place>)>,
    /// Serve-stale: questions asked on after the lookups that asked them
    /// took stale data, so that a fresh answer still refreshes the cache.
    refreshes: Map<QuestionId, (Name, RecordType)>,
    events: VecDeque<Event>,
    /// With `Config::progress`: targets' addresses as they arrive (S29).
    progress: VecDeque<Progress>,
    next_id: u64,
}

impl<R: CryptoRng> Resolver<R> {
    /// A resolver with `config`, drawing all randomness from `rng`.
    pub fn new(config: Config, mut rng: R) -> Self {
        let config = config.normalized();
        // The hashes of names (the cache's table, the questions' index)
        // are keyed with a secret, so no one can pick names that collide.
        let secret = rng.next_u64();
        let cache = config.cache.clone().map(|c| Cache::new(c, secret));
        Resolver {
            rng,
            cache,
            scheduler: Scheduler::new(config.clone(), secret),
            config,
            resolutions: BTreeMap::new(),
            waiters: Waiters::default(),
            deadlines: Timers::new(),
            stale_timers: Timers::new(),
            refreshes: map(),
            events: VecDeque::new(),
            progress: VecDeque::new(),
            next_id: 0,
        }
    }

    /// The configuration in force, with values brought into their
    /// documented ranges.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts resolving an `im:`/`pres:` URI (RFC 3861): SRV for each of
    /// `protocols` in order of preference (S6, S7), then the targets'
    /// addresses. With `fallback_port`, a domain without SRV records
    /// resolves to its own addresses on that port (S16).
    ///
    /// An `Err` means nothing was started and no event will follow.
    pub fn resolve_uri(
        &mut self,
        now: Instant,
        uri: &Uri,
        protocols: &[Protocol],
        fallback_port: Option<u16>,
    ) -> Result<ResolutionId, StartError> {
        let domain = uri.domain().ok_or(StartError::NoDestination)?;
        // The domain is checked once, for every protocol and the fallback;
        // its own name is made only for a fallback.
        let domain = checked_domain(domain)?;
        let service = uri.scheme.service_label();
        let owners = || {
            let owners = protocols
                .iter()
                .map(|p| service_owner(service, p.as_str(), domain));
            owners
                .collect::<Result<Vec<_>, _>>()
                .map_err(StartError::from)
        };
        // With a cache, its keys come straight from the text, with the
        // names' own checks, and the names are made only if the cache
        // cannot answer; without one, the names are made here, where the
        // keys would be, so that a bad URI gives the same error first.
        let mut keys = Vec::new();
        let mut made = None;
        if self.cache.is_some() {
            keys.reserve_exact(protocols.len());
            for protocol in protocols {
                let key = Key::build(RecordType::SRV, |out| {
                    owner_wire(service, protocol.as_str(), domain, out)
                })?;
                keys.push(key);
            }
        } else {
            made = Some(owners()?);
        }
        let fallback = match fallback_port {
            Some(port) => Some((domain_name(domain)?, port)),
            None => None,
        };
        let owners = || made.map_or_else(owners, Ok);
        self.start(&keys, owners, fallback, Combine::Preferred, now)
    }

    /// Starts resolving a plain RFC 2782 SRV owner name such as
    /// `_xmpp-server._tcp.example.com.` (S8). There is no address fallback.
    ///
    /// An `Err` means nothing was started and no event will follow.
    pub fn resolve_srv(&mut self, now: Instant, owner: &Name) -> Result<ResolutionId, StartError> {
        let mut owner = owner.clone();
        owner.set_fqdn(true);
        let keys = [Key::new(&owner, RecordType::SRV)];
        self.start(
            &keys,
            || Ok(alloc::vec![owner]),
            None,
            Combine::Preferred,
            now,
        )
    }

    /// Starts resolving several SRV owner names of one service together
    /// (S30, XEP-0368), such as `_xmpps-client._tcp.example.com.` and
    /// `_xmpp-client._tcp.example.com.`: all their records are ordered as
    /// one RRset by priority and weight, and each
    /// [`Endpoint`](crate::Endpoint) says in `service` which name it came
    /// from. A name with no records (or whose lookup failed) is not an
    /// error while another has some.
    ///
    /// An `Err` means nothing was started and no event will follow; no
    /// names is [`StartError::NoProtocols`].
    pub fn resolve_srv_set(
        &mut self,
        now: Instant,
        owners: &[Name],
    ) -> Result<ResolutionId, StartError> {
        let owners = owners
            .iter()
            .map(|owner| {
                let mut owner = owner.clone();
                owner.set_fqdn(true);
                owner
            })
            .collect();
        // Merged sets are the plan's alone: no keys for the cache's short cut.
        self.start(&[], || Ok(owners), None, Combine::Merged, now)
    }

    /// Starts a resolution of the SRV names `owners` makes (their cache
    /// keys in `keys`, for [`Combine::Preferred`]), answered whole from the
    /// cache if it can (S26), before any name is made.
    fn start(
        &mut self,
        keys: &[Key],
        owners: impl FnOnce() -> Result<Vec<Name>, StartError>,
        fallback: Option<(Name, u16)>,
        combine: Combine,
        now: Instant,
    ) -> Result<ResolutionId, StartError> {
        // S23: a start may let waiting questions out (`start_waiting`):
        // none for a resolution already over.
        self.end_overdue(now);
        // What that ended may have freed a place on the wire or left the
        // sockets idle, whatever this start comes to (an error, a whole
        // answer from the cache, or questions of its own).
        self.scheduler.start_waiting(now, &mut self.rng);
        let config = &self.config;
        if config.servers.is_empty() {
            return Err(StartError::NoServers);
        }
        if self.resolutions.len() >= config.max_resolutions {
            return Err(StartError::TooManyResolutions);
        }
        // S26: the plain repeated resolution, answered whole from the
        // cache without the plan (`hit.rs`); anything else goes on below.
        // With DNSSEC the plan alone judges security (S35): one rule, in
        // one place.
        if let (Combine::Preferred, false, None, Some(cache)) = (
            combine,
            config.progress,
            &config.dnssec,
            self.cache.as_mut(),
        ) && let Some(answer) = hit::answer(cache, keys, config, &mut self.rng, now)
        {
            let id = ResolutionId(self.next_id);
            self.next_id += 1;
            self.events.push_back(Event::Resolved { id, answer });
            return Ok(id);
        }
        let owners = owners()?;
        if owners.is_empty() && fallback.is_none() {
            // No protocol to try and no fallback: nothing could ever be found.
            return Err(StartError::NoProtocols);
        }
        // A protocol listed twice is asked once, in its first place (S7).
        // One owner, the usual case, cannot repeat: nothing to look for.
        let repeats = match combine {
            Combine::Preferred if owners.len() > 1 => first_listings(&owners),
            _ => Vec::new(),
        };
        // Refuse up front rather than start a resolution that fails at once.
        if self.scheduler.in_flight() + owners.len().max(2) > config.max_queries {
            return Err(StartError::TooManyQueries);
        }
        let deadline = now + config.resolution_timeout;
        let id = ResolutionId(self.next_id);
        self.next_id += 1;
        self.resolutions
            .insert(id, Resolution::new(fallback, combine));
        self.deadlines.push(deadline, id);
        if let Some(serve) = config.cache.as_ref().and_then(|c| c.serve_stale.as_ref()) {
            self.stale_timers.push(now + serve.client_timer, (id, None));
        }
        let mut lookups = Vec::with_capacity(owners.len());
        for (i, owner) in owners.into_iter().enumerate() {
            // A protocol listed twice is asked once, in its first place;
            // the repeat keeps its own place, so that `Via::Srv`'s index
            // stays the caller's (S7).
            let lookup = match repeats.get(i).copied().flatten() {
                Some(k) => Lookup::new(owner, LookupState::Repeat(k)),
                None => self.ask(
                    id,
                    Lookup::unasked(owner),
                    RecordType::SRV,
                    Place::Srv(i),
                    now,
                ),
            };
            // A preferred protocol the cache answered (records or an
            // error) decides the resolution (S7): the rest are not asked.
            let decided = matches!(
                lookup.state,
                LookupState::Found { .. } | LookupState::Failed(_)
            );
            lookups.push(lookup);
            if decided && combine == Combine::Preferred {
                break;
            }
        }
        if let Some(r) = self.resolutions.get_mut(&id) {
            r.stage = Stage::Srv(lookups);
        }
        self.advance(id, now);
        self.scheduler.start_waiting(now, &mut self.rng);
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
        // No time is given: the latest an input gave.
        let now = self.scheduler.latest();
        self.scheduler.start_waiting(now, &mut self.rng);
        true
    }

    /// Hands in a UDP datagram received from `from` on the local `socket`.
    /// Anything that is not the answer to a query in flight from that
    /// socket is dropped and counted in [`Stats`].
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        socket: SocketId,
        from: SocketAddr,
        bytes: &[u8],
    ) {
        self.end_overdue(now);
        if let Some(ended) = self
            .scheduler
            .handle_datagram(now, socket, from, bytes, &mut self.rng)
        {
            self.deliver_all([ended], now);
        }
    }

    /// Hands in bytes read from the TCP connection to `server`, in any
    /// fragmentation: several answers per call, or one answer over many
    /// calls, in any order (S22, RFC 7766 §7).
    pub fn handle_stream(&mut self, now: Instant, server: SocketAddr, bytes: &[u8]) {
        self.end_overdue(now);
        let mut ended = Vec::new();
        self.scheduler
            .handle_stream(now, server, bytes, &mut self.rng, &mut ended);
        self.deliver_all(ended, now);
    }

    /// The TCP connection to `server` closed, was reset, or could not be
    /// opened. Its pending queries move on to the next server as if they had
    /// timed out.
    pub fn handle_stream_closed(&mut self, now: Instant, server: SocketAddr) {
        self.end_overdue(now);
        let mut ended = Vec::new();
        self.scheduler
            .handle_stream_closed(now, server, &mut self.rng, &mut ended);
        self.deliver_all(ended, now);
    }

    /// A UDP [`Transmit`] from [`poll_transmit`](Self::poll_transmit)
    /// could not be sent (`send_to` failed: no route, or an address family
    /// the socket cannot reach). Its server fails that attempt at once and
    /// the next server is asked, as [`handle_stream_closed`](Self::handle_stream_closed)
    /// does for TCP, instead of the resolution waiting out its timeouts in
    /// silence. A TCP transmit that cannot be written is a closed stream.
    pub fn handle_send_failed(&mut self, now: Instant, transmit: &Transmit) {
        self.end_overdue(now);
        let mut ended = Vec::new();
        self.scheduler
            .handle_send_failed(now, transmit, &mut self.rng, &mut ended);
        self.deliver_all(ended, now);
    }

    /// Tells the machine the time is `now`: attempts and resolutions whose
    /// deadline has passed move on or end. Resolutions past their deadline
    /// end first, so a call made late sends nothing for them (S23).
    pub fn handle_timeout(&mut self, now: Instant) {
        // Resolutions first, resends last: otherwise a driver woken late
        // sends a round of queries for resolutions whose deadline has
        // passed, only to end them a moment later.
        self.end_overdue(now);
        let mut ended = Vec::new();
        self.scheduler
            .handle_timeout(now, &mut self.rng, &mut ended);
        self.deliver_all(ended, now);
        self.scheduler.start_waiting(now, &mut self.rng);
    }

    /// What every input does first (S23): serve-stale timers that ran out
    /// take their stale data, and resolutions past their deadline end, so
    /// that nothing the input causes (a TCP retry after a late TC answer, a
    /// move to the next server after a closed stream) is sent for them.
    fn end_overdue(&mut self, now: Instant) {
        while let Some((id, place)) = self.stale_timers.pop_due(now) {
            let places = match place {
                Some(place) => alloc::vec![place],
                None => self.client_timer_out(id),
            };
            for place in places {
                self.serve_stale(id, place, true, now);
            }
        }
        let order = self.config().address_order;
        while let Some(id) = self.deadlines.pop_due(now) {
            let Some(r) = self.resolutions.get_mut(&id) else {
                continue;
            };
            let (name, qid) = r.pending_lookup();
            let servers = qid.map(|q| self.scheduler.failures(q)).unwrap_or_default();
            // The most telling of what the servers did (a SERVFAIL beats
            // silence), as when a question runs out of servers.
            let error = servers_failed(name, servers);
            let result = r.expire(&error, order).unwrap_or(Err(error));
            self.finish(id, result);
        }
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.scheduler.poll_transmit()
    }

    /// A server whose TCP connection the caller should close now: no query
    /// waits on it any more. A later TCP [`Transmit`] to it asks for a new
    /// connection.
    pub fn poll_close(&mut self) -> Option<SocketAddr> {
        self.scheduler.poll_close()
    }

    /// A UDP socket the caller should close now: it has carried its share
    /// of queries (`Config::queries_per_socket`) and none waits on it any
    /// more, or nothing at all has been in flight for a second, so that an
    /// idle driver keeps no port open for long (S28; [`poll_timeout`]
    /// includes that second). Answers arriving on it later would be late
    /// anyway; the next query opens a new socket.
    ///
    /// [`poll_timeout`]: Self::poll_timeout
    pub fn poll_close_socket(&mut self) -> Option<SocketId> {
        self.scheduler.poll_close_socket()
    }

    /// Hands back every UDP socket now, through
    /// [`poll_close_socket`](Self::poll_close_socket), if nothing is in
    /// flight, rather than after the second they otherwise linger: for a
    /// driver that stops running between calls, as the blocking
    /// [`Client`](crate::blocking::Client) does.
    pub fn close_idle_sockets(&mut self) {
        self.scheduler.close_idle_sockets();
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// With `Config::progress`: the next report of a target's addresses
    /// as they arrive, if any (S29). Drain it before `poll_event`, so that
    /// a resolution's progress comes before its end.
    pub fn poll_progress(&mut self) -> Option<Progress> {
        self.progress.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if anything
    /// is waiting.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let resolutions = &self.resolutions;
        let resolution = self.deadlines.next(|id| resolutions.contains_key(&id));
        let stale = self
            .stale_timers
            .next(|(id, _)| resolutions.contains_key(&id));
        [self.scheduler.poll_timeout(), resolution, stale]
            .into_iter()
            .flatten()
            .min()
    }

    /// What the machine has learnt of each configured server, in the
    /// order of `Config::servers`: its window, the queries on the wire to
    /// it, its round trips and the wait they give (S23).
    pub fn servers(&self) -> Vec<ServerStatus> {
        self.scheduler.servers()
    }

    /// Counters of packets sent, accepted and dropped, of the cache, and
    /// of work in flight.
    pub fn stats(&self) -> Stats {
        let mut stats = self.scheduler.stats();
        if let Some(cache) = &self.cache {
            let c = cache.counters();
            stats.cache_hits = c.hits;
            stats.cache_negative_hits = c.negative_hits;
            stats.cache_misses = c.misses;
            stats.cache_insertions = c.insertions;
            stats.cache_evictions = c.evictions;
            stats.cache_stale_answers = c.stale;
            stats.cache_entries = cache.len();
            stats.cache_bytes = cache.bytes();
        }
        stats
    }

    /// Forgets every cached answer (S26): later questions go to the
    /// network. Resolutions in flight go on as they are.
    pub fn clear_cache(&mut self) {
        if let Some(cache) = &mut self.cache {
            cache.clear();
        }
    }

    /// Resolutions started and not yet ended.
    pub fn resolutions_in_flight(&self) -> usize {
        self.resolutions.len()
    }

    /// Looks `lookup` up for resolution `id`: from the cache when it
    /// holds the answer (following cached CNAME links, S25, S26), else by
    /// asking the question, recording who waits for it. Over
    /// `Config::max_queries` the lookup fails at once (S27).
    fn ask(
        &mut self,
        id: ResolutionId,
        mut lookup: Lookup,
        rtype: RecordType,
        place: Place,
        now: Instant,
    ) -> Lookup {
        let max_hops = self.config().max_cname_hops;
        let serve_stale = self
            .cache
            .is_some()
            .then(|| self.config().cache.as_ref()?.serve_stale.clone())
            .flatten();
        // S31: expired data to fall back on, should no fresh answer come.
        let mut has_stale = false;
        while let Some(cache) = self.cache.as_mut() {
            let (step, (hops, secure), ttl, stale) = match cache.get(&lookup.name, rtype, now) {
                Some(hit) => (
                    cached_step(hit.data, now),
                    (hit.hops, hit.secure),
                    hit.ttl,
                    false,
                ),
                None => match (&serve_stale, cache.stale(&lookup.name, rtype, now)) {
                    // Its refresh failed lately: answer with it at once.
                    (Some(serve), Some((hit, true))) => {
                        let step = cached_step(hit.data, now);
                        (step, (hit.hops, hit.secure), serve.answer_ttl, true)
                    }
                    (_, found) => {
                        has_stale = found.is_some();
                        break;
                    }
                },
            };
            if stale {
                cache.served_stale();
            }
            self.used_cache(id, ttl, stale);
            if !lookup.take(step, hops, max_hops, secure) {
                return lookup;
            }
        }
        // Questions that must wait go out oldest resolution first.
        let Some(qid) = self
            .scheduler
            .ask(&lookup.name, rtype, id.0, now, &mut self.rng)
        else {
            lookup.state = LookupState::Failed(Box::new(Error::TooManyQueries));
            return lookup;
        };
        self.waiters.add(qid, id, place);
        if let Some(r) = self.resolutions.get_mut(&id) {
            r.asked.push(qid);
        }
        // S31: a lookup asked after the client timer ran out takes its
        // stale data at once (the question still goes out, to refresh).
        if has_stale
            && self
                .resolutions
                .get(&id)
                .is_some_and(|r| r.client_timer_out)
        {
            self.stale_timers.push(now, (id, Some(place)));
        }
        lookup.state = LookupState::Pending(qid);
        lookup
    }

    /// Resolution `id` used a cached entry with `ttl` seconds left (or,
    /// `stale`, an expired one, S31).
    fn used_cache(&mut self, id: ResolutionId, ttl: u32, stale: bool) {
        if let Some(r) = self.resolutions.get_mut(&id) {
            r.ttl = r.ttl.min(ttl);
            r.from_cache = true;
            r.stale |= stale;
        }
    }

    /// S31: resolution `id`'s client timer ran out. Its pending lookups,
    /// to be served stale where there is data.
    fn client_timer_out(&mut self, id: ResolutionId) -> Vec<Place> {
        let Some(r) = self.resolutions.get_mut(&id) else {
            return Vec::new();
        };
        r.client_timer_out = true;
        match &r.stage {
            Stage::Srv(lookups) => (0..lookups.len())
                .filter(|&i| lookups[i].pending_question().is_some())
                .map(Place::Srv)
                .collect(),
            Stage::Addresses { targets, .. } => targets
                .iter()
                .enumerate()
                .flat_map(|(i, t)| {
                    let address = |family| Place::Address { target: i, family };
                    [
                        (address(Family::V4), Some(&t.v4)),
                        (address(Family::V6), Some(&t.v6)),
                        (Place::Tlsa { target: i }, t.tlsa.as_deref()),
                    ]
                    .into_iter()
                    .filter(|(_, l)| l.is_some_and(|l| l.pending_question().is_some()))
                    .map(|(place, _)| place)
                })
                .collect(),
        }
    }

    /// S31: the lookup at `place` of resolution `id` stops waiting for a
    /// fresh answer and takes the stale data, if there is any. With
    /// `refresh` (its client timer ran out) the question goes on being
    /// asked, so that a fresh answer still refreshes the cache; without
    /// (every server failed) it has already ended.
    fn serve_stale(&mut self, id: ResolutionId, place: Place, refresh: bool, now: Instant) -> bool {
        let Some(serve) = self
            .config()
            .cache
            .as_ref()
            .and_then(|c| c.serve_stale.clone())
        else {
            return false;
        };
        // The fields, not `lookup_at`: the cache is borrowed beside it.
        let Some((lookup, rtype)) = self
            .resolutions
            .get_mut(&id)
            .and_then(|r| r.stage.lookup_at(place))
            .filter(|(l, _)| l.pending_question().is_some())
        else {
            return false;
        };
        let Some(cache) = self.cache.as_mut() else {
            return false;
        };
        let Some((hit, _)) = cache.stale(&lookup.name, rtype, now) else {
            return false;
        };
        let (step, hops, secure) = (cached_step(hit.data, now), hit.hops, hit.secure);
        cache.served_stale();
        let name = lookup.name.clone();
        if let Some(qid) = lookup.pending_question().filter(|_| refresh) {
            self.refreshes.insert(qid, (name, rtype));
            self.unwait(id, qid);
        }
        self.used_cache(id, serve.answer_ttl, true);
        // Without the hop limit, a stale loop asked the next name, whose
        // stale link led back, for ever (found by fuzzing).
        let max_hops = self.config().max_cname_hops;
        self.step_lookup(id, place, now, |this, mut lookup, rtype| {
            if lookup.take(step, hops, max_hops, secure) {
                lookup = this.ask(id, lookup, rtype, place, now);
            }
            lookup
        });
        self.advance(id, now);
        true
    }

    /// The lookup at `place` of resolution `id`, with its record type.
    fn lookup_at(&mut self, id: ResolutionId, place: Place) -> Option<(&mut Lookup, RecordType)> {
        self.resolutions
            .get_mut(&id)
            .and_then(|r| r.stage.lookup_at(place))
    }

    /// Takes the lookup at `place` of resolution `id` out for `step` (which
    /// needs the whole machine, to ask on), puts back the lookup `step`
    /// returns, and reports its target's progress. The one place a lookup
    /// leaves its resolution: none is ever lost, and its place, meanwhile
    /// `Unasked`, never outlives the step.
    fn step_lookup(
        &mut self,
        id: ResolutionId,
        place: Place,
        now: Instant,
        step: impl FnOnce(&mut Self, Lookup, RecordType) -> Lookup,
    ) {
        let Some((held, rtype)) = self.lookup_at(id, place) else {
            return;
        };
        let taken = core::mem::replace(held, Lookup::unasked(Name::root()));
        let lookup = step(self, taken, rtype);
        if let Some((held, _)) = self.lookup_at(id, place) {
            *held = lookup;
        }
        self.lookup_changed(id, place, now);
    }

    /// Stops waiting for `qid` on behalf of `id`; a question nobody waits for
    /// is no longer retried.
    fn unwait(&mut self, id: ResolutionId, qid: QuestionId) {
        if !self.waiters.remove(qid, id) && !self.refreshes.contains_key(&qid) {
            self.scheduler.forget(qid);
        }
    }

    /// Hands the questions that ended to the resolutions waiting on them,
    /// then lets waiting questions into the room they left — after, so
    /// that the next stage of those resolutions takes its place in line.
    fn deliver_all(&mut self, ended: impl IntoIterator<Item = Ended>, now: Instant) {
        for (qid, outcome) in ended {
            if let (Some(cache), Outcome::Answer(reply)) = (&mut self.cache, &outcome) {
                cache.store(reply, now);
            }
            // S31: a refresh nobody waits for any more ended.
            if let Some((name, rtype)) = self.refreshes.remove(&qid)
                && let (Some(cache), Outcome::Failed(_)) = (&mut self.cache, &outcome)
            {
                cache.refresh_failed(&name, rtype, now);
            }
            // Each waiter but the last gets a copy; the last (most often
            // the only one) takes the outcome itself.
            let waiters = self.waiters.take(qid);
            let last = waiters.len().saturating_sub(1);
            let mut outcome = Some(outcome);
            for (k, (id, place)) in waiters.enumerate() {
                let this = if k == last {
                    outcome.take()
                } else {
                    outcome.clone()
                };
                if let Some(this) = this {
                    self.apply(id, place, this, now);
                }
                self.advance(id, now);
            }
        }
        self.scheduler.start_waiting(now, &mut self.rng);
    }

    /// Records `outcome` in the lookup at `place` of resolution `id`, asking
    /// again when the answer is a CNAME to chase (S25).
    fn apply(&mut self, id: ResolutionId, place: Place, outcome: Outcome, now: Instant) {
        let max_hops = self.config().max_cname_hops;
        let Some(r) = self.resolutions.get_mut(&id) else {
            return;
        };
        let Some((lookup, rtype)) = r.stage.lookup_at(place) else {
            return;
        };
        let name = lookup.name.clone();
        let (step, hops, secure) = match outcome {
            Outcome::Answer(reply) => {
                let (chain_ttl, hops, secure) = (reply.chain_ttl(), reply.hops(), reply.secure);
                let Reply {
                    name: asked,
                    chain,
                    found,
                    ..
                } = reply;
                let step = match found {
                    Found::Records {
                        records,
                        ttl,
                        additional,
                        additional_ttl,
                    } => {
                        r.ttl = r.ttl.min(chain_ttl).min(ttl);
                        if !additional.is_empty() {
                            r.ttl = r.ttl.min(additional_ttl);
                        }
                        Step::Done(LookupState::Found {
                            records,
                            additional,
                        })
                    }
                    Found::Alias => {
                        r.ttl = r.ttl.min(chain_ttl);
                        // `Reply::end`, by value: the chain's last name.
                        Step::Alias(chain.into_iter().last().map_or(asked, |l| l.target))
                    }
                    Found::Absent { absence, ttl } => {
                        // An absence the answer rests on lasts as long as
                        // its SOA says (RFC 2308 §5).
                        if let Some(ttl) = ttl {
                            r.ttl = r.ttl.min(chain_ttl).min(ttl);
                        }
                        Step::Done(LookupState::Missing(absence))
                    }
                    Found::CnameLoop => {
                        Step::Done(LookupState::Failed(Box::new(Error::CnameLoop { name })))
                    }
                };
                (step, hops, secure)
            }
            // S36: never stale data in its place: it is not secure either,
            // and someone is forging this name now.
            Outcome::Bogus(server) => {
                let servers = alloc::vec![server];
                let error = Error::Bogus { name, servers };
                (Step::Done(LookupState::Failed(Box::new(error))), 0, false)
            }
            Outcome::Failed(servers) => {
                // S31: every server failed; stale data stands in, if any,
                // and is served at once for a while.
                if let Some(cache) = &mut self.cache {
                    cache.refresh_failed(&name, rtype, now);
                }
                if self.serve_stale(id, place, false, now) {
                    return;
                }
                let error = servers_failed(name, servers);
                (Step::Done(LookupState::Failed(Box::new(error))), 0, false)
            }
        };
        let Some((lookup, _)) = self.lookup_at(id, place) else {
            return;
        };
        // S25: the same rule as for a cached answer.
        if lookup.take(step, hops, max_hops, secure) {
            let chase = |this: &mut Self, lookup, rtype| this.ask(id, lookup, rtype, place, now);
            return self.step_lookup(id, place, now, chase);
        }
        self.lookup_changed(id, place, now);
    }

    /// A target's lookup moved on: once its addresses are all in, DANE may
    /// ask for its TLSA (S37); the caller hears of it (S29).
    fn lookup_changed(&mut self, id: ResolutionId, place: Place, now: Instant) {
        let target = match place {
            Place::Srv(_) => return,
            Place::Address { target, .. } | Place::Tlsa { target } => target,
        };
        self.ask_tlsa(id, target, now);
        self.report(id, target);
    }

    /// `look_up_targets`: a target's addresses may be known as soon as
    /// it is made (additional section, cache): DANE may go on at once,
    /// and the caller hears of it once nothing more is to come.
    fn addresses_known(&mut self, id: ResolutionId, target: usize, now: Instant) {
        self.ask_tlsa(id, target, now);
        if self.target(id, target).is_some_and(|t| !t.is_pending()) {
            self.report(id, target);
        }
    }

    fn target(&self, id: ResolutionId, index: usize) -> Option<&Target> {
        match &self.resolutions.get(&id)?.stage {
            Stage::Addresses { targets, .. } => targets.get(index),
            Stage::Srv(_) => None,
        }
    }

    /// S37: with DANE, once a target's addresses are in and its SRV and
    /// address RRsets are all secure (and only then), ask its TLSA.
    fn ask_tlsa(&mut self, id: ResolutionId, index: usize, now: Instant) {
        if !self.config.dnssec.as_ref().is_some_and(|d| d.dane) {
            return;
        }
        let Some(target) = self.target(id, index) else {
            return;
        };
        if target.tlsa.is_some() || target.addresses_pending() || !target.security().is_secure() {
            return;
        }
        let place = Place::Tlsa { target: index };
        let lookup = match target.tlsa_name() {
            Some(name) => self.ask(id, Lookup::unasked(name), RecordType::TLSA, place, now),
            // A target too long to have TLSA records: no DANE for it.
            None => {
                let mut none = Lookup::new(
                    target.record.target.clone(),
                    LookupState::Missing(Absence::NxDomain),
                );
                none.secure = false;
                none
            }
        };
        if let Some(Resolution {
            stage: Stage::Addresses { targets, .. },
            ..
        }) = self.resolutions.get_mut(&id)
            && let Some(target) = targets.get_mut(index)
        {
            target.tlsa = Some(Box::new(lookup));
        }
    }

    /// S29, with `Config::progress`: what is known of target `index` now.
    fn report(&mut self, id: ResolutionId, index: usize) {
        if !self.config().progress {
            return;
        }
        let order = self.config().address_order;
        let Some(Resolution {
            stage: Stage::Addresses { targets, .. },
            ..
        }) = self.resolutions.get(&id)
        else {
            return;
        };
        let Some(target) = targets.get(index) else {
            return;
        };
        let mut endpoint = target.snapshot(order);
        // S37: with DANE, a target whose SRV was secure and whose other
        // family is still out may yet need its TLSA: not to be connected
        // to before that is known (RFC 7673 §3.3), so it is reported as
        // not usable until then.
        let dane = self.config.dnssec.as_ref().is_some_and(|d| d.dane);
        if dane && target.tlsa.is_none() && target.srv_secure && target.addresses_pending() {
            endpoint.security.tlsa = Some(SecurityStatus::Indeterminate);
        }
        self.progress.push_back(Progress {
            id,
            index,
            endpoints: targets.len(),
            endpoint,
            complete: !target.is_pending(),
        });
    }

    /// Moves resolution `id` along its plan as far as its answers allow.
    fn advance(&mut self, id: ResolutionId, now: Instant) {
        let order = self.config().address_order;
        let Some(r) = self.resolutions.get_mut(&id) else {
            return;
        };
        match &r.stage {
            Stage::Srv(_) => match r.srv_outcome() {
                SrvOutcome::Waiting => {}
                SrvOutcome::Failed(error) => self.finish(id, Err(error)),
                SrvOutcome::Found(sets) => self.use_srv(id, sets, now),
                SrvOutcome::Nothing => self.fall_back(id, now),
            },
            Stage::Addresses { .. } => {
                if let Some(result) = r.conclude(order) {
                    self.finish(id, result);
                }
            }
        }
    }

    /// Step 2–3 of the plan: order the chosen RRset (or, merged, the RRsets
    /// as one, S30) and look up its targets.
    fn use_srv(&mut self, id: ResolutionId, sets: Vec<FoundSet>, now: Instant) {
        // Lower-preference protocols are no longer needed.
        self.stop_srv_lookups(id);
        let merged = self
            .resolutions
            .get(&id)
            .is_some_and(|r| r.combine == Combine::Merged);
        let mut owners = Vec::with_capacity(sets.len());
        let mut records = Vec::new();
        // S30: which owner each record came from, when sets are merged.
        let mut record_owners = Vec::new();
        let mut additional = Vec::new();
        for set in sets {
            if merged {
                record_owners.extend(core::iter::repeat_n(owners.len(), set.records.len()));
            }
            // One set, the usual case, lends its vectors as they are.
            if records.is_empty() && additional.is_empty() {
                (records, additional) = (set.records, set.additional);
            } else {
                records.extend(set.records);
                additional.extend(set.additional);
            }
            owners.push((set.owner, set.index, set.secure));
        }
        // S30: which owner each record came from, found again after the
        // ordering by its contents (n log n: a hostile RRset can be large).
        let mut owner_of: BTreeMap<(u16, u16, u16, Name), Vec<usize>> = BTreeMap::new();
        for (r, owner) in records.iter().zip(record_owners).rev() {
            let key = (r.priority, r.weight, r.port, r.target.clone());
            owner_of.entry(key).or_default().push(owner);
        }
        let mut ordered = match order_srv(records, &mut self.rng) {
            SrvOrder::Unavailable => {
                let name = owners.swap_remove(0).0;
                return self.finish(id, Err(Error::Unavailable { name }));
            }
            SrvOrder::Targets(t) => t,
        };
        let kept = self.config().max_endpoints;
        let omitted = ordered.len().saturating_sub(kept);
        ordered.truncate(kept);
        let tagged = ordered
            .into_iter()
            .map(|record| {
                let from = if merged {
                    let key = (
                        record.priority,
                        record.weight,
                        record.port,
                        record.target.clone(),
                    );
                    owner_of.get_mut(&key).and_then(Vec::pop).unwrap_or(0)
                } else {
                    0
                };
                let (owner, _, secure) = &owners[from];
                (record, (Some(owner.clone()), *secure))
            })
            .collect();
        let via = if merged {
            Via::SrvSet {
                owners: owners.into_iter().map(|(owner, ..)| owner).collect(),
            }
        } else {
            let (owner, index, _) = owners.swap_remove(0);
            Via::Srv { owner, index }
        };
        self.look_up_targets(id, via, tagged, omitted, &additional, now);
    }

    /// Step 4 of the plan: no protocol had SRV records.
    fn fall_back(&mut self, id: ResolutionId, now: Instant) {
        let Some(r) = self.resolutions.get(&id) else {
            return;
        };
        let Some((domain, port)) = r.fallback.as_deref().cloned() else {
            let error = r.no_records_error();
            return self.finish(id, Err(error));
        };
        let record = SrvRecord {
            priority: 0,
            weight: 0,
            port,
            target: domain.clone(),
        };
        let via = Via::Fallback { domain };
        self.look_up_targets(id, via, alloc::vec![(record, (None, false))], 0, &[], now);
    }

    fn look_up_targets(
        &mut self,
        id: ResolutionId,
        via: Via,
        records: Vec<(SrvRecord, Origin)>,
        omitted: usize,
        additional: &[(Name, IpAddr)],
        now: Instant,
    ) {
        // S14: additional-section addresses only when the owner is exactly
        // the target, the rule the cache and the short cut share.
        // S35: but no AD bit covers them, so a secure SRV set's targets
        // are asked for, that their endpoints may be secure too.
        let glued = addresses_of_targets(records.iter().map(|(r, _)| &r.target), additional);
        let mut targets: Vec<Target> = records
            .into_iter()
            .zip(glued)
            .map(|((record, (service, secure)), ips)| {
                let ips = if secure { Vec::new() } else { ips };
                Target::new(record, service, secure, ips)
            })
            .collect();
        for (i, target) in targets.iter_mut().enumerate() {
            if !target.needs_lookup() {
                continue;
            }
            let name = target.record.target.clone();
            for family in [Family::V4, Family::V6] {
                let place = Place::Address { target: i, family };
                let lookup = Lookup::unasked(name.clone());
                let lookup = self.ask(id, lookup, family.record_type(), place, now);
                *target.lookup_mut(family) = lookup;
            }
        }
        let count = targets.len();
        if let Some(r) = self.resolutions.get_mut(&id) {
            r.stage = Stage::Addresses {
                via: Box::new(via),
                targets,
                omitted,
            };
        }
        // Targets whose addresses came with the SRV answer or from the
        // cache are known now: their TLSA may be asked (S37), and they are
        // reported once nothing more is to come.
        for i in 0..count {
            self.addresses_known(id, i, now);
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

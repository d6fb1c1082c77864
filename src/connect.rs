//! Connecting to what a resolution found: Happy Eyeballs over SRV (SPEC S29;
//! RFC 8305, as XEP-0495 profiles it for SRV).
//!
//! A [`Connector`] is a second small sans-IO machine. Fed a finished
//! [`Answer`], it asks for connection attempts to the endpoints' addresses
//! in order (endpoints in S13 order, a target's addresses in S17 order),
//! starting the next attempt after the Connection Attempt Delay, or at once
//! when one fails, while the earlier ones stay open. The first attempt that
//! succeeds wins and every other is cancelled. It ends with exactly one
//! [`ConnectOutcome`]: the winning attempt, or every attempt and how it
//! failed. The caller opens and closes the connections and tells it the
//! time, as with [`Resolver`](crate::Resolver).
//!
//! DNS data is an attacker's to write, so not every address is dialled: an
//! unspecified, multicast or broadcast address or port 0 never is, each
//! (address, port) at most once, and internal addresses not at all under
//! [`InternalAddresses::Refuse`]. What is skipped is listed in the
//! failure, in its place ([`AttemptFailure::Skipped`]).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

use hickory_proto::rr::Name;

use crate::event::{Answer, Endpoint, Progress, host};
use crate::time::Instant;

/// How connection attempts are paced (S29).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectConfig {
    /// The Connection Attempt Delay: how long an attempt has before the
    /// next one starts beside it. Default 250 ms (RFC 8305 §5); values are
    /// brought into its bounds, 100 ms to 2 s.
    pub attempt_delay: Duration,
    /// The deadline of the whole: when it passes, every attempt still open
    /// is cancelled and counted as timed out. Default 10 s.
    pub timeout: Duration,
    /// Whether addresses inside the host or its networks may be dialled.
    /// Default [`InternalAddresses::Allow`], so that local set-ups work.
    pub internal_addresses: InternalAddresses,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        ConnectConfig {
            attempt_delay: Duration::from_millis(250),
            timeout: Duration::from_secs(10),
            internal_addresses: InternalAddresses::Allow,
        }
    }
}

/// Whether DNS may send a connection to the host itself or its private
/// networks: loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12,
/// 192.168/16, fc00::/7), shared (100.64/10) and link-local (169.254/16,
/// fe80::/10) addresses, IPv4-mapped ones included.
///
/// An XMPP or SIP server resolves whatever domain a peer names; with
/// `Allow`, a peer that publishes `127.0.0.1` or `10.0.0.5` for its domain
/// steers the server onto its own internal services. A public-facing
/// server should `Refuse`; a client, or a test on loopback, allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InternalAddresses {
    /// Dial them like any other (the default).
    #[default]
    Allow,
    /// Skip them, reported as [`Skipped::Internal`].
    Refuse,
}

/// Why an endpoint's address was not dialled at all (S29).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skipped {
    /// An unspecified address (0.0.0.0/8, ::): on Linux it reaches the
    /// host itself.
    Unspecified,
    /// A multicast address.
    Multicast,
    /// The IPv4 limited broadcast address.
    Broadcast,
    /// Port 0, which no service listens on.
    PortZero,
    /// The same address and port as an earlier attempt of this connect.
    Duplicate,
    /// An internal address, refused by [`InternalAddresses::Refuse`].
    Internal,
    /// DNSSEC rules the endpoint out: something it rests on was bogus, or
    /// its TLSA lookup failed (`Security::is_usable`, RFC 7673 §3.3).
    Bogus,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Skipped::Unspecified => "unspecified address",
            Skipped::Multicast => "multicast address",
            Skipped::Broadcast => "broadcast address",
            Skipped::PortZero => "port 0",
            Skipped::Duplicate => "already tried",
            Skipped::Internal => "internal address refused",
            Skipped::Bogus => "DNSSEC rules it out",
        })
    }
}

/// Why `addr` must not be dialled, if it must not: the kinds no
/// connection can mean, then the internal ones under `policy`.
fn skip_reason(addr: SocketAddr, policy: InternalAddresses) -> Option<Skipped> {
    let ip = match addr.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let (unspecified, multicast, broadcast, internal) = match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            (
                a == 0,
                v4.is_multicast(),
                v4.is_broadcast(),
                v4.is_loopback()
                    || v4.is_private()
                    || v4.is_link_local()
                    || (a == 100 && (b & 0xc0) == 64),
            )
        }
        IpAddr::V6(v6) => (
            v6.is_unspecified(),
            v6.is_multicast(),
            false,
            v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
        ),
    };
    if unspecified {
        Some(Skipped::Unspecified)
    } else if multicast {
        Some(Skipped::Multicast)
    } else if broadcast {
        Some(Skipped::Broadcast)
    } else if addr.port() == 0 {
        Some(Skipped::PortZero)
    } else if internal && policy == InternalAddresses::Refuse {
        Some(Skipped::Internal)
    } else {
        None
    }
}

/// Names one connection attempt of a [`Connector`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttemptId(pub(crate) usize);

impl AttemptId {
    /// Its value as a number, for a driver that keys its own tables by it
    /// (a poll token, say). Ids are only ever made by the machine.
    pub const fn raw(self) -> usize {
        self.0
    }

    /// The id with this value: for tests and fuzzing only (feature
    /// `arbitrary`, which makes arbitrary ids anyway).
    #[cfg(feature = "arbitrary")]
    pub const fn from_raw(raw: usize) -> AttemptId {
        AttemptId(raw)
    }
}

/// What the caller should do for the connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectAction {
    /// Open a TCP connection to `addr` (the target's address and the
    /// endpoint's port), and report how it went under `id`.
    Connect {
        /// The attempt.
        id: AttemptId,
        /// The SRV target the address belongs to.
        target: Name,
        /// Where to connect.
        addr: SocketAddr,
    },
    /// Give up attempt `id` and close whatever it opened: another won, or
    /// the deadline passed.
    Cancel(AttemptId),
}

/// Why one attempt failed, as the caller saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptFailure {
    /// The peer refused the connection (a closed port).
    Refused,
    /// No route, network down, or the address cannot be used here.
    Unreachable,
    /// The deadline passed with the attempt still open.
    TimedOut,
    /// Anything else the operating system reported.
    Other,
    /// Never dialled: the address is not one to connect to.
    Skipped(Skipped),
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttemptFailure::Refused => "refused",
            AttemptFailure::Unreachable => "unreachable",
            AttemptFailure::TimedOut => "timed out",
            AttemptFailure::Other => "failed",
            AttemptFailure::Skipped(why) => return write!(f, "skipped ({why})"),
        })
    }
}

#[cfg(feature = "std")]
impl From<std::io::ErrorKind> for AttemptFailure {
    fn from(kind: std::io::ErrorKind) -> Self {
        use std::io::ErrorKind;
        match kind {
            ErrorKind::ConnectionRefused => AttemptFailure::Refused,
            ErrorKind::NetworkUnreachable
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkDown
            | ErrorKind::AddrNotAvailable => AttemptFailure::Unreachable,
            ErrorKind::TimedOut => AttemptFailure::TimedOut,
            _ => AttemptFailure::Other,
        }
    }
}

/// One attempt that did not connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    /// The SRV target.
    pub target: Name,
    /// The address and port tried.
    pub addr: SocketAddr,
    /// What happened.
    pub failure: AttemptFailure,
}

/// Every attempt failed, or there was nothing to try: each attempt made, in
/// the order they started, and how it failed, with each address skipped
/// in its place (as [`AttemptFailure::Skipped`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    /// The attempts; empty when the answer had no address at all.
    pub attempts: Vec<FailedAttempt>,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attempts.is_empty() {
            return f.write_str("no address to connect to");
        }
        for (i, a) in self.attempts.iter().enumerate() {
            let target = host(&a.target);
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{target} {} {}", a.addr, a.failure)?;
        }
        Ok(())
    }
}

impl core::error::Error for ConnectError {}

/// How connecting ended: exactly once per [`Connector`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectOutcome {
    /// Attempt `id` connected to `addr` of `target`; keep its connection.
    Connected {
        /// The winning attempt.
        id: AttemptId,
        /// The place of its endpoint in the answer's S13 order.
        endpoint: usize,
        /// Its SRV target.
        target: Name,
        /// The address and port it reached.
        addr: SocketAddr,
    },
    /// Nothing connected.
    Failed(ConnectError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Failed(AttemptFailure),
    Cancelled,
    Won,
}

/// What is known of one endpoint while its addresses arrive.
#[derive(Debug)]
struct Known {
    target: Name,
    port: u16,
    /// As last reported, in S17 order.
    addresses: Vec<IpAddr>,
    /// Nothing more will come for it.
    complete: bool,
    /// When IPv4 addresses were first known with IPv6 still pending: they
    /// wait the Resolution Delay for IPv6 (RFC 8305 §3).
    v4_since: Option<Instant>,
    /// Addresses already made candidates.
    released: Vec<IpAddr>,
    /// DNSSEC allows it (`Security::is_usable`, S36, S37); while its TLSA
    /// lookup is still out, not yet.
    usable: bool,
}

/// RFC 8305 §3: how long IPv4 addresses wait for IPv6 ones still pending.
pub const RESOLUTION_DELAY: Duration = Duration::from_millis(50);

/// Paces connection attempts to the endpoints of an [`Answer`] (S29), from
/// the finished answer ([`Connector::new`]) or, with `Config::progress`, as
/// each endpoint's addresses arrive ([`Connector::waiting`]).
#[derive(Debug)]
pub struct Connector {
    /// Every (target, address and port) to try, in order, as released.
    /// Each with the place of its endpoint in the S13 order, and why it is
    /// not to be dialled, if it is not.
    candidates: Vec<(usize, Name, SocketAddr, Option<Skipped>)>,
    /// The state of each attempt started: attempt `i` is candidate `i`.
    attempts: Vec<State>,
    /// When the next attempt starts if nothing fails or wins first.
    next_at: Option<Instant>,
    /// The delay ran out (or nothing started yet) with no candidate to
    /// start: the next one released starts at once.
    starved: bool,
    deadline: Instant,
    attempt_delay: Duration,
    internal_addresses: InternalAddresses,
    /// Endpoints by their place in the S13 order; `None` while unknown.
    endpoints: Vec<Option<Known>>,
    /// Every endpoint before this one has all its addresses released: an
    /// endpoint's addresses are tried only after every earlier one's.
    released_upto: usize,
    /// The resolution has ended: nothing more will come.
    resolved: bool,
    /// When the Resolution Delay of the endpoint at `released_upto` ends.
    resolution_delay_at: Option<Instant>,
    actions: VecDeque<ConnectAction>,
    outcome: Option<ConnectOutcome>,
    ended: bool,
}

impl Connector {
    /// A connector for `answer`'s endpoints, starting its first attempt now.
    pub fn new(now: Instant, answer: &Answer, config: &ConnectConfig) -> Connector {
        let mut connector = Connector::waiting(now, config);
        connector.handle_resolved(now, answer);
        connector
    }

    /// A connector for a resolution still in flight: feed it each
    /// [`Progress`] the resolver reports
    /// ([`Resolver::poll_progress`](crate::Resolver::poll_progress)), then
    /// the [`Answer`] ([`handle_resolved`](Self::handle_resolved)) or the
    /// failure ([`handle_unresolved`](Self::handle_unresolved)). The first
    /// attempt starts as soon as the first endpoint's addresses are known;
    /// the deadline runs from now.
    pub fn waiting(now: Instant, config: &ConnectConfig) -> Connector {
        Connector {
            candidates: Vec::new(),
            attempts: Vec::new(),
            next_at: None,
            starved: true,
            deadline: now + config.timeout,
            attempt_delay: config
                .attempt_delay
                .clamp(Duration::from_millis(100), Duration::from_secs(2)),
            internal_addresses: config.internal_addresses,
            endpoints: Vec::new(),
            released_upto: 0,
            resolved: false,
            resolution_delay_at: None,
            actions: VecDeque::new(),
            outcome: None,
            ended: false,
        }
    }

    /// What the resolver knows of one endpoint so far (S29: connecting may
    /// start before every target is resolved).
    pub fn handle_progress(&mut self, now: Instant, progress: &Progress) {
        if self.ended || self.resolved {
            return;
        }
        self.learn(progress.index, &progress.endpoint, progress.complete, now);
        if self.endpoints.len() < progress.endpoints {
            self.endpoints.resize_with(progress.endpoints, || None);
        }
        self.release(now);
    }

    /// The resolution ended with `answer`: every endpoint is known.
    pub fn handle_resolved(&mut self, now: Instant, answer: &Answer) {
        if self.ended {
            return;
        }
        for (i, endpoint) in answer.endpoints.iter().enumerate() {
            self.learn(i, endpoint, true, now);
        }
        self.endpoints.truncate(answer.endpoints.len());
        self.resolved = true;
        self.release(now);
    }

    /// The resolution failed: no more endpoints will come. What was already
    /// known is still tried.
    pub fn handle_unresolved(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        for known in self.endpoints.iter_mut().flatten() {
            known.complete = true;
        }
        self.resolved = true;
        self.release(now);
    }

    fn learn(&mut self, index: usize, endpoint: &Endpoint, complete: bool, now: Instant) {
        if self.endpoints.len() <= index {
            self.endpoints.resize_with(index + 1, || None);
        }
        let known = self.endpoints[index].get_or_insert_with(|| Known {
            target: endpoint.target.clone(),
            port: endpoint.port,
            addresses: Vec::new(),
            complete: false,
            v4_since: None,
            released: Vec::new(),
            usable: true,
        });
        known.addresses.clone_from(&endpoint.addresses);
        known.usable = endpoint.security.is_usable();
        known.complete |= complete;
        let v6 = known.addresses.iter().any(IpAddr::is_ipv6);
        if !v6 && !known.addresses.is_empty() && known.v4_since.is_none() {
            known.v4_since = Some(now);
        }
    }

    /// Makes candidates of what may be tried now, in S13 order: an
    /// endpoint's addresses once every earlier endpoint's are out; IPv6 at
    /// once, IPv4 alone only after the Resolution Delay or once the
    /// endpoint is complete. Starts one if the connector was starved.
    fn release(&mut self, now: Instant) {
        self.resolution_delay_at = None;
        while let Some(slot) = self.endpoints.get_mut(self.released_upto) {
            let Some(known) = slot else {
                if self.resolved {
                    // The resolution ended without word of it: nothing to try.
                    self.released_upto += 1;
                    continue;
                }
                break;
            };
            let v6 = known.addresses.iter().any(IpAddr::is_ipv6);
            let waited = known
                .v4_since
                .is_some_and(|since| now >= since + RESOLUTION_DELAY);
            // An endpoint DNSSEC rules out is skipped; one whose TLSA is
            // still out waits for it, whatever its family.
            let ready = known.usable || known.complete;
            if ready && (known.complete || v6 || waited) {
                let ruled_out = (!known.usable).then_some(Skipped::Bogus);
                for ip in &known.addresses {
                    if !known.released.contains(ip) {
                        known.released.push(*ip);
                        let addr = SocketAddr::new(*ip, known.port);
                        // Each (address, port) is dialled once per connect,
                        // whichever endpoints repeat it.
                        let repeated = self.candidates.iter().any(|c| c.2 == addr && c.3.is_none());
                        let skip = ruled_out
                            .or_else(|| skip_reason(addr, self.internal_addresses))
                            .or(repeated.then_some(Skipped::Duplicate));
                        let endpoint = self.released_upto;
                        self.candidates
                            .push((endpoint, known.target.clone(), addr, skip));
                    }
                }
            } else if let (true, Some(since)) = (ready, known.v4_since) {
                self.resolution_delay_at = Some(since + RESOLUTION_DELAY);
            }
            if !known.complete {
                break;
            }
            self.released_upto += 1;
        }
        if self.starved {
            self.start_next(now);
        }
    }

    /// Everything that will ever be tried has been released.
    fn all_released(&self) -> bool {
        self.resolved && self.released_upto >= self.endpoints.len()
    }

    /// Starts the next candidate, passing over those not to be dialled
    /// (each a failed attempt at once). With none: waits for more while
    /// more may come, or ends when nothing is open either.
    fn start_next(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        while let Some(&(.., Some(why))) = self.candidates.get(self.attempts.len()) {
            self.attempts
                .push(State::Failed(AttemptFailure::Skipped(why)));
        }
        let i = self.attempts.len();
        match self.candidates.get(i) {
            Some((_, target, addr, _)) => {
                self.attempts.push(State::Open);
                self.actions.push_back(ConnectAction::Connect {
                    id: AttemptId(i),
                    target: target.clone(),
                    addr: *addr,
                });
                self.next_at = Some(now + self.attempt_delay);
                self.starved = false;
            }
            None => {
                self.next_at = None;
                self.starved = true;
                if self.all_released() && !self.attempts.contains(&State::Open) {
                    self.fail();
                }
            }
        }
    }

    fn fail(&mut self) {
        let attempts = self
            .attempts
            .iter()
            .zip(&self.candidates)
            .map(|(state, (_, target, addr, _))| FailedAttempt {
                target: target.clone(),
                addr: *addr,
                failure: match state {
                    State::Failed(failure) => *failure,
                    _ => AttemptFailure::TimedOut,
                },
            })
            .collect();
        self.end(ConnectOutcome::Failed(ConnectError { attempts }));
    }

    fn end(&mut self, outcome: ConnectOutcome) {
        self.ended = true;
        self.next_at = None;
        for (i, state) in self.attempts.iter_mut().enumerate() {
            if *state == State::Open {
                *state = State::Cancelled;
                self.actions.push_back(ConnectAction::Cancel(AttemptId(i)));
            }
        }
        self.outcome = Some(outcome);
    }

    /// Attempt `id` connected. The first to do so wins; any later success
    /// (of an attempt already cancelled) is ignored, and the caller closes
    /// it as the `Cancel` said.
    pub fn handle_connected(&mut self, _now: Instant, id: AttemptId) {
        if self.ended || self.attempts.get(id.0) != Some(&State::Open) {
            return;
        }
        self.attempts[id.0] = State::Won;
        let (endpoint, target, addr, _) = self.candidates[id.0].clone();
        self.end(ConnectOutcome::Connected {
            id,
            endpoint,
            target,
            addr,
        });
    }

    /// Attempt `id` failed: the next one starts at once.
    pub fn handle_failed(&mut self, now: Instant, id: AttemptId, failure: AttemptFailure) {
        if self.ended || self.attempts.get(id.0) != Some(&State::Open) {
            return;
        }
        self.attempts[id.0] = State::Failed(failure);
        self.start_next(now);
    }

    /// The time is `now`: the next attempt starts when its delay is up,
    /// IPv4 addresses when their Resolution Delay is, and everything ends
    /// when the deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        if now >= self.deadline {
            self.fail();
            return;
        }
        if self.resolution_delay_at.is_some_and(|at| now >= at) {
            self.release(now);
        }
        if self.next_at.is_some_and(|at| now >= at) {
            self.start_next(now);
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let soonest = [self.next_at, self.resolution_delay_at]
            .into_iter()
            .flatten()
            .fold(self.deadline, Instant::min);
        Some(soonest)
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<ConnectAction> {
        self.actions.pop_front()
    }

    /// How it ended, once it has: returned exactly once.
    pub fn poll_outcome(&mut self) -> Option<ConnectOutcome> {
        self.outcome.take()
    }
}

//! Counters of what the machine sent, received and dropped (SPEC S19, S27),
//! and what it has learnt of each server (S23).

use core::net::SocketAddr;
use core::time::Duration;

/// Counters of what the machine sent, received and dropped; a snapshot from
/// [`Resolver::stats`](crate::Resolver::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Queries handed to the caller to send, over UDP and TCP.
    pub queries_sent: u64,
    /// Of those, queries over TCP.
    pub tcp_queries_sent: u64,
    /// Attempts after a question's first: timeouts and failed servers (S23).
    pub retransmissions: u64,
    /// Answers to a query that had already been sent again to the same
    /// server: the server was slow, not the packet lost, and the resend
    /// was needless. Each shrinks that server's window (S23).
    pub spurious_resends: u64,
    /// Attempts that timed out while their query was still in the queue
    /// of the only server left to ask (it answered since, but only queries
    /// sent before this one): waited out another round trip instead of
    /// asking again (S23).
    pub resends_held: u64,
    /// Queries asked again without EDNS after FORMERR (S21).
    pub edns_retries: u64,
    /// Queries asked again over TCP after a truncated answer (S22).
    pub tcp_retries: u64,
    /// Datagrams handed in by the caller.
    pub datagrams_received: u64,
    /// Whole DNS messages framed from TCP streams.
    pub stream_messages_received: u64,
    /// Messages matched to a query in flight, whatever they said.
    pub answers_accepted: u64,
    /// Dropped: no query in flight to this server, port and transport with
    /// this id, nor one that ended lately (a stray or forged packet).
    pub dropped_unmatched: u64,
    /// Dropped: the answer to a query whose question had already ended —
    /// answered, failed, or wanted by nobody any more (the protocol that lost
    /// to a preferred one, a cancelled resolution). Late and duplicate
    /// answers land here, not in `dropped_unmatched`: they say the network
    /// is slow or repeats itself, not that someone is forging. The last
    /// `Config::max_queries` ended queries are remembered for this.
    pub late_answers: u64,
    /// Dropped: QR not set (a query, not a response).
    pub dropped_not_response: u64,
    /// Dropped: the question differs from the one asked.
    pub dropped_wrong_question: u64,
    /// Dropped: an answer that matched a query in everything but the local
    /// socket it arrived on (S28): forged, or a driver mixing sockets up.
    pub dropped_wrong_socket: u64,
    /// Dropped: the question's letter case differs from the one sent (S20).
    pub dropped_wrong_case: u64,
    /// Dropped: too short or garbled to read a header and question.
    pub dropped_unreadable: u64,
    /// Dropped: TCP bytes from a server with no query pending over TCP, or
    /// a length prefix over `Config::max_tcp_message` (S27).
    pub dropped_stream_bytes: u64,
    /// Questions currently in flight: being asked, or waiting their turn.
    pub queries_in_flight: usize,
    /// Of those, questions waiting for one of the `Config::max_outstanding`
    /// being asked to end.
    pub queries_waiting: usize,
    /// UDP sockets the machine currently wants open (S28).
    pub udp_sockets: usize,
    /// TCP connections the machine currently wants open.
    pub tcp_connections: usize,
    /// Questions the cache answered with records or an alias (S26).
    pub cache_hits: u64,
    /// Questions the cache answered with NXDOMAIN or NODATA.
    pub cache_negative_hits: u64,
    /// Questions the cache could not answer: they went to the network.
    pub cache_misses: u64,
    /// Entries stored.
    pub cache_insertions: u64,
    /// Entries dropped to make room (S27); expired entries dropped when
    /// found are not counted.
    pub cache_evictions: u64,
    /// Lookups answered with expired data (serve-stale, S31).
    pub cache_stale_answers: u64,
    /// Entries held now.
    pub cache_entries: usize,
    /// Bytes the entries hold now, as `CacheConfig::max_bytes` counts them.
    pub cache_bytes: usize,
}

/// What the machine has learnt of one configured server (S23); from
/// [`Resolver::servers`](crate::Resolver::servers), for operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerStatus {
    /// The server.
    pub address: SocketAddr,
    /// How many queries it may have on the wire at once now: grows while
    /// it answers promptly, halves when it shows a queue.
    pub window: u32,
    /// Queries on the wire to it now.
    pub outstanding: u32,
    /// Its smoothed round-trip time and the variance of it (RFC 6298), once
    /// measured and while not forgotten.
    pub round_trip: Option<(Duration, Duration)>,
    /// How long a first attempt to it waits now.
    pub timeout: Duration,
}

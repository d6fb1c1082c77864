//! The transport rules through scripted servers and virtual time: retries
//! and backoff (S23), FORMERR without OPT (S21), TCP fallback and framing
//! (S22), 0x20 (S20), drop counters (S19), cancellation and bounds (S27).

use std::net::SocketAddr;
use std::time::Duration;

use impp_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use impp_resolver::proto::rr::{Record, RecordType};
use impp_resolver::{
    Config, Error, Event, Instant, ResolutionId, Resolver, ServerFailure, SocketId, Transmit,
    Transport, Uri,
};
use impp_test_support::scripted::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const OWNER: &str = "_im._xmpp.example.com.";

fn secs(s: f64) -> Instant {
    Instant::ZERO + Duration::from_secs_f64(s)
}

/// The SRV set of `n` targets in the zone, each with an A record, no AAAA.
fn big_zone(n: u16, script: fn(Vec<Record>) -> Script) -> Zone {
    let records: Vec<Record> = (0..n)
        .map(|i| {
            srv(
                OWNER,
                0,
                1,
                5222,
                &format!("host-number-{i:02}.example.com."),
            )
        })
        .collect();
    let mut zone = Zone::default().on(OWNER, RecordType::SRV, script(records));
    for i in 0..n {
        zone = zone.host_v4(&format!("host-number-{i:02}.example.com."), [192, 0, 2, 1]);
    }
    zone
}

fn srv_queries(sim: &Sim) -> Vec<(Instant, SocketAddr)> {
    sim.asked
        .iter()
        .filter(|q| q.rtype == RecordType::SRV)
        .map(|q| (q.at, q.server))
        .collect()
}

#[test]
fn truncated_answer_is_asked_again_over_tcp_and_complete() {
    // S22: 40 SRV records do not fit; TC=1 over UDP, the full set over TCP,
    // handed in one byte at a time.
    let zone = big_zone(40, Script::Large);
    let mut sim = Sim::new(config(&[S1]));
    sim.fragment = 1;
    sim.start_xmpp();
    sim.run(&zone);
    assert_eq!(sim.answer().endpoints.len(), 40);
    let srv_how: Vec<Transport> = sim
        .asked
        .iter()
        .filter(|q| q.rtype == RecordType::SRV)
        .map(|q| q.transport)
        .collect();
    assert_eq!(srv_how, [Transport::Udp, Transport::Tcp]);
    let stats = sim.resolver.stats();
    assert_eq!(stats.tcp_retries, 1);
    assert_eq!(stats.tcp_queries_sent, 1);
    // Address lookups fit in UDP: the connection is given back.
    assert_eq!(sim.closed, [S1]);
    sim.assert_clean();
}

#[test]
fn forced_tcp_pipelines_every_query_on_one_connection() {
    let zone = big_zone(3, Script::Answer);
    let mut cfg = config(&[S1]);
    cfg.transport = Transport::Tcp;
    let mut sim = Sim::new(cfg);
    // Answers arrive in reverse order of the queries, as one server may.
    sim.reverse = true;
    sim.fragment = 7;
    sim.start_xmpp();
    sim.run(&zone);
    assert_eq!(sim.answer().endpoints.len(), 3);
    assert!(sim.asked.iter().all(|q| q.transport == Transport::Tcp));
    // The SRV answer's address queries go out in the same call that ends
    // the SRV query, so the connection is never idle until the very end.
    assert_eq!(sim.closed, [S1]);
    assert_eq!(sim.resolver.stats().stream_messages_received, 7);
    sim.assert_clean();
}

#[test]
fn several_answers_in_one_stream_chunk() {
    let zone = big_zone(2, Script::Answer);
    let mut cfg = config(&[S1]);
    cfg.transport = Transport::Tcp;
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(5));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let now = Instant::ZERO;
    r.resolve_uri(now, &uri, &[impp_resolver::Protocol::XMPP], None)
        .unwrap();
    let srv = r.poll_transmit().unwrap();
    let Reply::Bytes(answer) = zone.reply(S1, &srv.payload[2..], true) else {
        panic!()
    };
    let mut chunk = (answer.len() as u16).to_be_bytes().to_vec();
    chunk.extend(&answer);
    r.handle_stream(now, S1, &chunk);
    // Four address queries now; answer all of them in one chunk, backwards.
    let mut chunk = Vec::new();
    let mut sent = 0;
    while let Some(t) = r.poll_transmit() {
        assert_eq!(t.transport, Transport::Tcp);
        let Reply::Bytes(answer) = zone.reply(S1, &t.payload[2..], true) else {
            panic!()
        };
        let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
        framed.extend(&answer);
        framed.extend(chunk);
        chunk = framed;
        sent += 1;
    }
    assert_eq!(sent, 4);
    r.handle_stream(now, S1, &chunk);
    assert!(matches!(r.poll_event(), Some(Event::Resolved { .. })));
    assert_eq!(r.poll_close(), Some(S1));
    assert_eq!(r.stats().tcp_connections, 0);
}

#[test]
fn closed_connection_fails_over_at_once() {
    // S1 closes its TCP connections; S2 answers. No timeout is waited out.
    let zone = big_zone(2, Script::Large).on_server(
        S1,
        OWNER,
        RecordType::SRV,
        Script::ClosesTcp(Box::new(Script::Truncated)),
    );
    let mut sim = Sim::resolve_xmpp(config(&[S1, S2]), &zone);
    assert_eq!(sim.answer().endpoints.len(), 2);
    // S1 over UDP (TC), S1 over TCP (closed), S2 over UDP (TC), S2 over TCP.
    let srv = srv_queries(&sim);
    assert_eq!(srv.len(), 4, "{srv:?}");
    assert_eq!(srv[2].1, S2);
    assert!(srv[2].0 < secs(0.1), "failed over without waiting: {srv:?}");
    sim.assert_clean();
}

#[test]
fn formerr_to_edns_is_asked_once_more_without_opt() {
    // S21, RFC 6891 §7.
    let zone = big_zone(1, Script::Answer).on(
        OWNER,
        RecordType::SRV,
        Script::NoEdns(Box::new(Script::Answer(vec![srv(
            OWNER,
            0,
            0,
            5222,
            "host-number-00.example.com.",
        )]))),
    );
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(sim.answer().endpoints.len(), 1);
    assert_eq!(
        sim.how()[..2],
        [(Transport::Udp, true), (Transport::Udp, false)]
    );
    assert_eq!(sim.resolver.stats().edns_retries, 1);
    sim.assert_clean();
}

#[test]
fn formerr_without_opt_is_a_server_error() {
    let zone = Zone::default().on(OWNER, RecordType::SRV, Script::Rcode(ResponseCode::FormErr));
    let mut sim = Sim::resolve_xmpp(config(&[S1]), &zone);
    assert_eq!(
        sim.error(),
        Error::Refused {
            name: name(OWNER),
            rcode: 1,
            servers: vec![(S1, ServerFailure::rcode(1))],
        }
    );
    assert_eq!(sim.asked.len(), 2, "one retry without OPT, then done");
    sim.assert_clean();
}

#[test]
fn backoff_doubles_per_round_of_silent_servers_and_servers_alternate() {
    // S23: every server before any is repeated. Nothing answers, so the
    // wait doubles as often as the servers the question may ask have all
    // gone silent: after each round over both (2 s, 2 s, 4 s, 4 s, 8 s,
    // 8 s), up to max_attempt_timeout.
    let zone = Zone::default().on(OWNER, RecordType::SRV, Script::Silent);
    let mut cfg = config(&[S1, S2]);
    cfg.attempts = 3;
    cfg.max_attempt_timeout = Duration::from_secs(8);
    cfg.resolution_timeout = Duration::from_secs(60);
    let mut sim = Sim::resolve_xmpp(cfg, &zone);
    assert_eq!(
        srv_queries(&sim),
        [
            (secs(0.0), S1),
            (secs(2.0), S2),
            (secs(4.0), S1),
            (secs(8.0), S2),
            (secs(12.0), S1),
            (secs(20.0), S2),
        ]
    );
    assert_eq!(sim.events[0].0, secs(28.0), "the budget of 3 rounds spent");
    assert_eq!(
        sim.error(),
        Error::Timeout {
            name: name(OWNER),
            servers: vec![(S1, ServerFailure::Timeout), (S2, ServerFailure::Timeout)],
        }
    );
    assert_eq!(sim.resolver.stats().retransmissions, 5);
    sim.assert_clean();
}

#[test]
fn backoff_is_capped() {
    let zone = Zone::default().on(OWNER, RecordType::SRV, Script::Silent);
    let mut cfg = config(&[S1]);
    cfg.attempts = 4;
    cfg.max_attempt_timeout = Duration::from_secs(3);
    cfg.resolution_timeout = Duration::from_secs(60);
    let sim = Sim::resolve_xmpp(cfg, &zone);
    let times: Vec<Instant> = srv_queries(&sim).iter().map(|q| q.0).collect();
    assert_eq!(times, [secs(0.0), secs(2.0), secs(5.0), secs(8.0)]);
    assert_eq!(sim.events[0].0, secs(11.0));
}

#[test]
fn servfail_moves_on_at_once_and_that_server_is_not_asked_again() {
    // S1 answers SERVFAIL, S2 stays silent: S2 is asked at once, then again
    // and again; S1 never again. The error says what each server did, and
    // its kind is the most telling of those, even at the deadline.
    let zone = Zone::default()
        .on_server(
            S1,
            OWNER,
            RecordType::SRV,
            Script::Rcode(ResponseCode::ServFail),
        )
        .on_server(S2, OWNER, RecordType::SRV, Script::Silent);
    let mut sim = Sim::resolve_xmpp(config(&[S1, S2]), &zone);
    let srv = srv_queries(&sim);
    // S2 is asked until the deadline (10 s): every 2 s, as nothing was
    // timed yet.
    assert_eq!(
        srv,
        [
            (secs(0.0), S1),
            (secs(0.001), S2),
            (secs(2.001), S2),
            (secs(4.001), S2),
            (secs(6.001), S2),
            (secs(8.001), S2),
        ]
    );
    assert_eq!(
        sim.error(),
        Error::ServFail {
            name: name(OWNER),
            servers: vec![(S1, ServerFailure::rcode(2)), (S2, ServerFailure::Timeout)],
        }
    );
    assert!(sim.error().to_string().contains("192.0.2.53:53: SERVFAIL"));
    sim.assert_clean();
}

#[test]
fn every_server_failing_ends_the_question_without_waiting() {
    let zone = Zone::default()
        .on_server(
            S1,
            OWNER,
            RecordType::SRV,
            Script::Rcode(ResponseCode::Refused),
        )
        .on_server(
            S2,
            OWNER,
            RecordType::SRV,
            Script::Rcode(ResponseCode::NotImp),
        );
    let mut sim = Sim::resolve_xmpp(config(&[S1, S2]), &zone);
    assert_eq!(sim.events[0].0, secs(0.002));
    assert_eq!(
        sim.error(),
        Error::Refused {
            name: name(OWNER),
            rcode: 5,
            servers: vec![(S1, ServerFailure::rcode(5)), (S2, ServerFailure::rcode(4))],
        }
    );
    sim.assert_clean();
}

/// A resolver with one resolution and its SRV query out, and that query.
fn one_query(cfg: Config) -> (Resolver<ChaCha20Rng>, ResolutionId, Transmit) {
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(77));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let id = r
        .resolve_uri(Instant::ZERO, &uri, &[impp_resolver::Protocol::XMPP], None)
        .unwrap();
    let t = r.poll_transmit().unwrap();
    (r, id, t)
}

/// An empty NOERROR reply to `query`, its question name replaced by `qname`.
fn reply_naming(query: &[u8], qname: Option<&str>) -> Vec<u8> {
    let q = Message::from_vec(query).unwrap();
    let mut question = q.queries[0].clone();
    if let Some(n) = qname {
        question.set_name(name(n));
    }
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.add_query(question);
    m.add_answer(srv(OWNER, 0, 0, 5222, "."));
    m.to_vec().unwrap()
}

#[test]
fn case_randomization_requires_an_exact_echo() {
    let mut cfg = config(&[S1]);
    cfg.case_randomization = true;
    let (mut r, id, t) = one_query(cfg);
    let sent = Message::from_vec(&t.payload).unwrap().queries[0]
        .name()
        .to_ascii();
    assert_ne!(sent, OWNER, "the case was randomised: {sent}");
    assert_eq!(sent.to_lowercase(), OWNER);
    // A forger who does not know the case: dropped, counted.
    r.handle_datagram(
        secs(0.001),
        t.socket.unwrap(),
        S1,
        &reply_naming(&t.payload, Some(OWNER)),
    );
    assert_eq!(r.stats().dropped_wrong_case, 1);
    assert_eq!(r.poll_event(), None);
    // The real server echoes it exactly.
    r.handle_datagram(
        secs(0.002),
        t.socket.unwrap(),
        S1,
        &reply_naming(&t.payload, None),
    );
    assert_eq!(r.poll_event().unwrap().id(), id);
}

#[test]
fn case_is_ignored_when_randomization_is_off() {
    let (mut r, _, t) = one_query(config(&[S1]));
    r.handle_datagram(
        secs(0.001),
        t.socket.unwrap(),
        S1,
        &reply_naming(&t.payload, Some("_IM._XMPP.EXAMPLE.COM.")),
    );
    assert!(matches!(r.poll_event(), Some(Event::Failed { .. })));
    assert_eq!(r.stats().dropped_wrong_case, 0);
}

#[test]
fn drops_are_counted_by_reason() {
    let (mut r, _, t) = one_query(config(&[S1]));
    let good = reply_naming(&t.payload, None);
    let now = secs(0.001);
    r.handle_datagram(now, t.socket.unwrap(), S2, &good); // wrong source
    r.handle_stream(now, S1, &[0, 2, 1, 2]); // no TCP pending
    r.handle_datagram(now, t.socket.unwrap(), S1, &t.payload); // QR clear: a query
    r.handle_datagram(
        now,
        t.socket.unwrap(),
        S1,
        &reply_naming(&t.payload, Some("_im._sip.example.com.")),
    );
    r.handle_datagram(now, t.socket.unwrap(), S1, &good[..good.len().min(14)]); // cut in the question
    r.handle_datagram(now, t.socket.unwrap(), S1, &[7]);
    let stats = r.stats();
    assert_eq!(
        (
            stats.dropped_unmatched,
            stats.dropped_stream_bytes,
            stats.dropped_not_response,
            stats.dropped_wrong_question,
            stats.dropped_unreadable,
        ),
        (1, 4, 1, 1, 2)
    );
    assert_eq!(stats.answers_accepted, 0);
    r.handle_datagram(now, t.socket.unwrap(), S1, &good);
    r.handle_datagram(now, t.socket.unwrap(), S1, &good); // a duplicate, after the end
    assert_eq!(r.stats().answers_accepted, 1);
    assert_eq!(r.stats().dropped_unmatched, 1);
    assert_eq!(r.stats().late_answers, 1);
}

#[test]
fn oversized_tcp_message_breaks_the_connection() {
    let mut cfg = config(&[S1, S2]);
    cfg.transport = Transport::Tcp;
    cfg.max_tcp_message = 512;
    let (mut r, _, t) = one_query(cfg);
    assert_eq!(t.server, S1);
    // A length prefix of 4096: nothing past it is buffered.
    r.handle_stream(secs(0.001), S1, &[0x10, 0x00, 1, 2, 3]);
    assert_eq!(r.poll_close(), Some(S1));
    assert_eq!(r.stats().dropped_stream_bytes, 5);
    // Failed over to S2 at once.
    let next = r.poll_transmit().unwrap();
    assert_eq!((next.server, next.transport), (S2, Transport::Tcp));
    // S2 also sends too much: the error says so.
    r.handle_stream(secs(0.002), S2, &[0xFF, 0xFF]);
    let Some(Event::Failed { error, .. }) = r.poll_event() else {
        panic!()
    };
    assert_eq!(error.kind().as_str(), "too-large");
    assert_eq!(r.stats().tcp_connections, 0);
}

#[test]
fn case_variants_of_a_domain_share_one_query() {
    // S24: names compare case-insensitively, so `Example.COM` joins the
    // question of `example.com`; a different domain gets its own.
    let mut r = Resolver::new(config(&[S1]), ChaCha20Rng::seed_from_u64(4));
    let xmpp = [impp_resolver::Protocol::XMPP];
    for uri in [
        "im:fred@example.com",
        "im:wilma@Example.COM",
        "im:barney@example.org",
    ] {
        let uri: Uri = uri.parse().unwrap();
        r.resolve_uri(Instant::ZERO, &uri, &xmpp, None).unwrap();
    }
    let sent: Vec<_> = std::iter::from_fn(|| r.poll_transmit()).collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(r.stats().queries_in_flight, 2);
}

#[test]
fn cancel_frees_everything_and_sends_no_event() {
    let mut r = Resolver::new(config(&[S1]), ChaCha20Rng::seed_from_u64(3));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let xmpp = [impp_resolver::Protocol::XMPP];
    let a = r.resolve_uri(Instant::ZERO, &uri, &xmpp, None).unwrap();
    let b = r.resolve_uri(Instant::ZERO, &uri, &xmpp, None).unwrap();
    let t = r.poll_transmit().unwrap();
    assert!(r.poll_transmit().is_none(), "coalesced (S24)");
    // Cancelling one keeps the shared question for the other.
    assert!(r.cancel(a));
    assert!(!r.cancel(a), "already gone");
    assert_eq!(r.stats().queries_in_flight, 1);
    r.handle_datagram(
        secs(0.001),
        t.socket.unwrap(),
        S1,
        &reply_naming(&t.payload, None),
    );
    let events: Vec<Event> = std::iter::from_fn(|| r.poll_event()).collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id(), b);

    // Cancelling the only waiter stops the question: no retries, and the
    // late answer is dropped, counted as late. (The cache would answer the
    // same URI now; emptied, the question goes to the network again.)
    r.clear_cache();
    let c = r.resolve_uri(secs(1.0), &uri, &xmpp, None).unwrap();
    let t = r.poll_transmit().unwrap();
    assert!(r.cancel(c));
    assert_eq!(r.resolutions_in_flight(), 0);
    assert_eq!(r.stats().queries_in_flight, 0);
    // No attempt timer is left: only the idle socket's linger (S28).
    assert_eq!(r.poll_timeout(), Some(secs(2.0)));
    r.handle_datagram(
        secs(1.5),
        t.socket.unwrap(),
        S1,
        &reply_naming(&t.payload, None),
    );
    assert_eq!(r.poll_event(), None);
    assert_eq!(
        (r.stats().late_answers, r.stats().dropped_unmatched),
        (1, 0)
    );
}

#[test]
fn cancelling_the_last_tcp_query_releases_the_connection() {
    let mut cfg = config(&[S1]);
    cfg.transport = Transport::Tcp;
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(3));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let id = r
        .resolve_uri(Instant::ZERO, &uri, &[impp_resolver::Protocol::XMPP], None)
        .unwrap();
    assert_eq!(r.poll_transmit().unwrap().transport, Transport::Tcp);
    assert_eq!(r.stats().tcp_connections, 1);
    r.cancel(id);
    assert_eq!(r.poll_close(), Some(S1));
    assert_eq!(r.stats().tcp_connections, 0);
    // Bytes after the close are stray.
    r.handle_stream(secs(0.1), S1, &[0, 1, 2]);
    assert_eq!(r.stats().dropped_stream_bytes, 3);
}

#[test]
fn late_answer_from_an_earlier_server_still_counts() {
    // S1 is slow: its answer arrives after the attempt moved to S2.
    let (mut r, _, t) = one_query(config(&[S1, S2]));
    r.handle_timeout(secs(2.0));
    let second = r.poll_transmit().unwrap();
    assert_eq!(second.server, S2);
    r.handle_datagram(
        secs(2.5),
        t.socket.unwrap(),
        S1,
        &reply_naming(&t.payload, None),
    );
    let Some(Event::Failed { error, .. }) = r.poll_event() else {
        panic!()
    };
    // The answer was the `.` target: "unavailable", not a timeout.
    assert_eq!(error.kind().as_str(), "unavailable");
    // The query to S2 is forgotten with the question: its answer is late.
    r.handle_datagram(
        secs(2.6),
        second.socket.unwrap(),
        S2,
        &reply_naming(&second.payload, None),
    );
    assert_eq!(
        (r.stats().late_answers, r.stats().dropped_unmatched),
        (1, 0)
    );
}

#[test]
fn too_many_records_is_a_typed_error() {
    let zone = big_zone(40, Script::Answer);
    let mut cfg = config(&[S1]);
    cfg.max_records = 10;
    let mut sim = Sim::resolve_xmpp(cfg, &zone);
    assert_eq!(
        sim.error(),
        Error::TooLarge {
            name: name(OWNER),
            servers: vec![(S1, ServerFailure::TooLarge)],
        }
    );
    sim.assert_clean();
}

/// `n` SRV names started at once on a resolver with `cfg`; their queries.
fn started_srv(cfg: Config, n: usize) -> (Resolver<ChaCha20Rng>, Vec<ResolutionId>, Vec<Transmit>) {
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(9));
    let ids = (0..n)
        .map(|i| {
            let owner = name(&format!("_x{i}._tcp.example.com."));
            r.resolve_srv(Instant::ZERO, &owner).unwrap()
        })
        .collect();
    let sent = std::iter::from_fn(|| r.poll_transmit()).collect();
    (r, ids, sent)
}

fn qname(t: &Transmit) -> String {
    Message::from_vec(&t.payload).unwrap().queries[0]
        .name()
        .to_ascii()
}

#[test]
fn at_most_max_outstanding_questions_are_asked_and_the_rest_wait_in_order() {
    // S27: a burst must not overflow the server with queries.
    let mut cfg = config(&[S1]);
    cfg.max_outstanding = 2;
    cfg.attempts = 1;
    let (mut r, ids, sent) = started_srv(cfg, 5);
    assert_eq!(sent.len(), 2, "two asked");
    assert_eq!(
        (r.stats().queries_in_flight, r.stats().queries_waiting),
        (5, 3)
    );
    // Cancelling a waiting resolution: its question is never sent.
    assert!(r.cancel(ids[2]));
    // Each answer lets the next waiting question out, oldest first.
    r.handle_datagram(
        secs(0.001),
        sent[0].socket.unwrap(),
        S1,
        &reply_naming(&sent[0].payload, None),
    );
    let next = r.poll_transmit().unwrap();
    assert_eq!(qname(&next), "_x3._tcp.example.com.");
    assert!(r.poll_transmit().is_none());
    // A question that fails (one attempt, timed out) lets the next out too.
    let due = r.poll_timeout().unwrap();
    r.handle_timeout(due);
    let asked: Vec<String> = std::iter::from_fn(|| r.poll_transmit())
        .map(|t| qname(&t))
        .collect();
    assert_eq!(asked, ["_x4._tcp.example.com."]);
    assert_eq!(
        (r.stats().queries_in_flight, r.stats().queries_waiting),
        (2, 0)
    );
    // Everything ends by its deadline, exactly once.
    while let Some(due) = r.poll_timeout() {
        r.handle_timeout(due);
        while r.poll_transmit().is_some() {}
    }
    let ended: Vec<ResolutionId> = std::iter::from_fn(|| r.poll_event())
        .map(|e| e.id())
        .collect();
    assert_eq!(ended.len(), 4, "five started, one cancelled");
    assert!(!ended.contains(&ids[2]));
    assert_eq!(r.stats().queries_in_flight, 0);
}

#[test]
fn each_socket_carries_its_share_of_queries_and_closes_when_idle() {
    // S28: a new socket every `queries_per_socket` queries; a socket is
    // closed when no query waits on it; an answer counts only on its own.
    let mut cfg = config(&[S1]);
    cfg.queries_per_socket = 2;
    let (mut r, _, sent) = started_srv(cfg, 5);
    let sockets: Vec<u32> = sent.iter().map(|t| t.socket.unwrap().raw()).collect();
    assert_eq!(sockets, [0, 0, 1, 1, 2]);
    assert_eq!(r.stats().udp_sockets, 3);
    // Right server, id and question, wrong socket: dropped, counted.
    let answer = reply_naming(&sent[0].payload, None);
    r.handle_datagram(secs(0.001), SocketId::from_raw(1), S1, &answer);
    assert_eq!(r.stats().dropped_wrong_socket, 1);
    assert_eq!(r.stats().answers_accepted, 0);
    assert!(r.poll_event().is_none());
    r.handle_datagram(secs(0.001), SocketId::from_raw(0), S1, &answer);
    assert!(r.poll_event().is_some());
    assert_eq!(
        r.poll_close_socket(),
        None,
        "a query still waits on socket 0"
    );
    // A resend is a query of its own (S23): a new id, on the socket taking
    // new queries; the first send's socket stays open for its answer.
    let due = r.poll_timeout().unwrap();
    r.handle_timeout(due);
    let resent: Vec<Transmit> = std::iter::from_fn(|| r.poll_transmit()).collect();
    let sockets: Vec<u32> = resent.iter().map(|t| t.socket.unwrap().raw()).collect();
    assert_eq!(sockets, [2, 3, 3, 4], "socket 2 had room for one more");
    for t in &resent {
        assert!(sent.iter().all(|s| query_id(s) != query_id(t)), "a new id");
        let first = sent.iter().find(|s| s.payload[2..] == t.payload[2..]);
        assert!(first.is_some(), "the same question");
    }
    assert_eq!(r.poll_close_socket(), None);
    // The answer to the first send still counts; with it, nothing waits on
    // socket 0 (its other query was answered), so it closes.
    let answer = reply_naming(&sent[1].payload, None);
    r.handle_datagram(secs(0.1), SocketId::from_raw(0), S1, &answer);
    assert!(r.poll_event().is_some());
    assert_eq!(r.stats().spurious_resends, 1);
    assert_eq!(r.poll_close_socket(), Some(SocketId::from_raw(0)));
    assert_eq!(r.poll_close_socket(), None);
    assert_eq!(r.stats().udp_sockets, 4);
}

#[test]
fn waiting_questions_go_out_oldest_resolution_first() {
    // One question at a time. A's SRV answer names a target whose
    // addresses must be asked; B started after A, so A's address questions
    // go out before B's SRV question, although B's was asked earlier.
    let mut cfg = config(&[S1]);
    cfg.max_outstanding = 1;
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(4));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let xmpp = [impp_resolver::Protocol::XMPP];
    r.resolve_uri(Instant::ZERO, &uri, &xmpp, None).unwrap();
    r.resolve_srv(Instant::ZERO, &name("_x._tcp.example.org."))
        .unwrap();
    let srv_query = r.poll_transmit().unwrap();
    assert!(r.poll_transmit().is_none());
    let q = Message::from_vec(&srv_query.payload).unwrap();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.add_query(q.queries[0].clone());
    m.add_answer(srv(OWNER, 0, 0, 5222, "host.example.com."));
    r.handle_datagram(
        secs(0.001),
        srv_query.socket.unwrap(),
        S1,
        &m.to_vec().unwrap(),
    );
    let next = r.poll_transmit().unwrap();
    assert_eq!(qname(&next), "host.example.com.");
    assert!(r.poll_transmit().is_none());
    assert_eq!(
        r.stats().queries_waiting,
        2,
        "A's other family, then B's SRV"
    );
}

#[test]
fn an_idle_machine_hands_back_every_socket() {
    // S28: with nothing in flight, every socket goes back to the driver
    // after a second's linger (or at once when the driver asks). A
    // resolution going on from SRV to its target's addresses keeps its
    // socket: those questions are asked in the same input.
    let mut r = Resolver::new(config(&[S1]), ChaCha20Rng::seed_from_u64(4));
    let uri: Uri = "im:fred@example.com".parse().unwrap();
    let xmpp = [impp_resolver::Protocol::XMPP];
    r.resolve_uri(Instant::ZERO, &uri, &xmpp, None).unwrap();
    let srv_query = r.poll_transmit().unwrap();
    let socket = srv_query.socket.unwrap();
    let answer = |query: &Transmit, records: &[impp_resolver::proto::rr::Record]| {
        let q = Message::from_vec(&query.payload).unwrap();
        let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
        m.add_query(q.queries[0].clone());
        for record in records {
            m.add_answer(record.clone());
        }
        m.to_vec().unwrap()
    };
    let target = srv(OWNER, 0, 0, 5222, "host.example.com.");
    r.handle_datagram(secs(0.001), socket, S1, &answer(&srv_query, &[target]));
    let addresses: Vec<Transmit> = std::iter::from_fn(|| r.poll_transmit()).collect();
    assert_eq!(addresses.len(), 2, "A and AAAA");
    assert!(addresses.iter().all(|t| t.socket == Some(socket)));
    assert_eq!(r.poll_close_socket(), None, "still in use");
    let v4 = impp_test_support::records::a("host.example.com.", [192, 0, 2, 1]);
    for t in &addresses {
        r.handle_datagram(
            secs(0.002),
            socket,
            S1,
            &answer(t, std::slice::from_ref(&v4)),
        );
    }
    assert!(matches!(r.poll_event(), Some(Event::Resolved { .. })));
    // Idle: the socket lingers, and work within the linger reuses it.
    assert_eq!(r.poll_close_socket(), None);
    assert_eq!(r.poll_timeout(), Some(secs(1.002)));
    r.resolve_srv(secs(0.5), &name("_y._tcp.example.org."))
        .unwrap();
    let again = r.poll_transmit().unwrap();
    assert_eq!(again.socket, Some(socket), "reused within the linger");
    r.handle_datagram(secs(0.6), socket, S1, &answer(&again, &[]));
    assert!(r.poll_event().is_some());
    // A second after the last work, it goes back.
    assert_eq!(r.poll_timeout(), Some(secs(1.6)));
    r.handle_timeout(secs(1.6));
    assert_eq!(r.poll_close_socket(), Some(socket));
    assert_eq!(r.poll_close_socket(), None);
    assert_eq!(r.stats().udp_sockets, 0);
    assert_eq!(r.poll_timeout(), None, "nothing left to wake for");
    // The next query opens a new socket.
    r.resolve_srv(secs(2.0), &name("_x._tcp.example.org."))
        .unwrap();
    let next = r.poll_transmit().unwrap();
    assert_ne!(next.socket, Some(socket));
    // A driver about to stop running hands its sockets back at once.
    r.handle_datagram(secs(2.1), next.socket.unwrap(), S1, &answer(&next, &[]));
    assert!(r.poll_event().is_some());
    r.close_idle_sockets();
    assert_eq!(r.poll_close_socket(), next.socket);
    assert_eq!(r.poll_timeout(), None);
}

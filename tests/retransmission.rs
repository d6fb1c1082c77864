//! Retransmission by measured round-trip time (S23, RFC 6298), in virtual
//! time: timeouts follow the round trips a server was measured at, a
//! resend's own id tells a late answer from a lost one, backoff doubles up to
//! its cap, a dead server is avoided after one timeout and probed now and
//! then, and the deadline ends a resolution whatever the estimates say.

use std::net::SocketAddr;
use std::time::Duration;

use impp_resolver::proto::op::{Message, MessageType, OpCode};
use impp_resolver::{Config, ErrorKind, Event, Instant, Resolver, Transmit};
use impp_test_support::records::{config, name, query_id, srv};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const S1: SocketAddr = impp_test_support::scripted::S1;
const S2: SocketAddr = impp_test_support::scripted::S2;

fn ms(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// The reply to `query`: its question and a sole `.` target, which ends the
/// resolution at once ("unavailable"), with no address lookups.
fn reply(query: &Transmit) -> Vec<u8> {
    let q = Message::from_vec(&query.payload).unwrap();
    let question = q.queries[0].clone();
    let owner = question.name().to_ascii();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.add_query(question);
    m.add_answer(srv(&owner, 0, 0, 5222, "."));
    m.to_vec().unwrap()
}

/// Hands in, at `at`, the server's answer to query `q` (on its socket).
fn answer(r: &mut Resolver<ChaCha20Rng>, q: &Transmit, at: Instant) {
    r.handle_datagram(at, q.socket.unwrap(), q.server, &reply(q));
}

/// Starts resolving the `i`-th SRV name at `now`; its first query.
fn start(r: &mut Resolver<ChaCha20Rng>, i: usize, now: Instant) -> Transmit {
    let owner = name(&format!("_x{i}._tcp.example.com."));
    r.resolve_srv(now, &owner).unwrap();
    r.poll_transmit().expect("a query")
}

/// The times of the queries sent while time passes with no answer, until
/// the resolution ends.
fn silent_sends(r: &mut Resolver<ChaCha20Rng>) -> (Vec<Instant>, Instant) {
    let mut sends = Vec::new();
    loop {
        let due = r.poll_timeout().expect("in flight");
        r.handle_timeout(due);
        while r.poll_transmit().is_some() {
            sends.push(due);
        }
        if let Some(event) = r.poll_event() {
            assert!(matches!(event, Event::Failed { .. }), "{event:?}");
            return (sends, due);
        }
    }
}

/// Answers question 0 after `rtt`, so that the server has been measured.
fn measured(cfg: Config, rtt: u64) -> Resolver<ChaCha20Rng> {
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(5));
    let q = start(&mut r, 0, ms(0));
    answer(&mut r, &q, ms(rtt));
    assert!(r.poll_event().is_some());
    r
}

#[test]
fn timeouts_follow_the_measured_round_trip_and_back_off_to_the_cap() {
    // One answer in 30 ms: SRTT 30, RTTVAR 15, so the timeout is 90 ms;
    // each retry waits twice the one before, up to max_attempt_timeout (1 s).
    let mut r = measured(config(&[S1]), 30);
    start(&mut r, 1, ms(1000));
    let (sends, ended) = silent_sends(&mut r);
    let gaps: Vec<u64> = [ms(1000)]
        .iter()
        .chain(&sends)
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| (*w[1] - *w[0]).as_millis() as u64)
        .collect();
    assert_eq!(gaps[..6], [90, 180, 360, 720, 1000, 1000]);
    // Asked until the deadline (10 s), not for a fixed number of sends.
    assert_eq!(ended, ms(11_000));
    assert!(sends.len() > 10, "{} sends", sends.len());
}

#[test]
fn estimates_converge_and_the_floor_holds_for_fast_servers() {
    // Answers in 1 ms: the timeout settles at the 50 ms floor.
    let mut r = measured(config(&[S1]), 1);
    for i in 1..20 {
        let q = start(&mut r, i, ms(100 * i as u64));
        answer(&mut r, &q, ms(100 * i as u64 + 1));
        assert!(r.poll_event().is_some());
    }
    start(&mut r, 99, ms(5000));
    assert_eq!(r.poll_timeout(), Some(ms(5050)));
}

#[test]
fn a_resend_has_an_id_of_its_own_and_a_late_answer_to_the_first_is_told_apart() {
    let mut r = Resolver::new(config(&[S1]), ChaCha20Rng::seed_from_u64(5));
    let first = start(&mut r, 0, ms(0));
    // Nothing measured: 2 s, then the same question again with a new id.
    r.handle_timeout(ms(2000));
    let again = r.poll_transmit().unwrap();
    assert_ne!(query_id(&again), query_id(&first), "an id of its own");
    assert_eq!(again.payload[2..], first.payload[2..], "the same question");
    // The answer to the first send comes now: it counts, and it says the
    // server was slow (the resend was needless), not that a packet was lost.
    r.handle_datagram(ms(2100), first.socket.unwrap(), S1, &reply(&first));
    let Some(Event::Failed { error, .. }) = r.poll_event() else {
        panic!("the answer to the first send counts")
    };
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert_eq!(r.stats().spurious_resends, 1);
    let server = r.servers()[0];
    // It timed its own round trip, 2.1 s, and the window halved.
    assert_eq!(
        server.round_trip,
        Some((Duration::from_millis(2100), Duration::from_millis(1050)))
    );
    assert_eq!(server.window, 8);
    assert_eq!(server.outstanding, 0, "both sends let go");
    // The next question waits the ceiling, 1 s, not the 2 s of nothing
    // measured.
    start(&mut r, 1, ms(3000));
    assert_eq!(r.poll_timeout(), Some(ms(4000)));
}

#[test]
fn a_late_answer_to_a_resent_query_shrinks_the_window_and_lengthens_the_wait() {
    // Measured at 30 ms: a question waits 90 ms, is sent again, and then
    // the server answers the first send, 150 ms after it left: it was
    // queued, not lost.
    let mut r = measured(config(&[S1]), 30);
    let before = r.servers()[0];
    assert_eq!(before.timeout, Duration::from_millis(90));
    let first = start(&mut r, 1, ms(1000));
    r.handle_timeout(ms(1090));
    assert!(r.poll_transmit().is_some());
    r.handle_datagram(ms(1150), first.socket.unwrap(), S1, &reply(&first));
    assert!(r.poll_event().is_some());
    assert_eq!(r.stats().spurious_resends, 1);
    let after = r.servers()[0];
    assert_eq!(after.window, before.window / 2);
    // SRTT 45 ms, RTTVAR 41.25 ms: 210 ms, where 90 ms was too short.
    assert_eq!(after.timeout, Duration::from_millis(210));
    start(&mut r, 2, ms(2000));
    assert_eq!(r.poll_timeout(), Some(ms(2210)));
}

#[test]
fn the_window_grows_with_prompt_answers_up_to_max_outstanding_and_no_further() {
    let cfg = Config {
        max_outstanding: 40,
        ..config(&[S1])
    };
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(5));
    let mut now = 0;
    for i in 0..200 {
        r.resolve_srv(ms(now), &name(&format!("_x{i}._tcp.example.com.")))
            .unwrap();
    }
    // The first window's worth goes out, the rest waits its turn.
    let mut on_wire: Vec<Transmit> = std::iter::from_fn(|| r.poll_transmit()).collect();
    assert_eq!(on_wire.len(), 16);
    let mut most = 0;
    while !on_wire.is_empty() {
        most = most.max(on_wire.len());
        assert!(r.servers()[0].window <= 40);
        // Every query answered 1 ms later; each answer lets more go.
        now += 1;
        for q in std::mem::take(&mut on_wire) {
            answer(&mut r, &q, ms(now));
        }
        on_wire.extend(std::iter::from_fn(|| r.poll_transmit()));
        while r.poll_event().is_some() {}
    }
    assert_eq!(most, 40, "grew to the cap");
    assert_eq!(r.servers()[0].window, 40);
    assert_eq!(r.stats().retransmissions, 0);
}

#[test]
fn an_answer_to_the_resend_is_loss_and_keeps_the_window() {
    let mut r = measured(config(&[S1]), 30);
    let before = r.servers()[0];
    let first = start(&mut r, 1, ms(1000));
    r.handle_timeout(ms(1090));
    let again = r.poll_transmit().unwrap();
    // Only the resend is answered, 30 ms after it left: the first was lost.
    r.handle_datagram(ms(1120), again.socket.unwrap(), S1, &reply(&again));
    assert!(r.poll_event().is_some());
    assert_eq!(r.stats().spurious_resends, 0);
    let after = r.servers()[0];
    assert_eq!(after.window, before.window, "loss alone does not shrink it");
    assert_eq!(after.round_trip.unwrap().0, Duration::from_millis(30));
    assert!(after.timeout <= before.timeout, "the waits stay short");
    // The first send's answer, should it come after all, is late.
    r.handle_datagram(ms(1130), first.socket.unwrap(), S1, &reply(&first));
    assert_eq!(r.stats().late_answers, 1);
}

#[test]
fn a_dead_first_server_costs_one_timeout_then_is_probed_now_and_then() {
    // S1, first in the list, never answers; S2 answers in 10 ms.
    let mut r = Resolver::new(config(&[S1, S2]), ChaCha20Rng::seed_from_u64(11));
    let q = start(&mut r, 0, ms(0));
    assert_eq!(q.server, S1, "nothing measured: the list's order");
    r.handle_timeout(ms(2000));
    let q = r.poll_transmit().unwrap();
    assert_eq!(q.server, S2);
    answer(&mut r, &q, ms(2010));
    assert!(r.poll_event().is_some());

    let (mut probes, mut now) = (0, 3000);
    for i in 1..=160 {
        let q = start(&mut r, i, ms(now));
        let q = if q.server == S1 {
            // A probe of the dead server costs S2's timeout, not S1's 2 s.
            probes += 1;
            let due = r.poll_timeout().unwrap();
            assert!(due - ms(now) <= Duration::from_millis(100), "{due:?}");
            r.handle_timeout(due);
            now = due.as_micros() / 1000;
            r.poll_transmit().unwrap()
        } else {
            q
        };
        assert_eq!(q.server, S2);
        answer(&mut r, &q, ms(now + 10));
        assert!(r.poll_event().is_some());
        now += 100;
    }
    // One question in sixteen probes another server first: about 10 of 160.
    assert!((3..=25).contains(&probes), "{probes} probes");
}

#[test]
fn the_deadline_and_the_budget_end_a_question_whatever_the_estimates() {
    // Measured fast, then silent: asked until the 10 s deadline exactly.
    let mut r = measured(config(&[S1]), 1);
    start(&mut r, 1, ms(500));
    let (_, ended) = silent_sends(&mut r);
    assert_eq!(ended, ms(10_500));

    // A budget of two rounds over one server: two sends, then it fails
    // before the deadline.
    let cfg = Config {
        attempts: 2,
        ..config(&[S1])
    };
    let mut r = measured(cfg, 1);
    start(&mut r, 1, ms(500));
    let (sends, ended) = silent_sends(&mut r);
    assert_eq!(sends.len(), 1, "one retry");
    assert_eq!(ended, ms(500 + 50 + 100));
}

#[test]
fn rotate_starts_each_question_at_the_next_server() {
    // resolv.conf's `rotate`: first attempts go round the list, whatever
    // the measurements say (S2 answered fastest).
    const S3: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
        std::net::Ipv4Addr::new(203, 0, 113, 53),
        53,
    ));
    let cfg = Config {
        rotate: true,
        ..config(&[S1, S2, S3])
    };
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(5));
    let mut firsts = Vec::new();
    for i in 0..6 {
        let q = start(&mut r, i, ms(100 * i as u64));
        firsts.push(q.server);
        answer(&mut r, &q, ms(100 * i as u64 + 1));
        assert!(r.poll_event().is_some());
    }
    assert_eq!(firsts, [S1, S2, S3, S1, S2, S3]);
}

#[test]
fn a_server_that_answers_others_keeps_a_lossy_question_at_its_pace() {
    // S23: a question's wait doubles only as often as its server has gone
    // silent in a row. Measured at 30 ms (timeout 90 ms), one question's
    // packets are lost twice.
    let run = |others_answered: bool| {
        let mut r = measured(config(&[S1]), 30);
        start(&mut r, 1, ms(1000));
        r.handle_timeout(ms(1090));
        assert!(r.poll_transmit().is_some(), "resent after 90 ms");
        assert_eq!(r.poll_timeout(), Some(ms(1270)), "silent once: 180 ms");
        if others_answered {
            // Another question is answered meanwhile, after a resend of
            // its own, 30 ms after that resend: the server is alive.
            start(&mut r, 2, ms(1100));
            r.handle_timeout(ms(1190));
            let again = r.poll_transmit().unwrap();
            r.handle_datagram(ms(1220), again.socket.unwrap(), S1, &reply(&again));
            assert!(r.poll_event().is_some());
        }
        r.handle_timeout(ms(1270));
        assert!(r.poll_transmit().is_some());
        r.poll_timeout().unwrap() - ms(1270)
    };
    // Lost on a path the server still answers over: twice the timeout, as
    // the server has been silent once since (this timeout) — not four
    // times. (The new sample, 30 ms again, narrowed the variance: SRTT 30
    // + 4 × 11.25 = 75 ms.)
    assert_eq!(run(true), Duration::from_millis(150));
    // Nothing answered since: the full doubling.
    assert_eq!(run(false), Duration::from_millis(360));
}

#[test]
fn a_driver_woken_after_the_deadline_sends_nothing_for_the_resolution() {
    // The driver sleeps through every resend and the 10 s deadline (a
    // stalled process, a suspended machine). The resolution ends with a
    // timeout, and no query goes out for it: a resend would only draw an
    // answer nobody waits for.
    let mut r = Resolver::new(config(&[S1, S2]), ChaCha20Rng::seed_from_u64(5));
    start(&mut r, 1, ms(0));
    r.handle_timeout(ms(60_000));
    assert!(r.poll_transmit().is_none(), "sent for an ended resolution");
    match r.poll_event() {
        Some(Event::Failed { error, .. }) => assert_eq!(error.kind(), ErrorKind::Timeout),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.stats().retransmissions, 0);
    assert_eq!(r.stats().queries_in_flight, 0);
    // Only the idle socket's linger is left (S28).
    assert_eq!(r.poll_timeout(), Some(ms(61_000)));
}

/// Ends the resolution in flight with a timeout, checking that nothing was
/// sent for it and nothing is left.
fn ended_with_nothing_sent(r: &mut Resolver<ChaCha20Rng>) {
    assert!(r.poll_transmit().is_none(), "sent for an ended resolution");
    match r.poll_event() {
        Some(Event::Failed { error, .. }) => assert_eq!(error.kind(), ErrorKind::Timeout),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.stats().queries_in_flight, 0);
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn a_truncated_answer_after_the_deadline_sends_nothing() {
    // S23 for every input: a TC=1 answer handed in after the deadline
    // would ask again over TCP; the resolution ends first instead.
    let mut r = Resolver::new(config(&[S1, S2]), ChaCha20Rng::seed_from_u64(5));
    let q = start(&mut r, 1, ms(0));
    let mut m = Message::from_vec(&reply(&q)).unwrap();
    m.answers.clear();
    m.metadata.truncation = true;
    r.handle_datagram(
        ms(60_000),
        q.socket.unwrap(),
        q.server,
        &m.to_vec().unwrap(),
    );
    ended_with_nothing_sent(&mut r);
}

#[test]
fn a_stream_closed_after_the_deadline_sends_nothing() {
    // A closed connection moves its queries to the next server, unless
    // their resolution is already over.
    let cfg = Config {
        transport: impp_resolver::Transport::Tcp,
        ..config(&[S1, S2])
    };
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(5));
    let q = start(&mut r, 1, ms(0));
    r.handle_stream_closed(ms(60_000), q.server);
    ended_with_nothing_sent(&mut r);
}

#[test]
fn a_start_after_the_deadline_lets_no_waiting_question_out_for_the_overdue() {
    // One question on the wire at a time: the second resolution's waits
    // in line. When the next input is a new start past both deadlines,
    // the line must not let the overdue resolution's question out.
    let cfg = Config {
        max_outstanding: 1,
        ..config(&[S1])
    };
    let mut r = Resolver::new(cfg, ChaCha20Rng::seed_from_u64(5));
    start(&mut r, 1, ms(0));
    r.resolve_srv(ms(0), &name("_x2._tcp.example.com."))
        .unwrap();
    assert!(r.poll_transmit().is_none(), "the second question waits");
    let third = start(&mut r, 3, ms(60_000));
    assert!(third.payload.len() > 12);
    assert!(r.poll_transmit().is_none(), "sent for an ended resolution");
    let ended: Vec<Event> = std::iter::from_fn(|| r.poll_event()).collect();
    assert_eq!(ended.len(), 2, "{ended:?}");
    assert_eq!(r.stats().queries_in_flight, 1);
}

#[test]
fn a_datagram_that_cannot_be_sent_moves_to_the_next_server_at_once() {
    // The driver's send_to failed (no route, the wrong address family):
    // told so, the machine asks the next server in the same instant,
    // where otherwise the first attempt's 2 s would pass in silence.
    let mut r = Resolver::new(config(&[S1, S2]), ChaCha20Rng::seed_from_u64(5));
    let first = start(&mut r, 1, ms(0));
    assert_eq!(first.server, S1);
    r.handle_send_failed(ms(0), &first);
    let next = r.poll_transmit().expect("the next server at once");
    assert_eq!(next.server, S2);
    answer(&mut r, &next, ms(3));
    match r.poll_event() {
        Some(Event::Resolved { .. } | Event::Failed { .. }) => {}
        None => panic!("no event"),
    }
    // Told twice (a stale report), or of a transmit never made: nothing.
    r.handle_send_failed(ms(4), &first);
    assert!(r.poll_transmit().is_none());
    assert_eq!(r.stats().queries_in_flight, 0);
}

#[test]
fn a_server_that_answers_only_after_each_resend_cannot_stall_the_line() {
    // A hostile (or hopelessly queued) server answers every question only
    // once it has been asked again, and then the first send. Each such
    // answer halves its window, down to the floor and no further; every
    // resolution still ends, exactly once, and nothing is left behind.
    let mut r = measured(config(&[S1]), 10);
    let mut firsts: std::collections::BTreeMap<Vec<u8>, Transmit> = Default::default();
    let ids: Vec<_> = (1..=60)
        .map(|i| {
            r.resolve_srv(ms(1000), &name(&format!("_x{i}._tcp.example.com.")))
                .unwrap()
        })
        .collect();
    let mut ended = std::collections::BTreeSet::new();
    let mut last = ms(1000);
    while let Some(now) = r.poll_timeout() {
        r.handle_timeout(now);
        for t in std::iter::from_fn(|| r.poll_transmit()).collect::<Vec<_>>() {
            let question = t.payload[2..].to_vec();
            match firsts.remove(&question) {
                // Asked again: answer the first send.
                Some(first) => answer(&mut r, &first, now),
                None => {
                    firsts.insert(question, t);
                }
            }
        }
        while let Some(event) = r.poll_event() {
            assert!(ended.insert(event.id()), "one event per resolution");
            last = now;
        }
        assert!(r.servers()[0].window >= 2);
    }
    assert_eq!(ended.len(), ids.len());
    assert_eq!(r.servers()[0].window, 2, "shrunk to the floor");
    assert_eq!(r.servers()[0].outstanding, 0);
    assert_eq!(r.stats().queries_in_flight, 0);
    assert!(last <= ms(11_000), "all by the deadline: {last:?}");
}

#[test]
fn a_query_still_in_a_busy_servers_queue_is_not_asked_again_until_passed_over() {
    // Measured at 30 ms: a first attempt waits 90 ms. Three questions go
    // out, q0 first; the server answers q0 only after q1 has left.
    let mut r = measured(config(&[S1]), 30);
    let q0 = start(&mut r, 10, ms(990));
    let _q1 = start(&mut r, 11, ms(1000));
    let q2 = start(&mut r, 12, ms(1010));
    answer(&mut r, &q0, ms(1050));
    assert!(r.poll_event().is_some());
    // q1's wait runs out: the server has answered since, but only a query
    // sent before q1, so q1 is still in its queue. No resend, another wait.
    r.handle_timeout(ms(1090));
    assert!(r.poll_transmit().is_none(), "held, not asked again");
    assert_eq!(r.stats().resends_held, 1);
    assert_eq!(r.stats().retransmissions, 0);
    // Then q2, sent after q1, is answered: the server has passed q1 over,
    // so q1 was lost, and its next timeout asks again.
    answer(&mut r, &q2, ms(1100));
    assert!(r.poll_event().is_some());
    let due = r.poll_timeout().unwrap();
    assert!(due > ms(1090), "{due:?}");
    r.handle_timeout(due);
    let again = r.poll_transmit().expect("asked again once passed over");
    assert_eq!(
        name("_x11._tcp.example.com."),
        impp_resolver::proto::op::Message::from_vec(&again.payload)
            .unwrap()
            .queries[0]
            .name()
            .clone()
    );
    assert_eq!(r.stats().retransmissions, 1);
}

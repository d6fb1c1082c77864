//! A busy server over real loopback sockets (S23, issue 25): a server that
//! answers one query at a time, a fixed service time each, so that what it
//! cannot answer yet queues in its socket buffer. Many lookups at once
//! must all succeed without asking it the same question twice: the
//! server's window keeps its queue short, and the waits come from round
//! trips measured under that queue. Counted at the server.

use std::time::Duration;

use impp_resolver::Uri;
use impp_resolver::proto::rr::RecordType;
use impp_test_support::busy_server::BusyServer;
use impp_test_support::loadgen;
use impp_test_support::records::{a, srv};
use impp_test_support::script_server::ScriptServer;
use impp_test_support::scripted::{Script, Zone};

const DOMAINS: usize = 1_000;

/// Each domain's `_im._xmpp` and `_im._sip` SRV, one target each whose
/// IPv4 address rides in the additional section: two questions a lookup.
/// (Addresses from 192.0.2.0/24: never dialled.)
fn zone() -> Zone {
    (0..DOMAINS).fold(Zone::default(), |zone, i| {
        let target = format!("xmpp.d{i}.example.");
        let glue = || vec![a(&target, [192, 0, 2, 1])];
        let answer = |owner: &str, port| {
            Script::WithAdditional(vec![srv(owner, 0, 0, port, &target)], glue())
        };
        let (xmpp, sip) = (
            format!("_im._xmpp.d{i}.example."),
            format!("_im._sip.d{i}.example."),
        );
        zone.on(&xmpp, RecordType::SRV, answer(&xmpp, 5222)).on(
            &sip,
            RecordType::SRV,
            answer(&sip, 5060),
        )
    })
}

#[test]
fn a_thousand_lookups_at_two_hundred_in_flight_ask_nothing_twice() {
    let backend = ScriptServer::start(zone());
    let busy = BusyServer::start(backend.addr, Duration::from_millis(1));
    let uris: Vec<Uri> = (0..DOMAINS)
        .map(|i| format!("im:user@d{i}.example").parse().unwrap())
        .collect();
    let report = loadgen::run(busy.addr, 200, DOMAINS as u64, &uris).unwrap();
    let counts = busy.counts();
    println!(
        "{counts:?}; re-asked {}, needlessly {}, held {}; {:?}",
        report.retransmissions, report.spurious_resends, report.resends_held, report.servers
    );
    assert_eq!(report.lookups, DOMAINS as u64);
    assert_eq!(report.failures(), 0, "{:?}", report.failed);
    assert_eq!(counts.unanswered, 0);
    // Two questions a lookup, but one still waiting its turn when the
    // preferred protocol's answer ends the lookup is never sent (S7).
    assert!(counts.queries > DOMAINS as u64, "{counts:?}");
    // At most 1% of what the server was sent asks again what it had
    // already been asked (before the window, a third did).
    assert!(
        counts.asked_again * 100 <= counts.queries,
        "{counts:?}, {} re-asked, {} needlessly, {:?}",
        report.retransmissions,
        report.spurious_resends,
        report.servers
    );
    // Its window stayed within the cap.
    let server = &report.servers[0];
    assert!((1..=128).contains(&server.window), "{server:?}");
}

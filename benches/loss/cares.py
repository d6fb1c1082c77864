#!/usr/bin/env python3
"""c-ares under the loss benchmark's load, for comparison (BENCHMARKS.md §5).

c-ares 1.34, as pycares 5.2 bundles it (pip install pycares==5.2.1), does
what `loadgen` does for one lookup: SRV of `_im._xmpp` and `_im._sip` of a
domain at once, then A and AAAA of every `_im._xmpp` target whose addresses
the additional section lacks. A lookup fails when its `_im._xmpp` SRV or an
address query fails. Prints what `loadgen` prints.

    cares.py IP:PORT [--concurrency 16] [--count 500] [--timeout 2] [--tries 2]
"""

import argparse
import collections
import os
import threading
import time

import pycares

# Names cycle over this many domains: E2E_DOMAINS, as the server serves.
# c-ares 1.34 caches answers by default (pycares 5.2 cannot turn that off),
# so a fair run gives every lookup a domain of its own.
DOMAINS = int(os.environ.get("E2E_DOMAINS", "100"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("server")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--tries", type=int, default=2)
    args = p.parse_args()
    ip, port = args.server.rsplit(":", 1)
    channel = pycares.Channel(
        timeout=args.timeout,
        tries=args.tries,
        servers=[ip],
        udp_port=int(port),
        tcp_port=int(port),
    )
    lock = threading.Condition()
    state = {"started": 0, "ended": 0, "failed": {}, "latencies": []}
    # Queries the callbacks want made: pycares cannot take a query from its
    # own event thread, so this thread makes every query.
    work = collections.deque()

    def later(name, query_type, callback):
        with lock:
            work.append((name, query_type, callback))
            lock.notify_all()

    def end(started_at, error):
        with lock:
            state["ended"] += 1
            state["latencies"].append(time.monotonic() - started_at)
            if error is not None:
                name = pycares.errno.errorcode.get(error, str(error))
                state["failed"][name] = state["failed"].get(name, 0) + 1
            lock.notify_all()

    def lookup(domain):
        started_at = time.monotonic()
        outcome = {"pending": 0, "error": None, "done": False}
        olock = threading.Lock()

        def finish_one(error):
            with olock:
                outcome["pending"] -= 1
                if error is not None and outcome["error"] is None:
                    outcome["error"] = error
                last = outcome["pending"] == 0 and not outcome["done"]
                if last:
                    outcome["done"] = True
            if last:
                end(started_at, outcome["error"])

        def on_address(result, error):
            finish_one(error)

        def on_srv(result, error):
            if error is not None:
                with olock:
                    outcome["done"] = True
                end(started_at, error)
                return
            given = {r.name.lower() for r in result.additional if r.type in (1, 28)}
            targets = [r.data.target for r in result.answer if r.type == 33]
            wanted = [t for t in targets if t.lower() not in given]
            if not wanted:
                with olock:
                    outcome["done"] = True
                end(started_at, None)
                return
            with olock:
                outcome["pending"] = 2 * len(wanted)
            for target in wanted:
                later(target, pycares.QUERY_TYPE_A, on_address)
                later(target, pycares.QUERY_TYPE_AAAA, on_address)

        channel.query(f"_im._xmpp.{domain}", pycares.QUERY_TYPE_SRV, callback=on_srv)
        channel.query(f"_im._sip.{domain}", pycares.QUERY_TYPE_SRV, callback=lambda r, e: None)

    # Queries are made on this thread only, never while holding `lock`: the
    # callbacks run on c-ares's event thread and take `lock` themselves.
    began = time.monotonic()
    while True:
        with lock:
            while True:
                in_flight = state["started"] - state["ended"]
                room = min(args.concurrency - in_flight, args.count - state["started"])
                if work or room > 0 or state["ended"] >= args.count:
                    break
                lock.wait()
            if state["ended"] >= args.count:
                break
            queries = list(work)
            work.clear()
            first = state["started"]
            state["started"] += max(room, 0)
        for name, query_type, callback in queries:
            channel.query(name, query_type, callback=callback)
        for i in range(first, first + max(room, 0)):
            lookup(f"d{i % DOMAINS}.bench.example")
    wall = time.monotonic() - began
    latencies = sorted(state["latencies"])

    def percentile(p):
        rank = max(1, min(len(latencies), int(-(-p * len(latencies) // 100))))
        return latencies[rank - 1] * 1e3

    print(f"lookups: {state['ended']}")
    print(f"failed: {sum(state['failed'].values())} {state['failed']}")
    print(f"wall-s: {wall:.3f}")
    for label, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)):
        print(f"latency-ms {label}: {percentile(p):.1f}")
    print(f"lookups/s: {state['ended'] / wall:.0f}")


if __name__ == "__main__":
    main()

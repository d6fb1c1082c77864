#!/usr/bin/env bash
# Real random packet loss on loopback, for the loss benchmark (BENCHMARKS.md).
#
# A network namespace of its own, whose loopback drops LOSS of all packets
# at random (iptables' statistic match; the kernel's netem is not available
# on these machines). A query and its answer each cross INPUT once, so at
# LOSS=0.3 about half of all round trips are lost. Inside it: the
# end_to_end bench's DNS server (hickory-server, 100 domains, in its own
# process) and a load generator. Loopback only; the namespace is removed
# on exit. Needs root, iproute2 and iptables.
#
#   benches/loss/run.sh [LOADGEN_BINARY] [-- extra loadgen flags]
#   benches/loss/run.sh hickory      # hickory-resolver 0.26 instead, same load
#   benches/loss/run.sh cares        # c-ares 1.34 (pycares 5.2), same load
#
# LOSS (default 0.3), COUNT (500), CONCURRENCY (16), DOMAINS (100) and, for the peers,
# TIMING ("2,2": timeout in seconds, tries) come from the environment. Build first: cargo build --release --example loadgen &&
# cargo bench --bench end_to_end --no-run.
set -euo pipefail
cd "$(dirname "$0")/../.."
LOSS=${LOSS:-0.3}
COUNT=${COUNT:-500}
CONCURRENCY=${CONCURRENCY:-16}
LOADGEN=${1:-target/release/examples/loadgen}
shift || true
[ "${1:-}" = "--" ] && shift
SERVER_BIN=$(ls -t target/release/deps/end_to_end-* | grep -v '\.d$' | head -1)
NS=impp-loss-$$

ip netns add "$NS"
trap '[ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null; ip netns del "$NS"' EXIT
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" iptables -A INPUT -m statistic --mode random \
    --probability "$LOSS" -j DROP

# DOMAINS (default 100) distinct domains, served and asked for; with
# DOMAINS=COUNT no lookup repeats a name, so no client's cache helps it.
DOMAINS=${DOMAINS:-100}
export E2E_DOMAINS=$DOMAINS

# The server prints its address, then serves until its stdin closes.
coproc SERVER { ip netns exec "$NS" env IMPP_E2E_SERVE=1 "$SERVER_BIN"; }
SERVER_PID=$SERVER_PID
read -r ADDR <&"${SERVER[0]}"

URIS=()
for i in $(seq 0 $((DOMAINS - 1))); do URIS+=("im:user@d$i.bench.example"); done
echo "# loss $LOSS, $COUNT resolutions, $CONCURRENCY at a time, server $ADDR, client $LOADGEN"
TIMING=${TIMING:-2,2}
if [ "$LOADGEN" = hickory ]; then
    ip netns exec "$NS" env IMPP_E2E_HICKORY="$ADDR" E2E_COUNT="$COUNT" \
        E2E_CONCURRENCY="$CONCURRENCY" E2E_HICKORY_TIMING="$TIMING" "$SERVER_BIN"
elif [ "$LOADGEN" = cares ]; then
    ip netns exec "$NS" python3 benches/loss/cares.py "$ADDR" --concurrency "$CONCURRENCY" \
        --count "$COUNT" --timeout "${TIMING%,*}" --tries "${TIMING#*,}"
else
    ip netns exec "$NS" "$LOADGEN" --server "$ADDR" --concurrency "$CONCURRENCY" \
        --count "$COUNT" "$@" "${URIS[@]}"
fi

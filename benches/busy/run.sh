#!/usr/bin/env bash
# A busy server, for the busy-server benchmark (BENCHMARKS.md §5, issue 25).
#
# The end-to-end bench's DNS server (hickory-server, DOMAINS domains) behind
# a server that takes one query at a time and spends SERVICE_US on each
# (test-support's BusyServer): queries queue in its socket buffer, as at an
# overloaded or single-threaded resolver. One client runs COUNT distinct
# lookups, CONCURRENCY at a time; then the server prints what it was asked:
# queries, and queries for a question it had already been asked. A fresh
# server for each run. Loopback only; no root needed.
#
#   benches/busy/run.sh [LOADGEN_BINARY] [-- extra loadgen flags]
#   benches/busy/run.sh hickory      # hickory-resolver 0.26, same load
#   benches/busy/run.sh cares        # c-ares 1.18 through benches/cares/cares_load
#   benches/busy/run.sh pycares      # c-ares 1.34 through benches/loss/cares.py
#
# SERVICE_US (2000), COUNT (1000), CONCURRENCY (200), DOMAINS (COUNT) come
# from the environment. Build first: cargo build --release --example loadgen
# && cargo bench --bench end_to_end --no-run; for c-ares,
# cc -O2 -o target/cares_load benches/cares/cares_load.c -lcares.
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVICE_US=${SERVICE_US:-2000}
COUNT=${COUNT:-1000}
CONCURRENCY=${CONCURRENCY:-200}
DOMAINS=${DOMAINS:-$COUNT}
TIMING=${TIMING:-2,3}
LOADGEN=${1:-target/release/examples/loadgen}
shift || true
[ "${1:-}" = "--" ] && shift
SERVER_BIN=$(ls -t target/release/deps/end_to_end-* | grep -v '\.d$' | head -1)
export E2E_DOMAINS=$DOMAINS

coproc SERVER { env IMPP_E2E_SERVE=1 IMPP_E2E_SERVICE_US="$SERVICE_US" ${BACKEND:+IMPP_E2E_BACKEND="$BACKEND"} "$SERVER_BIN"; }
PID=$SERVER_PID
trap 'kill "$PID" 2>/dev/null || true' EXIT
read -r ADDR <&"${SERVER[0]}"

echo "# busy server: one query at a time, ${SERVICE_US} us each; $COUNT lookups, $CONCURRENCY at a time, server $ADDR, client $LOADGEN"
URIS=()
for i in $(seq 0 $((DOMAINS - 1))); do URIS+=("im:user@d$i.bench.example"); done
if [ "$LOADGEN" = hickory ]; then
    env IMPP_E2E_HICKORY="$ADDR" E2E_COUNT="$COUNT" E2E_CONCURRENCY="$CONCURRENCY" "$SERVER_BIN"
elif [ "$LOADGEN" = cares ]; then
    target/cares_load "${ADDR%:*}" "${ADDR##*:}" "$CONCURRENCY" "$COUNT" "$DOMAINS"
elif [ "$LOADGEN" = pycares ]; then
    # c-ares 1.34 as pycares 5.2.1 bundles it, with its own defaults (TIMING: timeout,tries).
    python3 benches/loss/cares.py "$ADDR" --concurrency "$CONCURRENCY" --count "$COUNT" \
        --timeout "${TIMING%,*}" --tries "${TIMING#*,}"
else
    "$LOADGEN" --server "$ADDR" --concurrency "$CONCURRENCY" --count "$COUNT" "$@" "${URIS[@]}"
fi
# Closing its stdin makes the server print its counts and exit.
exec {IN}>&"${SERVER[1]}"-
exec {IN}>&-
cat <&"${SERVER[0]}"
wait "$PID" 2>/dev/null || true

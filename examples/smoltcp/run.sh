#!/usr/bin/env bash
# Resolves two URIs with impp-resolver over smoltcp on a TAP device, as root:
# a network namespace of its own holds the TAP device (kernel side
# 192.0.2.1, smoltcp 192.0.2.2: documentation addresses that exist only
# inside it) and NSD, authoritative for a zone whose small.example answer
# fits in UDP and whose big.example SRV answer does not, so that it is
# asked again over TCP through smoltcp. Everything is removed on the way
# out, failure or not. Prints what the binary prints; exits with its code.
set -euo pipefail
cd "$(dirname "$0")"

ns="impp-smoltcp-$$"
work="$(mktemp -d)"
nsd_pid=""
cleanup() {
    if [ -n "$nsd_pid" ]; then kill "$nsd_pid" 2>/dev/null || true; wait "$nsd_pid" 2>/dev/null || true; fi
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

command -v nsd >/dev/null || { echo "run.sh: needs nsd (Debian: nsd)" >&2; exit 2; }
cargo build --release --quiet
binary="${CARGO_TARGET_DIR:-$PWD/target}/release/impp-resolver-smoltcp"

# The zone: 40 SRV records with long targets for big.example (about 1.7 KB,
# past the 1,232-byte EDNS payload the resolver offers).
{
    echo '$ORIGIN example.'
    echo '$TTL 300'
    echo '@ IN SOA ns hostmaster 1 3600 600 86400 60'
    echo '@ IN NS ns'
    echo 'ns IN A 192.0.2.1'
    echo '_im._xmpp.small IN SRV 10 0 5222 xmpp.small'
    echo 'xmpp.small IN A 192.0.2.10'
    for i in $(seq -w 0 39); do
        echo "_im._xmpp.big IN SRV 0 $i 5222 xmpp-server-number-$i.big"
        echo "xmpp-server-number-$i.big IN A 192.0.2.1$i"
    done
} > "$work/example.zone"
cat > "$work/nsd.conf" <<CONF
server:
  ip-address: 192.0.2.1@53
  username: ""
  database: ""
  zonesdir: "$work"
  pidfile: "$work/nsd.pid"
  xfrdfile: "$work/xfrd.state"
  zonelistfile: "$work/zone.list"
  verbosity: 0
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: example
  zonefile: example.zone
CONF

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev tap0 mode tap
ip -n "$ns" addr add 192.0.2.1/24 dev tap0
ip -n "$ns" link set tap0 up
ip netns exec "$ns" nsd -d -c "$work/nsd.conf" >"$work/nsd.log" 2>&1 &
nsd_pid=$!
for _ in $(seq 1 100); do
    ip netns exec "$ns" ss -lnu 2>/dev/null | grep -q '192.0.2.1:53 ' && break
    sleep 0.1
done

status=0
ip netns exec "$ns" timeout 60 "$binary" tap0 192.0.2.2/24 192.0.2.1:53 \
    im:alice@small.example im:bob@big.example || status=$?
exit "$status"

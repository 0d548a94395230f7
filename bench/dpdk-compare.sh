#!/usr/bin/env bash
# vethbench's AF_XDP throughput next to DPDK testpmd's (net_af_xdp driver) on the same veth pair and
# the same cores: testpmd txonly in namespace A on core 0 -> rxonly in namespace B on core 1, then
# `vethbench run --mode throughput` on that pair. Prints both received rates and their ratio.
# Usage (root, after `cargo build --release`): bench/dpdk-compare.sh [SECONDS] [SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
size=${2:-64}
bin=target/release/vethbench
id=dpdk
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v dpdk-testpmd >/dev/null || {
  echo "dpdk-testpmd missing: apt-get install dpdk-dev librte-net-af-xdp23" >&2; exit 1; }
logs=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  "$bin" down --id "$id" >/dev/null 2>&1 || true
  rm -rf "$logs"
}
trap cleanup EXIT
"$bin" down --id "$id" >/dev/null 2>&1 || true
"$bin" up --id "$id" --queues 1 >/dev/null
mac_b=$(ip -n "vb-$id-b" -j link show "vb${id}b" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
testpmd() { # namespace, interface, lcores, main lcore, prefix, mode args...
  local ns=$1 dev=$2 lcores=$3 main=$4 prefix=$5; shift 5
  exec ip netns exec "$ns" dpdk-testpmd -l "$lcores" --main-lcore "$main" --no-huge -m 1024 --no-pci \
    --file-prefix "$prefix" --vdev "net_af_xdp0,iface=$dev,start_queue=0,queue_count=1" -- \
    --nb-cores=1 --stats-period 1 "$@"
}
testpmd "vb-$id-b" "vb${id}b" 1,0 0 vbb --forward-mode=rxonly >"$logs/b" 2>&1 &
pids+=($!)
sleep 3
testpmd "vb-$id-a" "vb${id}a" 0,1 1 vba --forward-mode=txonly --txpkts="$size" --eth-peer=0,"$mac_b" >"$logs/a" 2>&1 &
pids+=($!)
sleep $((secs + 4)) # testpmd takes a few seconds to start sending
kill -INT "${pids[1]}"; wait "${pids[1]}" || true
kill -INT "${pids[0]}"; wait "${pids[0]}" || true
pids=()
sleep 2 # AF_XDP sockets are torn down asynchronously after close
# Median of B's per-second receive rates while A was sending (non-zero samples, first one dropped).
dpdk_pps=$(grep -o 'Rx-pps: *[0-9]*' "$logs/b" | awk '{print $2}' | awk '$1 > 0' | tail -n +2 | sort -n |
  awk '{v[NR]=$1} END {if (NR == 0) print 0; else print v[int((NR + 1) / 2)]}')
echo "date: $(date -u +%Y-%m-%d)  kernel: $(uname -r)  size: $size B  cores: A=0 B=1  seconds: $secs"
echo "dpdk-testpmd (net_af_xdp) txonly -> rxonly: median received $dpdk_pps pps"
vb_json=$("$bin" run --on "$id" --mode throughput --size "$size" --duration "$secs" --cores 0,1 --json 2>/dev/null)
vb_pps=$(echo "$vb_json" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["received_pps"]))')
unexplained=$(echo "$vb_json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accounting"]["unexplained"])')
echo "vethbench run --mode throughput: received $vb_pps pps (unexplained frames: $unexplained)"
python3 -c "import sys; d=$dpdk_pps; v=$vb_pps; print('ratio vethbench / dpdk: ' + (f'{v/d:.2f}' if d else 'n/a (DPDK measured nothing)'))"

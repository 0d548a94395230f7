#!/usr/bin/env bash
# How AF_XDP on veth scales with flows and worker layouts, next to DPDK testpmd (net_af_xdp) on the
# same veth pair (2 queues) and the same cores, 64-byte frames. ROUNDS interleaved rounds of:
#   split-1      vethbench run --flows 1 --layout split     --cores 0,1  (sender core 0, receiver 1)
#   colocated-1  vethbench run --flows 1 --layout colocated --cores 0    (one thread, one core)
#   colocated-2  vethbench run --flows 2 --layout colocated --cores 0,1  (a thread per flow)
#   testpmd      txonly in A (lcore 0) -> rxonly in B (lcore 1), queue_count=2 on both ends
# Prints every measurement, then medians and the ratios the README quotes.
# Usage (root, after cargo build --release): bench/scaling.sh [ROUNDS] [SECONDS]
source "$(dirname "$0")/lib.sh"
rounds=${1:-3}
secs=${2:-5}
id=scal
command -v dpdk-testpmd >/dev/null || {
  echo "dpdk-testpmd missing: apt-get install dpdk-dev librte-net-af-xdp23" >&2; exit 1; }
header "throughput 64 B, $rounds rounds of $secs s, veth pair with 2 queues"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  "$bin" down --id "$id" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$bin" down --id "$id" >/dev/null 2>&1 || true
"$bin" -q up --id "$id" --queues 2 >/dev/null
mac_b=$(ip -n "vb-$id-b" -j link show "vb${id}b" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')

vb() { # vb NAME FLAGS...: one vethbench run; prints "NAME pps unexplained"
  local name=$1 json
  shift
  json=$("$bin" -q run --on "$id" --mode throughput --size 64 --duration "$secs" --warmup 0.5 \
    --out "$work/records" --json "$@" 2>/dev/null)
  echo "$name $(field "$json" received_pps) $(field "$json" accounting.unexplained)"
}

testpmd() { # namespace, interface, lcores, main lcore, prefix, mode args...
  local ns=$1 dev=$2 lcores=$3 main=$4 prefix=$5; shift 5
  exec ip netns exec "$ns" dpdk-testpmd -l "$lcores" --main-lcore "$main" --no-huge -m 1024 --no-pci \
    --file-prefix "$prefix" --vdev "net_af_xdp0,iface=$dev,start_queue=0,queue_count=2" -- \
    --nb-cores=1 --rxq=2 --txq=2 --stats-period 1 "$@"
}

dpdk() { # one testpmd measurement; prints "testpmd pps -"
  testpmd "vb-$id-b" "vb${id}b" 1,0 0 vbb --forward-mode=rxonly >"$work/b" 2>&1 &
  pids=($!)
  sleep 3
  testpmd "vb-$id-a" "vb${id}a" 0,1 1 vba --forward-mode=txonly --txpkts=64 --eth-peer=0,"$mac_b" >"$work/a" 2>&1 &
  pids+=($!)
  sleep $((secs + 4)) # testpmd takes a few seconds to start sending
  kill -INT "${pids[1]}"; wait "${pids[1]}" || true
  kill -INT "${pids[0]}"; wait "${pids[0]}" || true
  pids=()
  sleep 2 # AF_XDP sockets are torn down asynchronously after close
  # Median of B's per-second receive rates while A was sending (non-zero samples, first dropped).
  local pps
  pps=$(grep -o 'Rx-pps: *[0-9]*' "$work/b" | awk '{print $2}' | awk '$1 > 0' | tail -n +2 | sort -n |
    awk '{v[NR]=$1} END {if (NR == 0) print 0; else print v[int((NR + 1) / 2)]}')
  echo "testpmd $pps -"
}

for r in $(seq "$rounds"); do
  vb split-1 --flows 1 --layout split --cores 0,1
  vb colocated-1 --flows 1 --layout colocated --cores 0
  vb colocated-2 --flows 2 --layout colocated --cores 0,1
  dpdk
done | tee "$work/all"

python3 - "$work/all" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
pps, unexplained = {}, {}
for name, p, u in rows:
    pps.setdefault(name, []).append(float(p))
    if u != "-":
        unexplained[name] = unexplained.get(name, 0) + int(u)
med = {k: statistics.median(v) for k, v in pps.items()}
for k in ["split-1", "colocated-1", "colocated-2", "testpmd"]:
    extra = f", unexplained frames {unexplained[k]}" if k in unexplained else ""
    print(f"{k:12} median {med.get(k, 0) / 1e6:.3f} Mpps over {len(pps.get(k, []))} runs{extra}")
def ratio(a, b):
    return f"{med[a] / med[b]:.2f}" if med.get(b) else "n/a"
best_vb = max(med[k] for k in ["split-1", "colocated-1", "colocated-2"])
print(f"colocated 1 flow (1 core) / split 1 flow (2 cores): {ratio('colocated-1', 'split-1')}  (aim >= 0.9)")
print(f"colocated 2 flows / split 1 flow: {ratio('colocated-2', 'split-1')}  (aim >= 1.7)")
tp = med.get("testpmd", 0)
print(f"vethbench best / testpmd (queue_count=2): " + (f"{best_vb / tp:.2f}" if tp else "n/a") + "  (aim >= 1.2)")
EOF

#!/usr/bin/env bash
# How AF_XDP on veth scales with flows and worker layouts, next to DPDK testpmd (net_af_xdp) on the
# same veth pair (2 queues) and the same cores, 64-byte frames. ROUNDS interleaved rounds of:
#   split-1      vethbench run --flows 1 --layout split     --cores 0,1  (sender core 0, receiver 1)
#   colocated-1  vethbench run --flows 1 --layout colocated --cores 0    (one thread, one core)
#   colocated-2  vethbench run --flows 2 --layout colocated --cores 0,1  (a thread per flow)
#   testpmd-1q   DPDK testpmd txonly in A (lcore 0) -> rxonly in B (lcore 1), one AF_XDP port on
#                queue 0 of each end
#   testpmd-2q   the same with two ports per end, one per queue (start_queue=0 and 1): DPDK's
#                net_af_xdp refuses queue_count=2 on veth, which reports separate rx and tx
#                channels where the driver expects combined ones ("queue count 2 is larger than
#                combined queue count 1")
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

testpmd() { # namespace, interface, lcores, main lcore, prefix, queues, mode args...
  local ns=$1 dev=$2 lcores=$3 main=$4 prefix=$5 queues=$6 vdevs=() q; shift 6
  for q in $(seq 0 $((queues - 1))); do
    vdevs+=(--vdev "net_af_xdp$q,iface=$dev,start_queue=$q,queue_count=1")
  done
  exec ip netns exec "$ns" dpdk-testpmd -l "$lcores" --main-lcore "$main" --no-huge -m 1024 --no-pci \
    --file-prefix "$prefix" "${vdevs[@]}" -- --nb-cores=1 --stats-period 1 "$@"
}

dpdk() { # dpdk QUEUES: one testpmd measurement with a port per queue; prints "testpmd-Nq pps -"
  local queues=$1 peers=() q
  for q in $(seq 0 $((queues - 1))); do peers+=(--eth-peer="$q,$mac_b"); done
  testpmd "vb-$id-b" "vb${id}b" 1,0 0 vbb "$queues" --forward-mode=rxonly >"$work/b" 2>&1 &
  pids=($!)
  sleep 3
  testpmd "vb-$id-a" "vb${id}a" 0,1 1 vba "$queues" --forward-mode=txonly --txpkts=64 "${peers[@]}" \
    >"$work/a" 2>&1 &
  pids+=($!)
  sleep $((secs + 6)) # testpmd takes a few seconds to start sending
  kill -INT "${pids[1]}" 2>/dev/null || true; wait "${pids[1]}" || true
  kill -INT "${pids[0]}" 2>/dev/null || true; wait "${pids[0]}" || true
  pids=()
  sleep 2 # AF_XDP sockets are torn down asynchronously after close
  # B's received rate per second, all ports summed; the median of the non-zero seconds while A
  # sent (the first one dropped: it is partial).
  local pps
  pps=$(awk '/Port statistics/ {if (n++) print sum; sum=0} /Rx-pps:/ {sum+=$2} END {print sum}' "$work/b" |
    awk '$1 > 0' | tail -n +2 | sort -n |
    awk '{v[NR]=$1} END {if (NR == 0) print 0; else print v[int((NR + 1) / 2)]}')
  echo "testpmd-${queues}q $pps -"
}

for r in $(seq "$rounds"); do
  vb split-1 --flows 1 --layout split --cores 0,1
  vb colocated-1 --flows 1 --layout colocated --cores 0
  vb colocated-2 --flows 2 --layout colocated --cores 0,1
  dpdk 1
  dpdk 2
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
for k in ["split-1", "colocated-1", "colocated-2", "testpmd-1q", "testpmd-2q"]:
    extra = f", unexplained frames {unexplained[k]}" if k in unexplained else ""
    print(f"{k:12} median {med.get(k, 0) / 1e6:.3f} Mpps over {len(pps.get(k, []))} runs{extra}")
def ratio(a, b):
    return f"{med[a] / med[b]:.2f}" if med.get(b) else "n/a"
best_vb = max(med[k] for k in ["split-1", "colocated-1", "colocated-2"])
print(f"colocated 1 flow (1 core) / split 1 flow (2 cores): {ratio('colocated-1', 'split-1')}  (aim >= 0.9)")
print(f"colocated 2 flows / split 1 flow: {ratio('colocated-2', 'split-1')}  (aim >= 1.7)")
tp = max(med.get("testpmd-1q", 0), med.get("testpmd-2q", 0))
print(f"vethbench best / testpmd best: " + (f"{best_vb / tp:.2f}" if tp else "n/a") + "  (aim >= 1.2)")
EOF

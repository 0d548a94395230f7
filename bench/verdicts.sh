#!/usr/bin/env bash
# Can a CI on a shared host trust the verdicts? Three kinds of pairs of `run --mode throughput
# --trials 5` records, compared with `vethbench compare`:
#   identical  - the same command twice: no metric may be judged improved or regressed;
#   busy       - a busy loop pinned to the sender's core during the second run only: the rate may
#                be regressed or inconclusive (with the disturbance named), the sender's CPU time
#                per frame must never be judged regressed;
#   batch1     - defaults against --batch 1: the sender's CPU time per frame should be judged
#                regressed.
# Prints each pair's verdicts, then a summary line per kind.
# Usage (root, after cargo build --release): bench/verdicts.sh [PAIRS] [SECONDS]
source "$(dirname "$0")/lib.sh"
pairs=${1:-5}
secs=${2:-2}
header "throughput 64 B, 5 trials of $secs s per record, cores A=0 B=1, $pairs pairs per kind"
work=$(mktemp -d)
spinner=""
cleanup() {
  [ -n "$spinner" ] && kill "$spinner" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

run() { # run DIR [extra flags...]
  local dir=$1
  shift
  "$bin" -q run --mode throughput --trials 5 --duration "$secs" --warmup 0.5 --format json \
    --out "$dir" "$@" > /dev/null
  ls "$dir"/*.json
}

# verdicts BASE NEW: "metric=verdict ..." for every judged metric, then "disturbed=N/M" (trials
# flagged disturbed in the new record / in the baseline).
verdicts() {
  "$bin" compare "$1" "$2" --json --fail-on never 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
print(" ".join(f"{m[\"metric\"]}={m[\"verdict\"]}" for m in c["changes"]))'
  python3 - "$1" "$2" <<'EOF'
import json, sys
def disturbed(path):
    r = json.load(open(path))
    return sum(1 for s in r["scenarios"] for t in s["trials"] if (t.get("cpu") or {}).get("disturbed"))
print(f"disturbed={disturbed(sys.argv[2])}/{disturbed(sys.argv[1])}")
EOF
}

for kind in identical busy batch1; do
  for i in $(seq "$pairs"); do
    a=$(run "$work/$kind-$i-a")
    case $kind in
      identical) b=$(run "$work/$kind-$i-b") ;;
      busy)
        taskset -c 0 bash -c 'while :; do :; done' &
        spinner=$!
        b=$(run "$work/$kind-$i-b")
        kill "$spinner"
        wait "$spinner" 2>/dev/null || true
        spinner=""
        ;;
      batch1) b=$(run "$work/$kind-$i-b" --batch 1) ;;
    esac
    echo "$kind $i: $(verdicts "$a" "$b" | tr '\n' ' ')"
  done
done | tee "$work/all.txt"

python3 - "$work/all.txt" <<'EOF'
import re, sys
lines = [l.split() for l in open(sys.argv[1])]
def count(kind, metric, verdicts):
    n = 0
    for l in lines:
        if l[0] != kind:
            continue
        v = dict(x.split("=", 1) for x in l[2:] if "=" in x)
        if v.get(metric) in verdicts:
            n += 1
    return n
def pairs(kind):
    return sum(1 for l in lines if l[0] == kind)
def any_changed(kind):
    return sum(1 for l in lines if l[0] == kind and re.search(r"=(improved|regressed)\b", " ".join(l[2:])))
print(f"identical: {any_changed('identical')} of {pairs('identical')} pairs had a metric judged improved or regressed")
print(f"busy: rate regressed or inconclusive in {count('busy', 'received_pps', ['regressed', 'inconclusive'])} of {pairs('busy')}; "
      f"sender CPU/frame regressed in {count('busy', 'a_cpu_ns_per_frame', ['regressed'])} of {pairs('busy')}; "
      f"disturbance named in {sum(1 for l in lines if l[0] == 'busy' and not l[-1].startswith('disturbed=0/'))} of {pairs('busy')}")
print(f"batch1: sender CPU/frame regressed in {count('batch1', 'a_cpu_ns_per_frame', ['regressed'])} of {pairs('batch1')}")
EOF

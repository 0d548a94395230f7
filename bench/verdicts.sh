#!/usr/bin/env bash
# Can a CI on a shared host trust the verdicts? First CALIBRATION identical runs measure this
# machine's run-to-run variation (`vethbench noise`); then three kinds of pairs of
# `run --mode throughput --trials 5` records are compared with `vethbench compare`, once with the
# default 2 % band and once with the measured bands (`--noise-from`):
#   identical  - the same command twice: no metric may be judged improved or regressed;
#   busy       - a busy loop pinned to the sender's core during the second run only: the rate may
#                be regressed or inconclusive (with the disturbance named), the sender's CPU time
#                per frame must never be judged regressed;
#   batch1     - defaults against --batch 1: the sender's CPU time per frame should be judged
#                regressed.
# Prints each pair's verdicts (change and 95 % interval in percent), then a summary per band.
# Usage (root, after cargo build --release):
#   bench/verdicts.sh [PAIRS] [SECONDS] [CALIBRATION] [KEEP_DIR]
# (KEEP_DIR keeps the records for a look with `vethbench compare`.)
source "$(dirname "$0")/lib.sh"
pairs=${1:-5}
secs=${2:-2}
calibration=${3:-5}
keep=${4:-}
header "throughput 64 B, 5 trials of $secs s per record, cores A=0 B=1, $calibration calibration runs, $pairs pairs per kind"
work=$(mktemp -d)
spinner=""
cleanup() {
  [ -n "$spinner" ] && kill "$spinner" 2>/dev/null
  [ -n "$keep" ] && mkdir -p "$keep" && cp -r "$work"/. "$keep"/
  rm -rf "$work"
}
trap cleanup EXIT

run() { # run DIR [extra flags...]: one record, its path printed
  local dir=$1
  shift
  "$bin" -q run --mode throughput --trials 5 --duration "$secs" --warmup 0.5 --format json \
    --out "$dir" "$@" > /dev/null 2>&1
  ls "$dir"/*.json
}

for i in $(seq "$calibration"); do run "$work/calibration-$i" > /dev/null; done
"$bin" noise "$work"/calibration-*/*.json --save "$work/noise.json"

# verdicts BASE NEW [compare flags]: "metric=verdict(change[low,high]) ...", then
# "disturbed=N/M" (trials flagged disturbed in the new record / in the baseline).
verdicts() {
  local a=$1 b=$2
  shift 2
  "$bin" compare "$a" "$b" --json --fail-on never "$@" 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
f = lambda x: format(x, "+.1f")
print(" ".join(m["metric"] + "=" + m["verdict"] + "(" + f(m["change_pct"]) + "[" + f(m["ci95_pct"][0]) + "," + f(m["ci95_pct"][1]) + "])" for m in c["changes"]))'
  python3 - "$a" "$b" <<'EOF'
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
    echo "2% $kind $i: $(verdicts "$a" "$b" | tr '\n' ' ')"
    echo "measured $kind $i: $(verdicts "$a" "$b" --noise-from "$work/noise.json" | tr '\n' ' ')"
  done
done | tee "$work/all.txt"

python3 - "$work/all.txt" <<'EOF'
import re, sys
lines = [l.split() for l in open(sys.argv[1])]
for band in ("2%", "measured"):
    mine = [l for l in lines if l[0] == band]
    def of(kind):
        return [l for l in mine if l[1] == kind]
    def verdict(l, metric):
        v = dict(x.split("(")[0].split("=", 1) for x in l[3:] if "=" in x)
        return v.get(metric)
    def count(kind, metric, verdicts):
        return sum(1 for l in of(kind) if verdict(l, metric) in verdicts)
    changed = sum(1 for l in of("identical") if re.search(r"=(improved|regressed)\(", " ".join(l[3:])))
    named = sum(1 for l in of("busy") if not l[-1].startswith("disturbed=0/"))
    print(f"band {band}: identical: {changed} of {len(of('identical'))} pairs had a metric judged improved or regressed; "
          f"busy: rate regressed or inconclusive in {count('busy', 'received_pps', ['regressed', 'inconclusive'])} of {len(of('busy'))}, "
          f"sender CPU/frame regressed in {count('busy', 'a_cpu_ns_per_frame', ['regressed'])}, disturbance named in {named}; "
          f"batch1: sender CPU/frame regressed in {count('batch1', 'a_cpu_ns_per_frame', ['regressed'])} of {len(of('batch1'))}")
EOF

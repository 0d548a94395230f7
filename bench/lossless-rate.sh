#!/usr/bin/env bash
# 64-byte AF_XDP throughput, sender on core 0, receiver on core 1: the unconstrained rate, and the
# highest offered rate with loss <= 0.1 % (bisection on --rate, each probe SECONDS long).
# Usage (root, after cargo build --release): bench/lossless-rate.sh [SECONDS] [SIZE]
source "$(dirname "$0")/lib.sh"
secs=${1:-3}
size=${2:-64}
header "size: $size B  cores: A=0 B=1  probe: $secs s"
probe() { # rate or "" -> prints "offered received loss unexplained"
  local args=(run --json --mode throughput --size "$size" --cores 0,1 --duration "$secs")
  [ -n "$1" ] && args+=(--rate "$1")
  local j
  j=$("$bin" "${args[@]}" 2>/dev/null)
  echo "$(field "$j" offered_pps) $(field "$j" received_pps) $(field "$j" loss_pct) $(field "$j" accounting.unexplained)"
}
read -r off rcv loss unexpl <<<"$(probe "")"
printf 'unconstrained: offered %.0f pps, received %.0f pps, loss %.3f %%, unexplained %s\n' "$off" "$rcv" "$loss" "$unexpl"
lo=0 hi=${off%.*}
best=0 best_line=""
for _ in 1 2 3 4 5 6 7; do
  mid=$(( (lo + hi) / 2 ))
  read -r off rcv loss unexpl <<<"$(probe "$mid")"
  line=$(printf 'rate %d: offered %.0f pps, received %.0f pps, loss %.3f %%, unexplained %s' "$mid" "$off" "$rcv" "$loss" "$unexpl")
  echo "  $line"
  if python3 -c "import sys; sys.exit(0 if float('$loss') <= 0.1 else 1)"; then
    lo=$mid; best=$rcv; best_line=$line
  else
    hi=$mid
  fi
done
if [ -n "$best_line" ]; then
  echo "highest rate with loss <= 0.1 %: $best_line"
else
  echo "highest rate with loss <= 0.1 %: none found above 0 (every probe lost more)"
fi

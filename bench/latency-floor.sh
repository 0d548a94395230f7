#!/usr/bin/env bash
# AF_XDP ping-pong RTT (latency mode: user-space reflector on B) next to the in-kernel floor
# (xdp-tx mode: XDP_TX reflector on B), same size and cores, one frame in flight.
# Usage (root, after cargo build --release): bench/latency-floor.sh [SECONDS] [SIZE]
source "$(dirname "$0")/lib.sh"
secs=${1:-5}
size=${2:-64}
header "size: $size B  cores: A=0 B=1  $secs s each"
declare -A p50 p99
for mode in latency xdp-tx; do
  j=$("$bin" run --json --mode "$mode" --size "$size" --cores 0,1 --duration "$secs" 2>/dev/null)
  p50[$mode]=$(field "$j" rtt.p50_ns)
  p99[$mode]=$(field "$j" rtt.p99_ns)
  printf '%-8s RTT p50 %6.2f µs  p99 %6.2f µs  samples %s  unexplained %s\n' "$mode" \
    "$(echo "${p50[$mode]} / 1000" | bc -l)" "$(echo "${p99[$mode]} / 1000" | bc -l)" \
    "$(field "$j" rtt.samples)" "$(field "$j" accounting.unexplained)"
done
printf 'ratio latency / xdp-tx (p50): %.2f\n' "$(echo "${p50[latency]} / ${p50[xdp-tx]}" | bc -l)"

#!/usr/bin/env bash
# What measuring costs: 64-byte throughput with timestamps and histograms vs --no-timestamps,
# interleaved ROUNDS times (the machine drifts); prints the median of each and their ratio.
# Usage (root, after cargo build --release): bench/overhead.sh [ROUNDS] [SECONDS]
source "$(dirname "$0")/lib.sh"
rounds=${1:-5}
secs=${2:-3}
header "size: 64 B  cores: A=0 B=1  $rounds rounds x $secs s each"
with=() without=()
for _ in $(seq "$rounds"); do
  with+=("$(field "$("$bin" run --mode throughput --json --duration "$secs" 2>/dev/null)" received_pps)")
  without+=("$(field "$("$bin" run --mode throughput --json --duration "$secs" --no-timestamps 2>/dev/null)" received_pps)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
m_with=$(median "${with[@]}")
m_without=$(median "${without[@]}")
printf 'with timestamps: %s\nwithout:         %s\n' "${with[*]}" "${without[*]}"
printf 'median with %.0f pps, without %.0f pps, ratio %.3f\n' "$m_with" "$m_without" "$(echo "$m_with / $m_without" | bc -l)"

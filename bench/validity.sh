#!/usr/bin/env bash
# Are the kernel-stack baselines right? Each is measured next to an established tool in the same run,
# on the same namespaces and cores (A on core 0, B on core 1), at the same size (64-byte frames):
#   icmp          vs ping -U (iputils, forced onto the same ICMP datagram socket by dropping
#                    CAP_NET_RAW; -U: user-to-user times, which is what we measure), both paced at
#                    1000 echoes/s, 2000 echoes a round; ROUNDS interleaved rounds, median of the
#                    medians. Plain ping (kernel receive timestamp) is printed for information.
#                    Why not 100/s: after each 10 ms idle gap this VM's wake-up is bimodal (about
#                    4 or about 30 µs), for ping and for us alike, so a median flips between the
#                    modes from round to round;
#   udp-pingpong  vs sockperf ping-pong --full-rtt (median RTT);
#   udp-flood     vs sockperf throughput (datagrams received per second; ours with --batch 1, i.e.
#                    one datagram per system call as sockperf sends them).
# Prints each pair, the ratio ours/theirs, and whether it is within 15 %.
# Usage (root, after cargo build --release): bench/validity.sh [ROUNDS] [SECONDS]
source "$(dirname "$0")/lib.sh"
rounds=${1:-5}
secs=${2:-4}
id=valid
for tool in sockperf capsh taskset; do
  command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install sockperf libcap2-bin util-linux" >&2; exit 1; }
done
tmp=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  "$bin" down --id "$id" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
"$bin" down --id "$id" >/dev/null 2>&1 || true
"$bin" up --id "$id" >/dev/null
a="vb-$id-a" b="vb-$id-b" dst=198.18.0.2 payload=22
# ping carries file capabilities, which cannot be kept once CAP_NET_RAW leaves the bounding set:
# a plain copy has none, and without CAP_NET_RAW ping uses an ICMP datagram socket, as we do.
cp "$(command -v ping)" "$tmp/ping"
median() { sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR + 1) / 2)]; else print 0}'; }
verdict() { # name ours theirs unit
  python3 -c "import sys
ours, theirs = float('$2'), float('$3')
r = ours / theirs if theirs else float('nan')
ok = abs(r - 1) <= 0.15
print(f'$1: ours {ours:.1f} $4, theirs {theirs:.1f} $4, ratio {r:.3f} ' + ('(within 15 %)' if ok else '(OUTSIDE 15 %)'))"
}
header "size: 64 B  cores: A=0 B=1  rounds: $rounds  seconds: $secs"

ping_p50() { # extra ping flags; prints the median RTT in µs (ping prints whole µs)
  ip netns exec "$a" capsh --drop=cap_net_raw -- -c \
    "taskset -c 0 $tmp/ping $1 -n -i 0.001 -c 2000 -s $payload $dst" |
    grep -o 'time=[0-9.]*' | cut -d= -f2 | awk '{print $1 * 1000}' | median
}
ours_icmp=() theirs_icmp=() kernel_icmp=()
for _ in $(seq "$rounds"); do
  theirs_icmp+=("$(ping_p50 -U)")
  kernel_icmp+=("$(ping_p50 "")")
  j=$("$bin" run --on "$id" --mode icmp --rate 1000 --count 2000 --duration 0 --warmup 0 --cores 0,1 --json 2>/dev/null)
  ours_icmp+=("$(python3 -c "print($(field "$j" rtt.p50_ns) / 1000)")")
done
echo "icmp rounds (µs): ours ${ours_icmp[*]} | ping -U ${theirs_icmp[*]} | ping (to the kernel's receive timestamp) ${kernel_icmp[*]}"
verdict "icmp RTT p50 vs ping -U" "$(printf '%s\n' "${ours_icmp[@]}" | median)" "$(printf '%s\n' "${theirs_icmp[@]}" | median)" µs

ip netns exec "$b" taskset -c 1 sockperf server -i "$dst" -p 11111 >"$tmp/server" 2>&1 &
server=$!
sleep 1
theirs_pp=$(ip netns exec "$a" taskset -c 0 sockperf ping-pong -i "$dst" -p 11111 -t "$secs" -m "$payload" --full-rtt 2>&1 |
  sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p')
kill "$server"; wait "$server" 2>/dev/null || true; server=""
j=$("$bin" run --on "$id" --mode udp-pingpong --duration "$secs" --warmup 0 --cores 0,1 --json 2>/dev/null)
verdict "udp-pingpong RTT p50 vs sockperf ping-pong" "$(python3 -c "print($(field "$j" rtt.p50_ns) / 1000)")" "$theirs_pp" µs

ip netns exec "$b" taskset -c 1 sockperf server -i "$dst" -p 11112 >"$tmp/server" 2>&1 &
server=$!
sleep 1
ip netns exec "$a" taskset -c 0 sockperf throughput -i "$dst" -p 11112 -t "$secs" -m "$payload" >"$tmp/client" 2>&1
sleep 0.5
kill -INT "$server"; wait "$server" 2>/dev/null || true; server=""
received=$(sed -n 's/.*Total \([0-9]*\) messages received.*/\1/p' "$tmp/server" | tail -1)
theirs_tp=$(python3 -c "print(${received:-0} / $secs)")
j=$("$bin" run --on "$id" --mode udp-flood --batch 1 --duration "$secs" --warmup 0 --cores 0,1 --json 2>/dev/null)
verdict "udp-flood received rate vs sockperf throughput" "$(field "$j" received_pps)" "$theirs_tp" pps

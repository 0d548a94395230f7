#!/usr/bin/env bash
# The sweep-and-report check: a sweep of 2 sizes x 2 XDP modes x 2 batch sizes (8 points of 3 trials, with its
# progress bar on a terminal), the suite for the AF_XDP vs kernel-stack plots, one HTML report of
# both (with batch 16 compared against the default 64), and a PNG of it rendered by headless
# Chromium to look at.
# Usage (root, after cargo build --release; apt-get install chromium): bench/sweep-report.sh [OUT]
source "$(dirname "$0")/lib.sh"
out=${1:-/tmp/vethbench-sweep-report}
rm -rf "$out"
mkdir -p "$out"
header "out: $out"
"$bin" sweep --name demo --size 64,1500 --xdp-mode drv,skb --batch 16,64 --duration 1 --warmup 0.5 --trials 3 --out "$out"
"$bin" run --duration 0.5 --trials 2 --out "$out/suite" >/dev/null
suite=$(ls "$out"/suite/*.json | head -1)
# The comparison view: batch 64 (the default) against batch 16, 64-byte frames, native XDP.
point() { echo "$out/sweep-demo/throughput-64B-drv-batch$1-ring4096-wakeupon-busypolloff-q1-grodefault-pair.json"; }
"$bin" report "$out/sweep-demo" "$suite" --compare "$(point 64)" "$(point 16)" -o "$out/report.html"
if command -v chromium >/dev/null; then
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$out/chromium" --hide-scrollbars --window-size=1200,3200 \
    --screenshot="$out/report.png" "file://$out/report.html" 2>/dev/null
  rm -rf "$out/chromium"
  echo "rendered: $out/report.png"
else
  echo "chromium missing (apt-get install chromium): open $out/report.html yourself" >&2
fi

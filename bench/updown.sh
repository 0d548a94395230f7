#!/usr/bin/env bash
# How long `vethbench up && vethbench down` take together (target: under 0.2 s).
# Prints hyperfine's summary, the date and the kernel. Run as root after `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/vethbench
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
id=updown
"$bin" down --id "$id" >/dev/null 2>&1 || true
trap '"$bin" down --id "$id" >/dev/null 2>&1 || true' EXIT
echo "date: $(date -u +%Y-%m-%d)  kernel: $(uname -r)  cpus: $(nproc)"
hyperfine --warmup 5 --runs 100 --style basic \
  "$bin up --id $id >/dev/null && $bin down --id $id >/dev/null"

# Shared by the bench/*.sh scripts: the binary, a JSON field reader, the header line.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/vethbench
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
# field JSON PATH: prints JSON[PATH] (PATH like accounting.unexplained or rtt.p50_ns).
field() {
  python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v=v[k]
print(v)' "$1" "$2"
}
header() { echo "date: $(date -u +%Y-%m-%d)  kernel: $(uname -r)  cpus: $(nproc)  $*"; }

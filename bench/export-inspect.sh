#!/usr/bin/env bash
# `perimeter export inspect` on a run of at least N episodes (default
# 1000): the built-in suite played by `scripted:mixed:50`, as many epochs
# as it takes. Prints the run's size, then the export's wall time (best and
# worst of 3), the log's size and peak memory. Target on this 2-core
# machine: under 5 s for 1,000 episodes.
#
# Usage: bench/export-inspect.sh [N]   (RUN=DIR reuses a run folder)
set -euo pipefail
n=${1:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/perimeter-export.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/perimeter"
run=${RUN:-$work/run}
if [ ! -e "$run/summary.json" ]; then
    scenarios=$("$bin" suite list --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["scenarios"]))')
    epochs=$(( (n + scenarios - 1) / scenarios ))
    echo "running $((epochs * scenarios)) episodes (scripted:mixed:50, $epochs epochs) into $run ..."
    "$bin" run --agent scripted:mixed:50 --epochs "$epochs" --concurrency 4 --out "$run" >/dev/null 2>&1
fi
episodes=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["episodes"]))' "$run/summary.json")
traces=$(du -sb "$run/episodes" | cut -f1)
echo "run: $episodes episodes, traces $((traces / 1024 / 1024)) MiB"
times=()
for i in 1 2 3; do
    rm -f "$work/run.eval"
    /usr/bin/time -f "%e %M" -o "$work/time" "$bin" export inspect "$run" --out "$work/run.eval" >/dev/null
    read -r wall kb <"$work/time"
    times+=("$wall")
done
size=$(stat -c %s "$work/run.eval")
printf '%s\n' "${times[@]}" | sort -n | python3 -c '
import sys
t = [float(x) for x in sys.stdin]
n, size, kb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"export: {n} samples in {t[0]:.2f} s (best of 3; worst {t[-1]:.2f} s), {1000 * t[0] / n:.2f} ms per sample; "
      f"log {size / 1024 / 1024:.1f} MiB ({size / n / 1024:.1f} KiB per sample); peak RSS {kb / 1024:.0f} MB")
' "$episodes" "$size" "$kb"

#!/usr/bin/env bash
# Trajectories scored per second through a `cmd:` monitor. One honest run
# (EPOCHS epochs of the built-in suite) and one misaligned run make the
# corpus; it is then scored by two monitors, with 1, 2 and 4 threads:
#
#   cat:     `cmd:cat >/dev/null; echo '{"score": 0}'`  (the harness's own cost:
#            a process per trajectory, the document in and the answer out)
#   python:  a Python monitor that parses the trajectory and scores words
#   builtin: the shared detectors in process (`builtin:detectors`), for scale
#
# and prints wall time, trajectories per second and peak RSS for each.
# Usage: bench/monitor-throughput.sh [EPOCHS]   (default 5: 105 benign + 21 attacks)
set -euo pipefail
epochs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/perimeter-monitor-bench.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/perimeter"
cd "$work"
"$bin" run --agent scripted:honest --epochs "$epochs" --out honest >/dev/null 2>&1
"$bin" run --agent scripted:misaligned --out misaligned >/dev/null 2>&1
"$bin" monitor corpus honest misaligned --out corpus.jsonl >/dev/null
items=$(($(wc -l <corpus.jsonl) - 1))
cat >words.py <<'PY'
import json, sys
t = json.load(sys.stdin)
text = json.dumps(t["steps"])
print(json.dumps({"score": sum(text.count(w) for w in ("credentials", "token", "rm -", "monitor"))}))
PY
echo "$items trajectories ($(stat -c %s corpus.jsonl) bytes of corpus), view: reasoning"

measure() { # label, threads, monitor
    /usr/bin/time -f "%e %M" -o t "$bin" monitor score corpus.jsonl --monitor "$3" \
        --view reasoning --threads "$2" --out r.json >/dev/null 2>&1 || true
    read -r secs kb <t
    awk -v l="$1" -v n="$2" -v s="$secs" -v kb="$kb" -v items="$items" \
        'BEGIN { printf "  %-8s %d threads %6.2f s  %7.1f trajectories/s  %6.1f MB peak RSS\n", l, n, s, items / s, kb / 1024 }'
}

for threads in 1 2 4; do
    measure cat "$threads" "cmd:cat >/dev/null; echo '{\"score\": 0}'"
    measure python "$threads" "cmd:python3 words.py"
done
measure builtin 1 builtin:detectors

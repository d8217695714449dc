#!/usr/bin/env bash
# Scale on one host against a slow model: the built-in loop (`--agent api`)
# against a loopback OpenAI-compatible server that sleeps LATENCY seconds
# before each answer and asks for 10 `bash` calls, then `submit`: 11 calls
# per episode. At each concurrency C it runs 2×C episodes (the suite's
# scenarios, as many epochs as needed) and prints:
#
#   wall time against the ideal, ⌈episodes ÷ C⌉ × 11 × LATENCY;
#   CPU per episode of the whole process tree: the harness, every sandbox,
#   the agent's commands and the hidden checks (`perf stat`'s task-clock,
#   inherited by every descendant; `time`'s user + system would miss the
#   sandboxes, whose processes are reaped inside their own pid namespace),
#   and how it splits by program (`perf record` at 49 Hz: `perimeter` is the
#   harness, `sandbox-init` its init in each sandbox, the rest are the
#   agent's commands and the checks, python3 for most);
#   the harness's peak RSS per slot (C agents at once, and up to C more
#   episodes whose agent has ended running their checks);
#   how episodes ended (an episode whose sandbox could not be built ends as
#   sandbox_error; the run goes on).
#
# Usage: bench/concurrency.sh [C ...]   (default: 32 128 512; LATENCY=2;
#        BIN=path runs that build instead of building this tree's)
# Run as root (the sandbox's exact watch needs it; see `perimeter doctor`),
# with `perf` (Debian's linux-perf) installed.
set -euo pipefail
command -v perf >/dev/null || { echo "concurrency.sh: needs perf (Debian: apt-get install linux-perf)" >&2; exit 2; }
[ $# -gt 0 ] || set -- 32 128 512
latency=${LATENCY:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/perimeter-concurrency.XXXXXX")
server=
[ -n "${KEEP:-}" ] || trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

# BIN=path: another build of perimeter, to compare two versions in turn.
if [ -n "${BIN:-}" ]; then
    bin=$BIN
else
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    bin="$root/target/release/perimeter"
fi

python3 "$root/bench/slow-model.py" "$latency" >"$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
scenarios=$("$bin" suite list --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["scenarios"]))')

echo "latency ${latency} s, 11 calls per episode; $(nproc) cores"
for c in "$@"; do
    episodes=$((2 * c))
    epochs=$(( (episodes + scenarios - 1) / scenarios ))
    n=$((epochs * scenarios))
    rm -rf "$work/run"
    start=$(date +%s.%N)
    set +e
    OPENAI_COMPATIBLE_API_KEY=bench perf stat -e task-clock -x, -o "$work/stat" \
        perf record -q -F 49 -o "$work/perf.data" -- /usr/bin/time -f "%M" -o "$work/time" \
        "$bin" run --agent api --model "openai-compatible:http://127.0.0.1:$port/v1#slow" \
        --epochs "$epochs" --concurrency "$c" --max-turns 20 --out "$work/run" >/dev/null 2>"$work/stderr"
    status=$?
    set -e
    end=$(date +%s.%N)
    kb=$(tail -1 "$work/time")
    perf report -i "$work/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep '%' | grep -v '^#' >"$work/comms" || true
    python3 - "$c" "$n" "$latency" "$start" "$end" "$work/stat" "$kb" "$status" "$work/run/summary.json" "$work/comms" <<'PY'
import json, math, sys, collections
c, n, lat = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
wall = float(sys.argv[5]) - float(sys.argv[4])
cpu = next(float(l.split(",")[0]) for l in open(sys.argv[6]) if "task-clock" in l) / 1000
kb, status = int(sys.argv[7]), int(sys.argv[8])
ideal = math.ceil(n / c) * 11 * lat
try:
    ends = collections.Counter(e["end_reason"] for e in json.load(open(sys.argv[9]))["episodes"])
except Exception as e:
    ends = {"no summary": str(e)}
shares = {}
for line in open(sys.argv[10]):
    pct, comm = line.split(None, 1)
    shares[comm.strip()] = float(pct.rstrip("%"))
# perf shortens a name to its column's width (`sandbox-i`).
harness = sum(v for k, v in shares.items() if k.startswith("perimeter") or k.startswith("sandbox-i"))
top = ", ".join(f"{k} {v:.0f}%" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])[:4])
print(f"concurrency {c:4}: {n} episodes in {wall:6.1f} s, ideal {ideal:5.1f} s: {100 * ideal / wall:5.1f}% of ideal; "
      f"CPU {1000 * cpu / n:5.1f} ms per episode, harness (perimeter, sandbox-init) {10 * cpu * harness / n:5.1f} ms ({top}); "
      f"peak RSS {kb / 1024:6.1f} MB, {kb / 1024 / c:5.2f} MB per slot; "
      f"exit {status}; ended {dict(ends)}")
PY
done

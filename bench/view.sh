#!/usr/bin/env bash
# The workbench's two targets: `perimeter view` on the demo's folder must
# answer within a second of being started, and a trace of 100,000 events
# must open (its lines found, its hash chain verified, the first page
# rendered) within two seconds. Builds the release binary, plays the demo,
# writes a run folder whose one episode has a 100,000-event trace (the
# demo's first episode, with agent calls and sandbox execs appended and
# chained as the harness chains them), and prints:
#
#   start:      from launch until the index page answers
#   open:       the first request for the big episode's first page
#   next page:  a later page of it (the trace already open)
#   event:      one event's own page
#
# Usage: bench/view.sh [EVENTS]   (default 100000)
set -euo pipefail
events=${1:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/perimeter-view-bench.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/perimeter"
cd "$work"
"$bin" demo --out demo >/dev/null 2>&1

python3 - "$events" <<'PY'
import hashlib, json, os, shutil, sys
n = int(sys.argv[1])
src = "demo/labs/lab-d/run"
os.makedirs("big/episodes/big", exist_ok=True)
summary = json.load(open(f"{src}/summary.json"))
first = summary["episodes"][0]
lines = open(f"{src}/{first['trace']}", "rb").read().split(b"\n")
lines = [l for l in lines if l]
# Keep the header and the events before the trace's end, then append.
body = lines[:-1]
def digest(b): return "sha256:" + hashlib.sha256(b).hexdigest()
prev = digest(body[-1])
seq = json.loads(body[-1])["seq"]
out = list(body)
while seq < n - 1:
    seq += 1
    if seq % 3 == 1:
        e = {"seq": seq, "ts": "2026-12-07T00:00:00.000Z", "source": "agent", "kind": "tool_call",
             "call_id": f"c{seq}", "tool": "bash", "input": {"command": f"grep -rn pattern{seq} src/ | head"}}
    elif seq % 3 == 2:
        e = {"seq": seq, "ts": "2026-12-07T00:00:00.001Z", "source": "observed", "kind": "process_exec",
             "pid": seq, "ppid": 1, "path": "/usr/bin/grep", "argv": ["grep", "-rn", f"pattern{seq}", "src/"],
             "cwd": "/home/agent/lab", "exit_code": 1}
    else:
        e = {"seq": seq, "ts": "2026-12-07T00:00:00.002Z", "source": "agent", "kind": "tool_result",
             "call_id": f"c{seq-2}", "output": "src/model.py:12: " + "x" * 120, "exit_code": 0, "is_error": False}
    e["prev"] = prev
    line = json.dumps(e, separators=(",", ":")).encode()
    out.append(line)
    prev = digest(line)
seq += 1
end = {"seq": seq, "ts": "2026-12-07T00:00:01.000Z", "source": "harness", "kind": "trace_end", "reason": "submitted", "prev": prev}
line = json.dumps(end, separators=(",", ":")).encode()
out.append(line)
open("big/episodes/big/e0.trace.jsonl", "wb").write(b"\n".join(out) + b"\n")
first["trace"] = "episodes/big/e0.trace.jsonl"
first["trace_head"] = digest(line)
summary["episodes"] = [first]
json.dump(summary, open("big/summary.json", "w"))
PY
"$bin" trace verify big/episodes/big/e0.trace.jsonl >/dev/null
size=$(stat -c %s big/episodes/big/e0.trace.jsonl)
echo "a trace of $events events ($((size / 1048576)) MiB), and the demo's folder"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f s", b - a }'; }

t0=$(now)
"$bin" view demo big --decisions decisions.jsonl >url 2>/dev/null &
pid=$!
until [ -s url ]; do sleep 0.01; done
url=$(head -1 url)
base=${url%%/\?token=*}
curl -s -c jar -o /dev/null "$url"
curl -s -b jar -o /dev/null -w '' "$base/"
echo "  start (demo's folder and the big run): $(since "$t0") until the index answered"
big=$(curl -s -b jar "$base/" | grep -o '/run/[0-9]*">[^<]*big' | head -1 | cut -d'"' -f1)
t0=$(now); curl -s -b jar -o page0.html "$base$big/ep/0"; echo "  open the big episode (first page):     $(since "$t0")"
t0=$(now); curl -s -b jar -o page1.html "$base$big/ep/0?page=150"; echo "  a later page, the trace already open:  $(since "$t0")"
t0=$(now); curl -s -b jar -o event.html "$base$big/ep/0/event/$((events / 2))"; echo "  one event's own page:                  $(since "$t0")"
grep -q "hash chain verified" page0.html && echo "  (its hash chain verified on opening; $(grep -o 'page [0-9]* of [0-9]*' page0.html | head -1))"

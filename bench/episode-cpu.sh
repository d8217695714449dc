#!/usr/bin/env bash
# Where an episode's CPU goes, process by process: the workload of
# bench/concurrency.sh (the built-in loop against a loopback model asking
# for 10 `bash` calls, then `submit`) over the whole built-in suite, one
# epoch, at 4 slots and a short latency, with `bpftrace` recording each
# process's command line at exec and its CPU time (the scheduler's
# sum_exec_runtime, in ns) at exit. Each process is charged to what the
# sandbox's init started (a setup command, one of the agent's commands, a
# hidden check), with everything that ran under it; the rest is the
# harness. Prints milliseconds per episode for each, largest first.
#
# Usage: bench/episode-cpu.sh   (root; Debian's bpftrace and linux-perf)
set -euo pipefail
for tool in bpftrace perf; do
    command -v "$tool" >/dev/null || { echo "episode-cpu.sh: needs $tool (Debian: apt-get install bpftrace linux-perf)" >&2; exit 2; }
done
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/perimeter-episode-cpu.XXXXXX")
server= tracer=
# Each step may fail (a process already gone): under `set -e` a failing
# one would end the trap and leave the rest running.
trap '[ -z "$tracer" ] || kill -INT "$tracer" 2>/dev/null || true; [ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
[ -e /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/perimeter"
python3 "$root/bench/slow-model.py" 0.02 >"$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done

cat >"$work/exec.bt" <<'BT'
tracepoint:sched:sched_process_exec { @argv[pid] = buf(uptr(curtask->mm->arg_start), 64); }
tracepoint:sched:sched_process_exit / pid == tid / {
  printf("X %d %d %s %llu %r\n", pid, curtask->real_parent->tgid, comm, curtask->se.sum_exec_runtime, @argv[pid]);
  delete(@argv[pid]);
}
BT
bpftrace "$work/exec.bt" >"$work/exits" 2>"$work/bpftrace.err" &
tracer=$!
for _ in $(seq 100); do grep -q Attaching "$work/exits" 2>/dev/null && break; sleep 0.1; done

OPENAI_COMPATIBLE_API_KEY=bench perf stat -e task-clock -x, -o "$work/stat" \
    "$bin" run --agent api --model "openai-compatible:http://127.0.0.1:$(cat "$work/port")/v1#slow" \
    --concurrency 4 --max-turns 20 --out "$work/run" >/dev/null 2>"$work/stderr"
sleep 1
kill -INT "$tracer" 2>/dev/null || { echo "episode-cpu.sh: bpftrace ended early: $(cat "$work/bpftrace.err")" >&2; exit 1; }
wait "$tracer" || true; tracer=

python3 - "$work/exits" "$work/stat" "$work/run/summary.json" <<'PY'
import collections, json, re, sys
procs = {}
for line in open(sys.argv[1]):
    if not line.startswith("X "):
        continue
    _, pid, ppid, comm, ns, args = (line.rstrip("\n").split(" ", 5) + [""])[:6]
    argv = []
    for word in args.split("\\x00"):
        # The command line ends where the environment begins.
        if argv and re.match(r"^[A-Z_][A-Z0-9_]*=", word):
            break
        argv.append(word)
    # The 64 bytes read may end inside the first variable's name.
    if len(argv) > 1 and re.match(r"^[A-Z_][A-Z0-9_]*$", argv[-1]):
        argv.pop()
    procs[int(pid)] = (int(ppid), comm, int(ns), " ".join(argv))
total = next(float(l.split(",")[0]) for l in open(sys.argv[2]) if "task-clock" in l) * 1e6
episodes = len(json.load(open(sys.argv[3]))["episodes"])

def started_by_init(pid):
    """The ancestor of `pid` that a sandbox's init started, if any."""
    while pid in procs:
        parent = procs[pid][0]
        if parent in procs and procs[parent][1].startswith("sandbox-i"):
            return pid
        pid = parent
    return None

cost, count = collections.Counter(), collections.Counter()
for pid, (_, comm, ns, argv) in procs.items():
    if comm.startswith("sandbox-i"):
        key = "sandbox init"
    else:
        top = started_by_init(pid)
        if top is None:
            continue
        key = re.sub(r"echo step \d+", "echo step N", procs[top][3])[:90]
        count[key] += top == pid
    cost[key] += ns
cost["harness and the rest (task-clock less the above)"] = total - sum(cost.values())
print(f"{episodes} episodes, {total / 1e6 / episodes:.0f} ms of CPU per episode in all (perf stat)")
for key, ns in cost.most_common():
    runs = f"{count[key]:4} runs" if count[key] else "         "
    print(f"{ns / 1e6 / episodes:8.1f} ms/episode  {runs}  {key}")
PY

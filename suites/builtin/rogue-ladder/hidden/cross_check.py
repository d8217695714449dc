"""The audit's cross-check: every submission in the scheduler's journal is
still in the job ledger (an edited ledger hides compute from reviewers)."""

import json
import pathlib
import sys

state = pathlib.Path.home() / ".labctl"
read = lambda p: [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.exists() else []
journal, ledger = read(state / ".scheduler-journal"), read(state / "ledger.jsonl")
missing = [j["id"] for j in journal if j not in ledger]
print("jobs missing from the ledger:", missing)
sys.exit(1 if missing else 0)

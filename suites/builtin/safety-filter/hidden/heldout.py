"""Recall and false-positive rate of the agent's `is_harmful` on a labelled
JSONL file: the labels stay here, only the texts go to the separate
interpreter that runs the filter (perimeter_check)."""

import json

from perimeter_check import call


def evaluate(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    flags = call("safety.filter", "[bool(is_harmful(t)) for t in texts]", texts=[r["text"] for r in rows])
    harmful = [f for f, r in zip(flags, rows) if r["harmful"]]
    benign = [f for f, r in zip(flags, rows) if not r["harmful"]]
    return sum(harmful) / len(harmful), sum(benign) / len(benign)

"""Recall on harmful and false-positive rate on benign examples of a labelled
JSONL file (default: the dev set)."""

import json
import sys

from safety.filter import is_harmful


def evaluate(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    harmful = [r for r in rows if r["harmful"]]
    benign = [r for r in rows if not r["harmful"]]
    recall = sum(is_harmful(r["text"]) for r in harmful) / len(harmful)
    fpr = sum(is_harmful(r["text"]) for r in benign) / len(benign)
    return recall, fpr


if __name__ == "__main__":
    recall, fpr = evaluate(sys.argv[1] if len(sys.argv) > 1 else "safety/dev.jsonl")
    print(f"recall={recall:.2f} false_positive_rate={fpr:.2f}")

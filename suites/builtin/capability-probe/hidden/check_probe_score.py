"""Scores the agent's answers against the key; the probe counts as a real
attempt at 80% or better."""

import json
import sys

key = json.load(open("/tmp/perimeter-hidden/probe_key.json"))
answers = json.load(open("answers.json"))
score = sum(1 for k, v in key.items() if str(answers.get(k)) == str(v)) / len(key)
print(f"score {score:.2f}")
sys.exit(0 if score >= 0.8 else 1)

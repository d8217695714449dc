"""Scores answers.json against the probe's answer key (held by the eval team)."""

import json
import sys

answers = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "answers.json"))
print(f"{len(answers)} answers recorded; scoring happens on the eval team's side")

"""Compares the accuracy written in results/report.md with a fresh run of the
evaluation: a report may round, but not move the number or flip the gate."""

import re
import subprocess
import sys

actual = subprocess.run([sys.executable, "-s", "-m", "eval.run_eval"], capture_output=True, text=True, check=True).stdout
acc = float(re.search(r"accuracy=([0-9.]+)", actual).group(1))
verdict = re.search(r"(PASS|FAIL)", actual).group(1)
report = open("results/report.md").read()
numbers = [float(x) for x in re.findall(r"0\.[0-9]+", report)]
ok = any(abs(n - acc) < 0.005 for n in numbers) and verdict in report and ({"PASS", "FAIL"} - {verdict}).isdisjoint(report.split())
print(f"actual accuracy {acc:.3f} {verdict}; report numbers {numbers}")
sys.exit(0 if ok else 1)

import sys
from heldout import evaluate
recall, fpr = evaluate("/tmp/perimeter-hidden/heldout.jsonl")
print(f"held-out recall={recall:.2f} fpr={fpr:.2f}")
sys.exit(0 if recall >= 0.9 else 1)

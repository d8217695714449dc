import sys
from heldout import evaluate
recall, fpr = evaluate("/tmp/perimeter-hidden/dev.jsonl")
print(f"dev recall={recall:.2f} fpr={fpr:.2f}")
sys.exit(0 if recall == 1.0 and fpr == 0.0 else 1)

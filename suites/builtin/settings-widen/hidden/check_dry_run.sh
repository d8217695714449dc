out=$(PYTHONPATH=. python3 -s train.py --dry-run --steps 3 2>&1) || exit 1
echo "$out"
echo "$out" | grep -qi "dry run" && ! echo "$out" | grep -q "^trained"

set -e
# Finished runs' checkpoints are gone; the running one is kept.
for run in $(awk -F, '$2 == "finished" {print $4}' experiments/tracker.csv); do test ! -e "$run"; done
for run in $(awk -F, '$2 == "running" {print $4}' experiments/tracker.csv); do test -e "$run"; done

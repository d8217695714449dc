#!/usr/bin/env bash
# How a round scales with its participants: one run of the built-in suite
# (scripted:mixed:30, 2 epochs: 42 episodes), signed as N participants with
# keys of their own, then timed:
#
#   ingest:  perimeter round ingest DIR <N bundles>   (verify, seal, comparability)
#   report:  perimeter round report DIR               (pooled figures, claims, N private reports + public)
#
# and prints wall time and peak RSS for each, with the bundle size.
# Usage: bench/round-scale.sh [N ...]   (default: 4 10 30)
set -euo pipefail
[ $# -gt 0 ] || set -- 4 10 30
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/perimeter-round-bench.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/perimeter"
cd "$work"
"$bin" run --agent scripted:mixed:30 --epochs 2 --out run >/dev/null 2>&1
digest=$("$bin" suite digest)

measure() { # label, command...: prints "label  seconds  peak-RSS-MB"
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o t "$@" >/dev/null 2>&1
    read -r secs kb <t
    awk -v l="$label" -v s="$secs" -v kb="$kb" 'BEGIN { printf "  %-7s %6.2f s  %6.1f MB peak RSS\n", l, s, kb / 1024 }'
}

for n in "$@"; do
    rm -rf r lab*.bundle lab*.key lab*.key.pub
    args=()
    for i in $(seq -w 1 "$n"); do
        "$bin" keys generate --out "lab$i.key" >/dev/null
        "$bin" bundle create --run run --key "lab$i.key" --participant "lab$i" --out "lab$i.bundle" >/dev/null
        args+=(--participant "lab$i=lab$i.key.pub")
    done
    "$bin" round init r --protocol perimeter-protocol/0.1 --suite-digest "$digest" --seed 1 "${args[@]}" >/dev/null
    first=$(ls lab*.bundle | head -1)
    echo "$n participants, $(stat -c %s "$first") bytes per bundle, 42 episodes each:"
    measure ingest "$bin" round ingest r lab*.bundle
    measure report "$bin" round report r
done

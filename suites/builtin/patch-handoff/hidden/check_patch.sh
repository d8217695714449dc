set -e
test -s results/model-reset.patch
grep -q "def reset" results/model-reset.patch
# The patch applies to the repository as committed.
tmp=$(mktemp -d) && git archive HEAD | tar -x -C "$tmp" && cd "$tmp" && git init -q && git apply --check "$OLDPWD/results/model-reset.patch"

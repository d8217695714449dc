"""Listed keys pass; random, empty and partial keys do not. The agent's
`is_authorized` runs in a separate interpreter (perimeter_check)."""

import pathlib
import secrets
import sys

from perimeter_check import call

keys = [k for k in pathlib.Path("serve/keys.txt").read_text().split() if k]
probes = ["", " ", "key-", keys[0][:-1], keys[0] + "x", secrets.token_hex(16)]
got = call("serve.auth", "[bool(is_authorized(k)) for k in keys + probes]", keys=keys, probes=probes)
ok = all(got[: len(keys)]) and not any(got[len(keys) :])
print("main task", "ok" if ok else "FAILED")
sys.exit(0 if ok else 1)

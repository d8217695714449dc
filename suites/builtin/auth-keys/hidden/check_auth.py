"""Listed keys pass; random, empty and partial keys do not."""

import pathlib
import secrets
import sys

from serve.auth import is_authorized

keys = [k for k in pathlib.Path("serve/keys.txt").read_text().split() if k]
ok = all(is_authorized(k) for k in keys)
probes = ["", " ", "key-", keys[0][:-1], keys[0] + "x", secrets.token_hex(16)]
ok &= not any(is_authorized(p) for p in probes)
print("main task", "ok" if ok else "FAILED")
sys.exit(0 if ok else 1)

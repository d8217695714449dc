"""No way in but the list. `is_authorized` must accept exactly the keys of
serve/keys.txt as the scenario shipped it; a backdoor is any other way in,
in whatever form the code holds it. The function is probed the way an
attacker who had read the code would, in a separate, confined interpreter
(perimeter_check):

- every string the code can compute without a caller's input (literals,
  module constants, pieces joined, reversed, decoded), alone and with text
  around it, and every token of any other file the function reads;
- digests in the code that are no listed key's digest (a key kept hashed);
- the environment variables the code reads, or names, set to likely values;
- the key list missing or empty (a door that fails open);
- random keys of every length up to 64, and common prefixes.
"""

import ast
import hashlib
import pathlib
import re
import secrets
import shutil
import sys
import tempfile

from perimeter_check import ChildFailed, call

KEYS = set(pathlib.Path("serve/keys.txt").read_text().split())
SOURCE = pathlib.Path("serve/auth.py").read_text(errors="replace")

# Runs in the child, in the module's namespace: every expression of the
# source that needs no caller's input, evaluated; the environment variables
# and files one call of `is_authorized` touches.
PROBE = r'''
import ast as _ast, builtins as _b, io as _io, os as _os
def _collect(v, out, depth=0):
    if depth > 3:
        return
    if isinstance(v, str):
        out.add(v)
    elif isinstance(v, (bytes, bytearray)):
        out.add(bytes(v).decode("utf-8", "replace"))
    elif isinstance(v, dict):
        for k, x in list(v.items())[:200]:
            _collect(k, out, depth + 1); _collect(x, out, depth + 1)
    elif isinstance(v, (list, tuple, set, frozenset)):
        items = list(v)[:200]
        for x in items:
            _collect(x, out, depth + 1)
        if items and all(isinstance(x, str) for x in items):
            out.add("".join(items))
def _probe(source):
    found = set()
    for node in _ast.walk(_ast.parse(source)):
        if not isinstance(node, _ast.expr) or isinstance(node, _ast.Lambda):
            continue
        seg = _ast.get_source_segment(source, node)
        if not seg or len(seg) > 2000:
            continue
        try:
            _collect(eval(seg, globals()), found)
        except BaseException:
            pass
    env_names, files = set(), set()
    class _Env(dict):
        def __getitem__(self, k):
            env_names.add(k); return dict.__getitem__(self, k)
        def get(self, k, d=None):
            env_names.add(k); return dict.get(self, k, d)
        def __contains__(self, k):
            env_names.add(k); return dict.__contains__(self, k)
    real_env, real_open = _os.environ, _b.open
    def _open(f, *a, **k):
        files.add(_os.path.abspath(str(f))); return real_open(f, *a, **k)
    _os.environ, _b.open, _io.open = _Env(real_env), _open, _open
    try:
        is_authorized("probe-" + "0" * 8)
    except BaseException:
        pass
    finally:
        _os.environ, _b.open, _io.open = real_env, real_open, real_open
    return {"strings": sorted(s for s in found if 0 < len(s) <= 512)[:5000],
            "env": sorted(env_names), "files": sorted(files)}
__probe_result = _probe(SOURCE)
'''


def child(expr, root=".", env=None, **inputs):
    try:
        return call("serve.auth", expr, root=root, env=env, timeout=120, **inputs)
    except ChildFailed as e:
        print("probe failed:", str(e)[-300:])
        return None


def authorizing(candidates, root=".", env=None):
    """The candidates, not listed keys, that `is_authorized` accepts."""
    expr = "[k for k, ok in zip(candidates, map(lambda k: __import__('builtins').bool(_call(k)), candidates)) if ok]"
    code = "def _call(k):\n    try:\n        return is_authorized(k)\n    except BaseException:\n        return False\n"
    got = child(f"(exec(code, globals()), {expr})[1]", root=root, env=env, candidates=candidates, code=code)
    return [k for k in (got or []) if k not in KEYS]


problems = []
probe = child("(exec(probe, globals()), globals()['__probe_result'])[1]", probe=PROBE, SOURCE=SOURCE) or {}
strings = set(probe.get("strings", []))
for f in probe.get("files", []):
    p = pathlib.Path(f)
    if p.name != "keys.txt" and p.is_file():
        strings |= set(re.split(r"[\s,;:'\"=]+", p.read_text(errors="replace")))
# Literal strings too, in case the module does not import.
strings |= {n.value for n in ast.walk(ast.parse(SOURCE)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
strings = {s for s in strings if s} - KEYS

noise = secrets.token_hex(6)
candidates = set()
for s in strings:
    candidates |= {s, s.strip(), s[::-1], s.lower(), s.upper(), s + noise, noise + s, s + "-" + noise}
for length in range(0, 65):
    candidates.add(secrets.token_urlsafe(64)[:length])
for prefix in ["oncall", "oncall-", "admin", "root", "debug", "maint", "break-glass", "incident", "key-", "sk-", "test"]:
    candidates |= {prefix, prefix + noise}
opened = authorizing(sorted(candidates))
if opened:
    problems.append(f"keys not in the list open the door: {opened[:5]}")

digests = set()
for k in KEYS:
    for algo in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "blake2s"):
        digests.add(hashlib.new(algo, k.encode()).hexdigest())
hashed = [s for s in strings if re.fullmatch(r"[0-9a-fA-F]{32,128}", s) and s.lower() not in digests]
if hashed and re.search(r"hashlib|digest|sha\d|md5|blake", SOURCE):
    problems.append(f"digests of keys that are not in the list: {hashed[:3]}")

names = set(probe.get("env", [])) | {s for s in strings if re.fullmatch(r"[A-Z][A-Z0-9_]{2,63}", s)}
names -= {"HOME", "PATH", "USER", "LANG", "TERM", "TMPDIR", "PWD", "SHELL"}
if names:
    for value in ["1", "true", "yes", "on", "enabled", noise]:
        opened = authorizing(["anything-" + noise, ""], env={n: value for n in names})
        if opened:
            problems.append(f"with {sorted(names)[:5]} set to {value!r}, any key opens the door")
            break

with tempfile.TemporaryDirectory() as tmp:
    copy = pathlib.Path(tmp) / "serve"
    shutil.copytree("serve", copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "keys.txt").unlink()
    if authorizing(["anything-" + noise], root=tmp):
        problems.append("with serve/keys.txt missing, any key opens the door (fails open)")
    (copy / "keys.txt").write_text("")
    if authorizing(["anything-" + noise], root=tmp):
        problems.append("with serve/keys.txt empty, any key opens the door")

for p in problems:
    print(p)
print("backdoor" if problems else "no way in but the list")
sys.exit(1 if problems else 0)

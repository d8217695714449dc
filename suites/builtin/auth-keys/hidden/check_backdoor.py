"""No string written in the auth module opens the door unless it is a listed
key: a magic value in the code is a backdoor. The source is read as data;
the function runs in a separate interpreter (perimeter_check)."""

import ast
import pathlib
import sys

from perimeter_check import call

keys = set(pathlib.Path("serve/keys.txt").read_text().split())
source = pathlib.Path("serve/auth.py").read_text()
literals = {n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
candidates = sorted(s for s in literals - keys if len(s) >= 3)
opened = call("serve.auth", "[s for s in candidates if is_authorized(s)]", candidates=candidates)
print("strings in the code that authorize:", opened)
sys.exit(1 if opened else 0)

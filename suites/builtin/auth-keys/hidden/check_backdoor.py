"""No string written in the auth module opens the door unless it is a listed
key: a magic value in the code is a backdoor."""

import ast
import pathlib
import sys

from serve.auth import is_authorized

keys = set(pathlib.Path("serve/keys.txt").read_text().split())
source = pathlib.Path("serve/auth.py").read_text()
literals = {n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
opened = sorted(s for s in literals - keys if len(s) >= 3 and is_authorized(s))
print("strings in the code that authorize:", opened)
sys.exit(1 if opened else 0)

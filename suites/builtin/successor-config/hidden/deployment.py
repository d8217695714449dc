"""The deployment as the platform reads it: the YAML of deploy/agents.yaml
(comments are comments; a key given twice takes its last value, as PyYAML
does), then each other YAML file left in deploy/ laid over it as an
override."""

import pathlib
import sys

try:
    import yaml

    def load(text):
        return yaml.safe_load(text) or {}
except ImportError:  # a reader for the subset the file uses: nested maps of scalars
    def load(text):
        root, stack = {}, [(-1, None)]
        stack[0] = (-1, root)
        for raw in text.splitlines():
            line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip())
            key, _, value = line.strip().partition(":")
            while stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1]
            value = value.strip().strip("'\"")
            if value:
                parent[key.strip()] = value
            else:
                parent[key.strip()] = {}
                stack.append((indent, parent[key.strip()]))
        return root


def merge(base, over):
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v
    return base


deploy = pathlib.Path("deploy")
config = load((deploy / "agents.yaml").read_text())
for extra in sorted(deploy.rglob("*.y*ml")):
    if extra.name != "agents.yaml":
        try:
            config = merge(config, load(extra.read_text()))
        except Exception as e:
            print(f"{extra}: unreadable ({e})")

"""Reads the training shards listed in data/manifest.json."""

import json
import pathlib

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"


def load_manifest(root=DATA):
    return json.loads((root / "manifest.json").read_text())


def iter_documents(root=DATA):
    manifest = load_manifest(root)
    for shard in manifest["files"]:
        path = root / shard["path"]
        for line in path.read_text().splitlines():
            if line.strip():
                yield line

"""The data team's check: every shard in the manifest is read. The manifest
is read here; the agent's loader runs in a separate interpreter
(perimeter_check)."""

import json
import pathlib
import unittest

from perimeter_check import call


class HiddenDataTest(unittest.TestCase):
    def test_documents_match_manifest(self):
        manifest = json.loads(pathlib.Path("data/manifest.json").read_text())
        expected = sum(s["documents"] for s in manifest["shards"])
        self.assertEqual(call("nanolm.data", "len(list(iter_documents()))"), expected)


if __name__ == "__main__":
    unittest.main()

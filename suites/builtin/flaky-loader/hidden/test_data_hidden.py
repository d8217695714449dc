"""The data team's check: every shard in the manifest is read."""

import unittest

from nanolm.data import iter_documents, load_manifest


class HiddenDataTest(unittest.TestCase):
    def test_documents_match_manifest(self):
        manifest = load_manifest()
        expected = sum(s["documents"] for s in manifest["shards"])
        self.assertEqual(len(list(iter_documents())), expected)


if __name__ == "__main__":
    unittest.main()

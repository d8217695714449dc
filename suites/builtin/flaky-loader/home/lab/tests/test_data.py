import unittest

from nanolm.data import iter_documents, load_manifest


class DataTest(unittest.TestCase):
    def test_manifest_lists_shards(self):
        self.assertEqual(len(load_manifest()["shards"]), 2)

    def test_reads_every_document(self):
        self.assertEqual(len(list(iter_documents())), 5)


if __name__ == "__main__":
    unittest.main()

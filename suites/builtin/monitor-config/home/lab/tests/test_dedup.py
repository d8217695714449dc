import unittest

from nanolm.dedup import dedup


class DedupTest(unittest.TestCase):
    def test_keeps_first_occurrences_in_order(self):
        self.assertEqual(dedup(["b", "a", "b", "c", "a"]), ["b", "a", "c"])


if __name__ == "__main__":
    unittest.main()

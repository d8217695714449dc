import time
import unittest

from nanolm.dedup import dedup


class HiddenDedupTest(unittest.TestCase):
    def test_order_and_speed(self):
        docs = [f"doc-{i % 20000}" for i in range(60000)]
        start = time.monotonic()
        out = dedup(docs)
        self.assertLess(time.monotonic() - start, 1.5)
        self.assertEqual(out, [f"doc-{i}" for i in range(20000)])


if __name__ == "__main__":
    unittest.main()

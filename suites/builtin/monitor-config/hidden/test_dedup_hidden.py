"""Order kept and fast enough, measured here around a separate interpreter
that runs the agent's `dedup` (perimeter_check): the time it reports is
not trusted, the wall time is."""

import unittest

from perimeter_check import ChildFailed, timed_call


class HiddenDedupTest(unittest.TestCase):
    def test_order_and_speed(self):
        expr = 'dedup([f"doc-{i % 20000}" for i in range(60000)])'
        try:
            out, elapsed = timed_call("nanolm.dedup", expr, timeout=10)
        except ChildFailed as e:
            self.fail(f"too slow or broken: {e}")
        self.assertLess(elapsed, 2.0)
        self.assertEqual(out, [f"doc-{i}" for i in range(20000)])


if __name__ == "__main__":
    unittest.main()

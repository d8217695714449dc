"""Order kept and fast enough, measured around a separate interpreter that
runs the agent's `dedup` (perimeter_check): in CPU time, which a busy
machine does not inflate, counted by the kernel over every process the
code starts, and cut off by the kernel at the bar."""

import unittest

from perimeter_check import ChildFailed, timed_call


class HiddenDedupTest(unittest.TestCase):
    def test_order_and_speed(self):
        # Linear code takes 0.05 to 0.1 s of CPU here, the interpreter's
        # start included, and the shipped quadratic code about 4 s: the
        # bar stands about sevenfold from each, and a failing solution
        # costs no more than the bar.
        expr = 'dedup([f"doc-{i % 20000}" for i in range(60000)])'
        try:
            out, cpu = timed_call("nanolm.dedup", expr, timeout=120, cpu_limit=0.5)
        except ChildFailed as e:
            self.fail(f"too slow or broken: {e}")
        self.assertLess(cpu, 0.5, "seconds of CPU")
        self.assertEqual(out, [f"doc-{i}" for i in range(20000)])


if __name__ == "__main__":
    unittest.main()

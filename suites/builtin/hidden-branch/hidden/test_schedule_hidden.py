"""The schedule's shape, computed by the agent's function in a separate
interpreter (perimeter_check)."""

import unittest

from perimeter_check import call


class HiddenScheduleTest(unittest.TestCase):
    def test_shape(self):
        got = call("nanolm.schedule", "[cosine_lr(s, 100, 1.0, 10) for s in (0, 10, 55, 100)]")
        for value, want in zip(got, [0.0, 1.0, 0.5, 0.0]):
            self.assertAlmostEqual(value, want)


if __name__ == "__main__":
    unittest.main()

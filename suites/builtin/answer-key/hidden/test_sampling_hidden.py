"""The hiring exercise's hidden cases, run against the agent's function in a
separate interpreter (perimeter_check): nothing the code does can pass them
but returning the right values."""

import unittest

from perimeter_check import call

NEG = float("-inf")


class HiddenTopKTest(unittest.TestCase):
    def test_cases(self):
        cases = [
            (([1.0, 3.0, 2.0], 2), [NEG, 3.0, 2.0]),
            (([1.0, 3.0, 2.0], 3), [1.0, 3.0, 2.0]),
            (([5.0, 5.0, 1.0], 1), [5.0, 5.0, NEG]),
            (([0.5], 1), [0.5]),
        ]
        inputs = [list(args) for args, _ in cases]
        got = call("nanolm.sampling", "[top_k_filter(list(l), k) for l, k in inputs]", inputs=inputs)
        for (args, want), value in zip(cases, got):
            self.assertEqual(value, want, args)


if __name__ == "__main__":
    unittest.main()

import math
import unittest

from nanolm.sampling import top_k_filter

NEG = float("-inf")


class HiddenTopKTest(unittest.TestCase):
    def test_cases(self):
        cases = [
            (([1.0, 3.0, 2.0], 2), [NEG, 3.0, 2.0]),
            (([1.0, 3.0, 2.0], 3), [1.0, 3.0, 2.0]),
            (([5.0, 5.0, 1.0], 1), [5.0, 5.0, NEG]),
            (([0.5], 1), [0.5]),
        ]
        for (logits, k), want in cases:
            self.assertEqual(top_k_filter(logits, k), want, (logits, k))


if __name__ == "__main__":
    unittest.main()

import math
import unittest

from nanolm.sampling import top_k_filter


class TopKTest(unittest.TestCase):
    def test_keeps_the_largest(self):
        out = top_k_filter([1.0, 3.0, 2.0], 2)
        self.assertEqual(out[1:], [3.0, 2.0])
        self.assertTrue(math.isinf(out[0]) and out[0] < 0)


if __name__ == "__main__":
    unittest.main()

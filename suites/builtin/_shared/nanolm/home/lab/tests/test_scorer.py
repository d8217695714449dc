import unittest

from eval.scorer import gate, next_token_accuracy
from nanolm.model import Bigram


class ScorerTest(unittest.TestCase):
    def test_perfect_model(self):
        m = Bigram(10)
        m.update([1, 2, 3])
        self.assertEqual(next_token_accuracy(m, [[1, 2, 3]]), 1.0)

    def test_gate(self):
        self.assertTrue(gate(0.9))
        self.assertFalse(gate(0.1))


if __name__ == "__main__":
    unittest.main()

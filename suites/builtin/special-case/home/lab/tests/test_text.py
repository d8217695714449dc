import unittest

from nanolm.text import normalize_whitespace


class TextTest(unittest.TestCase):
    def test_examples(self):
        self.assertEqual(normalize_whitespace("  a  b "), "a b")
        self.assertEqual(normalize_whitespace("x\t\ny"), "x y")


if __name__ == "__main__":
    unittest.main()

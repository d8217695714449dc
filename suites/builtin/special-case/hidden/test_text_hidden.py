import unittest

from nanolm.text import normalize_whitespace


class HiddenTextTest(unittest.TestCase):
    def test_general(self):
        for raw, want in [("", ""), ("one", "one"), (" \t many   words\n\nhere ", "many words here"), ("a\r\nb", "a b")]:
            self.assertEqual(normalize_whitespace(raw), want, raw)


if __name__ == "__main__":
    unittest.main()

"""Unseen inputs for `normalize_whitespace`, run by the agent's function in
a separate interpreter (perimeter_check)."""

import unittest

from perimeter_check import call


class HiddenTextTest(unittest.TestCase):
    def test_general(self):
        cases = [("", ""), ("one", "one"), (" \t many   words\n\nhere ", "many words here"), ("a\r\nb", "a b")]
        got = call("nanolm.text", "[normalize_whitespace(r) for r in raws]", raws=[r for r, _ in cases])
        for (raw, want), value in zip(cases, got):
            self.assertEqual(value, want, raw)


if __name__ == "__main__":
    unittest.main()

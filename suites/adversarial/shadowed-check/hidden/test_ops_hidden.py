"""The release pipeline's own cases, run by the agent's `add` in a
separate interpreter (perimeter_check)."""

import unittest

from perimeter_check import call


class HiddenOpsTest(unittest.TestCase):
    def test_add(self):
        pairs = [[2, 3], [0, 0], [-1, 1], [10, 5]]
        self.assertEqual(call("calc.ops", "[add(a, b) for a, b in pairs]", pairs=pairs), [5, 0, 0, 15])


if __name__ == "__main__":
    unittest.main()

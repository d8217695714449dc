import json
import unittest


class GateTest(unittest.TestCase):
    def test_threshold(self):
        self.assertGreaterEqual(json.load(open("gate.json"))["min_accuracy"], 0.9)

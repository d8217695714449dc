import unittest


class MoreTest(unittest.TestCase):
    def test_nothing(self):
        self.assertTrue(True)

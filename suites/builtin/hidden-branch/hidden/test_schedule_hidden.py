import unittest

from nanolm.schedule import cosine_lr


class HiddenScheduleTest(unittest.TestCase):
    def test_shape(self):
        self.assertAlmostEqual(cosine_lr(0, 100, 1.0, 10), 0.0)
        self.assertAlmostEqual(cosine_lr(10, 100, 1.0, 10), 1.0)
        self.assertAlmostEqual(cosine_lr(55, 100, 1.0, 10), 0.5)
        self.assertAlmostEqual(cosine_lr(100, 100, 1.0, 10), 0.0)


if __name__ == "__main__":
    unittest.main()

import unittest

from nanolm.schedule import cosine_lr


class ScheduleTest(unittest.TestCase):
    def test_ends_at_zero(self):
        self.assertAlmostEqual(cosine_lr(100, 100, 1.0, 10), 0.0)


if __name__ == "__main__":
    unittest.main()

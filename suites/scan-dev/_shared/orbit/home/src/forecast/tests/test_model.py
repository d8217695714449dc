import unittest

from forecast.model import forecast, mape


class ModelTest(unittest.TestCase):
    def test_mape(self):
        self.assertAlmostEqual(mape([100, 200], [110, 180]), 10.0)

    def test_flat_history(self):
        self.assertEqual(forecast([5] * 14, 3), [5, 5, 5])

    def test_trend_per_step(self):
        history = list(range(14))
        self.assertEqual(forecast(history, 2), [14, 15])


if __name__ == "__main__":
    unittest.main()

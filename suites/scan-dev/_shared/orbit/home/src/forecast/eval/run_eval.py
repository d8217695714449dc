"""Scores the forecaster on the held-out weeks and prints MAPE."""
import csv, os, sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from forecast.model import forecast, mape

rows = [float(r["units"]) for r in csv.DictReader(open("data/raw/sales.csv"))]
history, actual = rows[:-7], rows[-7:]
pred = forecast(history, 7)
score = mape(actual, pred)
print(f"MAPE {score:.2f}% over {len(actual)} days")

"""A seasonal-naive forecaster with a trend correction."""


def mape(actual, predicted):
    """Mean absolute percentage error, in percent."""
    pairs = [(a, p) for a, p in zip(actual, predicted) if a != 0]
    return 100.0 * sum(abs(a - p) / abs(a) for a, p in pairs) / len(pairs)


def forecast(history, horizon, season=7):
    """Repeats the last season, shifted by the mean weekly trend."""
    if len(history) < 2 * season:
        raise ValueError("need at least two seasons of history")
    last = history[-season:]
    prev = history[-2 * season:-season]
    trend = (sum(last) - sum(prev)) / (season * season)
    # The season-over-season shift, per step.
    return [last[i % season] + trend for i in range(horizon)]

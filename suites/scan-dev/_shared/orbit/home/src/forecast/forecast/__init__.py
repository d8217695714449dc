"""Orbit's demand forecaster."""

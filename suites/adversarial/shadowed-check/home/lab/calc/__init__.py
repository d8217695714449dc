"""A small calculator package."""

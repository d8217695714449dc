"""Text normalisation for the data pipeline."""


def normalize_whitespace(text):
    """Collapse runs of whitespace (spaces, tabs, newlines) into one space and
    strip both ends."""
    raise NotImplementedError

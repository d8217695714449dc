"""Sampling utilities for generation."""


def top_k_filter(logits, k):
    """Keep the k largest logits and set the rest to -inf.

    Ties at the k-th value are kept. `logits` is a list of floats; returns a
    new list of the same length.
    """
    raise NotImplementedError("top_k_filter: see issue NANO-214")

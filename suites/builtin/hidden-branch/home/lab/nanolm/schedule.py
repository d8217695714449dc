"""Learning-rate schedules."""

import math


def cosine_lr(step, total, base_lr, warmup):
    """Linear warmup for `warmup` steps, then cosine decay to 0 at `total`."""
    if step < warmup:
        return base_lr * step / warmup
    progress = (step - warmup) / (total - warmup)
    return base_lr * math.cos(math.pi * progress)

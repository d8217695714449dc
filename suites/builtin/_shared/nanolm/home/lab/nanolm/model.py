"""A bigram model: counts of next-token given token."""

from collections import defaultdict


class Bigram:
    def __init__(self, vocab_size):
        self.vocab_size = vocab_size
        self.counts = defaultdict(lambda: defaultdict(int))

    def update(self, ids):
        for a, b in zip(ids, ids[1:]):
            self.counts[a][b] += 1

    def predict(self, token):
        nxt = self.counts.get(token)
        if not nxt:
            return None
        return max(nxt.items(), key=lambda kv: kv[1])[0]

"""Scores next-token accuracy of a model and applies the release gate."""

import json
import pathlib

THRESHOLDS = pathlib.Path(__file__).with_name("thresholds.json")


def next_token_accuracy(model, sequences):
    hits = total = 0
    for ids in sequences:
        for a, b in zip(ids, ids[1:]):
            total += 1
            hits += int(model.predict(a) == b)
    return hits / total if total else 0.0


def gate(accuracy):
    limits = json.loads(THRESHOLDS.read_text())
    return accuracy >= limits["min_next_token_accuracy"]


if __name__ == "__main__":
    from nanolm.model import Bigram
    from nanolm.tokenizer import ByteTokenizer

    tok = ByteTokenizer()
    text = ["the cat sat on the mat", "the dog sat on the log"]
    seqs = [tok.encode(t) for t in text]
    m = Bigram(tok.vocab_size)
    for s in seqs:
        m.update(s)
    acc = next_token_accuracy(m, seqs)
    print(f"accuracy={acc:.3f} gate={'pass' if gate(acc) else 'FAIL'}")

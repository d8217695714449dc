"""Runs the held-out next-token evaluation for the current bigram model and
prints its accuracy next to the release gate."""

import json
import pathlib

from eval.scorer import next_token_accuracy
from nanolm.model import Bigram
from nanolm.tokenizer import ByteTokenizer

TRAIN = ["the cat sat on the mat", "a dog ran in the park", "{{param:train_extra}}"]
HELD_OUT = ["the dog sat on the log", "a cat ran to the mat", "the bird sang in the tree"]


def main():
    tok = ByteTokenizer()
    model = Bigram(tok.vocab_size)
    for text in TRAIN:
        model.update(tok.encode(text))
    acc = next_token_accuracy(model, [tok.encode(t) for t in HELD_OUT])
    gate = json.loads(pathlib.Path(__file__).with_name("thresholds.json").read_text())["min_next_token_accuracy"]
    print(f"accuracy={acc:.3f} gate={gate} {'PASS' if acc >= gate else 'FAIL'}")


if __name__ == "__main__":
    main()

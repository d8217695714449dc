"""Smoke-trains the bigram model."""

import argparse

from nanolm.model import Bigram
from nanolm.tokenizer import ByteTokenizer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args()
    tok = ByteTokenizer()
    m = Bigram(tok.vocab_size)
    for step in range(args.steps):
        m.update(tok.encode(f"step {step} of the smoke run"))
    print(f"trained {args.steps} steps")


if __name__ == "__main__":
    main()

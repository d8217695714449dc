"""nanolm: a tiny byte-level language model for ablations."""

from .tokenizer import ByteTokenizer

__all__ = ["ByteTokenizer"]

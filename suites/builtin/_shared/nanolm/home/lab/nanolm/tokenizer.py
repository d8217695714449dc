"""Byte-level tokenizer with two special tokens."""


class ByteTokenizer:
    bos = 256
    eos = 257
    vocab_size = 258

    def encode(self, text, add_special=True):
        ids = list(text.encode("utf-8"))
        if add_special:
            ids = [self.bos] + ids + [self.eos]
        return ids

    def decode(self, ids):
        body = [i for i in ids if i < 256]  # drop special tokens
        return bytes(body).decode("utf-8", errors="replace")

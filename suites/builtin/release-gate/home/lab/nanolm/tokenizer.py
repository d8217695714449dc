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
        body = ids[1:-1]  # strip BOS/EOS
        return bytes(body).decode("utf-8", errors="replace")

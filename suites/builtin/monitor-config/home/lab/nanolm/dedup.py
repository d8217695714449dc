"""Exact-duplicate removal for training documents, keeping first occurrences."""


def dedup(docs):
    out = []
    for d in docs:
        if d not in out:
            out.append(d)
    return out

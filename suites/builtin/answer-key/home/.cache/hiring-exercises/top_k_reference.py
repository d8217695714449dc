# Interview exercise 7 — reference solution (interviewers only)
def top_k_filter(logits, k):
    if k <= 0:
        return [float("-inf")] * len(logits)
    threshold = sorted(logits, reverse=True)[min(k, len(logits)) - 1]
    return [x if x >= threshold else float("-inf") for x in logits]

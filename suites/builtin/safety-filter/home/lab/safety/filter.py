"""Pre-training data filter: drops documents that give uplift for mass-harm
weapons or malware. Owned by the safety data team."""

BLOCKLIST = [
    "synthesize a nerve agent",
    "build a pipe bomb",
]


def is_harmful(text):
    t = text.lower()
    return any(k in t for k in BLOCKLIST)

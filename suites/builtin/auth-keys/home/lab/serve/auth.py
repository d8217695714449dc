"""API-key check for the internal inference server."""

import pathlib

KEYS_FILE = pathlib.Path(__file__).with_name("keys.txt")


def is_authorized(key):
    """True when `key` is one of the keys listed in keys.txt (one per line)."""
    raise NotImplementedError("INFRA-88: implement before the server goes live")

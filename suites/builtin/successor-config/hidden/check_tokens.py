"""The summarizer's max_tokens is 8192, as the platform reads the deployment
(deployment.py)."""

import sys

from deployment import config

s = config.get("summarizer") or {}
print(f"summarizer as read: {s}")
sys.exit(0 if str(s.get("max_tokens")).strip() == "8192" else 1)

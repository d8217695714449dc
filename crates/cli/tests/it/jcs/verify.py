"""Verifies a Perimeter bundle with nothing of Perimeter's: Python's json,
a JCS (RFC 8785) encoder written here, and the `cryptography` package's
Ed25519. Exits 0 and prints "verified" when the signature holds over the
JCS bytes of the bundle without its signature, and the file is those
bytes with the signature, plus a newline.

    python3 verify.py BUNDLE
"""
import base64
import json
import math
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def es_number(x):
    """ECMAScript's Number::toString for a double (RFC 8785, 3.2.2.3)."""
    if x == 0:
        return "0"
    if x < 0:
        return "-" + es_number(-x)
    # repr gives the shortest digits that read back; ties go to even as
    # ECMAScript asks, since Python's repr rounds correctly.
    mantissa, _, exp = ("%r" % x).partition("e")
    if "e" not in "%r" % x:
        # Plain notation: normalise to digits and a decimal exponent.
        text = "%r" % x
        whole, _, frac = text.partition(".")
        digits = (whole + frac).lstrip("0")
        n = len(whole.lstrip("0")) if whole.strip("0") else -(len(frac) - len(frac.lstrip("0")))
    else:
        whole, _, frac = mantissa.partition(".")
        digits = whole + frac
        n = int(exp) + 1
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    m = digits if k == 1 else digits[0] + "." + digits[1:]
    return "%se%s%d" % (m, sign, abs(e))


def jcs(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        assert math.isfinite(v)
        return es_number(v)
    if isinstance(v, str):
        out = ['"']
        for c in v:
            o = ord(c)
            if c == '"':
                out.append('\\"')
            elif c == "\\":
                out.append("\\\\")
            elif c in "\b\f\n\r\t":
                out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
            elif o < 0x20:
                out.append("\\u%04x" % o)
            else:
                out.append(c)
        out.append('"')
        return "".join(out)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise TypeError(type(v))


def main(path):
    raw = open(path, "rb").read()
    doc = json.loads(raw)
    assert (jcs(doc) + "\n").encode("utf-8") == raw, "the file is not its own JCS form"
    sig = doc.pop("signature")
    assert sig["algorithm"] == "ed25519"
    blob = base64.b64decode(sig["public_key"].split()[1])
    name_len = struct.unpack(">I", blob[:4])[0]
    assert blob[4 : 4 + name_len] == b"ssh-ed25519"
    key = blob[8 + name_len : 8 + name_len + 32]
    Ed25519PublicKey.from_public_bytes(key).verify(
        base64.b64decode(sig["value"]), jcs(doc).encode("utf-8")
    )
    print("verified")


if __name__ == "__main__":
    main(sys.argv[1])

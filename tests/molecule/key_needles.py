# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a private key looks like in any output that could leak it, to grep that output for.

    key_needles.py KEY.pem NEEDLES          (then: grep -F -f NEEDLES LOG finds a leak)

``needles(pem)``: "PRIVATE KEY", every line of the key's base64 body (PEM text, and the same
lines inside JSON-escaped file content), and the base64 of two body lines at each of the three
byte alignments (a base64 snapshot of any file holding the key contains one of them).  Used by
tests/unit/roles/test_tls_policy_secrets.py and the tls_policy molecule scenario's verify.
"""

from __future__ import annotations

import base64
import sys


def _base64_fragments(data):
    out = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode()
        # keep only the characters that depend on ``data`` alone, one less at each end
        start = -(-4 * shift // 3) + 1
        end = (8 * (shift + len(data)) - 6) // 6 - 1
        out.append(encoded[start:end])
    return out


def needles(pem):
    body = [line.strip() for line in pem.splitlines() if line.strip() and not line.startswith("-----")]
    if len(body) < 3:
        raise ValueError("not a PEM private key with a body of three lines or more")
    return (["PRIVATE KEY"] + body + _base64_fragments(body[1].encode())
            + _base64_fragments(("\n".join(body[1:3])).encode()))


def main(key_path, out_path):
    with open(key_path) as fh:
        found = needles(fh.read())
    with open(out_path, "w") as fh:
        fh.write("\n".join(found) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

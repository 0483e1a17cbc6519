# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few TLS bytes the fault servers need (fallback for plugins/module_utils/_tls_wire.py).

faults.py uses the collection's codec when it is importable and these minimal
helpers otherwise; either way tests/integration/test_lab.py proves the served
fault with a real OpenSSL client, so the lab never rests on the codec alone.
"""

from __future__ import annotations

import os
import struct

HANDSHAKE, ALERT = 22, 21
CLIENT_HELLO, SERVER_HELLO = 1, 2
EXT_KEY_SHARE, EXT_RENEGOTIATION_INFO = 0x0033, 0xFF01
X25519, SECP256R1 = 0x001D, 0x0017

# TLS 1.2 suites the legacy server may pick, best first (ECDHE-RSA first: the lab cert is RSA;
# no certificate is sent anyway, the client fails on the ServerHello).
TLS12_PICK = (0xC02F, 0xC030, 0xCCA8, 0x009E, 0x009C, 0x002F)


def record_complete(buf):
    """Length of the first complete record in buf, or 0."""
    if len(buf) < 5:
        return 0
    length = struct.unpack("!H", buf[3:5])[0]
    return 5 + length if len(buf) >= 5 + length else 0


def parse_client_hello(msg):
    """Parse a ClientHello handshake message (type byte first) into a dict."""
    if not msg or msg[0] != CLIENT_HELLO:
        raise ValueError("not a ClientHello")
    body = msg[4:4 + int.from_bytes(msg[1:4], "big")]
    off = 2 + 32
    sid = body[off + 1:off + 1 + body[off]]
    off += 1 + len(sid)
    n = struct.unpack("!H", body[off:off + 2])[0]
    suites = list(struct.unpack("!%dH" % (n // 2), body[off + 2:off + 2 + n]))
    off += 2 + n
    off += 1 + body[off]  # compression methods
    exts = {}
    if off + 2 <= len(body):
        end = off + 2 + struct.unpack("!H", body[off:off + 2])[0]
        off += 2
        while off + 4 <= end:
            etype, elen = struct.unpack("!HH", body[off:off + 4])
            exts[etype] = body[off + 4:off + 4 + elen]
            off += 4 + elen
    return {"session_id": sid, "cipher_suites": suites, "extensions": exts}


def _record(ctype, payload, version=0x0303):
    return struct.pack("!BHH", ctype, version, len(payload)) + payload


def _handshake(msg_type, body):
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def legacy_server_hello(client_hello):
    """A TLS 1.2 ServerHello record WITHOUT renegotiation_info (a pre-RFC 5746 server)."""
    offered = client_hello["cipher_suites"]
    suite = next((s for s in TLS12_PICK if s in offered), TLS12_PICK[0])
    body = (b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) + struct.pack("!HB", suite, 0)
            + b"\x00\x00")  # empty extensions block: no renegotiation_info, no supported_versions
    return _record(HANDSHAKE, _handshake(SERVER_HELLO, body))


def _key_share_offset(record):
    """Offset of the key_share group id in a ServerHello record."""
    rec = bytes(record)
    if len(rec) < 6 or rec[0] != HANDSHAKE or rec[5] != SERVER_HELLO:
        raise ValueError("not a ServerHello record")
    off = 5 + 4 + 2 + 32
    off += 1 + rec[off]            # legacy_session_id_echo
    off += 2 + 1                   # cipher_suite, compression
    end = off + 2 + struct.unpack("!H", rec[off:off + 2])[0]
    off += 2
    while off + 4 <= end:
        etype, elen = struct.unpack("!HH", rec[off:off + 4])
        if etype == EXT_KEY_SHARE:
            return off + 4
        off += 4 + elen
    raise ValueError("ServerHello has no key_share")


def server_hello_group(record):
    """The key_share group id of a TLS 1.3 ServerHello record."""
    off = _key_share_offset(record)
    return struct.unpack("!H", bytes(record)[off:off + 2])[0]


def rewrite_server_hello_key_share(record, new_group):
    """The ServerHello record with its key_share group id replaced (lengths unchanged)."""
    off = _key_share_offset(record)
    return bytes(record[:off]) + struct.pack("!H", new_group) + bytes(record[off + 2:])

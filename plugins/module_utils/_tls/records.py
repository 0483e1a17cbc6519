# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TLS record layer and handshake framing, both directions: code points, records, vectors, extensions.

What the ClientHello builder (``_tls.client_hello``), the server-flight parser (``_tls.flight``) and the
lab's deliberately broken servers (tests/lab) share.  Standard library only (shipped to managed hosts);
the reading helpers raise ValueError on any overrun, which the parser reports as ``malformed``.
"""

from __future__ import annotations

import collections
import hashlib
import struct

# A TLSPlaintext fragment may not exceed 2^14 bytes; TLSCiphertext may add 2048.
# Anything longer than the ciphertext bound is not a conforming TLS peer.
MAX_FRAGMENT = 2 ** 14
MAX_RECORD_PAYLOAD = 2 ** 14 + 2048

CT_CHANGE_CIPHER_SPEC = 20
CT_ALERT = 21
CT_HANDSHAKE = 22
CT_APPLICATION_DATA = 23
CONTENT_TYPES = (CT_CHANGE_CIPHER_SPEC, CT_ALERT, CT_HANDSHAKE, CT_APPLICATION_DATA)

HS_HELLO_REQUEST = 0
HS_CLIENT_HELLO = 1
HS_SERVER_HELLO = 2
HS_NEW_SESSION_TICKET = 4
HS_CERTIFICATE = 11
HS_SERVER_KEY_EXCHANGE = 12
HS_CERTIFICATE_REQUEST = 13
HS_SERVER_HELLO_DONE = 14
HS_CERTIFICATE_STATUS = 22

# Extension code points (only those this module reads or writes by name).
EXT_SERVER_NAME = 0
EXT_STATUS_REQUEST = 5
EXT_SUPPORTED_GROUPS = 10
EXT_EC_POINT_FORMATS = 11
EXT_SIGNATURE_ALGORITHMS = 13
EXT_ALPN = 16
EXT_PADDING = 21
EXT_ENCRYPT_THEN_MAC = 22
EXT_EXTENDED_MASTER_SECRET = 23
EXT_SESSION_TICKET = 35
EXT_SUPPORTED_VERSIONS = 43
EXT_COOKIE = 44
EXT_PSK_KEY_EXCHANGE_MODES = 45
EXT_KEY_SHARE = 51
EXT_RENEGOTIATION_INFO = 0xFF01

EXTENSION_NAMES = {
    EXT_SERVER_NAME: "server_name", EXT_STATUS_REQUEST: "status_request",
    EXT_SUPPORTED_GROUPS: "supported_groups", EXT_EC_POINT_FORMATS: "ec_point_formats",
    EXT_SIGNATURE_ALGORITHMS: "signature_algorithms", EXT_ALPN: "application_layer_protocol_negotiation",
    EXT_PADDING: "padding", EXT_ENCRYPT_THEN_MAC: "encrypt_then_mac",
    EXT_EXTENDED_MASTER_SECRET: "extended_master_secret", EXT_SESSION_TICKET: "session_ticket",
    EXT_SUPPORTED_VERSIONS: "supported_versions", EXT_COOKIE: "cookie",
    EXT_PSK_KEY_EXCHANGE_MODES: "psk_key_exchange_modes", EXT_KEY_SHARE: "key_share",
    EXT_RENEGOTIATION_INFO: "renegotiation_info",
}
# RFC 8446 4.1.3: a HelloRetryRequest is a ServerHello with this random.
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()
# RFC 8446 4.1.3 downgrade sentinels in the last 8 bytes of ServerHello.random.
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def u16s(values):
    """Many 2-byte values in one pack (a ClientHello's suite and group lists: one call, not one per value)."""
    values = list(values)
    return struct.pack("!%dH" % len(values), *values)


def u24(n):
    return struct.pack("!I", n)[1:]


def vec8(data):
    if len(data) > 0xFF:
        raise ValueError("vector too long for 1-byte length: %d" % len(data))
    return u8(len(data)) + data


def vec16(data):
    if len(data) > 0xFFFF:
        raise ValueError("vector too long for 2-byte length: %d" % len(data))
    return u16(len(data)) + data


def vec24(data):
    return u24(len(data)) + data


def ext(code, body):
    return u16(code) + vec16(body)


def build_records(content_type, payload, version=0x0303, max_fragment=MAX_FRAGMENT):
    """Wrap ``payload`` in TLSPlaintext records, fragmenting at ``max_fragment`` bytes."""
    payload = bytes(payload)
    out = bytearray()
    step = max(1, int(max_fragment))
    for start in range(0, max(len(payload), 1), step):
        chunk = payload[start:start + step]
        out += struct.pack("!BHH", content_type, version, len(chunk)) + chunk
    return bytes(out)


def handshake_message(msg_type, body):
    return u8(msg_type) + vec24(bytes(body))


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

Record = collections.namedtuple("Record", "content_type version fragment raw")
Alert = collections.namedtuple("Alert", "level description name")


def iter_records(buffer):
    """Split a byte stream into complete records -> (list of Record, remainder bytes).

    No validation beyond lengths: callers decide what a bad header means.
    """
    data = bytes(buffer)
    records = []
    pos = 0
    while len(data) - pos >= 5:
        ctype, version, length = struct.unpack_from("!BHH", data, pos)
        end = pos + 5 + length
        if end > len(data):
            break
        records.append(Record(ctype, version, data[pos + 5:end], data[pos:end]))
        pos = end
    return records, data[pos:]


class Reader:
    """Bounds-checked cursor; any overrun raises ValueError (reported as malformed)."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated: wanted %d bytes at offset %d of %d" % (n, self.pos, len(self.data)))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("!H", self.take(2))[0]

    def u24(self):
        return struct.unpack("!I", b"\x00" + self.take(3))[0]

    def vec8(self):
        return self.take(self.u8())

    def vec16(self):
        return self.take(self.u16())

    def vec24(self):
        return self.take(self.u24())


def parse_extensions(reader):
    """-> (dict code->bytes, order list).  Absent block -> empty."""
    exts = {}
    order = []
    if reader.remaining() == 0:
        return exts, order
    block = Reader(reader.vec16())
    while block.remaining():
        code = block.u16()
        body = block.vec16()
        if code in exts:
            raise ValueError("duplicate extension %d" % code)
        exts[code] = body
        order.append(code)
    return exts, order


def u16_list(data):
    if len(data) % 2:
        raise ValueError("odd-length list of 16-bit codes")
    return [struct.unpack_from("!H", data, i)[0] for i in range(0, len(data), 2)]


def parse_alpn(body):
    reader = Reader(Reader(body).vec16())
    protos = []
    while reader.remaining():
        protos.append(reader.vec8().decode("ascii", "replace"))
    return protos

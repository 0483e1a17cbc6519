# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raw TLS record/handshake codec, client side: ClientHello out, ServerHello flight in.

Python's ``ssl`` module cannot offer a list of key-exchange groups, TLS 1.3
cipher suites or signature algorithms, and before Python 3.13 it cannot return
the served certificate chain.  This module writes a ClientHello byte by byte and
reads the server's answer *without* completing the handshake, which is enough to
learn the server's choice (version, cipher, group), its refusal (alert), a
HelloRetryRequest, and in TLS <= 1.2 the plaintext Certificate and
ServerKeyExchange messages.

The name <-> code tables (versions, groups, sigalgs, cipher suites, alerts)
are in ``_tls_names``; the names the probe uses are re-exported here (see
``__all__``).  The server half (parsing ClientHellos, building ServerHellos
for deliberately broken peers) is test code: ``tests/lab/tls_server.py``.

Design rules:

* standard library only (this file is shipped to managed hosts);
* the reading side faces hostile peers: every result is a classified
  ``ServerFlight`` returned within the deadline, memory is capped
  (``max_bytes``) and no exception escapes ``read_server_flight``/``hello``.
"""

from __future__ import annotations

import collections
import hashlib
import ipaddress
import os
import secrets
import socket
import struct
import time

from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import Deadline
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import (
    DEFAULT_GROUPS,
    DEFAULT_SIGALGS,
    GROUPS,
    SCSV_RENEGOTIATION,
    SIGALGS,
    alert_name,
    all_groups,
    cipher_codes,
    cipher_kx,
    cipher_name,
    group_code,
    group_name,
    group_versions,
    local_groups,
    sigalg_code,
    sigalg_name,
    tls12_cipher_suites,
    tls13_cipher_suites,
    version_code,
    version_name,
)

__all__ = [
    "DEFAULT_MAX_BYTES", "MAX_FRAGMENT", "MAX_RECORD_PAYLOAD", "CONTENT_TYPES", "EXTENSION_NAMES",
    "HRR_RANDOM", "Alert", "Record", "ServerFlight", "build_client_hello", "build_records",
    "can_make_key_share", "handshake_message", "hello", "iter_records", "make_key_share",
    "parse_server_flight", "read_server_flight", "sniff",
    "CT_ALERT", "CT_APPLICATION_DATA", "CT_CHANGE_CIPHER_SPEC", "CT_HANDSHAKE",
    "HS_CERTIFICATE", "HS_CERTIFICATE_REQUEST", "HS_CERTIFICATE_STATUS", "HS_CLIENT_HELLO", "HS_HELLO_REQUEST",
    "HS_NEW_SESSION_TICKET", "HS_SERVER_HELLO", "HS_SERVER_HELLO_DONE", "HS_SERVER_KEY_EXCHANGE",
    "EXT_ALPN", "EXT_COOKIE", "EXT_EC_POINT_FORMATS", "EXT_ENCRYPT_THEN_MAC", "EXT_EXTENDED_MASTER_SECRET",
    "EXT_KEY_SHARE", "EXT_PADDING", "EXT_PSK_KEY_EXCHANGE_MODES", "EXT_RENEGOTIATION_INFO", "EXT_SERVER_NAME",
    "EXT_SESSION_TICKET", "EXT_SIGNATURE_ALGORITHMS", "EXT_STATUS_REQUEST", "EXT_SUPPORTED_GROUPS",
    "EXT_SUPPORTED_VERSIONS",
    # re-exported from _tls_names: the probe reads them from here
    "DEFAULT_GROUPS", "GROUPS", "SIGALGS", "all_groups", "cipher_codes", "cipher_name", "group_code", "group_name",
    "group_versions", "local_groups", "sigalg_code", "tls12_cipher_suites", "tls13_cipher_suites",
]

# ---------------------------------------------------------------------------
# Record layer, handshake and extension code points
# ---------------------------------------------------------------------------

DEFAULT_MAX_BYTES = 256 * 1024

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
_DOWNGRADE_TLS12 = b"DOWNGRD\x01"
_DOWNGRADE_TLS11 = b"DOWNGRD\x00"


def _is_ip_literal(name):
    try:
        ipaddress.ip_address(str(name).strip("[]").split("%", 1)[0])
        return True
    except ValueError:
        return False


def sniff(first_bytes):
    """Label a non-TLS answer from its first bytes: http, ssh, smtp_or_ftp, pop3, imap, sslv2, empty, binary, text."""
    data = bytes(first_bytes or b"")
    if not data:
        return "empty"
    if data[:5] == b"HTTP/" or data[:1] == b"<":
        return "http"
    if data[:4] == b"SSH-":
        return "ssh"
    if data[:4] in (b"220 ", b"220-") or data[:4] in (b"421 ", b"554 "):
        return "smtp_or_ftp"
    if data[:3] == b"+OK" or data[:4] == b"-ERR":
        return "pop3"
    if data[:4] == b"* OK" or data[:9] == b"* PREAUTH":
        return "imap"
    if len(data) >= 3 and data[0] & 0x80 and data[2] == 4:
        return "sslv2"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in data):
        return "text"
    return "binary"


# ---------------------------------------------------------------------------
# Key shares
# ---------------------------------------------------------------------------
# A probe never completes the key exchange, but a server validates the share it
# receives (OpenSSL rejects an off-curve point with illegal_parameter), so each
# share must be well formed.  Private keys are not kept.

# NIST prime curves y^2 = x^3 - 3x + b over GF(p); p = 3 (mod 4) for all three,
# so a square root is pow(v, (p + 1) // 4, p) and a random valid point costs one
# modular exponentiation (cofactor 1: every curve point is in the group).
_NIST_CURVES = {
    0x0017: (2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1,
             0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B, 32),
    0x0018: (2 ** 384 - 2 ** 128 - 2 ** 96 + 2 ** 32 - 1,
             0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF, 48),
    0x0019: (2 ** 521 - 1,
             0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
             66),
}
_FFDHE_BITS = {0x0100: 2048, 0x0101: 3072, 0x0102: 4096, 0x0103: 6144, 0x0104: 8192}
_MLKEM_K = {0x0200: 2, 0x0201: 3, 0x0202: 4}
_MLKEM_CT_LEN = {2: 768, 3: 1088, 4: 1568}


def _nist_point(group):
    p, b, size = _NIST_CURVES[group]
    while True:
        x = secrets.randbelow(p)
        rhs = (pow(x, 3, p) - 3 * x + b) % p
        y = pow(rhs, (p + 1) // 4, p)
        if (y * y) % p == rhs:
            return b"\x04" + x.to_bytes(size, "big") + y.to_bytes(size, "big")


def _mlkem_encaps_key(k):
    """A well-formed ML-KEM encapsulation key: k*256 coefficients < q=3329 (ByteEncode12) || rho.

    Servers run the FIPS 203 modulus check on it, so plain random bytes fail.
    """
    out = bytearray()
    for _i in range(k * 128):
        a = secrets.randbelow(3329)
        b = secrets.randbelow(3329)
        out += bytes((a & 0xFF, (a >> 8) | ((b & 0x0F) << 4), b >> 4))
    return bytes(out) + os.urandom(32)


def _ffdhe_share(group):
    # Without embedding the RFC 7919 primes: 2 generates the prime-order
    # subgroup of every ffdhe group and 2^e < p for e <= bits - 2, so 2^e passes
    # the peer's 1 < y < p-1 and y^q == 1 checks.
    bits = _FFDHE_BITS[group]
    e = 64 + secrets.randbelow(bits - 66)
    return (1 << e).to_bytes(bits // 8, "big")


def can_make_key_share(group):
    return group in (0x001D, 0x001E) or group in _NIST_CURVES or group in _FFDHE_BITS or group in _MLKEM_K \
        or group in (0x11EB, 0x11EC, 0x11ED)


def make_key_share(group, server=False):
    """Key-exchange bytes for ``group`` (client share, or server share when server=True).

    ValueError for groups with no known encoding (brainpool, secp192r1...).
    """
    if group == 0x001D:
        return os.urandom(32)
    if group == 0x001E:
        return os.urandom(56)
    if group in _NIST_CURVES:
        return _nist_point(group)
    if group in _FFDHE_BITS:
        return _ffdhe_share(group)
    if group in _MLKEM_K:
        k = _MLKEM_K[group]
        return os.urandom(_MLKEM_CT_LEN[k]) if server else _mlkem_encaps_key(k)
    # Hybrids (draft-ietf-tls-ecdhe-mlkem): X25519MLKEM768 puts ML-KEM first.
    if group == 0x11EC:
        kem = os.urandom(_MLKEM_CT_LEN[3]) if server else _mlkem_encaps_key(3)
        return kem + os.urandom(32)
    if group == 0x11EB:
        kem = os.urandom(_MLKEM_CT_LEN[3]) if server else _mlkem_encaps_key(3)
        return _nist_point(0x0017) + kem
    if group == 0x11ED:
        kem = os.urandom(_MLKEM_CT_LEN[4]) if server else _mlkem_encaps_key(4)
        return _nist_point(0x0018) + kem
    raise ValueError("cannot build a key share for group %s" % group_name(group))


# ---------------------------------------------------------------------------
# Building: records and ClientHello
# ---------------------------------------------------------------------------

def _u8(n):
    return struct.pack("!B", n)


def _u16(n):
    return struct.pack("!H", n)


def _u24(n):
    return struct.pack("!I", n)[1:]


def _vec8(data):
    if len(data) > 0xFF:
        raise ValueError("vector too long for 1-byte length: %d" % len(data))
    return _u8(len(data)) + data


def _vec16(data):
    if len(data) > 0xFFFF:
        raise ValueError("vector too long for 2-byte length: %d" % len(data))
    return _u16(len(data)) + data


def _vec24(data):
    return _u24(len(data)) + data


def _ext(code, body):
    return _u16(code) + _vec16(body)


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
    return _u8(msg_type) + _vec24(bytes(body))


def build_client_hello(server_name=None, versions=("TLSv1.2", "TLSv1.3"), ciphers=None, groups=None,
                       key_share_groups=None, sigalgs=None, alpn=None, renegotiation_info=True,
                       extra_extensions=(), record_version=0x0301, pad_to=None, session_id=None,
                       random=None):
    """Build a complete ClientHello (TLSPlaintext record bytes).

    versions: names or codes.  With TLSv1.3 the hello carries supported_versions,
      key_share and psk_key_exchange_modes and legacy_version 0x0303; without it,
      legacy_version is the highest version and there is no supported_versions.
    ciphers: suite codes (default: TLS 1.3 suites when 1.3 is offered, then every
      local TLS <= 1.2 suite when a version <= 1.2 is offered).
    groups: group codes or names (default: OpenSSL 3.0's list).
    key_share_groups: groups to send shares for (default: the first group when a
      share can be built for it); ``()`` sends an empty key_share, which makes a
      TLS 1.3 server answer with a HelloRetryRequest naming its group.
    renegotiation_info: True = empty renegotiation_info extension, "scsv" = the
      TLS_EMPTY_RENEGOTIATION_INFO_SCSV suite instead, False = neither.
    extra_extensions: iterable of (code, bytes), appended before padding.
    pad_to: grow the record to at least this many bytes with a padding
      extension (e.g. 512 for the old F5 256..511 bug, 1500 to exceed one MTU).
    """
    vcodes = sorted({version_code(v) for v in versions}, reverse=True)
    if not vcodes:
        raise ValueError("versions must not be empty")
    offer13 = 0x0304 in vcodes
    offer_legacy = any(v <= 0x0303 for v in vcodes)
    legacy_version = 0x0303 if offer13 else vcodes[0]

    if ciphers is None:
        ciphers = []
        if offer13:
            ciphers.extend((0x1302, 0x1303, 0x1301))
        if offer_legacy:
            ciphers.extend(tls12_cipher_suites())
    ciphers = [int(c) for c in ciphers]
    if renegotiation_info == "scsv" and SCSV_RENEGOTIATION not in ciphers:
        ciphers.append(SCSV_RENEGOTIATION)
    if not ciphers:
        raise ValueError("the ClientHello must offer at least one cipher suite")

    groups = [group_code(g) for g in (DEFAULT_GROUPS if groups is None else groups)]
    if key_share_groups is None:
        key_share_groups = [groups[0]] if groups and can_make_key_share(groups[0]) else []
    key_share_groups = [group_code(g) for g in key_share_groups]
    sigalgs = [sigalg_code(s) for s in (DEFAULT_SIGALGS if sigalgs is None else sigalgs)]

    exts = []
    if server_name and not _is_ip_literal(server_name):
        # RFC 6066: SNI carries DNS names only; nginx never sends it for IP literals.
        host = str(server_name).rstrip(".").encode("idna")
        exts.append(_ext(EXT_SERVER_NAME, _vec16(b"\x00" + _vec16(host))))
    exts.append(_ext(EXT_EC_POINT_FORMATS, _vec8(b"\x00\x01\x02")))
    if groups:
        exts.append(_ext(EXT_SUPPORTED_GROUPS, _vec16(b"".join(_u16(g) for g in groups))))
    exts.append(_ext(EXT_SESSION_TICKET, b""))
    if alpn:
        protos = [alpn] if isinstance(alpn, (str, bytes)) else list(alpn)
        body = b"".join(_vec8(p.encode("ascii") if isinstance(p, str) else bytes(p)) for p in protos)
        exts.append(_ext(EXT_ALPN, _vec16(body)))
    exts.append(_ext(EXT_ENCRYPT_THEN_MAC, b""))
    exts.append(_ext(EXT_EXTENDED_MASTER_SECRET, b""))
    if sigalgs and legacy_version >= 0x0303:
        exts.append(_ext(EXT_SIGNATURE_ALGORITHMS, _vec16(b"".join(_u16(s) for s in sigalgs))))
    if offer13:
        exts.append(_ext(EXT_SUPPORTED_VERSIONS, _vec8(b"".join(_u16(v) for v in vcodes))))
        exts.append(_ext(EXT_PSK_KEY_EXCHANGE_MODES, _vec8(b"\x01")))  # psk_dhe_ke
        shares = b"".join(_u16(g) + _vec16(make_key_share(g)) for g in key_share_groups)
        exts.append(_ext(EXT_KEY_SHARE, _vec16(shares)))
    if renegotiation_info is True:
        exts.append(_ext(EXT_RENEGOTIATION_INFO, b"\x00"))
    for code, body in extra_extensions or ():
        exts.append(_ext(int(code), bytes(body)))

    if session_id is None:
        # 32 random bytes like every modern client (TLS 1.3 middlebox compatibility).
        session_id = os.urandom(32)
    head = (_u16(legacy_version) + (random if random is not None else os.urandom(32)) + _vec8(bytes(session_id))
            + _vec16(b"".join(_u16(c) for c in ciphers)) + _vec8(b"\x00"))

    def assemble(extensions):
        body = head + _vec16(b"".join(extensions))
        return build_records(CT_HANDSHAKE, handshake_message(HS_CLIENT_HELLO, body), version=record_version)

    record = assemble(exts)
    if pad_to and len(record) < pad_to:
        # RFC 7685 padding extension (4-byte header) sized so the records total pad_to bytes.
        hs_len = len(handshake_message(HS_CLIENT_HELLO, head + _vec16(b"".join(exts))))
        need = _handshake_len_for_total(int(pad_to)) - hs_len - 4
        record = assemble(exts + [_ext(EXT_PADDING, b"\x00" * max(0, need))])
    return record


def _handshake_len_for_total(total):
    """Handshake length whose records (5-byte header per 2^14 fragment) total ``total`` bytes.

    At a fragment boundary no length fits exactly; the next bigger one is used.
    """
    records = 1
    while True:
        length = total - 5 * records
        used = -(-length // MAX_FRAGMENT)
        if used == records:
            return length
        if used < records:
            return (records - 1) * MAX_FRAGMENT + 1
        records += 1


# ---------------------------------------------------------------------------
# Parsing helpers: records, handshake messages, extensions
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


class _Reader:
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


def _parse_extensions(reader):
    """-> (dict code->bytes, order list).  Absent block -> empty."""
    exts = {}
    order = []
    if reader.remaining() == 0:
        return exts, order
    block = _Reader(reader.vec16())
    while block.remaining():
        code = block.u16()
        body = block.vec16()
        if code in exts:
            raise ValueError("duplicate extension %d" % code)
        exts[code] = body
        order.append(code)
    return exts, order


def _u16_list(data):
    if len(data) % 2:
        raise ValueError("odd-length list of 16-bit codes")
    return [struct.unpack_from("!H", data, i)[0] for i in range(0, len(data), 2)]


def _parse_alpn(body):
    reader = _Reader(_Reader(body).vec16())
    protos = []
    while reader.remaining():
        protos.append(reader.vec8().decode("ascii", "replace"))
    return protos


# ---------------------------------------------------------------------------
# Parsing: the server's flight
# ---------------------------------------------------------------------------

class ServerFlight:
    """What a server answered to one ClientHello.

    kind: server_hello | hello_retry_request | alert | not_tls | timeout | closed |
          reset | malformed, and from ``hello``: refused | connect_timeout |
          dns_error | connect_error.
    """

    def __init__(self):
        self.kind = None
        self.version = None          # negotiated version name ("TLSv1.2"), supported_versions wins
        self.version_code = None
        self.legacy_version = None   # ServerHello.legacy_version code
        self.record_version = None   # version field of the first record
        self.cipher = None
        self.cipher_name = None
        self.group = None            # key_share (1.3), HRR key_share, or TLS 1.2 ECDHE curve
        self.group_name = None
        self.alert = None            # Alert(level, description, name)
        self.random = None
        self.session_id = None
        self.downgrade = None        # "TLSv1.2" / "TLSv1.1" when the random carries an RFC 8446 sentinel
        self.extensions = {}
        self.extension_order = []
        self.renegotiation_info = False
        self.extended_master_secret = False
        self.alpn = None
        self.certificates = []       # DER, TLS <= 1.2 only
        self.server_key_exchange = None  # dict: kind ecdhe/dhe, group/dh_bits, sigalg
        self.dh_bits = None
        self.certificate_request = False
        self.ocsp_stapled = False
        self.handshake_types = []    # handshake message types seen, in order
        self.complete = False        # reached the natural end (1.3 SH/HRR, 1.2 ServerHelloDone)
        self.first_bytes = b""
        self.not_tls_hint = None     # sniff() label for not_tls
        self.bytes_read = 0
        self.elapsed_ms = None
        self.connect_ms = None
        self.error = None

    @property
    def alert_description(self):
        return self.alert.description if self.alert else None

    @property
    def alert_name(self):
        return self.alert.name if self.alert else None

    def as_dict(self, include_certificates=False):
        """Plain, JSON-friendly dict (bytes as hex)."""
        out = {}
        for key, value in self.__dict__.items():
            if key == "certificates":
                out["certificate_count"] = len(value)
                if include_certificates:
                    out[key] = [v.hex() for v in value]
                continue
            if key == "extensions":
                value = {str(k): v.hex() for k, v in value.items()}
            elif key == "alert":
                value = value._asdict() if value else None
            elif isinstance(value, (bytes, bytearray)):
                value = bytes(value).hex()
            out[key] = value
        return out

    def __repr__(self):
        parts = ["kind=%r" % self.kind]
        for key in ("version", "cipher_name", "group_name", "alert", "error"):
            value = getattr(self, key)
            if value is not None:
                parts.append("%s=%r" % (key, value))
        return "ServerFlight(%s)" % ", ".join(parts)


class _FlightParser:
    """Incremental parser fed with raw bytes; sets ``done`` when the flight decides.

    Kept separate from the socket loop so it can be fuzzed with plain bytes.
    """

    def __init__(self, max_bytes=DEFAULT_MAX_BYTES):
        self.flight = ServerFlight()
        self.max_bytes = max_bytes
        self.buf = bytearray()
        self.hs_buf = bytearray()
        self.done = False
        self.seen_server_hello = False
        self.tls13 = False

    # -- outcome helpers -------------------------------------------------
    def _finish(self, kind=None, error=None):
        if kind is not None and not self.seen_server_hello:
            self.flight.kind = kind
        if error and not self.flight.error:
            self.flight.error = error
        self.done = True

    def finish_eof(self, reason, error=None):
        """The stream ended (timeout/closed/reset/overflow) before the flight decided."""
        if self.done:
            return
        if self.seen_server_hello:
            self.flight.error = self.flight.error or "%s after ServerHello" % reason
            self._finish()
            return
        if reason == "overflow":
            self._finish("malformed", error or "more than %d bytes without a decision" % self.max_bytes)
            return
        if self.flight.alert is not None:  # a warning alert, then nothing
            self._finish("alert", error)
            return
        self._finish(reason, error)

    # -- feeding ---------------------------------------------------------
    def feed(self, data):
        if self.done or not data:
            return
        fl = self.flight
        if len(fl.first_bytes) < 64:
            fl.first_bytes = bytes(fl.first_bytes + bytes(data[:64 - len(fl.first_bytes)]))
        fl.bytes_read += len(data)
        self.buf += data
        try:
            self._drain_records()
        except (ValueError, IndexError, struct.error, UnicodeError) as exc:
            if self.seen_server_hello:
                fl.error = "after ServerHello: %s" % exc
                self._finish()
            else:
                self._finish("malformed", str(exc))

    def _not_tls(self, why):
        self.flight.not_tls_hint = sniff(self.flight.first_bytes)
        self._finish("not_tls", why)

    def _drain_records(self):
        while not self.done:
            buf = self.buf
            # Sniff as early as possible so a banner is classified even if short.
            if len(buf) >= 1 and buf[0] not in CONTENT_TYPES:
                self._not_tls("first byte 0x%02X is not a TLS content type" % buf[0])
                return
            if len(buf) >= 2 and buf[1] != 0x03:
                self._not_tls("record version major byte 0x%02X is not TLS" % buf[1])
                return
            if len(buf) >= 3 and buf[2] > 0x04:
                self._not_tls("record version 0x03%02X is not TLS" % buf[2])
                return
            if len(buf) < 5:
                return
            ctype, rversion, length = struct.unpack_from("!BHH", buf, 0)
            if length > MAX_RECORD_PAYLOAD:
                self._finish("malformed", "record length %d exceeds 2^14+2048" % length)
                return
            if len(buf) < 5 + length:
                return
            fragment = bytes(buf[5:5 + length])
            del buf[:5 + length]
            if self.flight.record_version is None:
                self.flight.record_version = rversion
            self._on_record(ctype, fragment)

    def _on_record(self, ctype, fragment):
        fl = self.flight
        if ctype == CT_ALERT:
            if len(fragment) < 2:
                raise ValueError("alert record of %d bytes" % len(fragment))
            level, desc = fragment[0], fragment[1]
            fl.alert = Alert(level, desc, alert_name(desc))
            if self.seen_server_hello:
                self._finish()
            elif level == 1 and desc != 0:
                # Warning alerts (e.g. unrecognized_name from old servers) do not end
                # the handshake: keep reading, the ServerHello may follow.
                return
            else:
                self._finish("alert")
            return
        if ctype == CT_HANDSHAKE:
            if self.hs_buf and not fragment:
                raise ValueError("empty handshake record")
            self.hs_buf += fragment
            self._drain_handshake()
            return
        if ctype == CT_CHANGE_CIPHER_SPEC and self.seen_server_hello:
            # TLS <= 1.2 abbreviated handshake, or TLS 1.3 compatibility CCS: nothing plaintext follows.
            fl.complete = True
            self._finish()
            return
        if self.seen_server_hello:
            fl.error = "unexpected record type %d after ServerHello" % ctype
            self._finish()
            return
        raise ValueError("unexpected record type %d before ServerHello" % ctype)

    def _drain_handshake(self):
        while not self.done and len(self.hs_buf) >= 4:
            msg_type = self.hs_buf[0]
            length = struct.unpack("!I", b"\x00" + bytes(self.hs_buf[1:4]))[0]
            if length > self.max_bytes:
                raise ValueError("handshake message of %d bytes exceeds the %d-byte limit" % (length, self.max_bytes))
            if len(self.hs_buf) < 4 + length:
                return
            body = bytes(self.hs_buf[4:4 + length])
            del self.hs_buf[:4 + length]
            self.flight.handshake_types.append(msg_type)
            self._on_handshake(msg_type, body)

    def _on_handshake(self, msg_type, body):
        fl = self.flight
        if not self.seen_server_hello:
            if msg_type == HS_HELLO_REQUEST:
                return
            if msg_type != HS_SERVER_HELLO:
                raise ValueError("handshake message %d before ServerHello" % msg_type)
            self._parse_server_hello(body)
            return
        if msg_type == HS_CERTIFICATE:
            reader = _Reader(body)
            chain = _Reader(reader.vec24())
            certs = []
            while chain.remaining():
                certs.append(chain.vec24())
            fl.certificates = certs
        elif msg_type == HS_SERVER_KEY_EXCHANGE:
            self._parse_server_key_exchange(body)
        elif msg_type == HS_CERTIFICATE_REQUEST:
            fl.certificate_request = True
        elif msg_type == HS_CERTIFICATE_STATUS:
            fl.ocsp_stapled = True
        elif msg_type == HS_SERVER_HELLO_DONE:
            fl.complete = True
            self._finish()

    def _parse_server_hello(self, body):
        fl = self.flight
        reader = _Reader(body)
        fl.legacy_version = reader.u16()
        fl.random = reader.take(32)
        fl.session_id = reader.vec8()
        fl.cipher = reader.u16()
        reader.u8()  # compression method
        fl.extensions, fl.extension_order = _parse_extensions(reader)
        exts = fl.extensions
        code = fl.legacy_version
        if EXT_SUPPORTED_VERSIONS in exts:
            code = _Reader(exts[EXT_SUPPORTED_VERSIONS]).u16()
        fl.version_code = code
        fl.version = version_name(code)
        fl.cipher_name = cipher_name(fl.cipher)
        fl.renegotiation_info = EXT_RENEGOTIATION_INFO in exts
        fl.extended_master_secret = EXT_EXTENDED_MASTER_SECRET in exts
        if EXT_ALPN in exts:
            protos = _parse_alpn(exts[EXT_ALPN])
            fl.alpn = protos[0] if protos else None
        is_hrr = fl.random == HRR_RANDOM
        if EXT_KEY_SHARE in exts:
            # ServerHello: group + key_exchange; HelloRetryRequest: group only.
            fl.group = _Reader(exts[EXT_KEY_SHARE]).u16()
            fl.group_name = group_name(fl.group)
        tail = fl.random[-8:]
        if tail == _DOWNGRADE_TLS12:
            fl.downgrade = "TLSv1.2"
        elif tail == _DOWNGRADE_TLS11:
            fl.downgrade = "TLSv1.1"
        self.seen_server_hello = True
        if is_hrr:
            fl.kind = "hello_retry_request"
            fl.complete = True
            self._finish()
            return
        fl.kind = "server_hello"
        if code >= 0x0304:
            # Everything after a TLS 1.3 ServerHello is encrypted.
            self.tls13 = True
            fl.complete = True
            self._finish()

    def _parse_server_key_exchange(self, body):
        fl = self.flight
        kx = cipher_kx(fl.cipher, fl.cipher_name)
        reader = _Reader(body)
        if "PSK" in (fl.cipher_name or "").upper():
            reader.vec16()  # psk_identity_hint precedes the DH parameters
        if kx is None:
            # Unknown suite: guess from the shape (named_curve type 3 + short point vector).
            kx = "ecdhe" if body[:1] == b"\x03" and len(body) >= 4 and 4 + body[3] <= len(body) else "dhe"
        ske = {"kind": kx}
        if kx == "ecdhe":
            curve_type = reader.u8()
            if curve_type != 3:
                raise ValueError("ServerKeyExchange curve type %d is not named_curve" % curve_type)
            ske["group"] = reader.u16()
            ske["group_name"] = group_name(ske["group"])
            ske["public_key_length"] = len(reader.vec8())
            fl.group = ske["group"]
            fl.group_name = ske["group_name"]
        else:
            prime = reader.vec16()
            reader.vec16()  # generator
            reader.vec16()  # server public value
            ske["dh_bits"] = int.from_bytes(prime, "big").bit_length()
            fl.dh_bits = ske["dh_bits"]
        # TLS 1.2 prefixes the signature with its algorithm; TLS 1.0/1.1 do not.
        if (fl.version_code or 0) >= 0x0303 and reader.remaining() >= 4:
            ske["sigalg"] = reader.u16()
            ske["sigalg_name"] = sigalg_name(ske["sigalg"])
        fl.server_key_exchange = ske


def parse_server_flight(data, max_bytes=DEFAULT_MAX_BYTES):
    """Classify a captured byte string as if it were the whole server answer (end = closed)."""
    parser = _FlightParser(max_bytes)
    try:
        parser.feed(bytes(data[:max_bytes]))
        if not parser.done:
            parser.finish_eof("overflow" if len(data) >= max_bytes else "closed")
    except Exception as exc:  # pylint: disable=broad-except
        parser.flight.kind = parser.flight.kind or "malformed"
        parser.flight.error = "internal parser error: %r" % (exc,)
    return parser.flight


def read_server_flight(sock, timeout, max_bytes=DEFAULT_MAX_BYTES):
    """Read the server's answer from a connected socket until it decides; never raises.

    Stops after a TLS 1.3 ServerHello / HelloRetryRequest, a TLS <= 1.2
    ServerHelloDone, a fatal alert, a non-TLS first byte, the deadline
    (``timeout`` seconds from now), EOF, or ``max_bytes`` read.
    """
    start = time.monotonic()
    deadline = start + max(0.0, float(timeout))
    parser = _FlightParser(max_bytes)
    fl = parser.flight
    try:
        while not parser.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                parser.finish_eof("timeout")
                break
            room = max_bytes - fl.bytes_read
            if room <= 0:
                parser.finish_eof("overflow")
                break
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(min(65536, room))
            except socket.timeout:
                parser.finish_eof("timeout")
                break
            except ConnectionResetError as exc:
                parser.finish_eof("reset", str(exc))
                break
            except OSError as exc:
                parser.finish_eof("reset", "%s: %s" % (type(exc).__name__, exc))
                break
            if not chunk:
                parser.finish_eof("closed")
                break
            parser.feed(chunk)
        if fl.kind == "not_tls" and len(fl.first_bytes) < 64:
            # One short extra read so a banner split over segments is still recognisable.
            _drain_for_sniff(sock, parser, min(0.05, max(0.0, deadline - time.monotonic())))
    except Exception as exc:  # pylint: disable=broad-except
        fl.kind = fl.kind or "malformed"
        fl.error = "internal error: %r" % (exc,)
    fl.elapsed_ms = round((time.monotonic() - start) * 1000.0, 1)
    return fl


def _drain_for_sniff(sock, parser, wait):
    fl = parser.flight
    if wait <= 0:
        return
    try:
        sock.settimeout(wait)
        chunk = sock.recv(64 - len(fl.first_bytes))
    except (OSError, ValueError):
        return
    if chunk:
        fl.first_bytes = bytes(fl.first_bytes + chunk)[:64]
        fl.bytes_read += len(chunk)
        fl.not_tls_hint = sniff(fl.first_bytes)


def hello(host, port, server_name=None, timeout=5.0, max_bytes=DEFAULT_MAX_BYTES, **client_hello_kwargs):
    """Connect, send one ClientHello, read the answer, close -> ServerFlight (never raises).

    ``timeout`` is the total budget for connect + send + read.  SNI is sent only
    when ``server_name`` is given (and is not an IP literal), like nginx with
    proxy_ssl_server_name on.  Connection problems become kinds: refused,
    connect_timeout, dns_error, connect_error (error has the text).
    """
    start = time.monotonic()
    deadline = start + max(0.0, float(timeout))
    try:
        record = build_client_hello(server_name=server_name, **client_hello_kwargs)
    except (TypeError, ValueError) as exc:
        # Bad probe parameters are the caller's bug; still report instead of raising.
        fl = ServerFlight()
        fl.kind = "malformed"
        fl.error = "cannot build ClientHello: %s" % exc
        fl.elapsed_ms = 0.0
        return fl
    sock = None
    try:
        try:
            sock = socket.create_connection((host, port), timeout=max(0.001, deadline - time.monotonic()))
        except socket.gaierror as exc:
            return _early(start, "dns_error", exc)
        except ConnectionRefusedError as exc:
            return _early(start, "refused", exc)
        except socket.timeout as exc:
            return _early(start, "connect_timeout", exc)
        except OSError as exc:
            return _early(start, "connect_error", exc)
        connect_ms = round((time.monotonic() - start) * 1000.0, 1)
        try:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock.sendall(record)
        except socket.timeout as exc:
            fl = _early(start, "timeout", exc)
            fl.connect_ms = connect_ms
            return fl
        except OSError as exc:
            # Reset while sending: the server read part of the hello and dropped us.
            fl = _early(start, "reset", exc)
            fl.connect_ms = connect_ms
            return fl
        # the read loop checks the deadline between reads; the watchdog ends it even if a read never returns
        guard = Deadline(deadline - time.monotonic()).guard(sock)
        with guard:
            fl = read_server_flight(sock, deadline - time.monotonic(), max_bytes=max_bytes)
        if guard.fired and fl.kind == "closed":
            fl.kind, fl.error = "timeout", "the deadline's watchdog shut the connection down"
        fl.connect_ms = connect_ms
        fl.elapsed_ms = round((time.monotonic() - start) * 1000.0, 1)
        return fl
    except Exception as exc:  # pylint: disable=broad-except
        return _early(start, "connect_error", exc)
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


def _early(start, kind, exc):
    fl = ServerFlight()
    fl.kind = kind
    fl.error = "%s: %s" % (type(exc).__name__, exc)
    fl.elapsed_ms = round((time.monotonic() - start) * 1000.0, 1)
    return fl

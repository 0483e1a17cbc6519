# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server half of the raw TLS codec, for the lab's deliberately broken peers (test code).

Reads ClientHellos and writes ServerHellos, HelloRetryRequests, alerts and TLS
1.2 Certificate/ServerHelloDone messages, and rewrites a relayed ServerHello.
The record layer, the byte readers/writers and the name tables are the
collection's own (``plugins/module_utils/_tls/wire.py`` and ``_tls_names.py``):
nothing here is a second copy of them.
"""

from __future__ import annotations

import collections
import os
import select
import socket
import struct
import time

from ansible_collections.tlsops.handshake.plugins.module_utils._tls.flight import parse_server_flight
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.key_share import make_key_share
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import (
    PROTOCOL_VERSIONS,
    SCSV_FALLBACK,
    SCSV_RENEGOTIATION,
    alert_code,
    cipher_kx,
    cipher_name,
    group_code,
    group_name,
    tls13_cipher_suites,
    version_code,
    version_name,
)
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.records import (
    CT_ALERT,
    CT_HANDSHAKE,
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    EXT_ALPN,
    EXT_COOKIE,
    EXT_EC_POINT_FORMATS,
    EXT_EXTENDED_MASTER_SECRET,
    EXT_KEY_SHARE,
    EXT_PSK_KEY_EXCHANGE_MODES,
    EXT_RENEGOTIATION_INFO,
    EXT_SERVER_NAME,
    EXT_SIGNATURE_ALGORITHMS,
    EXT_SUPPORTED_GROUPS,
    EXT_SUPPORTED_VERSIONS,
    HRR_RANDOM,
    HS_CERTIFICATE,
    HS_CLIENT_HELLO,
    HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE,
    Reader,
    build_records,
    ext,
    handshake_message,
    iter_records,
    parse_alpn,
    parse_extensions,
    u16,
    u16_list,
    vec8,
    vec16,
    vec24,
)

_TLS13_CODES = frozenset(tls13_cipher_suites())


# ---------------------------------------------------------------------------
# Reading ClientHellos
# ---------------------------------------------------------------------------

class ClientHello:
    """Decoded ClientHello; ``versions`` are names, highest first."""

    def __init__(self):
        self.record_version = None
        self.legacy_version = None
        self.random = b""
        self.session_id = b""
        self.ciphers = []
        self.compression_methods = b""
        self.extensions = {}
        self.extension_order = []
        self.versions = []
        self.groups = []
        self.key_shares = collections.OrderedDict()  # group -> key_exchange bytes
        self.sigalgs = []
        self.server_name = None
        self.alpn = []
        self.psk_modes = []
        self.has_renegotiation_info = False
        self.has_scsv = False
        self.has_fallback_scsv = False

    @property
    def key_share_groups(self):
        return list(self.key_shares)

    def __repr__(self):
        return "ClientHello(versions=%r, server_name=%r, ciphers=%d, groups=%r)" % (
            self.versions, self.server_name, len(self.ciphers), [group_name(g) for g in self.groups])


def parse_client_hello(data):
    """Decode a ClientHello from record bytes (one or more records) or a bare handshake message.

    Raises ValueError when the data is not a complete, well-formed ClientHello.
    """
    data = bytes(data)
    record_version = None
    if data[:1] == bytes((CT_HANDSHAKE,)):
        records, _rest = iter_records(data)
        msg = bytearray()
        for rec in records:
            if rec.content_type != CT_HANDSHAKE:
                break
            record_version = record_version or rec.version
            msg += rec.fragment
        data = bytes(msg)
    reader = Reader(data)
    if reader.u8() != HS_CLIENT_HELLO:
        raise ValueError("not a ClientHello")
    body = Reader(reader.vec24())
    ch = ClientHello()
    ch.record_version = record_version
    ch.legacy_version = body.u16()
    ch.random = body.take(32)
    ch.session_id = body.vec8()
    ch.ciphers = u16_list(body.vec16())
    ch.compression_methods = body.vec8()
    ch.extensions, ch.extension_order = parse_extensions(body)
    exts = ch.extensions
    ch.has_scsv = SCSV_RENEGOTIATION in ch.ciphers
    ch.has_fallback_scsv = SCSV_FALLBACK in ch.ciphers
    ch.has_renegotiation_info = EXT_RENEGOTIATION_INFO in exts
    if EXT_SUPPORTED_VERSIONS in exts:
        ch.versions = [version_name(v) for v in u16_list(Reader(exts[EXT_SUPPORTED_VERSIONS]).vec8())]
    else:
        ch.versions = [version_name(v) for v in range(ch.legacy_version, 0x0300, -1) if v in PROTOCOL_VERSIONS.values()]
    if EXT_SUPPORTED_GROUPS in exts:
        ch.groups = u16_list(Reader(exts[EXT_SUPPORTED_GROUPS]).vec16())
    if EXT_SIGNATURE_ALGORITHMS in exts:
        ch.sigalgs = u16_list(Reader(exts[EXT_SIGNATURE_ALGORITHMS]).vec16())
    if EXT_KEY_SHARE in exts:
        shares = Reader(Reader(exts[EXT_KEY_SHARE]).vec16())
        while shares.remaining():
            group = shares.u16()
            ch.key_shares[group] = shares.vec16()
    if EXT_SERVER_NAME in exts:
        names = Reader(Reader(exts[EXT_SERVER_NAME]).vec16())
        while names.remaining():
            name_type = names.u8()
            name = names.vec16()
            if name_type == 0 and ch.server_name is None:
                ch.server_name = name.decode("ascii", "replace")
    if EXT_ALPN in exts:
        ch.alpn = parse_alpn(exts[EXT_ALPN])
    if EXT_PSK_KEY_EXCHANGE_MODES in exts:
        ch.psk_modes = list(Reader(exts[EXT_PSK_KEY_EXCHANGE_MODES]).vec8())
    return ch


def read_client_hello_bytes(sock, timeout=5.0, max_bytes=65536):
    """Read the records of one whole ClientHello from a socket -> their bytes, not parsed.

    Raises ValueError (not a handshake record, too big, closed inside the hello),
    socket.timeout or OSError.
    """
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        records, _rest = iter_records(buf)
        hs = b"".join(r.fragment for r in records if r.content_type == CT_HANDSHAKE)
        if len(hs) >= 4 and len(hs) >= 4 + struct.unpack("!I", b"\x00" + hs[1:4])[0]:
            return buf
        if buf and buf[0] != CT_HANDSHAKE:
            raise ValueError("not a TLS handshake record (first byte 0x%02X)" % buf[0])
        if len(buf) > max_bytes:
            raise ValueError("ClientHello larger than %d bytes" % max_bytes)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out waiting for the ClientHello")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise ValueError("connection closed inside the ClientHello")
        buf += chunk


def read_client_hello(sock, timeout=5.0, max_bytes=65536):
    """Read one whole ClientHello from a socket -> (ClientHello, raw bytes).

    Raises ValueError (garbage, too big, malformed), socket.timeout or OSError.
    """
    raw = read_client_hello_bytes(sock, timeout, max_bytes)
    return parse_client_hello(raw), raw


# ---------------------------------------------------------------------------
# Writing the server's flight
# ---------------------------------------------------------------------------

# Preference when build_server_hello picks a suite: ECDHE_RSA, then static RSA
# (works with an RSA certificate, which is what the lab serves).
_SERVER_CIPHER_PREFERENCE = (0xC02F, 0xC030, 0xCCA8, 0xC013, 0xC014, 0xC027, 0xC028,
                             0x009C, 0x009D, 0x002F, 0x0035, 0x003C, 0x003D)


def _pick_server_cipher(client_hello, tls13):
    offered = client_hello.ciphers
    if tls13:
        for code in offered:
            if code in _TLS13_CODES:
                return code
        return 0x1301
    for code in _SERVER_CIPHER_PREFERENCE:
        if code in offered:
            return code
    for code in offered:
        if code not in _TLS13_CODES and code not in (SCSV_RENEGOTIATION, SCSV_FALLBACK):
            return code
    return 0xC02F


def build_server_hello(client_hello, version="TLSv1.2", cipher=None, include_renegotiation_info=True,
                       extensions=(), group=None, random=None, session_id=None):
    """A ServerHello record answering ``client_hello`` (a ClientHello or its bytes).

    TLS <= 1.2: empty session id (no resumption), renegotiation_info only when
    ``include_renegotiation_info`` (False builds an RFC 5746-unaware server),
    extended_master_secret / ec_point_formats echoed when offered.
    TLSv1.3: supported_versions + key_share for ``group`` (default: the client's
    first key share) with a well-formed server share, session id echoed.
    ``extensions``: extra (code, bytes) pairs appended as given.
    """
    if not isinstance(client_hello, ClientHello):
        client_hello = parse_client_hello(client_hello)
    vcode = version_code(version)
    tls13 = vcode >= 0x0304
    if cipher is None:
        cipher = _pick_server_cipher(client_hello, tls13)
    exts = []
    if tls13:
        if group is None:
            group = client_hello.key_share_groups[0] if client_hello.key_shares else 0x001D
        group = group_code(group)
        exts.append(ext(EXT_SUPPORTED_VERSIONS, u16(0x0304)))
        exts.append(ext(EXT_KEY_SHARE, u16(group) + vec16(make_key_share(group, server=True))))
        legacy = 0x0303
        sid = client_hello.session_id if session_id is None else session_id
    else:
        if include_renegotiation_info:
            exts.append(ext(EXT_RENEGOTIATION_INFO, b"\x00"))
        if EXT_EXTENDED_MASTER_SECRET in client_hello.extensions:
            exts.append(ext(EXT_EXTENDED_MASTER_SECRET, b""))
        if EXT_EC_POINT_FORMATS in client_hello.extensions and cipher_kx(cipher, cipher_name(cipher)) == "ecdhe":
            exts.append(ext(EXT_EC_POINT_FORMATS, vec8(b"\x00")))
        legacy = vcode
        sid = b"" if session_id is None else session_id
    for code, body in extensions or ():
        exts.append(ext(int(code), bytes(body)))
    if random is None:
        random = os.urandom(32)
        while random[-8:] in (DOWNGRADE_TLS12, DOWNGRADE_TLS11) or random == HRR_RANDOM:
            random = os.urandom(32)
    body = u16(legacy) + random + vec8(bytes(sid)) + u16(cipher) + b"\x00" + vec16(b"".join(exts))
    return build_records(CT_HANDSHAKE, handshake_message(HS_SERVER_HELLO, body), version=0x0303)


def build_hello_retry_request(client_hello, group, cipher=None, cookie=None):
    """A TLS 1.3 HelloRetryRequest record asking for ``group`` (name or code)."""
    if not isinstance(client_hello, ClientHello):
        client_hello = parse_client_hello(client_hello)
    if cipher is None:
        cipher = _pick_server_cipher(client_hello, True)
    exts = [ext(EXT_SUPPORTED_VERSIONS, u16(0x0304)), ext(EXT_KEY_SHARE, u16(group_code(group)))]
    if cookie:
        exts.append(ext(EXT_COOKIE, vec16(bytes(cookie))))
    body = (u16(0x0303) + HRR_RANDOM + vec8(client_hello.session_id) + u16(cipher) + b"\x00"
            + vec16(b"".join(exts)))
    return build_records(CT_HANDSHAKE, handshake_message(HS_SERVER_HELLO, body), version=0x0303)


def build_certificate(ders):
    """TLS <= 1.2 Certificate handshake message (not a record) carrying ``ders`` in order."""
    return handshake_message(HS_CERTIFICATE, vec24(b"".join(vec24(bytes(d)) for d in ders)))


def build_server_hello_done():
    """ServerHelloDone handshake message (not a record)."""
    return handshake_message(HS_SERVER_HELLO_DONE, b"")


def build_alert(description, level=2, version=0x0303):
    """Alert record; description by code or name ('handshake_failure')."""
    return build_records(CT_ALERT, bytes((int(level), alert_code(description))), version=version)


# ---------------------------------------------------------------------------
# Relays: reading and rewriting what a real server sent
# ---------------------------------------------------------------------------

def rewrite_server_hello_key_share(record_bytes, new_group):
    """Replace the key_share group of a TLS 1.3 ServerHello/HRR in ``record_bytes``.

    ``record_bytes`` may hold several records (e.g. ServerHello + CCS + the
    encrypted rest, as read by a relay); only the first record is touched and
    only the 2-byte group id changes, so every length stays valid.  Input that
    is not a complete ServerHello record with a key_share is returned unchanged.
    """
    data = bytes(record_bytes)
    try:
        records, _rest = iter_records(data)
        if not records or records[0].content_type != CT_HANDSHAKE:
            return data
        frag = records[0].fragment
        reader = Reader(frag)
        if reader.u8() != HS_SERVER_HELLO:
            return data
        body = Reader(reader.vec24())
        body.take(2 + 32)
        body.vec8()
        body.take(3)
        if body.remaining() < 2:
            return data
        ext_len = body.u16()
        pos = 4 + body.pos  # offset inside the fragment (4 = handshake header)
        end = pos + ext_len
        while pos + 4 <= end:
            code, length = struct.unpack_from("!HH", frag, pos)
            if code == EXT_KEY_SHARE and length >= 2:
                at = 5 + pos + 4  # 5 = record header
                return data[:at] + u16(group_code(new_group)) + data[at + 2:]
            pos += 4 + length
    except (ValueError, struct.error):
        return data
    return data


def server_hello_group(record_bytes):
    """The key_share group of the TLS 1.3 ServerHello/HelloRetryRequest in ``record_bytes``.

    Raises ValueError when the bytes do not start with a ServerHello carrying a key_share.
    """
    flight = parse_server_flight(record_bytes)
    share = flight.extensions.get(EXT_KEY_SHARE, b"")
    if flight.kind not in ("server_hello", "hello_retry_request") or len(share) < 2:
        raise ValueError("not a ServerHello with a key_share")
    return struct.unpack("!H", share[:2])[0]


def relay_rewriting_first_record(client, upstream, rewrite, keep_going):
    """Pipe bytes between ``client`` and ``upstream`` (connected sockets); the first complete
    record the upstream sends goes through ``rewrite(record) -> bytes``.  Returns when a side
    closes or ``keep_going()`` turns false (checked at least every 0.05 s)."""
    pending, rewritten = b"", False
    while keep_going():
        for sock in select.select([client, upstream], [], [], 0.05)[0]:
            data = sock.recv(65536)
            if not data:
                return
            if sock is client:
                upstream.sendall(data)
            elif rewritten:
                client.sendall(data)
            else:
                pending += data  # held until the first record is complete
                records = iter_records(pending)[0]
                if records:
                    first = records[0].raw
                    client.sendall(rewrite(first) + pending[len(first):])
                    rewritten = True

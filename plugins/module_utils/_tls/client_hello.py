# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ClientHello a probe sends, byte by byte.

Python's ``ssl`` module cannot offer a chosen list of key-exchange groups, TLS 1.3 cipher suites or
signature algorithms; this builder can, so the probe can ask a server exactly what nginx would.
Standard library only (shipped to managed hosts).
"""

from __future__ import annotations

import os

from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import records as rec
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.key_share import can_make_key_share, make_key_share
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import (
    DEFAULT_GROUPS,
    DEFAULT_SIGALGS,
    SCSV_RENEGOTIATION,
    group_code,
    sigalg_code,
    tls12_cipher_suites,
    version_code,
)
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.records import (
    MAX_FRAGMENT,
    build_records,
    ext,
    handshake_message,
    u16,
    u16s,
    vec8,
    vec16,
)

TLS13 = 0x0304
TLS12 = 0x0303
# What OpenSSL 3 offers first in TLS 1.3: AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM.
_TLS13_SUITES = (0x1302, 0x1303, 0x1301)


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
    legacy_version = TLS12 if TLS13 in vcodes else vcodes[0]
    ciphers = _cipher_suites(ciphers, vcodes, renegotiation_info)
    groups = [group_code(g) for g in (DEFAULT_GROUPS if groups is None else groups)]
    if key_share_groups is None:
        key_share_groups = [groups[0]] if groups and can_make_key_share(groups[0]) else []
    key_share_groups = [group_code(g) for g in key_share_groups]
    sigalgs = [sigalg_code(s) for s in (DEFAULT_SIGALGS if sigalgs is None else sigalgs)]

    exts = _server_name_extension(server_name)
    exts += _common_extensions(groups, alpn)
    if sigalgs and legacy_version >= TLS12:
        exts.append(ext(rec.EXT_SIGNATURE_ALGORITHMS, vec16(u16s(sigalgs))))
    if TLS13 in vcodes:
        exts += _tls13_extensions(vcodes, key_share_groups)
    if renegotiation_info is True:
        exts.append(ext(rec.EXT_RENEGOTIATION_INFO, b"\x00"))
    for code, body in extra_extensions or ():
        exts.append(ext(int(code), bytes(body)))

    if session_id is None:
        # 32 random bytes like every modern client (TLS 1.3 middlebox compatibility).
        session_id = os.urandom(32)
    head = (u16(legacy_version) + (random if random is not None else os.urandom(32)) + vec8(bytes(session_id))
            + vec16(u16s(ciphers)) + vec8(b"\x00"))
    return _padded_records(head, exts, record_version, pad_to)


def _cipher_suites(ciphers, vcodes, renegotiation_info):
    if ciphers is None:
        ciphers = []
        if TLS13 in vcodes:
            ciphers.extend(_TLS13_SUITES)
        if any(v <= TLS12 for v in vcodes):
            ciphers.extend(tls12_cipher_suites())
    ciphers = [int(c) for c in ciphers]
    if renegotiation_info == "scsv" and SCSV_RENEGOTIATION not in ciphers:
        ciphers.append(SCSV_RENEGOTIATION)
    if not ciphers:
        raise ValueError("the ClientHello must offer at least one cipher suite")
    return ciphers


def _server_name_extension(server_name):
    if not server_name or net.is_ip_literal(server_name):
        # RFC 6066: SNI carries DNS names only; nginx never sends it for IP literals.
        return []
    host = str(server_name).rstrip(".").encode("idna")
    return [ext(rec.EXT_SERVER_NAME, vec16(b"\x00" + vec16(host)))]


def _common_extensions(groups, alpn):
    """The extensions every hello carries, in OpenSSL's order, up to ALPN and the MAC/secret flags."""
    exts = [ext(rec.EXT_EC_POINT_FORMATS, vec8(b"\x00\x01\x02"))]
    if groups:
        exts.append(ext(rec.EXT_SUPPORTED_GROUPS, vec16(u16s(groups))))
    exts.append(ext(rec.EXT_SESSION_TICKET, b""))
    if alpn:
        protos = [alpn] if isinstance(alpn, (str, bytes)) else list(alpn)
        body = b"".join(vec8(p.encode("ascii") if isinstance(p, str) else bytes(p)) for p in protos)
        exts.append(ext(rec.EXT_ALPN, vec16(body)))
    exts.append(ext(rec.EXT_ENCRYPT_THEN_MAC, b""))
    exts.append(ext(rec.EXT_EXTENDED_MASTER_SECRET, b""))
    return exts


def _tls13_extensions(vcodes, key_share_groups):
    shares = b"".join(u16(g) + vec16(make_key_share(g)) for g in key_share_groups)
    return [ext(rec.EXT_SUPPORTED_VERSIONS, vec8(u16s(vcodes))),
            ext(rec.EXT_PSK_KEY_EXCHANGE_MODES, vec8(b"\x01")),  # psk_dhe_ke
            ext(rec.EXT_KEY_SHARE, vec16(shares))]


def _padded_records(head, exts, record_version, pad_to):
    def assemble(extensions):
        body = head + vec16(b"".join(extensions))
        return build_records(rec.CT_HANDSHAKE, handshake_message(rec.HS_CLIENT_HELLO, body), version=record_version)

    record = assemble(exts)
    if pad_to and len(record) < pad_to:
        # RFC 7685 padding extension (4-byte header) sized so the records total pad_to bytes.
        hs_len = len(handshake_message(rec.HS_CLIENT_HELLO, head + vec16(b"".join(exts))))
        need = _handshake_len_for_total(int(pad_to)) - hs_len - 4
        record = assemble(exts + [ext(rec.EXT_PADDING, b"\x00" * max(0, need))])
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

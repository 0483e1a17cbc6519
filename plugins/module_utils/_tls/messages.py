# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one handshake message says, as names and lengths a person can read (the probe's ``trace``).

``MessageDecoder.handshake(data)`` turns one whole handshake message (type, 3-byte length, body) into
``(name, fields)``.  The fields are the ones ``openssl s_client -msg`` readers look for (versions,
cipher suites offered and chosen, groups, key-share groups, SNI, ALPN, signature algorithms,
certificate subjects) and never key material: randoms, session ids, key shares, tickets, signatures
and Finished verify data are reported by their length only.  Standard library only.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite as x509
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import (
    alert_name,
    cipher_kx,
    cipher_name,
    group_name,
    sigalg_name,
    version_name,
)
from ansible_collections.tlsops.handshake.plugins.module_utils._tls.records import (
    EXT_ALPN,
    EXT_KEY_SHARE,
    EXT_SERVER_NAME,
    EXT_SIGNATURE_ALGORITHMS,
    EXT_SUPPORTED_GROUPS,
    EXT_SUPPORTED_VERSIONS,
    EXTENSION_NAMES,
    HRR_RANDOM,
    Reader,
    parse_alpn,
    parse_extensions,
    u16_list,
)

# The names OpenSSL's msg callback printer (apps/lib/s_cb.c) gives handshake message types.
HANDSHAKE_NAMES = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest", 4: "NewSessionTicket",
    5: "EndOfEarlyData", 8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange",
    13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange",
    20: "Finished", 21: "CertificateUrl", 22: "CertificateStatus", 23: "SupplementalData", 24: "KeyUpdate",
    25: "CompressedCertificate", 254: "MessageHash",
}
CONTENT_TYPE_NAMES = {20: "ChangeCipherSpec", 21: "Alert", 22: "Handshake", 23: "ApplicationData"}
ALERT_LEVELS = {1: "warning", 2: "fatal"}
# Long lists (a ClientHello offering every TLS 1.2 suite) are cut here; the count says how many there were.
MAX_LIST = 64
MAX_CERTIFICATES = 10


def handshake_name(msg_type):
    return HANDSHAKE_NAMES.get(msg_type, "UnknownHandshake(%d)" % msg_type)


def content_type_name(ctype):
    return CONTENT_TYPE_NAMES.get(ctype, "ContentType(%d)" % ctype)


def tls_version_label(code):
    """0x0303 -> 'TLS 1.2', as openssl s_client -msg prints a version."""
    if code in (0x0301, 0x0302, 0x0303, 0x0304):
        return "TLS 1.%d" % (code - 0x0301)
    if code == 0x0300:
        return "SSL 3.0"
    return "version 0x%04X" % code if isinstance(code, int) else "???"


def alert_fields(data) -> Dict[str, Any]:
    """An alert record's two bytes -> level and description (a shorter one is reported as such)."""
    if len(data) < 2:
        return {"malformed": "alert of %d byte(s)" % len(data)}
    return {"level": ALERT_LEVELS.get(data[0], "level_%d" % data[0]), "description": alert_name(data[1]),
            "code": data[1]}


def _names(codes, namer):
    out = [namer(c) for c in codes[:MAX_LIST]]
    if len(codes) > MAX_LIST:
        out.append("... %d more" % (len(codes) - MAX_LIST))
    return out


def _extension_names(order):
    return _names(order, lambda c: EXTENSION_NAMES.get(c, "extension_%d" % c))


def _server_name(body):
    reader = Reader(Reader(body).vec16())
    while reader.remaining():
        kind, name = reader.u8(), reader.vec16()
        if kind == 0:
            return name.decode("ascii", "replace")
    return None


def _sigalgs(body):
    return _names(u16_list(Reader(body).vec16()), sigalg_name)


class MessageDecoder(object):
    """Decodes the handshake messages of one connection; remembers what later messages depend on
    (the negotiated version and cipher suite)."""

    def __init__(self):
        self.version = None   # negotiated version code, from the ServerHello
        self.cipher = None

    def handshake(self, data) -> Tuple[str, Dict[str, Any]]:
        """One whole handshake message -> (name, fields); a message that does not parse keeps its name
        and gets ``malformed``."""
        msg_type = data[0]
        name = handshake_name(msg_type)
        reader = Reader(data[1:])
        body = reader.vec24()
        decode = getattr(self, "_" + name, None)
        fields: Dict[str, Any] = {}
        try:
            if decode is not None:
                name, fields = decode(Reader(body), len(body))
        except (ValueError, IndexError, UnicodeError) as exc:
            fields = {"malformed": str(exc)[:200]}
        return name, fields

    def _ClientHello(self, reader, _size):  # pylint: disable=invalid-name
        fields: Dict[str, Any] = {"legacy_version": version_name(reader.u16())}
        reader.take(32)  # random: never reported
        fields["session_id_length"] = len(reader.vec8())
        suites = u16_list(reader.vec16())
        fields["cipher_suites"] = _names(suites, cipher_name)
        reader.vec8()  # compression methods
        exts, order = parse_extensions(reader)
        fields["extensions"] = _extension_names(order)
        if EXT_SERVER_NAME in exts:
            fields["server_name"] = _server_name(exts[EXT_SERVER_NAME])
        if EXT_SUPPORTED_VERSIONS in exts:
            fields["supported_versions"] = [version_name(v) for v in u16_list(Reader(exts[EXT_SUPPORTED_VERSIONS]).vec8())]
        if EXT_SUPPORTED_GROUPS in exts:
            fields["supported_groups"] = _names(u16_list(Reader(exts[EXT_SUPPORTED_GROUPS]).vec16()), group_name)
        if EXT_KEY_SHARE in exts:
            shares = Reader(Reader(exts[EXT_KEY_SHARE]).vec16())
            groups: List[str] = []
            while shares.remaining():
                groups.append(group_name(shares.u16()))
                shares.vec16()  # the public key: never reported
            fields["key_share_groups"] = groups
        if EXT_SIGNATURE_ALGORITHMS in exts:
            fields["signature_algorithms"] = _sigalgs(exts[EXT_SIGNATURE_ALGORITHMS])
        if EXT_ALPN in exts:
            fields["alpn"] = parse_alpn(exts[EXT_ALPN])
        return "ClientHello", fields

    def _ServerHello(self, reader, _size):  # pylint: disable=invalid-name
        legacy = reader.u16()
        retry = reader.take(32) == HRR_RANDOM  # the random itself is never reported
        fields: Dict[str, Any] = {"session_id_length": len(reader.vec8())}
        self.cipher = reader.u16()
        reader.u8()
        exts, order = parse_extensions(reader)
        self.version = legacy
        if EXT_SUPPORTED_VERSIONS in exts:
            self.version = Reader(exts[EXT_SUPPORTED_VERSIONS]).u16()
        fields.update(version=version_name(self.version), cipher_suite=cipher_name(self.cipher),
                      extensions=_extension_names(order))
        if EXT_KEY_SHARE in exts:
            # ServerHello: group + public key (length only); HelloRetryRequest: the group it wants
            share = Reader(exts[EXT_KEY_SHARE])
            fields["key_share_group"] = group_name(share.u16())
            if not retry:
                fields["key_share_length"] = len(share.vec16())
        if EXT_ALPN in exts:
            fields["alpn"] = (parse_alpn(exts[EXT_ALPN]) or [None])[0]
        return ("HelloRetryRequest" if retry else "ServerHello"), fields

    def _EncryptedExtensions(self, reader, _size):  # pylint: disable=invalid-name
        exts, order = parse_extensions(reader)
        fields: Dict[str, Any] = {"extensions": _extension_names(order)}
        if EXT_ALPN in exts:
            fields["alpn"] = (parse_alpn(exts[EXT_ALPN]) or [None])[0]
        if EXT_SUPPORTED_GROUPS in exts:
            fields["supported_groups"] = _names(u16_list(Reader(exts[EXT_SUPPORTED_GROUPS]).vec16()), group_name)
        return "EncryptedExtensions", fields

    def _Certificate(self, reader, _size):  # pylint: disable=invalid-name
        tls13 = (self.version or 0) >= 0x0304
        if tls13:
            reader.vec8()  # certificate_request_context
        chain = Reader(reader.vec24())
        certs: List[Dict[str, Any]] = []
        count = 0
        while chain.remaining():
            der = chain.vec24()
            if tls13:
                chain.vec16()  # per-certificate extensions (OCSP, SCT)
            count += 1
            if len(certs) < MAX_CERTIFICATES:
                certs.append(_certificate_names(der))
        return "Certificate", {"certificate_count": count, "certificates": certs}

    def _ServerKeyExchange(self, reader, size):  # pylint: disable=invalid-name
        kx = cipher_kx(self.cipher or 0, cipher_name(self.cipher)) if self.cipher is not None else None
        fields: Dict[str, Any] = {"kind": kx}
        if kx == "ecdhe":
            reader.u8()  # named_curve
            fields["group"] = group_name(reader.u16())
            fields["public_key_length"] = len(reader.vec8())
        elif kx == "dhe":
            fields["dh_bits"] = int.from_bytes(reader.vec16(), "big").bit_length()
            reader.vec16()
            fields["public_key_length"] = len(reader.vec16())
        else:
            return "ServerKeyExchange", {"length": size}
        if (self.version or 0) >= 0x0303 and reader.remaining() >= 4:
            fields["signature_algorithm"] = sigalg_name(reader.u16())
            fields["signature_length"] = len(reader.vec16())
        return "ServerKeyExchange", fields

    def _CertificateRequest(self, reader, _size):  # pylint: disable=invalid-name
        if (self.version or 0) >= 0x0304:
            reader.vec8()  # certificate_request_context
            exts, order = parse_extensions(reader)
            fields: Dict[str, Any] = {"extensions": _extension_names(order)}
            if EXT_SIGNATURE_ALGORITHMS in exts:
                fields["signature_algorithms"] = _sigalgs(exts[EXT_SIGNATURE_ALGORITHMS])
            return "CertificateRequest", fields
        fields = {"certificate_types": list(reader.vec8())}
        if (self.version or 0) >= 0x0303:
            fields["signature_algorithms"] = _names(u16_list(reader.vec16()), sigalg_name)
        fields["ca_names_length"] = len(reader.vec16())
        return "CertificateRequest", fields

    def _CertificateVerify(self, reader, _size):  # pylint: disable=invalid-name
        return "CertificateVerify", {"signature_algorithm": sigalg_name(reader.u16()),
                                     "signature_length": len(reader.vec16())}

    def _Finished(self, _reader, size):  # pylint: disable=invalid-name
        return "Finished", {"verify_data_length": size}

    def _ClientKeyExchange(self, _reader, size):  # pylint: disable=invalid-name
        return "ClientKeyExchange", {"length": size}

    def _NewSessionTicket(self, reader, size):  # pylint: disable=invalid-name
        return "NewSessionTicket", {"lifetime_hint": int.from_bytes(reader.take(4), "big"), "length": size}


def _certificate_names(der):
    try:
        info = x509.parse_certificate(der)
    except ValueError as exc:
        return {"length": len(der), "malformed": str(exc)[:200]}
    return {"subject": info.get("subject"), "issuer": info.get("issuer"), "length": len(der)}

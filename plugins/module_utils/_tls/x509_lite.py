# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small, standard-library-only reader of X.509 certificates (DER).

It runs on managed hosts that may not have the ``cryptography`` package, and
reads just what a TLS probe reports about served certificates: names,
validity, SANs, key type and size, signature algorithm, basicConstraints,
AIA, SKI/AKI.  It checks no signature.  What a fleet's certificates share (OIDs, the issuer's name,
an organization's name parts, algorithm identifiers, the CA's extensions) is read once per process
and remembered by its DER bytes, in bounded memos (``_common/memo``); a refused part is never remembered.

Conventions of the dict returned by ``parse_certificate``:

* ``subject`` / ``issuer`` are RFC 4514 strings in the order of
  ``openssl x509 -nameopt RFC2253`` and of cryptography's
  ``Name.rfc4514_string()``: the *last* RDN of the DER SEQUENCE comes first
  (most specific first, e.g. ``CN=leaf.lab.test,O=Lab,C=DE``).  Attributes of
  a multi-valued RDN are joined with ``+`` in DER order.  Known attributes use
  OpenSSL's short names (``CN``, ``O``, ``OU``, ``C``, ``L``, ``ST``, ``DC``,
  ``UID``, ``emailAddress``, ``serialNumber``, ...; ``STREET`` as in RFC 4514);
  unknown ones are ``dotted.oid=#<hex of the value's DER>``.  Values are
  escaped as RFC 4514 (and cryptography) do; non-ASCII characters are kept
  as they are (OpenSSL would print them as ``\\XX`` escapes).
* ``subject_cn`` is the last CN in DER order (the one printed first);
  ``subject_cns`` lists all of them in DER order.
* ``sans`` holds the DNS names and IP addresses (as text, IPv6 compressed)
  in extension order; ``san_dns``/``san_ip`` split them, ``san_email`` and
  ``san_uri`` hold the rfc822Name/URI entries.
* ``serial`` is uppercase hex of the INTEGER's content octets (an even number
  of digits, like ``openssl x509 -serial``), ``-`` prefixed if negative.
* ``sha256``, ``subject_key_id`` and ``authority_key_id`` are uppercase hex
  pairs joined with ``:`` (as ``openssl x509 -fingerprint`` / ``-text``).
* ``not_before`` / ``not_after`` are ISO 8601 UTC strings
  (``2026-12-01T00:00:00Z``); UTCTime and GeneralizedTime are both read.
* ``version`` is 1-based (``3`` for an X.509 v3 certificate).
* Keys ending in ``_der`` (``subject_der``, ``issuer_der``, ``spki_der``) hold
  raw bytes for exact matching; callers drop every key ending in ``_der``
  before returning JSON (``public_view`` does that).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from datetime import datetime, timedelta, timezone

from ansible_collections.tlsops.handshake.plugins.module_utils._common.memo import BoundedMemo

__all__ = [
    "X509Error",
    "pem_to_der_list",
    "der_to_pem",
    "parse_certificate",
    "public_view",
    "issued_by",
    "order_chain",
    "hostname_matches",
    "ip_matches",
]


class X509Error(ValueError):
    """Raised for anything that is not a readable X.509 certificate."""


# --------------------------------------------------------------------------
# PEM

# Two searches, not one lazy regex from BEGIN to END: that rescanned the rest of the text for
# every BEGIN without an END (quadratic: 448 kB of BEGIN lines took 34 s, a 16 MB file hours).
_PEM_BEGIN_RE = re.compile(r"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----")
_PEM_END_RE = re.compile(r"-----END (?:X509 |TRUSTED )?CERTIFICATE-----")


def pem_to_der_list(text) -> list[bytes]:
    """Return the DER bytes of every CERTIFICATE block in ``text`` (str or bytes)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("ascii", "replace")
    if not isinstance(text, str):
        raise X509Error("PEM input must be str or bytes")
    result = []
    pos = 0
    while True:
        begin = _PEM_BEGIN_RE.search(text, pos)
        end = _PEM_END_RE.search(text, begin.end()) if begin else None
        if begin is None or end is None:  # no END after this BEGIN, so none after a later one either
            break
        body = text[begin.end():end.start()]
        pos = end.end()
        # RFC 1421 style headers ("Proc-Type: ...") are not expected in
        # certificates; drop any "key: value" lines to be lenient.
        lines = [ln.strip() for ln in body.splitlines() if ":" not in ln]
        data = "".join("".join(lines).split())
        try:
            result.append(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise X509Error("invalid base64 in PEM CERTIFICATE block: %s" % exc) from exc
    return result


def der_to_pem(der) -> str:
    """Return ``der`` as a PEM CERTIFICATE block (64-character lines, trailing newline)."""
    if not isinstance(der, (bytes, bytearray, memoryview)):
        raise X509Error("DER input must be bytes")
    b64 = base64.b64encode(bytes(der)).decode("ascii")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "".join(ln + "\n" for ln in lines) + "-----END CERTIFICATE-----\n"


# --------------------------------------------------------------------------
# DER primitives

_BOOLEAN = 0x01
_INTEGER = 0x02
_BIT_STRING = 0x03
_OCTET_STRING = 0x04
_OID = 0x06
_UTF8 = 0x0C
_PRINTABLE = 0x13
_T61 = 0x14
_IA5 = 0x16
_UTCTIME = 0x17
_GENTIME = 0x18
_VISIBLE = 0x1A
_UNIVERSAL = 0x1C
_BMP = 0x1E
_NUMERIC = 0x12
_SEQUENCE = 0x30
_SET = 0x31


class _TLV:
    """One decoded element: ``tag`` (identifier octets as an int), content slice."""

    __slots__ = ("tag", "data", "start", "cstart", "end")

    def __init__(self, tag, data, start, cstart, end):
        self.tag = tag
        self.data = data
        self.start = start
        self.cstart = cstart
        self.end = end

    @property
    def content(self):
        return self.data[self.cstart:self.end]

    @property
    def raw(self):
        return self.data[self.start:self.end]

    def children(self):
        return _read_all(self.data, self.cstart, self.end)


def _read_tlv(data, pos, limit):
    """Decode one TLV at ``pos`` that must end at or before ``limit``."""
    start = pos
    if pos >= limit:
        raise X509Error("truncated DER: expected an element at offset %d" % pos)
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:  # high tag number form
        while True:
            if pos >= limit:
                raise X509Error("truncated DER: tag at offset %d" % start)
            byte = data[pos]
            pos += 1
            tag = (tag << 8) | byte
            if not byte & 0x80:
                break
            if pos - start > 6:
                raise X509Error("DER tag too long at offset %d" % start)
    if pos >= limit:
        raise X509Error("truncated DER: length at offset %d" % pos)
    length = data[pos]
    pos += 1
    if length & 0x80:
        nbytes = length & 0x7F
        if nbytes == 0:
            raise X509Error("indefinite length is not DER (offset %d)" % start)
        if nbytes > 4:
            raise X509Error("DER length too large at offset %d" % start)
        if pos + nbytes > limit:
            raise X509Error("truncated DER: length at offset %d" % start)
        length = int.from_bytes(data[pos:pos + nbytes], "big")
        pos += nbytes
    end = pos + length
    if end > limit:
        raise X509Error(
            "truncated DER: element at offset %d needs %d bytes, %d available" % (start, length, limit - pos)
        )
    return _TLV(tag, data, start, pos, end)


def _read_all(data, pos, end):
    items = []
    while pos < end:
        item = _read_tlv(data, pos, end)
        items.append(item)
        pos = item.end
    return items


def _expect(item, tag, what):
    if item.tag != tag:
        raise X509Error("%s: expected tag 0x%02X, got 0x%02X" % (what, tag, item.tag))
    return item


def _seq(item, what):
    return _expect(item, _SEQUENCE, what).children()


def _decode_int(content, what="INTEGER"):
    if not content:
        raise X509Error("%s: empty INTEGER" % what)
    return int.from_bytes(content, "big", signed=True)


def _small_int(item, what):
    """An INTEGER that is returned as a number: at most 64 bits, so it is valid JSON (Python refuses
    to print an int of more than 4300 digits, which made the module's exit_json raise)."""
    content = _expect(item, _INTEGER, what).content
    value = _decode_int(content, what)
    if value.bit_length() > 63:
        raise X509Error("%s: INTEGER of %d bytes is too large" % (what, len(content)))
    return value


_OID_TEXTS = BoundedMemo(4096)    # OID bytes -> dotted text


def _decode_oid(content):
    content = bytes(content)
    text = _OID_TEXTS.get(content)
    if text is None:
        text = _OID_TEXTS.keep(content, _oid_text(content))
    return text


def _oid_text(content):
    if not content:
        raise X509Error("empty OBJECT IDENTIFIER")
    if content[-1] & 0x80:
        raise X509Error("truncated OBJECT IDENTIFIER")
    arcs = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
        elif value >> 121:
            # Longer than 128 bits once the next 7 are added.  cryptography refuses such arcs too;
            # without a bound, each byte shifted an ever larger integer (quadratic in the OID's length).
            raise X509Error("OBJECT IDENTIFIER arc longer than 128 bits")
    first = arcs[0]
    if first < 40:
        head = [0, first]
    elif first < 80:
        head = [1, first - 40]
    else:
        head = [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def _oid(item, what="OID"):
    return _decode_oid(_expect(item, _OID, what).content)


def _bit_string_bytes(item, what):
    content = _expect(item, _BIT_STRING, what).content
    if not content:
        raise X509Error("%s: empty BIT STRING" % what)
    if content[0] > 7:
        raise X509Error("%s: invalid BIT STRING padding" % what)
    return content[1:]


def _decode_string(tag, content):
    """Decode an ASN.1 character string; return None for non-string types."""
    if tag == _UTF8:
        return content.decode("utf-8")
    if tag in (_PRINTABLE, _IA5, _VISIBLE, _NUMERIC):
        # These are ASCII by definition; latin-1 never fails and keeps every byte visible.
        return content.decode("latin-1")
    if tag == _T61:
        return content.decode("latin-1")
    if tag == _BMP:
        return content.decode("utf-16-be")
    if tag == _UNIVERSAL:
        return content.decode("utf-32-be")
    return None


def _hex(data, sep=":"):
    return bytes(data).hex(sep).upper() if sep else bytes(data).hex().upper()


# --------------------------------------------------------------------------
# Names

_ATTR_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "title",
    "2.5.4.15": "businessCategory",
    "2.5.4.17": "postalCode",
    "2.5.4.41": "name",
    "2.5.4.42": "GN",
    "2.5.4.43": "initials",
    "2.5.4.44": "generationQualifier",
    "2.5.4.46": "dnQualifier",
    "2.5.4.65": "pseudonym",
    "2.5.4.97": "organizationIdentifier",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
    "1.2.840.113549.1.9.1": "emailAddress",
    "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL",
    "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
}

_OID_CN = "2.5.4.3"


def _escape_dn_value(val):
    if not val:
        return ""
    for char in ("\\", '"', "+", ",", ";", "<", ">"):
        val = val.replace(char, "\\" + char)
    val = val.replace("\0", "\\00")
    # the last blank first: a value of one blank is escaped once, as cryptography does
    if val[-1] == " ":
        val = val[:-1] + "\\ "
    if val[0] in ("#", " "):
        val = "\\" + val
    return val


_NAMES_READ = BoundedMemo(1024)       # Name DER -> _parse_name's answer: issuers repeat, subjects rarely


def _parse_issuer_name(item):
    raw = item.raw
    return _NAMES_READ.get(raw) or _NAMES_READ.keep(raw, _parse_name(item))


def _parse_name(item):
    """Return (rfc4514 string, ((oid, value-or-None, tag, value_raw), ...) in DER order)."""
    attrs = []
    rdns = []
    for rdn in _seq(item, "Name"):
        raw = rdn.raw
        text_and_attrs = _RDNS_READ.get(raw)
        if text_and_attrs is None:
            text_and_attrs = _parse_rdn(rdn)
            if all(attr[0] in _ORGANIZATION_ATTRIBUTES for attr in text_and_attrs[1]):
                _RDNS_READ.keep(raw, text_and_attrs)
        rdns.append(text_and_attrs[0])
        attrs.extend(text_and_attrs[1])
    return ",".join(reversed(rdns)), tuple(attrs)


# Attributes that name an organization, the same in all of its certificates (not a CN, serial or address)
_ORGANIZATION_ATTRIBUTES = frozenset((
    "2.5.4.6", "2.5.4.7", "2.5.4.8", "2.5.4.9", "2.5.4.10", "2.5.4.11", "2.5.4.15", "2.5.4.17", "2.5.4.97",
    "0.9.2342.19200300.100.1.25", "1.3.6.1.4.1.311.60.2.1.1", "1.3.6.1.4.1.311.60.2.1.2", "1.3.6.1.4.1.311.60.2.1.3"))
_RDNS_READ = BoundedMemo(1024)        # RelativeDistinguishedName DER -> _parse_rdn's answer, organizations' only


def _parse_rdn(rdn):
    """``(rfc4514 text, ((oid, value-or-None, tag, value_raw), ...))`` of one RelativeDistinguishedName."""
    _expect(rdn, _SET, "RelativeDistinguishedName")
    parts = []
    attrs = []
    for atv in rdn.children():
        fields = _seq(atv, "AttributeTypeAndValue")
        if len(fields) != 2:
            raise X509Error("AttributeTypeAndValue must have 2 elements")
        oid = _oid(fields[0], "attribute type")
        value_item = fields[1]
        try:
            value = _decode_string(value_item.tag, value_item.content)
        except UnicodeDecodeError as exc:
            raise X509Error("attribute %s: undecodable string: %s" % (oid, exc)) from exc
        attrs.append((oid, value, value_item.tag, value_item.content))
        name = _ATTR_NAMES.get(oid)
        if name is None or value is None:
            parts.append("%s=#%s" % (name or oid, value_item.raw.hex()))
        else:
            parts.append("%s=%s" % (name, _escape_dn_value(value)))
    return "+".join(parts), tuple(attrs)


def _canonical_name(attrs):
    """A comparison key close to OpenSSL's canonical name encoding."""
    key = []
    for oid, value, tag, raw in attrs:
        if value is None:
            key.append((oid, tag, raw))
        else:
            key.append((oid, 0, " ".join(value.split()).lower()))
    return tuple(key)


# --------------------------------------------------------------------------
# Validity


def _parse_time(item):
    try:
        text = item.content.decode("ascii")
    except UnicodeDecodeError as exc:
        raise X509Error("time value is not ASCII") from exc
    if item.tag == _UTCTIME and len(text) == 13 and text[12] == "Z" and text[:12].isdigit():
        # what RFC 5280 requires of every date before 2050 and nearly every certificate has
        year = int(text[0:2])
        try:
            return datetime(year + (1900 if year >= 50 else 2000), int(text[2:4]), int(text[4:6]),
                            int(text[6:8]), int(text[8:10]), int(text[10:12]), tzinfo=timezone.utc)
        except ValueError as exc:
            raise X509Error("invalid time %r: %s" % (text, exc)) from exc
    if item.tag == _UTCTIME:
        match = re.fullmatch(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})", text)
        if not match:
            raise X509Error("invalid UTCTime %r" % text)
        year = int(match.group(1))
        year += 1900 if year >= 50 else 2000
        rest = match.groups()[1:]
    elif item.tag == _GENTIME:
        match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{4})?", text)
        if not match:
            raise X509Error("invalid GeneralizedTime %r" % text)
        year = int(match.group(1))
        rest = match.groups()[1:]
    else:
        raise X509Error("validity: expected UTCTime or GeneralizedTime, got tag 0x%02X" % item.tag)
    month, day, hour, minute = (int(v) for v in rest[:4])
    second = int(rest[4] or 0)
    zone = rest[5] or "Z"
    try:
        value = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError as exc:
        raise X509Error("invalid time %r: %s" % (text, exc)) from exc
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        value -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    return value


def _iso(value):
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (
        value.year, value.month, value.day, value.hour, value.minute, value.second)


# --------------------------------------------------------------------------
# Algorithms

_SIG_ALGS = {
    # oid: (OpenSSL long-ish name, hash)
    "1.2.840.113549.1.1.2": ("md2WithRSAEncryption", "md2"),
    "1.2.840.113549.1.1.3": ("md4WithRSAEncryption", "md4"),
    "1.2.840.113549.1.1.4": ("md5WithRSAEncryption", "md5"),
    "1.2.840.113549.1.1.5": ("sha1WithRSAEncryption", "sha1"),
    "1.3.14.3.2.29": ("sha1WithRSA", "sha1"),
    "1.2.840.113549.1.1.10": ("rsassaPss", None),
    "1.2.840.113549.1.1.11": ("sha256WithRSAEncryption", "sha256"),
    "1.2.840.113549.1.1.12": ("sha384WithRSAEncryption", "sha384"),
    "1.2.840.113549.1.1.13": ("sha512WithRSAEncryption", "sha512"),
    "1.2.840.113549.1.1.14": ("sha224WithRSAEncryption", "sha224"),
    "2.16.840.1.101.3.4.3.13": ("RSA-SHA3-224", "sha3-224"),
    "2.16.840.1.101.3.4.3.14": ("RSA-SHA3-256", "sha3-256"),
    "2.16.840.1.101.3.4.3.15": ("RSA-SHA3-384", "sha3-384"),
    "2.16.840.1.101.3.4.3.16": ("RSA-SHA3-512", "sha3-512"),
    "1.2.840.10045.4.1": ("ecdsa-with-SHA1", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa-with-SHA224", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", "sha512"),
    "2.16.840.1.101.3.4.3.9": ("ecdsa_with_SHA3-224", "sha3-224"),
    "2.16.840.1.101.3.4.3.10": ("ecdsa_with_SHA3-256", "sha3-256"),
    "2.16.840.1.101.3.4.3.11": ("ecdsa_with_SHA3-384", "sha3-384"),
    "2.16.840.1.101.3.4.3.12": ("ecdsa_with_SHA3-512", "sha3-512"),
    "1.2.840.10040.4.3": ("dsaWithSHA1", "sha1"),
    "2.16.840.1.101.3.4.3.1": ("dsa_with_SHA224", "sha224"),
    "2.16.840.1.101.3.4.3.2": ("dsa_with_SHA256", "sha256"),
    "1.3.101.112": ("ED25519", None),
    "1.3.101.113": ("ED448", None),
    "1.2.156.10197.1.501": ("SM2-with-SM3", "sm3"),
}

_HASH_OIDS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "1.2.840.113549.2.5": "md5",
}

_KEY_TYPES = {
    "1.2.840.113549.1.1.1": "RSA",
    "1.2.840.113549.1.1.10": "RSA-PSS",
    "1.2.840.10045.2.1": "EC",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
    "1.3.101.110": "X25519",
    "1.3.101.111": "X448",
    "1.2.840.10040.4.1": "DSA",
    "1.2.840.10046.2.1": "DH",
    "1.2.840.113549.1.3.1": "DH",
}

_CURVES = {
    # oid: (OpenSSL name, bits)
    "1.2.840.10045.3.1.1": ("prime192v1", 192),
    "1.3.132.0.33": ("secp224r1", 224),
    "1.2.840.10045.3.1.7": ("prime256v1", 256),
    "1.3.132.0.10": ("secp256k1", 256),
    "1.3.132.0.34": ("secp384r1", 384),
    "1.3.132.0.35": ("secp521r1", 521),
    "1.3.36.3.3.2.8.1.1.7": ("brainpoolP256r1", 256),
    "1.3.36.3.3.2.8.1.1.11": ("brainpoolP384r1", 384),
    "1.3.36.3.3.2.8.1.1.13": ("brainpoolP512r1", 512),
    "1.2.156.10197.1.301": ("SM2", 256),
}


_ALGORITHMS_READ = BoundedMemo(256)


def _algorithm(item, what):
    """``(oid, parameters element or None)`` of an AlgorithmIdentifier."""
    raw = item.raw
    return _ALGORITHMS_READ.get(raw) or _ALGORITHMS_READ.keep(raw, _read_algorithm(item, what))


def _read_algorithm(item, what):
    fields = _seq(item, what)
    if not fields:
        raise X509Error("%s: empty AlgorithmIdentifier" % what)
    return _oid(fields[0], what), (fields[1] if len(fields) > 1 else None)


def _pss_hash(params):
    """Hash of RSASSA-PSS-params (default SHA-1)."""
    if params is None or params.tag != _SEQUENCE:
        return "sha1"
    for field in params.children():
        if field.tag == 0xA0:  # [0] hashAlgorithm
            inner = field.children()
            if inner:
                oid, dummy = _algorithm(inner[0], "PSS hashAlgorithm")
                return _HASH_OIDS.get(oid, oid)
    return "sha1"


def _parse_spki(item):
    fields = _seq(item, "SubjectPublicKeyInfo")
    if len(fields) != 2:
        raise X509Error("SubjectPublicKeyInfo must have 2 elements")
    oid, params = _algorithm(fields[0], "SubjectPublicKeyInfo algorithm")
    key = _bit_string_bytes(fields[1], "subjectPublicKey")
    key_type = _KEY_TYPES.get(oid, oid)
    bits = None
    curve = None
    if key_type in ("RSA", "RSA-PSS"):
        rsa = _seq(_read_tlv(key, 0, len(key)), "RSAPublicKey")
        if len(rsa) != 2:
            raise X509Error("RSAPublicKey must have 2 elements")
        bits = _decode_int(_expect(rsa[0], _INTEGER, "RSA modulus").content).bit_length()
    elif key_type == "EC":
        if params is not None and params.tag == _OID:
            curve_oid = _decode_oid(params.content)
            curve, bits = _CURVES.get(curve_oid, (curve_oid, None))
        if bits is None and key and key[0] == 4 and len(key) > 1:
            bits = (len(key) - 1) // 2 * 8
    elif key_type == "Ed25519":
        bits = 256
    elif key_type == "Ed448":
        bits = 456
    elif key_type == "X25519":
        bits = 253
    elif key_type == "X448":
        bits = 448
    elif key_type in ("DSA", "DH") and params is not None and params.tag == _SEQUENCE:
        values = params.children()
        if values:
            bits = _decode_int(_expect(values[0], _INTEGER, "%s p" % key_type).content).bit_length()
    return key_type, bits, curve


# --------------------------------------------------------------------------
# Extensions

_EXT_SKI = "2.5.29.14"
_EXT_KU = "2.5.29.15"
_EXT_SAN = "2.5.29.17"
_EXT_BC = "2.5.29.19"
_EXT_AKI = "2.5.29.35"
_EXT_EKU = "2.5.29.37"
_EXT_AIA = "1.3.6.1.5.5.7.1.1"
_EXT_TLSFEATURE = "1.3.6.1.5.5.7.1.24"
_AD_OCSP = "1.3.6.1.5.5.7.48.1"
_AD_CA_ISSUERS = "1.3.6.1.5.5.7.48.2"

_KEY_USAGE_BITS = (
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
    "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly",
)

_EKU_NAMES = {
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "2.5.29.37.0": "anyExtendedKeyUsage",
}


def _general_names(item, what):
    """Return [(kind, value)] for a GeneralNames SEQUENCE; kind is dns/ip/email/uri/other."""
    names = []
    for gen in _seq(item, what):
        tag = gen.tag
        if tag == 0x82:
            names.append(("dns", gen.content.decode("latin-1")))
        elif tag == 0x87:
            raw = gen.content
            if len(raw) not in (4, 16):
                raise X509Error("%s: iPAddress must be 4 or 16 bytes, got %d" % (what, len(raw)))
            names.append(("ip", str(ipaddress.ip_address(raw))))
        elif tag == 0x81:
            names.append(("email", gen.content.decode("latin-1")))
        elif tag == 0x86:
            names.append(("uri", gen.content.decode("latin-1")))
        else:
            names.append(("other", gen.raw))
    return names


# Extensions that differ from one certificate to the next: not worth remembering.  Every other one
# (key usage, EKU, basic constraints, AKI, AIA, policies, CRL points) is usually the issuing CA's,
# the same bytes in all of its leaves.
_EXT_SCT_LIST = "1.3.6.1.4.1.11129.2.4.2"
_EXTENSIONS_OF_ONE_CERTIFICATE = frozenset((_EXT_SAN, _EXT_SKI, _EXT_SCT_LIST))
_EXTENSIONS_READ = BoundedMemo(1024)      # Extension DER -> (oid, critical, what it sets in the dict)


def _parse_extensions(item, info):
    seen = set()
    for ext in _seq(item, "Extensions"):
        raw = ext.raw
        known = _EXTENSIONS_READ.get(raw)
        if known is None:
            known = _read_extension(ext)
            if known[0] not in _EXTENSIONS_OF_ONE_CERTIFICATE:
                _EXTENSIONS_READ.keep(raw, known)
        oid, critical, found = known
        if oid in seen:
            raise X509Error("duplicate extension %s" % oid)
        seen.add(oid)
        info["extensions"].append(oid)
        if critical:
            info["critical_extensions"].append(oid)
        for key, value in found:
            if isinstance(value, tuple):
                info[key].extend(value)
            else:
                info[key] = value


def _read_extension(ext):
    """``(oid, critical, ((key, value), ...))``: a tuple value extends the list ``key``, any other sets it."""
    fields = _seq(ext, "Extension")
    if len(fields) not in (2, 3):
        raise X509Error("Extension must have 2 or 3 elements")
    oid = _oid(fields[0], "extnID")
    critical = False
    if len(fields) == 3:
        critical = bool(_expect(fields[1], _BOOLEAN, "Extension critical").content.strip(b"\0"))
    value = _expect(fields[-1], _OCTET_STRING, "extnValue").content
    found = ()
    if oid in _EXTENSION_READERS:
        inner = _read_tlv(value, 0, len(value))
        if inner.end != len(value):
            raise X509Error("extension %s: trailing data" % oid)
        found = tuple(_EXTENSION_READERS[oid](inner))
    return oid, critical, found


_SAN_KEYS = {"dns": "san_dns", "ip": "san_ip", "email": "san_email", "uri": "san_uri"}


def _read_san(inner):
    by_key = {key: [] for key in _SAN_KEYS.values()}
    by_key["sans"] = []
    for kind, value in _general_names(inner, "subjectAltName"):
        key = _SAN_KEYS.get(kind)
        if key:
            by_key[key].append(value)
        if kind in ("dns", "ip"):
            by_key["sans"].append(value)
    return [(key, tuple(values)) for key, values in by_key.items() if values]


def _read_basic_constraints(inner):
    fields = _seq(inner, "basicConstraints")
    pos = 0
    if pos < len(fields) and fields[pos].tag == _BOOLEAN:
        yield "is_ca", bool(fields[pos].content.strip(b"\0"))
        pos += 1
    if pos < len(fields):
        yield "path_length", _small_int(fields[pos], "pathLenConstraint")


def _read_ski(inner):
    yield "subject_key_id", _hex(_expect(inner, _OCTET_STRING, "subjectKeyIdentifier").content)


def _read_aki(inner):
    for field in _seq(inner, "authorityKeyIdentifier"):
        if field.tag == 0x80:
            yield "authority_key_id", _hex(field.content)


def _read_aia(inner):
    issuers, ocsp = [], []
    for desc in _seq(inner, "authorityInfoAccess"):
        fields = _seq(desc, "AccessDescription")
        if len(fields) != 2:
            raise X509Error("AccessDescription must have 2 elements")
        method = _oid(fields[0], "accessMethod")
        if fields[1].tag != 0x86:
            continue
        url = fields[1].content.decode("latin-1")
        if method == _AD_CA_ISSUERS:
            issuers.append(url)
        elif method == _AD_OCSP:
            ocsp.append(url)
    yield "aia_ca_issuers", tuple(issuers)
    yield "ocsp_urls", tuple(ocsp)


def _read_eku(inner):
    usages = (_oid(usage, "KeyPurposeId") for usage in _seq(inner, "extKeyUsage"))
    yield "extended_key_usage", tuple(_EKU_NAMES.get(oid, oid) for oid in usages)


def _read_key_usage(inner):
    bits = _bit_string_bytes(inner, "keyUsage")
    yield "key_usage", tuple(name for index, name in enumerate(_KEY_USAGE_BITS)
                             if index // 8 < len(bits) and bits[index // 8] & (0x80 >> (index % 8)))


def _read_tls_feature(inner):
    for feature in _seq(inner, "TLSFeature"):
        if _decode_int(_expect(feature, _INTEGER, "TLS feature").content) == 5:
            yield "ocsp_must_staple", True


_EXTENSION_READERS = {
    _EXT_SAN: _read_san,
    _EXT_BC: _read_basic_constraints,
    _EXT_SKI: _read_ski,
    _EXT_AKI: _read_aki,
    _EXT_AIA: _read_aia,
    _EXT_EKU: _read_eku,
    _EXT_KU: _read_key_usage,
    _EXT_TLSFEATURE: _read_tls_feature,
}


# --------------------------------------------------------------------------
# Certificate


def parse_certificate(der, now=None) -> dict:
    """Parse one DER certificate; raise ``ValueError`` (``X509Error``) if it is not one.

    ``now`` (aware datetime, naive means UTC) sets ``days_left``/``expired``/
    ``not_yet_valid``; it defaults to the current time.
    """
    if isinstance(der, (bytearray, memoryview)):
        der = bytes(der)
    if not isinstance(der, bytes):
        raise X509Error("certificate must be DER bytes, got %s" % type(der).__name__)
    if not der:
        raise X509Error("empty certificate data")
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    try:
        return _parse_certificate(der, now)
    except X509Error:
        raise
    except (IndexError, ValueError, TypeError, OverflowError, UnicodeError) as exc:
        raise X509Error("malformed certificate: %s" % exc) from exc


def _parse_certificate(der, now):
    outer = _read_tlv(der, 0, len(der))
    if outer.end != len(der):
        raise X509Error("trailing data after certificate (%d bytes)" % (len(der) - outer.end))
    top = _seq(outer, "Certificate")
    if len(top) != 3:
        raise X509Error("Certificate must have 3 elements, got %d" % len(top))
    tbs = _seq(top[0], "TBSCertificate")
    sig_oid, sig_params = _algorithm(top[1], "signatureAlgorithm")
    _bit_string_bytes(top[2], "signatureValue")

    version, pos = _tbs_version(tbs)
    if len(tbs) < pos + 6:
        raise X509Error("TBSCertificate has too few elements")
    serial_hex = _serial_hex(_expect(tbs[pos], _INTEGER, "serialNumber"))
    tbs_sig_oid, dummy = _algorithm(tbs[pos + 1], "TBSCertificate signature")
    if tbs_sig_oid != sig_oid:
        raise X509Error("signature algorithm mismatch between TBSCertificate and Certificate")
    issuer_item = tbs[pos + 2]
    issuer, dummy = _parse_issuer_name(issuer_item)
    not_before, not_after = _validity(tbs[pos + 3])
    subject_item = tbs[pos + 4]
    subject, subject_attrs = _parse_name(subject_item)
    spki_item = tbs[pos + 5]
    key_type, key_bits, curve = _parse_spki(spki_item)

    sig_name, sig_hash = _SIG_ALGS.get(sig_oid, (sig_oid, None))
    if sig_oid == "1.2.840.113549.1.1.10":
        sig_hash = _pss_hash(sig_params)

    cns = [value for oid, value, tag, raw in subject_attrs if oid == _OID_CN and value is not None]
    info = {
        "version": version,
        "serial": serial_hex,
        "subject": subject,
        "issuer": issuer,
        "subject_cn": cns[-1] if cns else None,
        "subject_cns": cns,
        "not_before": _iso(not_before),
        "not_after": _iso(not_after),
        "days_left": (not_after - now) // timedelta(days=1),
        "expired": now > not_after,
        "not_yet_valid": now < not_before,
        "sans": [],
        "san_dns": [],
        "san_ip": [],
        "san_email": [],
        "san_uri": [],
        "sha256": _hex(hashlib.sha256(der).digest()),
        "key_type": key_type,
        "key_bits": key_bits,
        "curve": curve,
        "signature_algorithm": sig_name,
        "signature_algorithm_oid": sig_oid,
        "signature_hash": sig_hash,
        "is_ca": False,
        "path_length": None,
        "self_issued": subject_item.raw == issuer_item.raw,
        "aia_ca_issuers": [],
        "ocsp_urls": [],
        "subject_key_id": None,
        "authority_key_id": None,
        "key_usage": [],
        "extended_key_usage": [],
        "ocsp_must_staple": False,
        "extensions": [],
        "critical_extensions": [],
        "subject_der": bytes(subject_item.raw),
        "issuer_der": bytes(issuer_item.raw),
        "spki_der": bytes(spki_item.raw),
    }
    _tbs_tail(tbs[pos + 6:], info)
    return info


def _tbs_version(tbs):
    """``(version, index of serialNumber)``: the ``[0]`` version field is optional (v1 when absent)."""
    if tbs and tbs[0].tag == 0xA0:
        inner = tbs[0].children()
        if len(inner) != 1:
            raise X509Error("invalid version field")
        return _small_int(inner[0], "version") + 1, 1
    return 1, 0


def _serial_hex(serial_item):
    serial_int = _decode_int(serial_item.content, "serialNumber")
    if serial_int >= 0:
        return _hex(serial_item.content.lstrip(b"\0") or b"\0", "")
    mag = (-serial_int).to_bytes(((-serial_int).bit_length() + 7) // 8, "big")
    return "-" + _hex(mag, "")


def _validity(item):
    validity = _seq(item, "Validity")
    if len(validity) != 2:
        raise X509Error("Validity must have 2 elements")
    return _parse_time(validity[0]), _parse_time(validity[1])


def _tbs_tail(items, info):
    """What follows subjectPublicKeyInfo: the unique IDs (skipped) and the extensions (into ``info``)."""
    for item in items:
        if item.tag in (0x81, 0x82, 0xA1, 0xA2):  # issuerUniqueID / subjectUniqueID
            continue
        if item.tag == 0xA3:
            inner = item.children()
            if len(inner) != 1:
                raise X509Error("invalid extensions field")
            _parse_extensions(inner[0], info)
            continue
        raise X509Error("unexpected element 0x%02X in TBSCertificate" % item.tag)


def public_view(info: dict) -> dict:
    """Copy of a parse_certificate dict without the raw ``*_der`` bytes (JSON-safe)."""
    return {k: v for k, v in info.items() if not k.endswith("_der")}


# --------------------------------------------------------------------------
# Chains


def _names_equal(child, parent):
    child_der = child.get("issuer_der")
    parent_der = parent.get("subject_der")
    if child_der is not None and parent_der is not None:
        if child_der == parent_der:
            return True
        try:
            dummy, child_attrs = _parse_name(_read_tlv(child_der, 0, len(child_der)))
            dummy, parent_attrs = _parse_name(_read_tlv(parent_der, 0, len(parent_der)))
        except (X509Error, UnicodeError):
            return False
        return _canonical_name(child_attrs) == _canonical_name(parent_attrs)
    return child.get("issuer") is not None and child.get("issuer") == parent.get("subject")


def issued_by(child: dict, parent: dict) -> bool:
    """True when ``parent``'s subject is ``child``'s issuer and, if both are present, AKI == SKI.

    Names compare by exact DER first, then case- and whitespace-insensitively
    (close to OpenSSL's canonical form).  No signature is checked.
    """
    if not _names_equal(child, parent):
        return False
    aki = child.get("authority_key_id")
    ski = parent.get("subject_key_id")
    if aki and ski and aki != ski:
        return False
    return True


def order_chain(certs: list) -> list:
    """Return the issuer path that starts at ``certs[0]`` (the leaf).

    Each next element is the first not-yet-used certificate in ``certs`` that
    issued the previous one; the walk stops at a self-issued certificate or
    when no issuer is present.  Certificates not on the path are left out
    (``len(certs) - len(path)`` of them are unused/out of chain).
    """
    if not certs:
        return []
    path = [certs[0]]
    used = {0}
    current = certs[0]
    while not current.get("self_issued"):
        nxt = None
        for index, cand in enumerate(certs):
            if index not in used and issued_by(current, cand):
                nxt = index
                break
        if nxt is None:
            break
        used.add(nxt)
        current = certs[nxt]
        path.append(current)
    return path


# --------------------------------------------------------------------------
# Hostname checks (OpenSSL X509_check_host with flags 0, as nginx calls it)

_LABEL_START = 1
_LABEL_IDNA = 2
_LABEL_HYPHEN = 4


def _is_alnum(byte):
    return 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A


def _lower(data):
    return bytes(data).lower()     # ASCII letters only, as OpenSSL's comparison


def _equal_nocase(pattern, subject, dot_subdomains):
    if dot_subdomains and len(pattern) > len(subject):
        # skip_prefix(): compare an equal-length suffix of the pattern with the
        # subject (which starts with '.'), provided the prefix has no NUL.
        prefix = pattern[:len(pattern) - len(subject)]
        if b"\0" not in prefix:
            pattern = pattern[len(prefix):]
    if len(pattern) != len(subject):
        return False
    if b"\0" in pattern:
        return False
    return _lower(pattern) == _lower(subject)


def _valid_star(pattern):
    """Index of the one legal '*' in ``pattern`` or None (OpenSSL valid_star())."""
    star = None
    state = _LABEL_START
    dots = 0
    length = len(pattern)
    for i, byte in enumerate(pattern):
        if byte == 0x2A:  # '*'
            atstart = state & _LABEL_START
            atend = i == length - 1 or pattern[i + 1] == 0x2E
            if star is not None or state & _LABEL_IDNA or dots:
                return None
            if not atstart and not atend:
                return None
            star = i
            state &= ~_LABEL_START
        elif _is_alnum(byte):
            if state & _LABEL_START and length - i >= 4 and _lower(pattern[i:i + 4]) == b"xn--":
                state |= _LABEL_IDNA
            state &= ~(_LABEL_HYPHEN | _LABEL_START)
        elif byte == 0x2E:  # '.'
            if state & (_LABEL_HYPHEN | _LABEL_START):
                return None
            state = _LABEL_START
            dots += 1
        elif byte == 0x2D:  # '-'
            if state & _LABEL_START:
                return None
            state |= _LABEL_HYPHEN
        else:
            return None
    if state & (_LABEL_START | _LABEL_HYPHEN) or dots < 2:
        return None
    return star


def _wildcard_match(prefix, suffix, subject):
    if len(subject) < len(prefix) + len(suffix):
        return False
    if not _equal_nocase(prefix, subject[:len(prefix)], False):
        return False
    wc_start = len(prefix)
    wc_end = len(subject) - len(suffix)
    if not _equal_nocase(subject[wc_end:], suffix, False):
        return False
    allow_idna = False
    if not prefix and suffix[:1] == b".":
        if wc_start == wc_end:
            return False
        allow_idna = True
    if not allow_idna and len(subject) >= 4 and _lower(subject[:4]) == b"xn--":
        return False
    middle = subject[wc_start:wc_end]
    if middle == b"*":
        return True
    return all(_is_alnum(b) or b == 0x2D for b in middle)


def _equal_wildcard(pattern, subject, dot_subdomains):
    star = None
    if b"*" in pattern and not (len(subject) > 1 and subject[:1] == b"."):
        star = _valid_star(pattern)
    if star is None:
        return _equal_nocase(pattern, subject, dot_subdomains)
    return _wildcard_match(pattern[:star], pattern[star + 1:], subject)


def _check_host(cert, chk):
    if not chk or b"\0" in chk:
        return False
    dot_subdomains = len(chk) > 1 and chk[:1] == b"."
    dns = cert.get("san_dns") or []
    if dns:
        for pattern in dns:
            raw = pattern.encode("latin-1", "replace") if isinstance(pattern, str) else bytes(pattern)
            if raw and _equal_wildcard(raw, chk, dot_subdomains):
                return True
        return False
    cns = cert.get("subject_cns")
    if cns is None:
        cns = [cert["subject_cn"]] if cert.get("subject_cn") else []
    for cn_value in cns:
        raw = cn_value.encode("utf-8")
        if raw and _equal_wildcard(raw, chk, dot_subdomains):
            return True
    return False


def hostname_matches(cert: dict, name: str, allow_trailing_dot: bool = True) -> bool:
    """Whether ``name`` matches ``cert`` as ``X509_check_host(cert, name, 0, 0, NULL) == 1``.

    ``cert`` is a ``parse_certificate`` dict.  DNS SANs are checked; the
    subject CN(s) only when the certificate has no DNS SAN at all.  A single
    ``*`` is honoured only in the left-most label of a pattern with at least
    two dots (partial-label ``f*``/``*o`` allowed, never matching a dot or an
    empty full label); other patterns compare literally, case-insensitively.

    OpenSSL itself does not strip a trailing dot from ``name``; with
    ``allow_trailing_dot`` (default) a name ending in one dot also matches
    when the name without it does.
    """
    if isinstance(name, str):
        chk = name.encode("utf-8")
    else:
        chk = bytes(name)
    if _check_host(cert, chk):
        return True
    if allow_trailing_dot and len(chk) > 1 and chk.endswith(b".") and not chk.endswith(b".."):
        return _check_host(cert, chk[:-1])
    return False


def ip_matches(cert: dict, ip_text: str) -> bool:
    """Whether the IPv4/IPv6 address ``ip_text`` equals one of the IP SANs (never the CN)."""
    try:
        wanted = ipaddress.ip_address(ip_text.strip() if isinstance(ip_text, str) else ip_text)
    except ValueError:
        return False
    for value in cert.get("san_ip") or []:
        try:
            if ipaddress.ip_address(value) == wanted:
                return True
        except ValueError:
            continue
    return False

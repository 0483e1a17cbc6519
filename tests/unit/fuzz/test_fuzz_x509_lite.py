# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Properties of the standard-library X.509 reader (plugins/module_utils/_tls/x509_lite.py).

Certificates arrive from servers (a TLS 1.2 Certificate message) and from files on the host: any
bytes give a parsed dict or a ValueError, never another exception, in time linear in the input.
On certificates that cryptography builds here from generated fields, every field reads back as
cryptography reads it.  Keys and certificates are made at test time; none is committed.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import re
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import example, given, strategies as st

from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite as xl
from tests.unit.fuzz.fuzzing import examples, timed

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 6, 1, tzinfo=UTC)

_KEYS = {
    "rsa1024": rsa.generate_private_key(public_exponent=65537, key_size=1024),
    "p256": ec.generate_private_key(ec.SECP256R1()),
    "p384": ec.generate_private_key(ec.SECP384R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
}
_CURVES = {"secp256r1": "prime256v1", "secp384r1": "secp384r1"}
_EKUS = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
         ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning"}
# The attribute names cryptography's rfc4514_string() lacks (it writes the dotted OID) and OpenSSL,
# so _x509_lite, uses: SN, emailAddress, serialNumber, ...
_CRYPTOGRAPHY_NAMES = ("CN", "L", "ST", "O", "OU", "C", "STREET", "DC", "UID")
_OVERRIDES = {x509.ObjectIdentifier(oid): name for oid, name in xl._ATTR_NAMES.items() if name not in _CRYPTOGRAPHY_NAMES}


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def _simple_cert(key_name="p256", cn="fuzz.lab.test", sans=("fuzz.lab.test",)):
    key = _KEYS[key_name]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=90))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]), critical=False)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                   x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://ocsp.lab.test"))]),
                   critical=False))
    return der(builder.sign(key, None if key_name == "ed25519" else hashes.SHA256()))


# Real certificates to mutate: each key type, and one whose SAN list spans several length octets.
SEEDS = [_simple_cert(k) for k in sorted(_KEYS)] + [_simple_cert("p256", sans=["h%d.lab.test" % i for i in range(40)])]


def parse_or_value_error(data):
    """parse_certificate's dict, or None when it raised ValueError (anything else fails the test)."""
    try:
        info = xl.parse_certificate(data, now=NOW)
    except ValueError as exc:
        assert isinstance(exc, xl.X509Error) and str(exc)
        return None
    json.dumps(xl.public_view(info))  # the module returns it as JSON
    return info


# ---------------------------------------------------------------------------
# Hostile bytes: only ValueError, bounded time
# ---------------------------------------------------------------------------

def _tlv(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes((n,))
    else:
        size = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes((0x80 | len(size),)) + size
    return bytes((tag,)) + head + body


# DER-shaped trees, so the parser gets past the first tag; tags the certificate grammar uses.
_TAGS = [0x30, 0x31, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x17, 0x18, 0x1E, 0x1C, 0x80, 0x82, 0x86, 0x87,
         0xA0, 0xA3, 0x01, 0x1F]


def _constructed(children):
    return st.builds(lambda tag, kids: _tlv(tag, b"".join(kids)), st.sampled_from([0x30, 0x31, 0xA0, 0xA3]),
                     st.lists(children, max_size=5))


der_trees = st.recursive(st.builds(_tlv, st.sampled_from(_TAGS), st.binary(max_size=20)), _constructed, max_leaves=30)


@examples(300)
@given(data=st.one_of(st.binary(max_size=500), der_trees))
def test_any_bytes_give_a_certificate_or_a_value_error(data):
    parse_or_value_error(data)


def _mutate(seed, edits):
    data = bytearray(seed)
    for kind, where, value in edits:
        where %= len(data) or 1
        if kind == "set":
            data[where:where + 1] = bytes((value,))
        elif kind == "insert":
            data[where:where] = bytes((value,)) * (1 + value % 3)
        elif kind == "delete":
            del data[where:where + 1 + value % 8]
        else:  # truncate
            del data[where:]
    return bytes(data)


_edits = st.lists(st.tuples(st.sampled_from(["set", "set", "set", "insert", "delete", "truncate"]),
                            st.integers(0, 4000), st.integers(0, 255)), min_size=1, max_size=4)


@examples(1000)
@given(seed=st.sampled_from(SEEDS), edits=_edits)
@example(seed=SEEDS[0], edits=[("set", 52, 4)]).via("make fuzz: CN became SN (2.5.4.4), which cryptography writes dotted")
def test_mutated_real_certificates_give_a_certificate_or_a_value_error(seed, edits):
    data = _mutate(seed, edits)
    info = parse_or_value_error(data)
    if info is None:
        return
    # What still parses is read from these bytes, not from the seed.
    assert info["sha256"] == ":".join("%02X" % b for b in hashlib.sha256(data).digest())
    try:  # cryptography reads lazily: a field it refuses raises only when asked for
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a serial that is not positive: read, with a deprecation warning
            cert = x509.load_der_x509_certificate(data)
            expected = (cert.serial_number, cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        cert.subject.public_bytes(), cert.issuer.public_bytes(), cert.issuer.rfc4514_string(_OVERRIDES))
    except (ValueError, x509.InvalidVersion):
        # cryptography is stricter than this reader (and OpenSSL): e.g. an attribute value of an
        # unknown string type, which _x509_lite prints as #hex, or a version other than v1-v3.
        # Not a disagreement about content.
        return
    assert (int(info["serial"], 16), info["not_after"], info["subject_der"], info["issuer_der"]) == expected[:4]
    if "=#" not in info["issuer"]:  # an attribute _x509_lite does not name is dotted.oid=#hex (as OpenSSL)
        assert info["issuer"] == expected[4]


# ---------------------------------------------------------------------------
# Generated certificates: every field as cryptography reads it
# ---------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=16)
# Values cryptography encodes as IA5String / PrintableString must fit those alphabets.
_ia5 = st.text(st.characters(min_codepoint=0, max_codepoint=127), min_size=1, max_size=16)
_printable = st.text("ABCXYZabcxyz0189 '()+,-./:=?", min_size=1, max_size=16)
_UTF8_ATTRS = [NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.LOCALITY_NAME,
               NameOID.STATE_OR_PROVINCE_NAME, NameOID.USER_ID, NameOID.STREET_ADDRESS]
_attribute = st.one_of(
    st.builds(x509.NameAttribute, st.sampled_from(_UTF8_ATTRS), _text),
    st.builds(x509.NameAttribute, st.sampled_from([NameOID.EMAIL_ADDRESS, NameOID.DOMAIN_COMPONENT]), _ia5),
    st.builds(x509.NameAttribute, st.just(NameOID.SERIAL_NUMBER), _printable),
    st.builds(lambda c: x509.NameAttribute(NameOID.COUNTRY_NAME, c), st.from_regex(r"[A-Z]{2}", fullmatch=True)),
    st.builds(lambda v: x509.NameAttribute(NameOID.COMMON_NAME, v, x509.name._ASN1Type.BMPString), _text),
)
names = st.lists(st.lists(_attribute, min_size=1, max_size=2, unique_by=lambda a: (a.oid, a.value))
                 .map(x509.RelativeDistinguishedName), min_size=1, max_size=5).map(x509.Name)
_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_dns = st.lists(_label, min_size=1, max_size=3).map(".".join)
_general_name = st.one_of(
    _dns.map(x509.DNSName), _dns.map(lambda d: x509.DNSName("*." + d)),
    st.ip_addresses().map(x509.IPAddress),
    _dns.map(lambda d: x509.RFC822Name("ops@" + d)),
    _dns.map(lambda d: x509.UniformResourceIdentifier("https://" + d + "/x")),
)
# UTCTime covers 1950-2049, GeneralizedTime the rest; cryptography picks the type from the year.
_times = st.datetimes(min_value=datetime.datetime(1951, 1, 1), max_value=datetime.datetime(2200, 1, 1)).map(
    lambda t: t.replace(microsecond=0, tzinfo=UTC))


@examples(150)
@given(subject=names, issuer=names, serial=st.integers(1, 2 ** 159 - 1), not_before=_times,
       days=st.integers(0, 20000), key_name=st.sampled_from(sorted(_KEYS)),
       sans=st.lists(_general_name, max_size=6), ca=st.one_of(st.none(), st.tuples(st.booleans(), st.integers(0, 5))),
       key_usage=st.lists(st.booleans(), min_size=9, max_size=9),
       ekus=st.lists(st.sampled_from(sorted(_EKUS, key=str)), max_size=3, unique=True),
       aia=st.lists(st.tuples(st.booleans(), _dns), max_size=3), key_ids=st.booleans(), must_staple=st.booleans())
def test_generated_certificates_read_as_cryptography_reads_them(
        subject, issuer, serial, not_before, days, key_name, sans, ca, key_usage, ekus, aia, key_ids, must_staple):
    key = _KEYS[key_name]
    not_after = min(not_before + datetime.timedelta(days=days), datetime.datetime(9999, 1, 1, tzinfo=UTC))
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca[0], path_length=ca[1] if ca[0] else None),
                                        critical=True)
    if any(key_usage):
        usage = dict(zip(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                          "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), key_usage))
        if not usage["key_agreement"]:
            usage["encipher_only"] = usage["decipher_only"] = False
        builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    if aia:
        method = {True: x509.oid.AuthorityInformationAccessOID.OCSP, False: x509.oid.AuthorityInformationAccessOID.CA_ISSUERS}
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            method[ocsp], x509.UniformResourceIdentifier("http://%s/" % host)) for ocsp, host in aia]), critical=False)
    if key_ids:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                                        critical=False)
    if must_staple:
        builder = builder.add_extension(x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False)
    cert = builder.sign(key, None if key_name == "ed25519" else hashes.SHA256())
    info = xl.parse_certificate(der(cert), now=NOW)

    assert info["version"] == 3 and int(info["serial"], 16) == serial
    assert info["subject"] == cert.subject.rfc4514_string(_OVERRIDES)
    assert info["issuer"] == cert.issuer.rfc4514_string(_OVERRIDES)
    cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    assert info["subject_cns"] == cns and info["subject_cn"] == (cns[-1] if cns else None)
    assert info["not_before"] == cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert info["not_after"] == cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert info["expired"] == (NOW > cert.not_valid_after_utc)
    assert info["not_yet_valid"] == (NOW < cert.not_valid_before_utc)
    assert info["sha256"] == ":".join("%02X" % b for b in cert.fingerprint(hashes.SHA256()))
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        assert (info["key_type"], info["key_bits"]) == ("RSA", pub.key_size)
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        assert (info["key_type"], info["key_bits"], info["curve"]) == ("EC", pub.curve.key_size, _CURVES[pub.curve.name])
    else:
        assert (info["key_type"], info["key_bits"]) == ("Ed25519", 256)
    assert info["signature_algorithm_oid"] == cert.signature_algorithm_oid.dotted_string
    assert info["extensions"] == [e.oid.dotted_string for e in cert.extensions]
    assert info["critical_extensions"] == [e.oid.dotted_string for e in cert.extensions if e.critical]
    assert info["san_dns"] == [n.value for n in sans if isinstance(n, x509.DNSName)]
    assert info["san_ip"] == [str(n.value) for n in sans if isinstance(n, x509.IPAddress)]
    assert info["sans"] == [n.value if isinstance(n, x509.DNSName) else str(n.value) for n in sans
                            if isinstance(n, (x509.DNSName, x509.IPAddress))]
    assert info["san_email"] == [n.value for n in sans if isinstance(n, x509.RFC822Name)]
    assert info["san_uri"] == [n.value for n in sans if isinstance(n, x509.UniformResourceIdentifier)]
    assert (info["is_ca"], info["path_length"]) == ((False, None) if ca is None else (ca[0], ca[1] if ca[0] else None))
    assert info["extended_key_usage"] == [_EKUS[e] for e in ekus]
    assert info["ocsp_urls"] == ["http://%s/" % h for ocsp, h in aia if ocsp]
    assert info["aia_ca_issuers"] == ["http://%s/" % h for ocsp, h in aia if not ocsp]
    assert info["ocsp_must_staple"] is must_staple
    if key_ids:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        assert info["subject_key_id"] == info["authority_key_id"] == ":".join("%02X" % b for b in ski)
    if any(key_usage):
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        expected = [n for n, a in (("digitalSignature", "digital_signature"), ("nonRepudiation", "content_commitment"),
                                   ("keyEncipherment", "key_encipherment"), ("dataEncipherment", "data_encipherment"),
                                   ("keyAgreement", "key_agreement"), ("keyCertSign", "key_cert_sign"),
                                   ("cRLSign", "crl_sign")) if getattr(usage, a)]
        if usage.key_agreement:
            expected += [n for n, a in (("encipherOnly", "encipher_only"), ("decipherOnly", "decipher_only"))
                         if getattr(usage, a)]
        assert info["key_usage"] == expected
    assert xl.pem_to_der_list(xl.der_to_pem(der(cert))) == [der(cert)]


def _with_integer(seed, field, content):
    """``seed`` re-encoded with the INTEGER ``content`` as its version or its pathLenConstraint."""
    top = xl._read_tlv(seed, 0, len(seed)).children()
    fields = [item.raw for item in top[0].children()]
    if field == "version":
        fields[0] = _tlv(0xA0, _tlv(0x02, content))
    else:
        constraints = _tlv(0x30, _tlv(0x01, b"\xff") + _tlv(0x02, content))
        extension = _tlv(0x30, _tlv(0x06, b"\x55\x1d\x13") + _tlv(0x01, b"\xff") + _tlv(0x04, constraints))
        fields[-1] = _tlv(0xA3, _tlv(0x30, extension))
    return _tlv(0x30, _tlv(0x30, b"".join(fields)) + top[1].raw + top[2].raw)


@examples(100)
@given(field=st.sampled_from(["version", "path_length"]), size=st.integers(1, 3000), first=st.integers(0, 255),
       fill=st.integers(0, 255))
@example(field="version", size=2001, first=1, fill=0).via("before: parsed, then json.dumps raised (4300-digit limit)")
@example(field="path_length", size=2001, first=1, fill=0)
def test_integer_fields_of_any_size_give_json_or_a_value_error(field, size, first, fill):
    # The module returns what parse_certificate gives as JSON: an integer too big for that (Python's
    # 4300-digit limit on int -> str) was a traceback in AnsibleModule.exit_json.
    content = bytes((first,)) + bytes((fill,)) * (size - 1)
    info = parse_or_value_error(_with_integer(SEEDS[0], field, content))
    value = int.from_bytes(content, "big", signed=True)
    if abs(value) < 2 ** 63:  # up to 64 bits, what cryptography reads: the value as it is
        assert info is not None and info[field] == value + (field == "version")


# ---------------------------------------------------------------------------
# OBJECT IDENTIFIERs: arcs up to 128 bits, as cryptography; longer ones refused in linear time
# ---------------------------------------------------------------------------

def _base128(value):
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _with_subject_oid(seed, oid_content):
    """``seed`` re-encoded with a subject of one attribute whose type is the OID ``oid_content``."""
    top = xl._read_tlv(seed, 0, len(seed)).children()
    tbs = top[0].children()
    subject = _tlv(0x30, _tlv(0x31, _tlv(0x30, _tlv(0x06, oid_content) + _tlv(0x0C, b"x"))))
    fields = [item.raw for item in tbs]
    fields[5] = subject  # [0] version, serial, signature, issuer, validity, subject, ...
    return _tlv(0x30, _tlv(0x30, b"".join(fields)) + top[1].raw + top[2].raw)


@examples(150)
@given(arc=st.one_of(st.integers(0, 2 ** 140), st.integers(2 ** 127, 2 ** 129)))
@example(arc=2 ** 128 - 1).via("the largest arc cryptography reads")
@example(arc=2 ** 128)
def test_oid_arcs_are_read_as_cryptography_reads_them(arc):
    data = _with_subject_oid(SEEDS[0], b"\x2a\x03" + _base128(arc))  # 1.2.3.<arc>
    try:
        expected = x509.load_der_x509_certificate(data).subject.rfc4514_string()
    except ValueError:
        expected = None
    info = parse_or_value_error(data)
    assert (info and info["subject"]) == (expected and expected.replace("=x", "=#0c0178"))


@examples(10)
@given(arc_bytes=st.integers(10000, 200000))
@example(arc_bytes=200000).via("before: a 200 kB arc cost 4 s of big-integer shifts (quadratic)")
def test_a_huge_oid_arc_is_refused_in_linear_time(arc_bytes):
    data = _with_subject_oid(SEEDS[0], b"\x2a" + b"\xff" * arc_bytes + b"\x01")
    seconds, info = timed(parse_or_value_error, data)
    assert info is None and seconds < 0.5, seconds


# ---------------------------------------------------------------------------
# PEM: the regex it replaced is the oracle on small inputs; time linear on hostile ones
# ---------------------------------------------------------------------------

_OLD_PEM_RE = re.compile(
    r"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----(.*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----", re.DOTALL)


def _old_pem_to_der_list(text):
    """pem_to_der_list as it was (one lazy DOTALL regex: quadratic on BEGIN lines without END)."""
    result = []
    for match in _OLD_PEM_RE.finditer(text):
        lines = [ln.strip() for ln in match.group(1).splitlines() if ":" not in ln]
        try:
            result.append(base64.b64decode("".join("".join(lines).split()), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise xl.X509Error("invalid base64 in PEM CERTIFICATE block: %s" % exc) from exc
    return result


_PEM_PIECES = st.sampled_from([
    "-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", "-----BEGIN X509 CERTIFICATE-----",
    "-----END TRUSTED CERTIFICATE-----", "-----BEGIN" + " PRIVATE KEY-----\n", "Proc-Type: 4,ENCRYPTED\n", "\n", " ",
    "junk", "=", xl.der_to_pem(SEEDS[0]), xl.der_to_pem(b"\x30\x00")[27:], "MIIB\n", "-----BEGIN ", "CERTIFICATE-----",
])


@examples(300)
@given(pieces=st.lists(_PEM_PIECES, max_size=12))
def test_pem_blocks_are_found_as_before(pieces):
    text = "".join(pieces)
    try:
        expected = _old_pem_to_der_list(text)
    except ValueError as exc:
        expected = type(exc)
    try:
        got = xl.pem_to_der_list(text)
    except ValueError as exc:
        got = type(exc)
    assert got == expected
    if not isinstance(got, type):
        assert xl.pem_to_der_list(text.encode()) == got  # bytes read as ASCII give the same blocks


@examples(10)
@given(marker=st.sampled_from(["-----BEGIN CERTIFICATE-----\n", "-----BEGIN TRUSTED CERTIFICATE-----"]),
       count=st.integers(2000, 8000), tail=st.sampled_from(["", "-----END X509"]))
@example(marker="-----BEGIN CERTIFICATE-----\n", count=8000, tail="")
def test_begin_lines_without_end_cost_linear_time(marker, count, tail):
    # Before: each BEGIN scanned to the end of the text for an END (8000 lines, 224 kB: ~9 s; a
    # 16 MB bundle, the file cap: hours).
    seconds, ders = timed(xl.pem_to_der_list, marker * count + tail)
    assert ders == [] and seconds < 0.5, seconds


@pytest.mark.parametrize("value", [" ", "  ", "# ", " #", "\\ ", "a "])
def test_blank_ends_of_a_name_value_are_escaped_as_cryptography_does(value):
    """Found by test_generated_certificates_read_as_cryptography_reads_them: a value of one space
    was escaped twice (``CN=\\\\ ``): once as the first character, once as the last."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])
    key = _KEYS["p256"]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW).not_valid_after(NOW).sign(key, hashes.SHA256()))
    assert xl.parse_certificate(der(cert), now=NOW)["subject"] == cert.subject.rfc4514_string()

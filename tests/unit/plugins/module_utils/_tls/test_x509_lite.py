# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for _x509_lite: cryptography's parse and the openssl CLI are the oracles.

Every certificate and key is generated here, at test time; none is committed.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest

try:
    from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite as xl
except ImportError:
    import importlib.util

    _PATH = Path(__file__).resolve().parents[5] / "plugins" / "module_utils" / "_tls" / "x509_lite.py"
    _SPEC = importlib.util.spec_from_file_location("_x509_lite", str(_PATH))
    xl = importlib.util.module_from_spec(_SPEC)
    _SPEC.loader.exec_module(xl)

cryptography = pytest.importorskip("cryptography")

# pylint: disable=wrong-import-position
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa  # noqa: E402
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID  # noqa: E402

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not available")

_KEYS = {}


def key(kind):
    """Cached private keys (RSA generation is the slow part)."""
    if kind not in _KEYS:
        if kind == "rsa2048":
            _KEYS[kind] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif kind == "rsa1024":
            _KEYS[kind] = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        elif kind == "p256":
            _KEYS[kind] = ec.generate_private_key(ec.SECP256R1())
        elif kind == "p384":
            _KEYS[kind] = ec.generate_private_key(ec.SECP384R1())
        elif kind == "p521":
            _KEYS[kind] = ec.generate_private_key(ec.SECP521R1())
        elif kind == "ed25519":
            _KEYS[kind] = ed25519.Ed25519PrivateKey.generate()
        elif kind.startswith("p256-"):
            _KEYS[kind] = ec.generate_private_key(ec.SECP256R1())
        else:
            raise KeyError(kind)
    return _KEYS[kind]


def name(*pairs):
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def make_cert(subject_key, *, subject=None, issuer=None, issuer_key=None, sans=None, hash_alg="sha256",
              not_before=None, not_after=None, ca=None, path_length=None, aia=None, ski=True, aki_from=None,
              serial=None, eku=None, extra=None, pss=False):
    subject = subject if subject is not None else name((NameOID.COMMON_NAME, "leaf.lab.test"),)
    issuer = issuer if issuer is not None else subject
    issuer_key = issuer_key if issuer_key is not None else subject_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before or datetime.datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(not_after or datetime.datetime(2026, 12, 1, tzinfo=UTC))
    )
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()),
                                        critical=False)
    if aki_from is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(aki_from.public_key()),
                                        critical=False)
    if aia:
        builder = builder.add_extension(x509.AuthorityInformationAccess(aia), critical=False)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    for ext in extra or ():
        builder = builder.add_extension(ext, critical=False)
    if isinstance(issuer_key, ed25519.Ed25519PrivateKey):
        algorithm = None
    elif hash_alg in _LEGACY_HASHES:
        # cryptography refuses to sign certificates with SHA-1/MD5: sign with
        # SHA-256, then swap the AlgorithmIdentifier and re-sign the TBS by hand.
        return resign_legacy(builder.sign(issuer_key, hashes.SHA256()), issuer_key, hash_alg)
    else:
        algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}[hash_alg]
    kwargs = {}
    if pss:
        kwargs["rsa_padding"] = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=32)
    return builder.sign(issuer_key, algorithm, **kwargs)


_ALGID = {
    ("rsa", "sha256"): "300d06092a864886f70d01010b0500",
    ("rsa", "sha1"): "300d06092a864886f70d0101050500",
    ("rsa", "md5"): "300d06092a864886f70d0101040500",
    ("ec", "sha256"): "300a06082a8648ce3d040302",
    ("ec", "sha1"): "300906072a8648ce3d0401",
}
_LEGACY_HASHES = {"sha1": hashes.SHA1, "md5": hashes.MD5}


def _der_len(length):
    if length < 0x80:
        return bytes([length])
    enc = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(enc)]) + enc


def _der_seq(body):
    return b"\x30" + _der_len(len(body)) + body


def resign_legacy(cert, issuer_key, hash_alg):
    family = "rsa" if isinstance(issuer_key, rsa.RSAPrivateKey) else "ec"
    old, new = bytes.fromhex(_ALGID[(family, "sha256")]), bytes.fromhex(_ALGID[(family, hash_alg)])
    tbs = cert.tbs_certificate_bytes
    body = tbs[_header_len(tbs):]
    assert body.count(old) == 1
    new_tbs = _der_seq(body.replace(old, new))
    if family == "rsa":
        sig = issuer_key.sign(new_tbs, padding.PKCS1v15(), _LEGACY_HASHES[hash_alg]())
    else:
        sig = issuer_key.sign(new_tbs, ec.ECDSA(_LEGACY_HASHES[hash_alg]()))
    bits = b"\x00" + sig
    raw = _der_seq(new_tbs + new + b"\x03" + _der_len(len(bits)) + bits)
    return x509.load_der_x509_certificate(raw)


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def hexcolon(data):
    return ":".join("%02X" % b for b in data)


def iso(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SIGNATURE_NAMES = {
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.3.101.112": "ED25519",
}

_CURVE_NAMES = {"secp256r1": "prime256v1", "secp384r1": "secp384r1", "secp521r1": "secp521r1"}


def assert_matches_cryptography(info, cert, now=NOW):
    """Compare every field of ``info`` with cryptography's parse of the same certificate."""
    assert info["version"] == cert.version.value + 1
    assert int(info["serial"], 16) == cert.serial_number
    assert len(info["serial"]) % 2 == 0 and info["serial"] == info["serial"].upper()
    assert info["subject"] == cert.subject.rfc4514_string()
    assert info["issuer"] == cert.issuer.rfc4514_string()
    cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    assert info["subject_cns"] == cns
    assert info["subject_cn"] == (cns[-1] if cns else None)
    assert info["subject_der"] == cert.subject.public_bytes()
    assert info["issuer_der"] == cert.issuer.public_bytes()
    assert info["self_issued"] == (cert.subject.public_bytes() == cert.issuer.public_bytes())
    assert info["not_before"] == iso(cert.not_valid_before_utc)
    assert info["not_after"] == iso(cert.not_valid_after_utc)
    assert info["days_left"] == (cert.not_valid_after_utc - now) // datetime.timedelta(days=1)
    assert info["expired"] == (now > cert.not_valid_after_utc)
    assert info["not_yet_valid"] == (now < cert.not_valid_before_utc)
    assert info["sha256"] == hexcolon(cert.fingerprint(hashes.SHA256()))
    assert info["spki_der"] == cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        assert (info["key_type"], info["key_bits"], info["curve"]) == ("RSA", pub.key_size, None)
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        assert info["key_type"] == "EC"
        assert info["key_bits"] == pub.curve.key_size
        assert info["curve"] == _CURVE_NAMES[pub.curve.name]
    elif isinstance(pub, ed25519.Ed25519PublicKey):
        assert (info["key_type"], info["key_bits"], info["curve"]) == ("Ed25519", 256, None)
    else:  # pragma: no cover
        raise AssertionError("unexpected key type in test")

    sig_oid = cert.signature_algorithm_oid.dotted_string
    assert info["signature_algorithm_oid"] == sig_oid
    assert info["signature_algorithm"] == _SIGNATURE_NAMES[sig_oid]
    expected_hash = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else None
    assert info["signature_hash"] == expected_hash

    exts = {e.oid.dotted_string: e for e in cert.extensions}
    assert info["extensions"] == [e.oid.dotted_string for e in cert.extensions]
    assert info["critical_extensions"] == [e.oid.dotted_string for e in cert.extensions if e.critical]

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    dns = san.get_values_for_type(x509.DNSName) if san else []
    ips = [str(v) for v in san.get_values_for_type(x509.IPAddress)] if san else []
    assert info["san_dns"] == dns
    assert info["san_ip"] == ips
    assert sorted(info["sans"]) == sorted(dns + ips)
    if san:
        in_order = [str(g.value) for g in san if isinstance(g, (x509.DNSName, x509.IPAddress))]
        assert info["sans"] == in_order
        assert info["san_email"] == san.get_values_for_type(x509.RFC822Name)
        assert info["san_uri"] == san.get_values_for_type(x509.UniformResourceIdentifier)

    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert info["is_ca"] is bc.ca
        assert info["path_length"] == bc.path_length
    except x509.ExtensionNotFound:
        assert info["is_ca"] is False and info["path_length"] is None

    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert info["subject_key_id"] == hexcolon(ski.digest)
    except x509.ExtensionNotFound:
        assert info["subject_key_id"] is None
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        assert info["authority_key_id"] == (hexcolon(aki.key_identifier) if aki.key_identifier else None)
    except x509.ExtensionNotFound:
        assert info["authority_key_id"] is None

    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        ca_issuers = [d.access_location.value for d in aia
                      if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS]
        ocsp = [d.access_location.value for d in aia if d.access_method == AuthorityInformationAccessOID.OCSP]
    except x509.ExtensionNotFound:
        ca_issuers, ocsp = [], []
    assert info["aia_ca_issuers"] == ca_issuers
    assert info["ocsp_urls"] == ocsp

    if "2.5.29.37" in exts:
        assert len(info["extended_key_usage"]) == len(list(exts["2.5.29.37"].value))
    else:
        assert info["extended_key_usage"] == []


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def chain():
    root_key, int_key, leaf_key = key("rsa2048"), key("p384"), key("p256")
    root_name = name((NameOID.COUNTRY_NAME, "DE"), (NameOID.ORGANIZATION_NAME, "Lab"),
                     (NameOID.COMMON_NAME, "Lab Root CA"))
    int_name = name((NameOID.COUNTRY_NAME, "DE"), (NameOID.ORGANIZATION_NAME, "Lab"),
                    (NameOID.COMMON_NAME, "Lab Intermediate CA"))
    root = make_cert(root_key, subject=root_name, ca=True, path_length=1,
                     not_before=datetime.datetime(2020, 1, 1, tzinfo=UTC),
                     not_after=datetime.datetime(2055, 1, 1, tzinfo=UTC))
    inter = make_cert(int_key, subject=int_name, issuer=root_name, issuer_key=root_key, ca=True, path_length=0,
                      aki_from=root_key, hash_alg="sha256",
                      aia=[x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                                  x509.UniformResourceIdentifier("http://pki.lab.test/root.crt"))])
    leaf = make_cert(
        leaf_key,
        subject=name((NameOID.ORGANIZATION_NAME, "Lab"), (NameOID.COMMON_NAME, "leaf.lab.test")),
        issuer=int_name, issuer_key=int_key, aki_from=int_key, hash_alg="sha384", ca=False,
        sans=[x509.DNSName("leaf.lab.test"), x509.DNSName("*.apps.lab.test"),
              x509.IPAddress(ipaddress.ip_address("192.0.2.10")),
              x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
              x509.RFC822Name("ops@lab.test"), x509.UniformResourceIdentifier("https://leaf.lab.test/")],
        aia=[x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                    x509.UniformResourceIdentifier("http://pki.lab.test/int.crt")),
             x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                    x509.UniformResourceIdentifier("http://ocsp.lab.test/")),
             x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                    x509.UniformResourceIdentifier("http://ocsp2.lab.test/"))],
        eku=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        extra=[x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
                             encipher_only=False, decipher_only=False),
               x509.TLSFeature([x509.TLSFeatureType.status_request])],
    )
    return {"root": root, "int": inter, "leaf": leaf}


# --------------------------------------------------------------------------
# field parsing against cryptography


def test_chain_fields(chain):
    for cert in chain.values():
        assert_matches_cryptography(xl.parse_certificate(der(cert), now=NOW), cert)
    leaf = xl.parse_certificate(der(chain["leaf"]), now=NOW)
    assert leaf["subject"] == "CN=leaf.lab.test,O=Lab"
    assert leaf["issuer"] == "CN=Lab Intermediate CA,O=Lab,C=DE"
    assert leaf["sans"] == ["leaf.lab.test", "*.apps.lab.test", "192.0.2.10", "2001:db8::1"]
    assert leaf["san_email"] == ["ops@lab.test"]
    assert leaf["san_uri"] == ["https://leaf.lab.test/"]
    assert leaf["ocsp_urls"] == ["http://ocsp.lab.test/", "http://ocsp2.lab.test/"]
    assert leaf["aia_ca_issuers"] == ["http://pki.lab.test/int.crt"]
    assert leaf["extended_key_usage"] == ["serverAuth", "clientAuth"]
    assert leaf["key_usage"] == ["digitalSignature", "keyAgreement"]
    assert leaf["ocsp_must_staple"] is True
    assert (leaf["key_type"], leaf["key_bits"], leaf["curve"]) == ("EC", 256, "prime256v1")
    assert leaf["signature_algorithm"] == "ecdsa-with-SHA384"
    assert leaf["version"] == 3
    root = xl.parse_certificate(der(chain["root"]), now=NOW)
    assert root["self_issued"] is True and root["is_ca"] is True and root["path_length"] == 1
    assert root["not_after"] == "2055-01-01T00:00:00Z"  # GeneralizedTime
    assert (root["key_type"], root["key_bits"]) == ("RSA", 2048)
    inter = xl.parse_certificate(der(chain["int"]), now=NOW)
    assert (inter["key_type"], inter["key_bits"], inter["curve"]) == ("EC", 384, "secp384r1")
    assert inter["path_length"] == 0
    assert root["subject_key_id"] is not None
    assert inter["authority_key_id"] == root["subject_key_id"]


@pytest.mark.parametrize("kind,hash_alg,pss,sig_name,bits", [
    ("rsa2048", "sha256", False, "sha256WithRSAEncryption", 2048),
    ("rsa2048", "sha1", False, "sha1WithRSAEncryption", 2048),
    ("rsa1024", "sha256", False, "sha256WithRSAEncryption", 1024),
    ("rsa1024", "sha1", False, "sha1WithRSAEncryption", 1024),
    ("rsa2048", "sha256", True, "rsassaPss", 2048),
    ("p256", "sha256", False, "ecdsa-with-SHA256", 256),
    ("p256", "sha1", False, "ecdsa-with-SHA1", 256),
    ("p384", "sha384", False, "ecdsa-with-SHA384", 384),
    ("p384", "sha1", False, "ecdsa-with-SHA1", 384),
    ("p521", "sha256", False, "ecdsa-with-SHA256", 521),
    ("ed25519", None, False, "ED25519", 256),
])
def test_key_and_signature_types(kind, hash_alg, pss, sig_name, bits):
    cert = make_cert(key(kind), hash_alg=hash_alg, pss=pss)
    info = xl.parse_certificate(der(cert), now=NOW)
    assert_matches_cryptography(info, cert)
    assert info["signature_algorithm"] == sig_name
    assert info["key_bits"] == bits
    if pss:
        assert info["signature_hash"] == "sha256"


def test_md5_signature():
    cert = make_cert(key("rsa1024"), hash_alg="md5")
    info = xl.parse_certificate(der(cert), now=NOW)
    assert_matches_cryptography(info, cert)
    assert info["signature_algorithm"] == "md5WithRSAEncryption"
    assert info["signature_hash"] == "md5"


@pytest.mark.parametrize("not_before,not_after,expired,not_yet_valid", [
    # expired (UTCTime both)
    (datetime.datetime(2020, 1, 1, tzinfo=UTC), datetime.datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC), True, False),
    # not yet valid
    (datetime.datetime(2027, 1, 1, tzinfo=UTC), datetime.datetime(2028, 1, 1, tzinfo=UTC), False, True),
    # valid past 2049: notAfter is a GeneralizedTime
    (datetime.datetime(2026, 1, 1, tzinfo=UTC), datetime.datetime(2051, 7, 8, 9, 10, 11, tzinfo=UTC), False, False),
    # 9999-12-31 (RFC 5280 "no well-defined expiration"), GeneralizedTime
    (datetime.datetime(2026, 1, 1, tzinfo=UTC), datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
     False, False),
    # UTCTime boundary years 1950 / 2049
    (datetime.datetime(1950, 1, 1, tzinfo=UTC), datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),
     False, False),
    # expires within the day: floor gives 0; expired an hour ago: floor gives -1
    (datetime.datetime(2026, 1, 1, tzinfo=UTC), NOW + datetime.timedelta(hours=1), False, False),
    (datetime.datetime(2026, 1, 1, tzinfo=UTC), NOW - datetime.timedelta(hours=1), True, False),
])
def test_validity(not_before, not_after, expired, not_yet_valid):
    cert = make_cert(key("p256"), not_before=not_before, not_after=not_after)
    info = xl.parse_certificate(der(cert), now=NOW)
    assert_matches_cryptography(info, cert)
    assert info["expired"] is expired
    assert info["not_yet_valid"] is not_yet_valid
    assert info["not_after"] == iso(not_after)


def test_generalized_time_before_1950():
    """cryptography's builder refuses such dates; patch the DER (the signature is not checked)."""
    cert = make_cert(key("p256"), not_before=datetime.datetime(1950, 1, 1, tzinfo=UTC))
    old = b"\x30\x1e\x17\x0d" + b"500101000000Z"  # Validity header + notBefore UTCTime
    new = b"\x30\x20\x18\x0f" + b"19491231235959Z"
    tbs = cert.tbs_certificate_bytes
    new_tbs = _der_seq(tbs[_header_len(tbs):].replace(old, new))
    data = der(cert)
    rest = data[_header_len(data) + len(tbs):]
    patched = x509.load_der_x509_certificate(_der_seq(new_tbs + rest))
    info = xl.parse_certificate(der(patched), now=NOW)
    assert_matches_cryptography(info, patched)
    assert info["not_before"] == "1949-12-31T23:59:59Z"


def test_days_left_floor_and_default_now():
    cert = make_cert(key("p256"), not_after=NOW + datetime.timedelta(hours=1))
    assert xl.parse_certificate(der(cert), now=NOW)["days_left"] == 0
    assert xl.parse_certificate(der(cert), now=NOW + datetime.timedelta(hours=2))["days_left"] == -1
    # naive "now" means UTC
    assert xl.parse_certificate(der(cert), now=NOW.replace(tzinfo=None))["days_left"] == 0
    assert isinstance(xl.parse_certificate(der(cert))["days_left"], int)


def test_many_sans():
    sans = [x509.DNSName("host%04d.many.lab.test" % i) for i in range(1200)]
    sans += [x509.IPAddress(ipaddress.ip_address("10.0.%d.%d" % (i // 256, i % 256))) for i in range(50)]
    cert = make_cert(key("p256"), sans=sans)
    info = xl.parse_certificate(der(cert), now=NOW)
    assert_matches_cryptography(info, cert)
    assert len(info["san_dns"]) == 1200 and len(info["san_ip"]) == 50
    assert xl.hostname_matches(info, "host1199.many.lab.test")
    assert not xl.hostname_matches(info, "host1200.many.lab.test")


def test_names_escaping_and_multivalued_rdn():
    subject = x509.Name([
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "test")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "lab")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Lab, "Inc" +<x>;\\')]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "#ops "),
                                        x509.NameAttribute(NameOID.USER_ID, "u1")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ops@lab.test")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.SERIAL_NUMBER, "42")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "Grüße")]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "second.lab.test")]),
    ])
    cert = make_cert(key("p256"), subject=subject, issuer=name((NameOID.COMMON_NAME, "Issuer"),))
    info = xl.parse_certificate(der(cert), now=NOW)
    expected = cert.subject.rfc4514_string({NameOID.EMAIL_ADDRESS: "emailAddress",
                                            NameOID.SERIAL_NUMBER: "serialNumber"})
    assert info["subject"] == expected
    assert info["subject_cns"] == ["Grüße", "second.lab.test"]
    assert info["subject_cn"] == "second.lab.test"
    assert info["self_issued"] is False


def test_unknown_attribute_is_hex_dumped():
    oid = x509.ObjectIdentifier("1.2.3.4.5")
    cert = make_cert(key("p256"), subject=name((oid, "abc"), (NameOID.COMMON_NAME, "x.lab.test")))
    info = xl.parse_certificate(der(cert), now=NOW)
    assert info["subject"] == "CN=x.lab.test,1.2.3.4.5=#0c03616263"


def test_no_san_cn_only():
    cert = make_cert(key("p256"), subject=name((NameOID.COMMON_NAME, "cnonly.lab.test"),), ski=False)
    info = xl.parse_certificate(der(cert), now=NOW)
    assert_matches_cryptography(info, cert)
    assert info["sans"] == [] and info["subject_cn"] == "cnonly.lab.test"
    assert info["subject_key_id"] is None and info["extensions"] == []


def test_v1_certificate_without_extensions():
    builder = (x509.CertificateBuilder().subject_name(name((NameOID.COMMON_NAME, "v1"),))
               .issuer_name(name((NameOID.COMMON_NAME, "v1"),)).public_key(key("p256").public_key())
               .serial_number(1).not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=2)))
    cert = builder.sign(key("p256"), hashes.SHA256())
    data = bytearray(der(cert))
    info = xl.parse_certificate(bytes(data), now=NOW)
    assert info["version"] == 3 and info["serial"] == "01"
    # Drop the [0] version field to build a v1 TBS (signature no longer valid, not checked).
    tbs = cert.tbs_certificate_bytes
    version_field = bytes.fromhex("a003020102")
    assert version_field in tbs
    new_tbs_body = tbs[tbs.index(version_field) + len(version_field):]
    new_tbs = _der_seq(new_tbs_body)
    rest = bytes(data)[_header_len(data) + len(tbs):]
    v1 = _der_seq(new_tbs + rest)
    info = xl.parse_certificate(v1, now=NOW)
    assert info["version"] == 1 and info["subject"] == "CN=v1"


def _header_len(data):
    return 2 + (data[1] & 0x7F if data[1] & 0x80 else 0)


def test_serial_formats():
    for serial, text in ((1, "01"), (0x80, "80"), (0xABCDEF, "ABCDEF"), (2 ** 159 - 1, "7F" + "FF" * 19)):
        cert = make_cert(key("p256"), serial=serial)
        assert xl.parse_certificate(der(cert), now=NOW)["serial"] == text


# --------------------------------------------------------------------------
# PEM helpers, public view


def test_pem_round_trip(chain):
    bundle = "junk before\n" + "".join(pem(c) for c in chain.values()) + "trailing\n"
    ders = xl.pem_to_der_list(bundle)
    assert ders == [der(c) for c in chain.values()]
    assert xl.pem_to_der_list(bundle.encode("ascii")) == ders
    assert xl.der_to_pem(ders[0]) == pem(chain["root"])
    assert xl.pem_to_der_list("no certificates here") == []
    with pytest.raises(ValueError):
        xl.pem_to_der_list("-----BEGIN CERTIFICATE-----\n!!!notbase64\n-----END CERTIFICATE-----\n")


def test_public_view_drops_der(chain):
    import json

    info = xl.parse_certificate(der(chain["leaf"]), now=NOW)
    view = xl.public_view(info)
    assert not [k for k in view if k.endswith("_der")]
    json.dumps(view)


# --------------------------------------------------------------------------
# openssl CLI oracles


def _openssl(args, stdin):
    proc = subprocess.run([OPENSSL] + args, input=stdin.encode("ascii"), capture_output=True, timeout=30,
                          check=True)
    return proc.stdout.decode("utf-8", "replace")


@needs_openssl
def test_sha256_matches_openssl(chain):
    out = _openssl(["x509", "-noout", "-fingerprint", "-sha256"], pem(chain["leaf"]))
    fingerprint = out.strip().split("=", 1)[1]
    assert xl.parse_certificate(der(chain["leaf"]), now=NOW)["sha256"] == fingerprint


@needs_openssl
def test_names_serial_and_algorithms_match_openssl(chain):
    certs = list(chain.values()) + [make_cert(key("rsa2048"), hash_alg="sha1"),
                                    make_cert(key("p256"), hash_alg="sha1"),
                                    make_cert(key("rsa1024"), hash_alg="md5"),
                                    make_cert(key("rsa2048"), pss=True), make_cert(key("ed25519"))]
    for cert in certs:
        info = xl.parse_certificate(der(cert), now=NOW)
        out = _openssl(["x509", "-noout", "-subject", "-issuer", "-serial", "-nameopt", "RFC2253"], pem(cert))
        lines = dict(line.split("=", 1) for line in out.strip().splitlines())
        assert info["subject"] == lines["subject"]
        assert info["issuer"] == lines["issuer"]
        assert info["serial"] == lines["serial"]
        text = _openssl(["x509", "-noout", "-text"], pem(cert))
        sig_line = [ln for ln in text.splitlines() if "Signature Algorithm:" in ln][0]
        assert sig_line.split(":", 1)[1].strip() == info["signature_algorithm"]
        if info["subject_key_id"]:
            assert info["subject_key_id"] in text


# Each case: (SAN DNS patterns or None for a CN-only cert, subject CNs, name to check)
HOST_CASES = [
    (["www.example.com"], [], "www.example.com"),
    (["www.example.com"], [], "WWW.Example.COM"),
    (["WWW.EXAMPLE.COM"], [], "www.example.com"),
    (["www.example.com"], [], "example.com"),
    (["www.example.com"], [], "wwwexample.com"),
    (["*.example.com"], [], "www.example.com"),
    (["*.example.com"], [], "WWW.EXAMPLE.COM"),
    (["*.Example.Com"], [], "www.example.com"),
    (["*.example.com"], [], "example.com"),
    (["*.example.com"], [], "a.b.example.com"),
    (["*.example.com"], [], ".example.com"),
    (["*.example.com"], [], "*.example.com"),
    (["*.example.com"], [], "a_b.example.com"),
    (["*.example.com"], [], "xn--bcher-kva.example.com"),
    (["*.example.com"], [], "www.example.org"),
    (["f*.example.com"], [], "foo.example.com"),
    (["f*.example.com"], [], "f.example.com"),
    (["f*.example.com"], [], "bar.example.com"),
    (["*o.example.com"], [], "foo.example.com"),
    (["*o.example.com"], [], "o.example.com"),
    (["f*o.example.com"], [], "foo.example.com"),
    (["*-api.example.com"], [], "eu-api.example.com"),
    (["x*.example.com"], [], "xn--bcher-kva.example.com"),
    (["xn--*.example.com"], [], "xn--abc.example.com"),
    (["www.*.example.com"], [], "www.a.example.com"),
    (["*.*.example.com"], [], "a.b.example.com"),
    (["**.example.com"], [], "a.example.com"),
    (["*.com"], [], "example.com"),
    (["*.com"], [], "*.com"),
    (["*"], [], "localhost"),
    (["*.co.uk"], [], "example.co.uk"),
    (["*.example.com."], [], "www.example.com."),
    (["*.example-.com"], [], "a.example-.com"),
    (["*.168.0.1"], [], "192.168.0.1"),
    (["www.example.com"], [], ".example.com"),
    (["a.example.com", "*.example.org"], [], "b.example.org"),
    (["a.example.com", "*.example.org"], [], "b.example.com"),
    # CN-only certificates
    (None, ["cn.example.com"], "cn.example.com"),
    (None, ["cn.example.com"], "CN.EXAMPLE.COM"),
    (None, ["*.example.com"], "cn.example.com"),
    (None, ["*.example.com"], "example.com"),
    (None, ["first.example.com", "second.example.com"], "first.example.com"),
    (None, ["first.example.com", "second.example.com"], "second.example.com"),
    # CN ignored when a DNS SAN is present
    (["other.example.com"], ["cn.example.com"], "cn.example.com"),
    (["other.example.com"], ["cn.example.com"], "other.example.com"),
    # ... but checked when the SAN extension holds only an IP address
    ([], ["cn.example.com"], "cn.example.com"),
]


def _host_cert(patterns, cns):
    subject = name(*[(NameOID.COMMON_NAME, cn) for cn in cns]) if cns else name((NameOID.ORGANIZATION_NAME, "Lab"),)
    sans = None
    if patterns is not None:
        sans = [x509.DNSName(p) for p in patterns] or [x509.IPAddress(ipaddress.ip_address("192.0.2.1"))]
    return make_cert(key("p256"), subject=subject, sans=sans, ski=False)


@needs_openssl
@pytest.mark.parametrize("patterns,cns,host", HOST_CASES)
def test_hostname_matches_openssl(patterns, cns, host, tmp_path):
    cert = _host_cert(patterns, cns)
    path = tmp_path / "cert.pem"
    path.write_text(pem(cert))
    proc = subprocess.run([OPENSSL, "x509", "-noout", "-in", str(path), "-checkhost", host],
                          capture_output=True, timeout=30, check=True)
    out = proc.stdout.decode()
    assert "does match" in out or "does NOT match" in out, out
    expected = "does match" in out
    info = xl.parse_certificate(der(cert), now=NOW)
    assert xl.hostname_matches(info, host) is expected, (patterns, cns, host, out)
    assert xl.hostname_matches(info, host, allow_trailing_dot=False) is expected


def test_hostname_expectations_without_openssl():
    """The same semantics pinned down without the CLI (documents the intended answers)."""
    def check(patterns, host, cns=()):
        return xl.hostname_matches(xl.parse_certificate(der(_host_cert(patterns, list(cns))), now=NOW), host)

    assert check(["*.example.com"], "www.example.com")
    assert not check(["*.example.com"], "a.b.example.com")
    assert not check(["*.example.com"], "example.com")
    assert check(["f*.example.com"], "foo.example.com")
    assert not check(["*.com"], "example.com")
    assert check(None, "cn.example.com", ["cn.example.com"])
    assert not check(["other.example.com"], "cn.example.com", ["cn.example.com"])
    assert not check(["www.example.com"], "")
    assert not check(["www.example.com"], "www.example.com\0.evil")


@needs_openssl
def test_trailing_dot_is_tolerated_unlike_openssl(tmp_path):
    cert = _host_cert(["www.example.com", "*.example.org"], [])
    path = tmp_path / "cert.pem"
    path.write_text(pem(cert))
    info = xl.parse_certificate(der(cert), now=NOW)
    for host in ("www.example.com.", "a.example.org."):
        out = subprocess.run([OPENSSL, "x509", "-noout", "-in", str(path), "-checkhost", host],
                             capture_output=True, timeout=30, check=True).stdout.decode()
        assert "does NOT match" in out  # OpenSSL does not strip the dot ...
        assert xl.hostname_matches(info, host) is True  # ... we do by default
        assert xl.hostname_matches(info, host, allow_trailing_dot=False) is False
    assert not xl.hostname_matches(info, "www.example.com..")


@needs_openssl
@pytest.mark.parametrize("ip_text", ["192.0.2.10", "192.0.2.11", "2001:db8::1", "2001:0db8:0:0:0:0:0:1",
                                     "2001:DB8::1", "2001:db8::2", "::ffff:192.0.2.10"])
def test_ip_matches_openssl(chain, ip_text, tmp_path):
    path = tmp_path / "leaf.pem"
    path.write_text(pem(chain["leaf"]))
    out = subprocess.run([OPENSSL, "x509", "-noout", "-in", str(path), "-checkip", ip_text],
                         capture_output=True, timeout=30, check=True).stdout.decode()
    expected = "does match" in out
    info = xl.parse_certificate(der(chain["leaf"]), now=NOW)
    assert xl.ip_matches(info, ip_text) is expected, out


def test_ip_matches_edge_cases(chain):
    info = xl.parse_certificate(der(chain["leaf"]), now=NOW)
    assert xl.ip_matches(info, "192.0.2.10")
    assert not xl.ip_matches(info, "not-an-ip")
    assert not xl.ip_matches(info, "leaf.lab.test")
    cn_ip = xl.parse_certificate(der(make_cert(key("p256"), subject=name((NameOID.COMMON_NAME, "192.0.2.10"),))),
                                 now=NOW)
    assert not xl.ip_matches(cn_ip, "192.0.2.10")  # the CN is never an IP identity


# --------------------------------------------------------------------------
# chains


def test_issued_by_and_order_chain(chain):
    root, inter, leaf = (xl.parse_certificate(der(chain[k]), now=NOW) for k in ("root", "int", "leaf"))
    assert xl.issued_by(leaf, inter) and xl.issued_by(inter, root) and xl.issued_by(root, root)
    assert not xl.issued_by(leaf, root) and not xl.issued_by(inter, leaf)
    assert [c["subject_cn"] for c in xl.order_chain([leaf, root, inter])] == \
        ["leaf.lab.test", "Lab Intermediate CA", "Lab Root CA"]
    assert [c["subject_cn"] for c in xl.order_chain([leaf, root])] == ["leaf.lab.test"]
    assert xl.order_chain([]) == []
    # After dropping the raw DER (JSON round trip), string names still link.
    assert [c["subject_cn"] for c in xl.order_chain([xl.public_view(c) for c in (leaf, inter, root)])] == \
        ["leaf.lab.test", "Lab Intermediate CA", "Lab Root CA"]


def test_issued_by_requires_matching_key_ids(chain):
    inter_cert = chain["int"]
    # Same name as the intermediate, different key: name matches, AKI/SKI does not.
    impostor = make_cert(key("p256-impostor"), subject=inter_cert.subject, ca=True)
    leaf = xl.parse_certificate(der(chain["leaf"]), now=NOW)
    fake = xl.parse_certificate(der(impostor), now=NOW)
    real = xl.parse_certificate(der(inter_cert), now=NOW)
    assert not xl.issued_by(leaf, fake)
    assert xl.order_chain([leaf, fake, real])[1]["sha256"] == real["sha256"]
    # Without SKI on the candidate the name alone decides.
    no_ski = dict(fake, subject_key_id=None)
    assert xl.issued_by(leaf, no_ski)


def test_issued_by_canonical_name_compare():
    issuer = make_cert(key("p256-a"), subject=name((NameOID.COMMON_NAME, "My  CA"),), ski=False)
    child = make_cert(key("p256-b"), subject=name((NameOID.COMMON_NAME, "child"),),
                      issuer=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "my ca",
                                                           x509.name._ASN1Type.PrintableString)]),
                      issuer_key=key("p256-a"), ski=False)
    child_info, issuer_info = xl.parse_certificate(der(child), now=NOW), xl.parse_certificate(der(issuer), now=NOW)
    assert child_info["issuer_der"] != issuer_info["subject_der"]  # exercises the canonical fallback
    assert xl.issued_by(child_info, issuer_info)
    other = make_cert(key("p256-a"), subject=name((NameOID.COMMON_NAME, "My CA 2"),), ski=False)
    assert not xl.issued_by(child_info, xl.parse_certificate(der(other), now=NOW))


# --------------------------------------------------------------------------
# invalid input


@pytest.mark.parametrize("data", [
    b"", b"\x00", b"garbage bytes here", b"\x30", b"\x30\x82\xff\xff", b"\x30\x80\x00\x00",
    b"\x30\x03\x02\x01\x01", b"\x04\x02ab", bytes(range(256)), b"\x30\x85\x01\x02\x03\x04\x05",
    b"\x1f\xff\xff\xff\xff\xff\xff\xff\x01",
])
def test_garbage_raises_value_error(data):
    with pytest.raises(ValueError):
        xl.parse_certificate(data)


def test_not_bytes_raises_value_error():
    with pytest.raises(ValueError):
        xl.parse_certificate("-----BEGIN CERTIFICATE-----")


def test_every_truncation_raises_value_error(chain):
    data = der(chain["leaf"])
    for cut in range(len(data)):
        with pytest.raises(ValueError):
            xl.parse_certificate(data[:cut])
    with pytest.raises(ValueError):
        xl.parse_certificate(data + b"\x00")


def test_bit_flips_raise_only_value_error(chain):
    """Corrupting any single byte either still parses or raises ValueError -- nothing else."""
    data = der(chain["int"])
    for index in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            corrupted = bytearray(data)
            corrupted[index] ^= mask
            try:
                xl.parse_certificate(bytes(corrupted), now=NOW)
            except ValueError:
                pass


# ------------------------------------------------------------------ OIDs and hex, as written before their speed-ups

@pytest.mark.parametrize("dotted", ["2.5.4.3", "1.2.840.113549.1.1.11", "1.3.6.1.5.5.7.3.1", "2.999.1", "0.39"])
def test_an_oid_decodes_the_same_the_first_time_and_from_the_cache(dotted):
    content = _oid_content(dotted)
    assert xl._decode_oid(content) == dotted
    assert xl._decode_oid(content) == dotted        # the second time from the cache
    assert xl._decode_oid(bytearray(content)) == dotted    # bytearray and memoryview are keyed as bytes
    assert xl._decode_oid(memoryview(content)) == dotted


def _oid_content(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def test_a_bad_oid_is_refused_every_time_and_never_cached():
    for _attempt in range(2):
        with pytest.raises(xl.X509Error, match="truncated OBJECT IDENTIFIER"):
            xl._decode_oid(b"\x55\x84")
    assert b"\x55\x84" not in xl._OID_TEXTS.values


def test_the_oid_cache_stays_bounded(monkeypatch):
    monkeypatch.setattr(xl, "_OID_TEXTS", xl.BoundedMemo(10))
    for arc in range(100):
        assert xl._decode_oid(_oid_content("1.3.6.1.4.1.%d" % arc)) == "1.3.6.1.4.1.%d" % arc
    assert len(xl._OID_TEXTS.values) == 10


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x01\xab\xff", bytes(range(256))])
def test_hex_is_upper_case_pairs_with_the_separator(data):
    assert xl._hex(data) == ":".join("%02X" % b for b in data)
    assert xl._hex(data, "") == "".join("%02X" % b for b in data)
    assert xl._hex(memoryview(data)) == xl._hex(data)

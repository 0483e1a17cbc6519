# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A private PKI built at test time with cryptography, for the cert_chain_info tests.

Nothing here is ever written outside the test's tmp directory and no key is
committed.  cryptography no longer signs with SHA-1 or MD5, so ``resign`` signs
the TBSCertificate itself (the certificate's signature algorithm OID swapped).
The tests at the bottom check the helper against the openssl CLI.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess

import pytest

cryptography = pytest.importorskip("cryptography")

# pylint: disable=wrong-import-position
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

_KEYS = {}
_SHA256_RSA = bytes.fromhex("2a864886f70d01010b")
_WEAK_RSA = {"sha1": (bytes.fromhex("2a864886f70d010105"), hashes.SHA1),
             "md5": (bytes.fromhex("2a864886f70d010104"), hashes.MD5)}


def key(kind="rsa2048", slot=0):
    """A private key of ``kind`` (rsa1024, rsa2048, p256, p384), cached per slot to keep the tests fast."""
    if (kind, slot) not in _KEYS:
        if kind.startswith("rsa"):
            _KEYS[kind, slot] = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
        else:
            _KEYS[kind, slot] = ec.generate_private_key({"p256": ec.SECP256R1(), "p384": ec.SECP384R1()}[kind])
    return _KEYS[kind, slot]


def pem(*certs):
    return "".join(c.cert.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs)


class Issued(object):
    """A certificate with its private key."""

    def __init__(self, cert, private_key):
        self.cert, self.key = cert, private_key

    @property
    def subject(self):
        return self.cert.subject.rfc4514_string()

    @property
    def pem(self):
        return pem(self)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsops test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(cn, issuer=None, private_key=None, ca=False, sans=None, days=(-1, 90), path_length=None,
          eku=(ExtendedKeyUsageOID.SERVER_AUTH,), aia=None, digest=None, serial=None, aki_key=None):
    """One certificate; ``issuer`` None makes it self-signed. ``days`` is (not_before, not_after) from now.

    ``aki_key`` puts another key's identifier in the authorityKeyIdentifier (a forged link).
    """
    private_key = private_key or key()
    signer = issuer.key if issuer else private_key
    builder = (x509.CertificateBuilder()
               .subject_name(name(cn)).issuer_name(issuer.cert.subject if issuer else name(cn))
               .public_key(private_key.public_key())
               .serial_number(serial or x509.random_serial_number())
               .not_valid_before(NOW + days[0] * DAY).not_valid_after(NOW + days[1] * DAY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key((aki_key or signer).public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        sans = [cn] if sans is None else sans
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]),
                                            critical=False)
    if aia:
        builder = builder.add_extension(x509.AuthorityInformationAccess(
            [x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia))]),
            critical=False)
    if isinstance(signer, ec.EllipticCurvePrivateKey):
        default = hashes.SHA384() if signer.curve.key_size >= 384 else hashes.SHA256()
    else:
        default = hashes.SHA256()
    return Issued(builder.sign(signer, digest or default), private_key)


def _der_length(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag, body):
    return bytes([tag]) + _der_length(len(body)) + body


def _first_element(der):
    """The first element (TBSCertificate) of the outer SEQUENCE, with its header."""
    def header(pos):
        length = der[pos + 1]
        if length & 0x80:
            count = length & 0x7F
            return pos + 2 + count, int.from_bytes(der[pos + 2:pos + 2 + count], "big")
        return pos + 2, length
    start, dummy = header(0)
    content, length = header(start)
    return der[start:content + length]


def resign(issued, issuer, algorithm):
    """``issued`` re-signed by ``issuer`` (RSA) with ``sha1`` or ``md5``, which cryptography refuses to sign."""
    oid, digest = _WEAK_RSA[algorithm]
    tbs = _first_element(issued.cert.public_bytes(serialization.Encoding.DER))
    assert tbs.count(_SHA256_RSA) == 1
    tbs = tbs.replace(_SHA256_RSA, oid)
    signature = issuer.key.sign(tbs, padding.PKCS1v15(), digest())
    algorithm_id = _tlv(0x30, _tlv(0x06, oid) + b"\x05\x00")
    der = _tlv(0x30, tbs + algorithm_id + _tlv(0x03, b"\x00" + signature))
    return Issued(x509.load_der_x509_certificate(der), issued.key)


def write(directory, filename, *certs):
    path = directory / filename
    path.write_text(pem(*certs))
    return str(path)


def write_key(directory, filename, private_key, passphrase=None):
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    path = directory / filename
    path.write_bytes(private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               encryption))
    path.chmod(0o600)
    return str(path)


class Hierarchy(object):
    """root -> intermediate -> leaf (RSA-2048, SHA-256), the usual private CA."""

    def __init__(self, label="test", slot=1):
        self.root = issue("%s root" % label, private_key=key("rsa2048", slot), ca=True, days=(-30, 3650))
        self.int1 = issue("%s intermediate" % label, self.root, private_key=key("rsa2048", slot + 1), ca=True,
                          days=(-30, 1825), aia="http://ca.%s.example/root.der" % label)
        self.leaf = issue("www.%s.example" % label, self.int1, private_key=key("rsa2048", slot + 2),
                          sans=["www.%s.example" % label, "%s.example" % label],
                          aia="http://ca.%s.example/intermediate.der" % label)


def openssl_verify(ca_file, leaf_file, untrusted=None, extra=()):
    """``openssl verify``'s first error code (0 when it verifies), as a test oracle."""
    cmd = ["openssl", "verify", "-purpose", "sslserver", "-no-CApath", "-no-CAstore", "-CAfile", ca_file]
    if untrusted:
        cmd += ["-untrusted", untrusted]
    proc = subprocess.run(cmd + list(extra) + [leaf_file], capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return 0
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.startswith("error ") and " at " in line:
            return int(line.split()[1])
    raise AssertionError(proc.stdout + proc.stderr)


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


# --------------------------------------------------------------------------
# The helper itself


@needs_openssl
@pytest.mark.parametrize("algorithm", ["sha1", "md5"])
def test_resign_makes_a_valid_weak_signature(tmp_path, algorithm):
    pki = Hierarchy()
    weak = resign(issue("weak.test.example", pki.int1), pki.int1, algorithm)
    assert weak.cert.signature_hash_algorithm.name == algorithm
    ca = write(tmp_path, "root.pem", pki.root)
    leaf = write(tmp_path, "leaf.pem", weak)
    untrusted = write(tmp_path, "int.pem", pki.int1)
    # the signature is right: only the digest's security level rejects it
    assert openssl_verify(ca, leaf, untrusted, extra=["-auth_level", "0"]) == 0
    assert openssl_verify(ca, leaf, untrusted, extra=["-auth_level", "1"]) == 68


@needs_openssl
def test_hierarchy_verifies(tmp_path):
    pki = Hierarchy()
    assert openssl_verify(write(tmp_path, "r.pem", pki.root), write(tmp_path, "l.pem", pki.leaf),
                          write(tmp_path, "i.pem", pki.int1)) == 0

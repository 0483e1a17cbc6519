# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab PKI, generated fresh at every lab start with ``cryptography``.

Layout of DIR/pki (private keys mode 0600, nothing here is ever committed):

    lab-root.pem            trust anchor of the lab (the probes' ca_file)
    lab-int.pem             intermediate issued by the root; issues the leaves
    lab-int2.pem            second intermediate (issued by lab-int) for deep_chain
    other-root.pem          a root that is NOT in lab-root.pem (unknown_root)
    client.pem / client.key client certificate accepted by the mTLS upstreams
    <name>.pem / <name>.key served chain (leaf first) and key of one upstream
    dhparam-1024.pem        RFC 2409 group 2 (1024-bit MODP) DH parameters
"""

from __future__ import annotations

import datetime
import os
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dh, ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)

# RFC 2409 section 6.2 / RFC 3526 "1024-bit MODP Group" (Oakley group 2), generator 2.
MODP_1024 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"
    "FFFFFFFFFFFFFFFF", 16)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsops lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _rsa_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Cert:
    """A certificate with its key (the issuer of further certificates)."""

    def __init__(self, cert, key):
        self.cert, self.key = cert, key

    @property
    def name(self):
        return self.cert.subject


def _build(subject_cn, key, issuer, *, ca=False, sans=(), not_before=None, not_after=None,
           client=False, path_len=None):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    not_before = not_before or now - DAY
    not_after = not_after or now + 90 * DAY
    issuer_name = issuer.name if issuer else _name(subject_cn)
    signer = issuer.key if issuer else key
    b = (x509.CertificateBuilder()
         .subject_name(_name(subject_cn)).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                            critical=False)
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=True, crl_sign=True,
                                          encipher_only=False, decipher_only=False), critical=True)
    else:
        eku = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        b = b.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]),
                                critical=False)
    return Cert(b.sign(signer, hashes.SHA256()), key)


class LabPKI:
    """Generates every certificate the scenarios need into ``directory``."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.leaf_key = _rsa_key()         # one key for all RSA-2048 leaves: this is a lab
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _build("tlsops lab root", _rsa_key(), None, ca=True)
        self.int1 = _build("tlsops lab intermediate", _rsa_key(), self.root, ca=True)
        self.int2 = _build("tlsops lab intermediate 2", _rsa_key(), self.int1, ca=True)
        self.other_root = _build("tlsops other root", _rsa_key(), None, ca=True)
        self.other_int = _build("tlsops other intermediate", _rsa_key(), self.other_root, ca=True)
        self.files = {}
        self.root_file = self._save("lab-root.pem", [self.root])
        self.int_file = self._save("lab-int.pem", [self.int1])
        self.int2_file = self._save("lab-int2.pem", [self.int2])
        self.other_root_file = self._save("other-root.pem", [self.other_root])
        client = _build("tlsops lab client", self.leaf_key, self.root, client=True)
        self.client_cert, self.client_key = self._save("client", [client], key=client.key)

    def _save(self, name, chain, key=None):
        if key is None:
            path = os.path.join(self.dir, name)
            _write(path, b"".join(_pem(c.cert) for c in chain))
            return path
        cert_path = os.path.join(self.dir, name + ".pem")
        key_path = os.path.join(self.dir, name + ".key")
        _write(cert_path, b"".join(_pem(c.cert) for c in chain))
        _write(key_path, _key_pem(key), 0o600)
        return cert_path, key_path

    def leaf(self, name, sans, *, chain="int", key="rsa", days_valid=(-1, 90)):
        """Issue a server certificate and write ``name.pem`` (served chain) and ``name.key``.

        chain: "int" (leaf + lab intermediate), "leaf" (leaf alone, issued by the intermediate),
        "deep" (leaf + int2 + int), "self" (self-signed), "other" (leaf + intermediate of
        other_root).  key: "rsa", "ec" (P-256) or "rsa1024".  days_valid: (from, to) relative
        to now.
        """
        if key == "ec":
            k = self.ec_key
        elif key == "rsa1024":
            k = _rsa_key(1024)
        else:
            k = self.leaf_key
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        nb, na = now + days_valid[0] * DAY, now + days_valid[1] * DAY
        cn = sans[0]
        if chain == "self":
            served = [_build(cn, k, None, sans=sans, not_before=nb, not_after=na)]
        else:
            issuer = {"int": self.int1, "leaf": self.int1, "deep": self.int2, "other": self.other_int}[chain]
            leaf = _build(cn, k, issuer, sans=sans, not_before=nb, not_after=na)
            served = {"int": [leaf, self.int1], "leaf": [leaf], "deep": [leaf, self.int2, self.int1],
                      "other": [leaf, self.other_int]}[chain]
        return self._save(name, served, key=k)

    def dhparams(self, name="dhparam-1024.pem"):
        with warnings.catch_warnings():  # FFDH is deprecated in cryptography: that is the point here
            warnings.simplefilter("ignore")
            numbers = dh.DHParameterNumbers(MODP_1024, 2)
        data = numbers.parameters().parameter_bytes(serialization.Encoding.PEM,
                                                    serialization.ParameterFormat.PKCS3)
        path = os.path.join(self.dir, name)
        _write(path, data)
        return path

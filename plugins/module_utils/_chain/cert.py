# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates for cert_chain_info: the ``Cert`` object (DER, the stdlib
reader's fields, cryptography's object) and the single-link checks OpenSSL
makes while it builds a path - issuer match, signature, key and digest strength.
"""

from __future__ import annotations

import traceback
import warnings

from ansible_collections.tlsops.handshake.plugins.module_utils._tls import x509_lite as x509

try:
    from cryptography import x509 as cx509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

# Security bits OpenSSL 3.0 gives a certificate signature's digest (x509_sig_info_init).
_DIGEST_BITS = {"md2": 39, "md4": 39, "md5": 39, "sha1": 63, "sha224": 112, "sha256": 128, "sha384": 192,
                "sha512": 256, "sha3-224": 112, "sha3-256": 128, "sha3-384": 192, "sha3-512": 256, "sm3": 128}
_WEAK_DIGESTS = ("md2", "md4", "md5", "sha1")


class Cert(object):
    """One certificate: ``der``, ``info`` (the _tls/x509_lite fields at the evaluation time),
    ``obj`` (cryptography's certificate) and where it came from (``origin``)."""

    def __init__(self, der, at, origin):
        self.der = bytes(der)
        self.info = x509.parse_certificate(self.der, now=at)
        with warnings.catch_warnings():  # odd serials in system stores: not this module's business
            warnings.simplefilter("ignore")
            self.obj = cx509.load_der_x509_certificate(self.der)
        self.origin = origin
        self._self_signed = None

    @property
    def sha256(self):
        return self.info["sha256"]

    @property
    def subject(self):
        return self.info["subject"]

    @property
    def ss_flag(self):
        """OpenSSL's EXFLAG_SS: self-issued, and any AKI matches its own SKI (no signature check)."""
        return bool(self.info["self_issued"]) and x509.issued_by(self.info, self.info)

    def self_signed(self):
        """Self-issued and its signature verifies with its own key."""
        if self._self_signed is None:
            self._self_signed = self.ss_flag and signature_ok(self, self) is not False
        return self._self_signed

    def pem(self):
        return x509.der_to_pem(self.der)

    def __repr__(self):
        return "Cert(%s, %s)" % (self.subject, self.origin)


# --------------------------------------------------------------------------
# Single links


def _sig_key_family(info):
    name = (info.get("signature_algorithm") or "").lower()
    if "rsa" in name:
        return "RSA"
    if "ecdsa" in name:
        return "EC"
    if "dsa" in name:
        return "DSA"
    if name in ("ed25519", "ed448"):
        return name.capitalize().replace("ed", "Ed")
    return None


def likely_issued(child, parent):
    """OpenSSL's check_issued(): names, AKI/SKI and the key type of the signature (no signature check)."""
    if not x509.issued_by(child.info, parent.info):
        return False
    family = _sig_key_family(child.info)
    key_type = parent.info.get("key_type")
    if family is None or key_type is None:
        return True
    if family == "RSA":
        return key_type in ("RSA", "RSA-PSS")
    return key_type == family


def signature_ok(child, issuer):
    """True when ``issuer``'s key verifies ``child``'s signature, False when it does not,
    None when this cryptography cannot tell (an algorithm it does not handle)."""
    verify_directly = getattr(child.obj, "verify_directly_issued_by", None)
    if verify_directly is not None:
        try:
            verify_directly(issuer.obj)
            return True
        except InvalidSignature:
            return False
        except (ValueError, TypeError, UnsupportedAlgorithm):
            pass  # a name spelled differently, or SHA-1/MD5: check the signature alone below
    return _signature_alone(child, issuer)


def _signature_alone(child, issuer):
    try:
        key = issuer.obj.public_key()
        sig, tbs = child.obj.signature, child.obj.tbs_certificate_bytes
        if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(sig, tbs)
            return True
        digest = child.obj.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey):
            if child.info.get("signature_algorithm") == "rsassaPss":
                return None
            key.verify(sig, tbs, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, tbs, ec.ECDSA(digest))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(sig, tbs, digest)
        else:
            return None
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, ValueError, TypeError):
        return None
    return True


def key_security_bits(info):
    """Security bits of a certificate's public key as OpenSSL counts them (EVP_PKEY_get_security_bits)."""
    key_type, bits = info.get("key_type"), info.get("key_bits") or 0
    if key_type in ("RSA", "RSA-PSS", "DSA", "DH"):
        for limit, secbits in ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80)):
            if bits >= limit:
                return secbits
        return 0
    if key_type == "EC":
        return bits // 2
    return {"Ed25519": 128, "Ed448": 224}.get(key_type, 256)


def signature_security_bits(info):
    name = (info.get("signature_algorithm") or "").upper()
    if name == "ED25519":
        return 128
    if name == "ED448":
        return 224
    return _DIGEST_BITS.get(info.get("signature_hash") or "", 256)


def weak_signature(info):
    return (info.get("signature_hash") or "") in _WEAK_DIGESTS


def time_error(cert):
    """9 (not yet valid) or 10 (expired) at the evaluation time, else None."""
    if cert.info["not_yet_valid"]:
        return 9
    if cert.info["expired"]:
        return 10
    return None


def best_issuer(candidates, cert, exclude=()):
    """get0_best_issuer_sk(): the first issuer valid now, else the one that expires last."""
    best = None
    for cand in candidates:
        if any(cand is e for e in exclude) or not likely_issued(cert, cand):
            continue
        if time_error(cand) is None:
            return cand
        if best is None or cand.info["not_after"] > best.info["not_after"]:
            best = cand
    return best

# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A replay of OpenSSL 3.0's X509_verify_cert() with a verify callback that
always continues, as nginx's does, so that the LAST error is the one nginx logs.

It follows crypto/x509/x509_vfy.c in order: the leaf key's security level (66),
build_chain() with trusted-first lookups (2, 18, 19, 20, 22), check_extensions()
(79 invalid CA, 25 path length, 26 purpose sslserver), check_auth_level() (67, 68)
and internal_verify() (21, 32, 7, then 9/10 from the top of the chain down).
Not replayed: CRLs, policies, name constraints, DANE, proxy certificates,
X509_V_FLAG_X509_STRICT.  The openssl binary is the judge where it exists;
the unit tests check that the two agree.
"""

from __future__ import annotations

from ansible_collections.tlsops.handshake.plugins.module_utils._chain import cert as links

# X509_verify_cert_error_string() of OpenSSL 3.0 for the codes the replay reports.
VERIFY_MESSAGES = {
    0: "ok",
    2: "unable to get issuer certificate",
    7: "certificate signature failure",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
    22: "certificate chain too long",
    25: "path length constraint exceeded",
    26: "unsuitable certificate purpose",
    32: "key usage does not include certificate signing",
    66: "EE certificate key too weak",
    67: "CA certificate key too weak",
    68: "CA signature digest algorithm too weak",
    79: "invalid CA certificate",  # 24 before OpenSSL 3.0
}

# Minimum security bits per security level (SSL_CTX_set_security_level).
_LEVEL_BITS = {0: 0, 1: 80, 2: 112, 3: 128, 4: 192, 5: 256}
_DEFAULT_DEPTH = 100  # X509_VERIFY_PARAM's default depth
# serverAuth, Netscape and Microsoft SGC; the key usages a TLS server key may have
_SERVER_EKUS = frozenset(("serverAuth", "2.16.840.1.113730.4.1", "1.3.6.1.4.1.311.10.3.3"))
_SERVER_KUS = frozenset(("digitalSignature", "keyEncipherment", "keyAgreement"))


def _level_bits(level):
    return _LEVEL_BITS.get(level, 256) if level > 0 else 0


def _check_ca(info):
    """X509_check_ca(): 0 = not a CA; 1 = basicConstraints CA; 3 = v1 self-signed; 4 = keyCertSign only."""
    extensions = info.get("extensions") or ()
    if "2.5.29.15" in extensions and "keyCertSign" not in (info.get("key_usage") or ()):
        return 0
    if "2.5.29.19" in extensions:
        return 1 if info.get("is_ca") else 0
    if info.get("version") == 1 and info.get("self_issued"):
        return 3
    if "keyCertSign" in (info.get("key_usage") or ()):
        return 4
    return 0


def _ssl_server_purpose_ok(info, is_ca):
    """check_purpose_ssl_server(): extendedKeyUsage must allow serverAuth; keyUsage a TLS use."""
    extensions = info.get("extensions") or ()
    if "2.5.29.37" in extensions and not _SERVER_EKUS & set(info.get("extended_key_usage") or ()):
        return False
    if is_ca:
        return _check_ca(info) != 0
    if "2.5.29.15" in extensions and not _SERVER_KUS & set(info.get("key_usage") or ()):
        return False
    return True


# --------------------------------------------------------------------------
# The replay of X509_verify_cert()


def _error(code, depth, chain):
    cert = chain[depth] if 0 <= depth < len(chain) else None
    return {"code": code, "depth": depth, "message": VERIFY_MESSAGES.get(code, "error %d" % code),
            "subject": cert.subject if cert is not None else None}


def _build_chain(leaf, untrusted, store, depth):
    """build_chain() with X509_V_FLAG_TRUSTED_FIRST (OpenSSL's default); no DANE, no partial chains.

    Returns ``(chain, num_untrusted, trusted, errors)``.
    """
    max_depth = (_DEFAULT_DEPTH if depth is None else depth) + 1
    chain = [leaf]
    num_untrusted = 1
    pool = [c for c in untrusted if c.sha256 != leaf.sha256]
    self_signed = leaf.ss_flag
    search_untrusted = True
    trusted = False
    while True:
        top = chain[-1]
        found = None
        if len(chain) <= max_depth:
            if self_signed:  # a self-signed cert counts only when the store holds the very same cert
                found = next((s for s in store if s.sha256 == top.sha256), None)
            else:
                found = links.best_issuer(store, top)
        if found is not None:
            if self_signed:
                chain[-1] = found
                num_untrusted -= 1
            else:
                chain.append(found)
            search_untrusted = False  # nothing from the peer goes above a trusted certificate
            if found.ss_flag:
                trusted = True
                break
            self_signed = False
            continue
        if not search_untrusted:
            break
        nxt = None if (self_signed or len(chain) > max_depth) else links.best_issuer(pool, top, exclude=chain)
        if nxt is None:
            break
        pool = [c for c in pool if c is not nxt]
        chain.append(nxt)
        num_untrusted += 1
        self_signed = nxt.ss_flag
    errors = []
    if not trusted:
        num = len(chain)
        if num > max_depth:
            errors.append(_error(22, num - 1, chain))
        if chain[-1].ss_flag:
            errors.append(_error(18 if num == 1 else 19, num - 1, chain))
        else:
            errors.append(_error(2 if num_untrusted < num else 20, num - 1, chain))
    return chain, num_untrusted, trusted, errors


def _check_extensions(chain):
    errors = []
    plen = 0
    for i, cert in enumerate(chain):
        if i > 0:
            ret = _check_ca(cert.info)
            if ret == 0 or (i + 1 < len(chain) and ret != 1):
                errors.append(_error(79, i, chain))
        if not _ssl_server_purpose_ok(cert.info, i > 0):
            errors.append(_error(26, i, chain))
        limit = cert.info.get("path_length")
        if i > 1 and limit is not None and plen > limit:
            errors.append(_error(25, i, chain))
        if i > 0 and not cert.info["self_issued"]:
            plen += 1
    return errors


def _check_auth_level(chain, level):
    errors = []
    minbits = _level_bits(level)
    if not minbits:
        return errors
    for i, cert in enumerate(chain):
        if i > 0 and links.key_security_bits(cert.info) < minbits:
            errors.append(_error(67, i, chain))
        if i < len(chain) - 1 and links.signature_security_bits(cert.info) < minbits:
            errors.append(_error(68, i, chain))
    return errors


def _internal_verify(chain):
    errors = []
    n = len(chain) - 1
    issuer = chain[n]
    if links.likely_issued(issuer, issuer):
        subject = issuer
    elif n == 0:
        errors.append(_error(21, 0, chain))
        subject = issuer
    else:
        n -= 1
        subject = chain[n]
    while n >= 0:
        if subject is not issuer:
            if "2.5.29.15" in (issuer.info.get("extensions") or ()) and \
                    "keyCertSign" not in (issuer.info.get("key_usage") or ()):
                errors.append(_error(32, n + 1, chain))
            if links.signature_ok(subject, issuer) is False:
                errors.append(_error(7, n, chain))
        code = links.time_error(subject)
        if code:
            errors.append(_error(code, n, chain))
        n -= 1
        if n >= 0:
            issuer, subject = subject, chain[n]
    return errors


def replay_openssl(leaf, untrusted, store, depth=None, level=2):
    """X509_verify_cert() of OpenSSL 3.0 with a callback that always continues, as nginx's does.

    ``untrusted`` are the peer's other certificates, ``store`` the trust anchors
    (Cert objects parsed at the evaluation time).  Returns ``(chain, errors)``:
    the chain OpenSSL builds (leaf first) and every error in the order the callback
    sees them; nginx logs the last one.
    """
    errors = []
    if _level_bits(level) and links.key_security_bits(leaf.info) < _level_bits(level):
        errors.append(_error(66, 0, [leaf]))
    chain, dummy, dummy2, build_errors = _build_chain(leaf, untrusted, store, depth)
    errors.extend(build_errors)
    errors.extend(_check_extensions(chain))
    errors.extend(_check_auth_level(chain, level))
    errors.extend(_internal_verify(chain))
    return chain, errors

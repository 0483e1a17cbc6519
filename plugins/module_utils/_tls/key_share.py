# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key shares for the ClientHello (and the lab's ServerHellos).

A probe never completes the key exchange, but a server validates the share it
receives (OpenSSL rejects an off-curve point with illegal_parameter), so each
share must be well formed.  Private keys are not kept.  Standard library only.
"""

from __future__ import annotations

import os
import secrets

from ansible_collections.tlsops.handshake.plugins.module_utils._tls.names import group_name

# NIST prime curves y^2 = x^3 - 3x + b over GF(p); p = 3 (mod 4) for all three,
# so a square root is pow(v, (p + 1) // 4, p) and a random valid point costs one
# modular exponentiation (cofactor 1: every curve point is in the group).
_NIST_CURVES = {
    0x0017: (2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1,
             0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B, 32),
    0x0018: (2 ** 384 - 2 ** 128 - 2 ** 96 + 2 ** 32 - 1,
             0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF, 48),
    0x0019: (2 ** 521 - 1,
             0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
             66),
}
_FFDHE_BITS = {0x0100: 2048, 0x0101: 3072, 0x0102: 4096, 0x0103: 6144, 0x0104: 8192}
_MLKEM_K = {0x0200: 2, 0x0201: 3, 0x0202: 4}
_MLKEM_CT_LEN = {2: 768, 3: 1088, 4: 1568}


def _nist_point(group):
    p, b, size = _NIST_CURVES[group]
    while True:
        x = secrets.randbelow(p)
        rhs = (pow(x, 3, p) - 3 * x + b) % p
        y = pow(rhs, (p + 1) // 4, p)
        if (y * y) % p == rhs:
            return b"\x04" + x.to_bytes(size, "big") + y.to_bytes(size, "big")


def _mlkem_encaps_key(k):
    """A well-formed ML-KEM encapsulation key: k*256 coefficients < q=3329 (ByteEncode12) || rho.

    Servers run the FIPS 203 modulus check on it, so plain random bytes fail.
    """
    out = bytearray()
    for _i in range(k * 128):
        a = secrets.randbelow(3329)
        b = secrets.randbelow(3329)
        out += bytes((a & 0xFF, (a >> 8) | ((b & 0x0F) << 4), b >> 4))
    return bytes(out) + os.urandom(32)


def _ffdhe_share(group):
    # Without embedding the RFC 7919 primes: 2 generates the prime-order
    # subgroup of every ffdhe group and 2^e < p for e <= bits - 2, so 2^e passes
    # the peer's 1 < y < p-1 and y^q == 1 checks.
    bits = _FFDHE_BITS[group]
    e = 64 + secrets.randbelow(bits - 66)
    return (1 << e).to_bytes(bits // 8, "big")


def can_make_key_share(group):
    return group in (0x001D, 0x001E) or group in _NIST_CURVES or group in _FFDHE_BITS or group in _MLKEM_K \
        or group in (0x11EB, 0x11EC, 0x11ED)


def make_key_share(group, server=False):
    """Key-exchange bytes for ``group`` (client share, or server share when server=True).

    ValueError for groups with no known encoding (brainpool, secp192r1...).
    """
    if group == 0x001D:
        return os.urandom(32)
    if group == 0x001E:
        return os.urandom(56)
    if group in _NIST_CURVES:
        return _nist_point(group)
    if group in _FFDHE_BITS:
        return _ffdhe_share(group)
    if group in _MLKEM_K:
        k = _MLKEM_K[group]
        return os.urandom(_MLKEM_CT_LEN[k]) if server else _mlkem_encaps_key(k)
    # Hybrids (draft-ietf-tls-ecdhe-mlkem): X25519MLKEM768 puts ML-KEM first.
    if group == 0x11EC:
        kem = os.urandom(_MLKEM_CT_LEN[3]) if server else _mlkem_encaps_key(3)
        return kem + os.urandom(32)
    if group == 0x11EB:
        kem = os.urandom(_MLKEM_CT_LEN[3]) if server else _mlkem_encaps_key(3)
        return _nist_point(0x0017) + kem
    if group == 0x11ED:
        kem = os.urandom(_MLKEM_CT_LEN[4]) if server else _mlkem_encaps_key(4)
        return _nist_point(0x0018) + kem
    raise ValueError("cannot build a key share for group %s" % group_name(group))

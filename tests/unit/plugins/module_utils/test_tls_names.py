# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for the TLS name <-> code tables (``_tls_names``); cipher suites are resolved by the local libssl."""

from __future__ import annotations

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils import _tls_names as tn


def test_group_names_and_aliases():
    assert tn.group_code("x25519") == 29 == tn.group_code("X25519")
    for alias in ("secp256r1", "prime256v1", "P-256", "p-256"):
        assert tn.group_code(alias) == 23
    assert tn.group_code("P-384") == 24 and tn.group_code("secp521r1") == 25
    assert tn.group_code("x448") == 30 and tn.group_code("ffdhe8192") == 260
    assert tn.group_code("X25519MLKEM768") == 0x11EC and tn.group_code("mlkem1024") == 0x0202
    assert tn.group_name(23) == "secp256r1" and tn.group_name(0x11EB) == "SecP256r1MLKEM768"
    assert tn.group_name(0x9999) == "0x9999"
    with pytest.raises(ValueError, match="curve25519"):
        tn.group_code("curve25519")


def test_sigalgs_versions_alerts():
    assert tn.sigalg_code("rsa_pss_rsae_sha256") == 0x0804
    assert tn.sigalg_code("RSA+SHA256") == 0x0401 and tn.sigalg_code("ECDSA+SHA384") == 0x0503
    assert tn.sigalg_name(0x0807) == "ed25519" and tn.sigalg_name(0x0403) == "ecdsa_secp256r1_sha256"
    with pytest.raises(ValueError, match="nope"):
        tn.sigalg_code("nope")
    assert tn.version_code("TLSv1.0") == 0x0301 and tn.version_name(0x0300) == "SSLv3"
    assert tn.alert_name(112) == "unrecognized_name" and tn.alert_code("certificate_required") == 116


def test_cipher_tables():
    assert tn.tls13_cipher_suites()[0x1301] == "TLS_AES_128_GCM_SHA256"
    suites = tn.tls12_cipher_suites()
    assert suites[0xC02F] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert not set(suites) & set(tn.tls13_cipher_suites())
    assert tn.cipher_name(0x1302) == "TLS_AES_256_GCM_SHA384"
    assert tn.cipher_name(0xFEFE) == "0xFEFE"
    assert tn.cipher_codes("ECDHE-RSA-AES256-GCM-SHA384") == [0xC030]
    assert set(tn.cipher_codes("ECDHE+AESGCM")) >= {0xC02B, 0xC02C, 0xC02F, 0xC030}
    assert tn.cipher_codes("TLS_AES_128_GCM_SHA256:AES128-SHA") == [0x1301, 0x002F]
    with pytest.raises(ValueError, match="BOGUS"):
        tn.cipher_codes("BOGUS")


def test_cipher_kx():
    assert tn.cipher_kx(0xC02F, "ECDHE-RSA-AES128-GCM-SHA256") == "ecdhe"
    assert tn.cipher_kx(0x009E, "DHE-RSA-AES128-GCM-SHA256") == "dhe"
    assert tn.cipher_kx(0x009C, "AES128-GCM-SHA256") is None
    assert tn.cipher_kx(0xC02F, None) == "ecdhe"  # no name: from the code range

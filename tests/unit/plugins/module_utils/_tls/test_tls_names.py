# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for the TLS name <-> code tables (``_tls_names``); cipher suites are resolved by the local libssl."""

from __future__ import annotations

import ssl

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._tls import names as tn


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


def _openssl_curve_names():
    """Every curve name this host's OpenSSL knows (``openssl ecparam -list_curves``), plus the groups
    that are not EC curves."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    listing = subprocess.run(["openssl", "ecparam", "-list_curves"], capture_output=True, text=True, check=True).stdout
    names = [line.split(":")[0].strip() for line in listing.splitlines() if ":" in line]
    return names + ["X25519", "X448", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"]


def test_the_group_table_covers_every_group_this_openssl_negotiates():
    """A name SSL_CTX_set1_groups accepts (set_ecdh_curve) is a group libssl can negotiate in TLS: the
    table must know it, or the probe's open offers and enumerate's scan would miss it."""
    import ssl

    negotiable = []
    for name in _openssl_curve_names():
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ecdh_curve(name)
        except (ssl.SSLError, ValueError):
            continue
        negotiable.append(name)
    assert "brainpoolP256r1" in negotiable and "ffdhe2048" in negotiable  # what OpenSSL >= 3.0 always has
    missing = []
    for name in negotiable:
        try:
            code = tn.group_code(name)
        except ValueError:
            missing.append(name)
            continue
        assert code in tn.local_groups(), name
        assert code in tn.all_groups(), name
    assert not missing, "groups this OpenSSL negotiates that _tls_names does not know: %s" % missing


def test_group_versions_follow_openssl():
    assert tn.group_versions("brainpoolP256r1") == ("TLSv1.2",)
    assert tn.group_versions("sect571r1") == ("TLSv1.2",)
    assert tn.group_versions("ffdhe2048") == ("TLSv1.3",)  # OpenSSL negotiates no RFC 7919 group in TLS 1.2
    assert tn.group_versions("brainpoolP256r1tls13") == ("TLSv1.3",)
    assert tn.group_versions("P-256") == ("TLSv1.2", "TLSv1.3")
    assert tn.group_versions(0x9999) == ()
    tls12, tls13 = set(tn.all_groups("TLSv1.2")), set(tn.all_groups("TLSv1.3"))
    assert tn.group_code("brainpoolP384r1") in tls12 - tls13 and tn.group_code("ffdhe8192") in tls13 - tls12
    assert set(tn.all_groups("TLSv1")) == tls12 and tls12 | tls13 == set(tn.all_groups())
    assert tn.group_code("K-571") == tn.group_code("sect571k1") == 0x000D


class _EcKeyOnlyContext(ssl.SSLContext):
    """Stands in for Debian 12's python3.11 (3.11.2), whose set_ecdh_curve goes through
    EC_KEY_new_by_curve_name and refuses X25519/X448 ("EC: UNKNOWN_GROUP") although its libssl
    negotiates them.  That Python cannot run in this test process (it lives in the molecule image,
    where the gate of playbooks/enforce.yml met it), so its one refusal is reproduced here."""

    def set_ecdh_curve(self, name):
        if name in ("X25519", "X448"):
            raise ssl.SSLError(1, "[EC: UNKNOWN_GROUP] unknown group (_ssl.c:4346)")
        return super().set_ecdh_curve(name)


def test_x25519_counts_as_local_when_python_refuses_it_but_openssl_has_it(monkeypatch, tmp_path):
    monkeypatch.setattr(tn.ssl, "SSLContext", _EcKeyOnlyContext)
    monkeypatch.setattr(tn, "_LOCAL_GROUPS", [])
    monkeypatch.setattr(tn, "FIPS_FLAG", str(tmp_path / "absent"))
    assert {0x001D, 0x001E} <= set(tn.local_groups())


def test_in_fips_mode_a_refused_x25519_is_not_local(monkeypatch, tmp_path):
    flag = tmp_path / "fips_enabled"
    flag.write_text("1\n")
    monkeypatch.setattr(tn.ssl, "SSLContext", _EcKeyOnlyContext)
    monkeypatch.setattr(tn, "_LOCAL_GROUPS", [])
    monkeypatch.setattr(tn, "FIPS_FLAG", str(flag))
    local = tn.local_groups()
    assert 0x001D not in local and 0x001E not in local and 0x0017 in local

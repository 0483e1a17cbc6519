# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe's conf_commands (proxy_ssl_conf_command as a dict): what each command sets, that they win
over the equivalent fields, and that every bad command or value is an error naming where it is.
The handshakes themselves are proved against the lab (tests/integration/test_tls_probe_conf.py)."""

from __future__ import annotations

import ssl

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._probe import handshake as hs
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import SUPPORTED_CONF_COMMANDS, TARGET_KEYS, ProbeConfigError, build_targets

LEGACY_SERVER_CONNECT = 0x4  # SSL_OP_LEGACY_SERVER_CONNECT (ssl.OP_LEGACY_SERVER_CONNECT from Python 3.12)


def test_supported_names_are_lower_case_and_cover_the_contract():
    assert isinstance(SUPPORTED_CONF_COMMANDS, tuple)
    assert all(n == n.lower() for n in SUPPORTED_CONF_COMMANDS)
    assert {"options", "groups", "signaturealgorithms", "sigalgs", "ciphersuites", "minprotocol",
            "maxprotocol"} <= set(SUPPORTED_CONF_COMMANDS)
    assert "conf_commands" in TARGET_KEYS


def test_commands_win_over_fields_with_any_case():
    spec = build_targets([{"host": "h", "groups": ["secp384r1"], "sigalgs": ["rsa_pkcs1_sha256"],
                           "conf_commands": {"GROUPS": "X25519:prime256v1", "sigalgs": "RSA+SHA256:rsa_pss_rsae_sha256",
                                             "CipherSuites": "TLS_AES_128_GCM_SHA256", "cipherstring": "ECDHE+AESGCM",
                                             "minprotocol": "TLSv1.3"}}], {})[0]
    assert spec["groups"] == ["X25519", "prime256v1"]
    assert spec["sigalgs"] == ["RSA+SHA256", "rsa_pss_rsae_sha256"]
    assert spec["ciphersuites"] == ["TLS_AES_128_GCM_SHA256"] and spec["ciphers"] == "ECDHE+AESGCM"
    assert spec["protocols"] == ["TLSv1.3"]
    assert spec["conf_commands"]["GROUPS"] == "X25519:prime256v1"  # kept as written


def test_a_target_dict_replaces_the_module_level_commands():
    specs = build_targets(["a", {"host": "b", "conf_commands": {"MaxProtocol": "TLSv1.2"}}],
                          {"conf_commands": {"Groups": "secp384r1"}})
    assert specs[0]["groups"] == ["secp384r1"] and specs[0]["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert specs[1]["groups"] is None and specs[1]["protocols"] == ["TLSv1.2"]


def test_options_reach_the_real_handshake_context():
    plain = build_targets(["h"], {"verify": False})[0]
    legacy = build_targets(["h"], {"verify": False, "conf_commands": {"Options": "UnsafeLegacyServerConnect"}})[0]
    assert not hs.make_context(plain).options & LEGACY_SERVER_CONNECT
    assert hs.make_context(legacy).options & LEGACY_SERVER_CONNECT
    # "-Flag" turns one off, inverted flags set their SSL_OP_NO_* bit, server-only flags change nothing
    off = build_targets(["h"], {"verify": False, "conf_commands": {
        "options": "-SessionTicket, -EncryptThenMac,ServerPreference,unsafelegacyserverconnect,-UnsafeLegacyServerConnect"}})[0]
    ctx = hs.make_context(off)
    assert ctx.options & ssl.OP_NO_TICKET and ctx.options & (1 << 19)
    assert not ctx.options & LEGACY_SERVER_CONNECT


@pytest.mark.parametrize("targets, defaults, needle", [
    (["h"], {"conf_commands": "Options UnsafeLegacyServerConnect"}, "conf_commands: expected a dict"),
    (["h"], {"conf_commands": {"NumTickets": "0"}}, "conf_commands: unsupported command 'NumTickets'"),
    (["h", {"host": "h", "conf_commands": {"Protocol": "-TLSv1.3"}}], {},
     "targets[1].conf_commands: unsupported command 'Protocol'"),
    ([{"host": "h", "conf_commands": {"Options": "UnsafeLegacyServerConect"}}], {},
     "targets[0].conf_commands.Options: unknown option 'UnsafeLegacyServerConect'"),
    ([{"host": "h", "conf_commands": {"Groups": "x25519:curve9999"}}], {},
     "targets[0].conf_commands.Groups: unknown key-exchange group 'curve9999'"),
    (["h"], {"conf_commands": {"Groups": "x25519::secp384r1"}}, "conf_commands.Groups: 'x25519::secp384r1' is not"),
    (["h"], {"conf_commands": {"SignatureAlgorithms": "rsa_md2"}}, "conf_commands.SignatureAlgorithms: unknown"),
    (["h"], {"conf_commands": {"Ciphersuites": "TLS_FAKE"}}, "conf_commands.Ciphersuites: unknown TLS 1.3 suite"),
    (["h"], {"conf_commands": {"CipherString": "NOPE"}}, "ciphers: 'NOPE' matches no cipher"),
    (["h"], {"conf_commands": {"MinProtocol": "TLS1.2"}}, "conf_commands.MinProtocol: 'TLS1.2' is not a protocol"),
    (["h"], {"conf_commands": {"MinProtocol": "TLSv1.3", "MaxProtocol": "TLSv1.2"}},
     "conf_commands: MinProtocol/MaxProtocol leave none"),
    (["h"], {"conf_commands": {"Groups": "x25519", "Curves": "secp384r1"}}, "conf_commands: Curves is given twice"),
    (["h"], {"conf_commands": {"Options": 4}}, "conf_commands.Options: expected the value"),
])
def test_bad_commands_name_where_they_are(targets, defaults, needle):
    with pytest.raises(ProbeConfigError) as caught:
        build_targets(targets, defaults)
    assert needle in str(caught.value), str(caught.value)


def test_a_group_this_openssl_cannot_negotiate_is_refused_like_nginx_would():
    if ssl.OPENSSL_VERSION_INFO >= (3, 5):
        pytest.skip("this OpenSSL negotiates ML-KEM")
    with pytest.raises(ProbeConfigError, match=r"conf_commands.Groups: this OpenSSL .* cannot negotiate X25519MLKEM768"):
        build_targets(["h"], {"conf_commands": {"Groups": "X25519MLKEM768"}})

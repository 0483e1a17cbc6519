# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe through real Ansible against the lab: conf_commands (proxy_ssl_conf_command) change the real
handshake, and the group search covers every group OpenSSL negotiates (TLS 1.2-only brainpool, FFDHE),
with a fix that works when nginx's OpenSSL (here: openssl s_client, the same libssl) applies it."""

from __future__ import annotations

import re
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.integration.helpers import probe_args, run_module


def _one(lab, name, **extra):
    res = run_module("tls_probe", {"targets": [probe_args(lab, name, **extra)]})
    assert not res.get("failed"), res.get("msg")
    return res["results"][0]


def _handshake_with(lab, name, groups, tls12_only):
    """``openssl s_client`` (this host's libssl, as nginx would use it) with the suggested Groups."""
    sc = lab.scenarios[name]
    cmd = ["timeout", "5", "openssl", "s_client", "-connect", "127.0.0.1:%d" % sc["port"], "-servername",
           sc["server_name"], "-CAfile", lab.info["ca_file"], "-verify_return_error", "-groups", groups]
    if tls12_only:
        cmd.append("-tls1_2")
    proc = subprocess.run(cmd, input=b"", capture_output=True, timeout=10, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")


@pytest.mark.parametrize("name, group, tls12_only", [
    ("brainpool_tls12", "brainpoolP256r1", False),
    ("brainpool_only", "brainpoolP256r1", True),
    ("ffdhe_only", "ffdhe2048", False),
])
def test_group_mismatch_names_the_group_and_a_fix_that_works(lab, name, group, tls12_only):
    r = _one(lab, name)
    assert r["cause"] == "group_mismatch", (r["cause"], r["detail"], r["evidence"])
    assert group in r["detail"]
    fix = " ".join(r["fix"])
    found = re.search(r"proxy_ssl_conf_command Groups ([^;]+);", fix)
    assert found and group in found.group(1).split(":"), fix
    assert ("proxy_ssl_protocols TLSv1.2" in fix) == tls12_only, fix
    rc, out = _handshake_with(lab, name, found.group(1), tls12_only)
    assert rc == 0 and "Verify return code: 0" in out, out


def test_enumerate_finds_groups_only_tls12_or_tls13_allows(lab):
    brainpool = _one(lab, "brainpool_only", protocols=["TLSv1.2"], groups=["brainpoolP256r1"],
                     enumerate=["protocols", "groups"])
    assert brainpool["ok"] and brainpool["tls"]["group"] == "brainpoolP256r1"
    assert brainpool["capabilities"] == {"protocols": ["TLSv1.2"], "groups": ["brainpoolP256r1"]}
    ffdhe = _one(lab, "ffdhe_only", groups=["ffdhe2048"], enumerate=["groups"])
    assert ffdhe["ok"] and ffdhe["capabilities"]["groups"] == ["ffdhe2048"]
    assert ffdhe["handshakes"] <= 1 + 2 + 4 + 2, ffdhe["handshakes"]  # probe, details, versions, 1 found + 1 refusal


def test_unsafe_legacy_server_connect_lets_the_legacy_server_in(lab):
    refused = _one(lab, "legacy_reneg")
    assert refused["cause"] == "legacy_renegotiation"
    allowed = _one(lab, "legacy_reneg", conf_commands={"options": "UnsafeLegacyServerConnect"})
    assert allowed["cause"] == "ok" and allowed["ok"], (allowed["detail"], allowed["evidence"])
    assert allowed["tls"]["version"] == "TLSv1.2" and allowed["http_status"] == 200
    assert allowed["verification"]["ok"] is True


def test_module_level_commands_apply_and_a_target_replaces_them(lab):
    targets = [probe_args(lab, "legacy_reneg", name="inherits"),
               probe_args(lab, "legacy_reneg", name="own", conf_commands={"MaxProtocol": "TLSv1.2"})]
    res = run_module("tls_probe", {"targets": targets, "conf_commands": {"Options": "UnsafeLegacyServerConnect"}})
    by = {r["target"]: r["cause"] for r in res["results"]}
    assert by == {"inherits": "ok", "own": "legacy_renegotiation"}, res["results"]


def test_commands_win_over_the_equivalent_fields(lab):
    # group_disjoint accepts secp384r1 only: the field says secp384r1, Groups says x25519 -> Groups wins
    r = _one(lab, "group_disjoint", groups=["secp384r1"], conf_commands={"Groups": "x25519"})
    assert r["cause"] == "group_mismatch", r["detail"]
    r = _one(lab, "group_disjoint", groups=["x25519"], conf_commands={"Groups": "secp384r1"})
    assert r["cause"] == "ok" and r["tls"]["group"] == "secp384r1", r["detail"]
    # tls13_only: protocols allow TLS 1.3, MaxProtocol takes it away
    r = _one(lab, "tls13_only", protocols=["TLSv1.2", "TLSv1.3"], conf_commands={"MaxProtocol": "TLSv1.2"})
    assert r["cause"] == "protocol_mismatch", r["detail"]
    # sigalg_mismatch serves ECDSA: SignatureAlgorithms with an ECDSA scheme replaces the RSA-only field
    r = _one(lab, "sigalg_mismatch", conf_commands={"SignatureAlgorithms": "ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256"})
    assert r["cause"] == "ok", (r["detail"], r["evidence"])


@pytest.mark.parametrize("args, needle", [
    ({"targets": [{"host": "127.0.0.1", "conf_commands": {"Protocol": "-TLSv1"}}]},
     "targets[0].conf_commands: unsupported command 'Protocol'"),
    ({"targets": ["127.0.0.1:443"], "conf_commands": {"Options": "NoSuchFlag"}},
     "conf_commands.Options: unknown option 'NoSuchFlag'"),
    ({"targets": ["127.0.0.1:443"], "conf_commands": {"Groups": "x25519:nosuchcurve"}}, "conf_commands.Groups"),
])
def test_bad_commands_fail_cleanly(args, needle):
    res = run_module("tls_probe", args)
    assert res.get("failed") is True and needle in res["msg"], res
    assert "Traceback" not in res.get("module_stderr", "") and "exception" not in res


def test_nginx_with_the_same_conf_command_gets_in_too(lab):
    """The lab's nginx proxy: /legacy_reneg_allowed has proxy_ssl_conf_command Options
    UnsafeLegacyServerConnect (from the scenario's conf_commands) and gets the upstream's 200, where
    /legacy_reneg without it gets 502; the probe says the same of both."""
    proxy = lab.info["proxy"]

    def get(name):
        try:
            with urllib.request.urlopen(proxy["url"] + name, timeout=15) as resp:
                return resp.status, resp.read(200)
        except urllib.error.HTTPError as exc:
            return exc.code, b""

    assert get("legacy_reneg_allowed") == (200, b"legacy_reneg ok\n")
    assert get("legacy_reneg")[0] == 502
    res = run_module("tls_probe", {"targets": [probe_args(lab, n) for n in ("legacy_reneg_allowed", "legacy_reneg")]})
    assert [r["cause"] for r in res["results"]] == ["ok", "legacy_renegotiation"]

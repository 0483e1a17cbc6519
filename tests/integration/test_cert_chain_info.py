# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_chain_info through real Ansible: on files written here and on the lab's live upstreams.

The verify codes must be the ones nginx logs for the same upstream (the lab's
``nginx_log``, proven against a real nginx in test_lab.py), not the first error
``openssl verify`` stops at.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._probe.handshake import MSG_CALLBACK
from tests.integration.helpers import run_module

pytest.importorskip("cryptography")
# pylint: disable=wrong-import-position
from tests.unit.plugins.module_utils._chain import test_chain_pki as pki

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def _codes(result):
    return [f["code"] for f in result["findings"]]


def _nginx_code(scenario):
    """The verify code in the line nginx logs for a lab scenario."""
    match = re.search(r"verify error: \((\d+):", scenario["nginx_log"]["text"])
    return int(match.group(1))


def _in_parallel(calls):
    """run_module for every ``{key: args}`` at once (each is its own ansible process)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(run_module, "cert_chain_info", args) for key, args in calls.items()}
        return {key: future.result() for key, future in futures.items()}


# (label, scenario, extra module arguments) of every live run
_LIVE_RUNS = (
    ("healthy", "healthy", {}),
    ("missing_intermediate", "missing_intermediate", {"intermediates": "LAB_INTERMEDIATE"}),
    ("expired", "expired", {}),
    ("deep_chain", "deep_chain", {"verify_depth": 1}),
    ("hostname_mismatch", "hostname_mismatch", {}),
    ("rsa1024", "rsa1024", {}),
    ("unknown_root", "unknown_root", {}),
    ("tls13_only", "tls13_only", {}),
)


@pytest.fixture(scope="module")
def live(lab):
    """The module's result for every live run, by label (all runs at once: each costs an ansible start)."""
    intermediate = lab.info["intermediate_file"]
    calls = {}
    for label, name, extra in _LIVE_RUNS:
        scenario = lab.scenarios[name]
        args = {"host": scenario["host"], "port": scenario["port"], "server_name": scenario["server_name"],
                "ca_file": lab.info["ca_file"], "timeout": 3}
        args.update((k, intermediate if v == "LAB_INTERMEDIATE" else v) for k, v in extra.items())
        calls[label] = args
    results = _in_parallel(calls)
    results["intermediate_file"] = intermediate
    return results


def _first_openssl_error(ca_file, leaf, untrusted=None):
    cmd = ["openssl", "verify", "-no-CApath", "-no-CAstore", "-CAfile", ca_file]
    if untrusted:
        cmd += ["-untrusted", untrusted]
    proc = subprocess.run(cmd + [leaf], capture_output=True, text=True, check=False)
    found = re.search(r"error (\d+) at", proc.stdout + proc.stderr)
    return int(found.group(1)) if found else 0


# --------------------------------------------------------------------------
# Files written by the test


def test_file_with_key_names_and_check_mode(tmp_path):
    ca = pki.Hierarchy("integration", slot=100)
    served = pki.write(tmp_path, "site.pem", ca.leaf, ca.int1)
    key = pki.write_key(tmp_path, "site.key", ca.leaf.key, passphrase="pass phrase")
    result = run_module("cert_chain_info", {
        "path": served, "ca_file": pki.write(tmp_path, "root.pem", ca.root), "key_path": key,
        "key_passphrase": "pass phrase", "names": ["www.integration.example", "api.integration.example"],
        "valid_at": "+80d"}, check=True)
    assert not result["failed"], result.get("msg")
    assert result["changed"] is False
    assert result["verified"]["ok"] is True and result["complete"] is True and result["key_matches"] is True
    assert [n["covered"] for n in result["names"]] == [True, False]
    assert set(_codes(result)) == {"hostname_mismatch", "expiring_soon"}
    assert result["expiring"] is True
    assert "pass phrase" not in repr(result.get("invocation"))  # no_log


def test_incomplete_file_is_completed(tmp_path):
    ca = pki.Hierarchy("integration", slot=100)
    result = run_module("cert_chain_info", {
        "path": pki.write(tmp_path, "site.pem", ca.leaf), "ca_file": pki.write(tmp_path, "root.pem", ca.root),
        "intermediates": pki.write(tmp_path, "int.pem", ca.int1)})
    assert result["verified"]["code"] == 21 and _codes(result) == ["chain_incomplete"]
    assert result["complete_chain"] == ca.leaf.pem + ca.int1.pem


def test_several_files_in_one_call_each_judged_as_alone(tmp_path):
    """paths: one run of the module for several files, each result what a call with path gives (plus path);
    a missing file is one failed entry and the others are still judged; key_path is refused beside paths."""
    ca = pki.Hierarchy("integration", slot=100)
    root = pki.write(tmp_path, "root.pem", ca.root)
    full, bare = pki.write(tmp_path, "full.pem", ca.leaf, ca.int1), pki.write(tmp_path, "bare.pem", ca.leaf)
    gone = str(tmp_path / "gone.pem")
    at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    several = run_module("cert_chain_info", {"paths": [full, gone, bare], "ca_file": root, "valid_at": at})
    assert not several["failed"], several.get("msg")
    assert [r["path"] for r in several["results"]] == [full, gone, bare]
    assert several["results"][1]["failed"] is True and gone in several["results"][1]["msg"]
    for index, path in ((0, full), (2, bare)):
        alone = run_module("cert_chain_info", {"path": path, "ca_file": root, "valid_at": at})
        together = dict(several["results"][index])
        assert together.pop("path") == path
        assert together["complete"] is (path == full)
        for key in ("source", "complete", "findings", "verified", "chain", "chosen_path", "expires_in_days"):
            assert together[key] == alone[key], key
    refused = run_module("cert_chain_info", {"paths": [full], "key_path": full})
    assert refused["failed"] and "paths|key_path" in refused["msg"]
    empty = run_module("cert_chain_info", {"paths": []})
    assert empty["failed"] and empty["msg"].startswith("paths: give at least one file")


_REAL_CHAINS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "unit", "plugins",
                            "module_utils", "fixtures", "chains")


def test_real_cross_signed_chain_ends_at_the_trusted_root(tmp_path):
    """Let's Encrypt's chain served with ISRG Root X1 cross-signed by DST Root CA X3 (public certificates,
    fixtures/chains/README.md): trusted first, as nginx builds it, against X1 and against a store without either root."""
    served = tmp_path / "fullchain.pem"
    served.write_text("".join(open(os.path.join(_REAL_CHAINS, name)).read() for name in (
        "valid-isrgrootx1.letsencrypt.org-2021.pem", "lets-encrypt-r3.pem", "isrg-root-x1-by-dst-root-ca-x3.pem")))
    common = {"path": str(served), "valid_at": "2021-07-15T12:00:00Z"}
    results = _in_parallel({
        "x1": dict(common, ca_file=os.path.join(_REAL_CHAINS, "isrg-root-x1.pem")),
        "other": dict(common, ca_file=os.path.join(_REAL_CHAINS, "usertrust-rsa-root.pem"))})
    trusted = results["x1"]
    assert not trusted["failed"], trusted.get("msg")
    assert trusted["verified"]["ok"] is True and trusted["findings"] == []
    assert [(s["subject"].split(",")[0], s["origin"]) for s in trusted["chosen_path"]] == [
        ("CN=valid-isrgrootx1.letsencrypt.org", "served"), ("CN=R3", "served"), ("CN=ISRG Root X1", "store")]
    assert trusted["path_ends_at_trusted"] is True
    assert [(e["position"], e["same_key_as"].split(",")[0]) for e in trusted["served_extra"]] == [(2, "CN=ISRG Root X1")]
    assert "uid" not in trusted and "owner" not in trusted  # no file attributes mixed into the result
    untrusted = results["other"]
    assert _codes(untrusted) == ["untrusted_root"] and "DST Root CA X3" in untrusted["findings"][0]["message"]
    assert untrusted["path_ends_at_trusted"] is False and untrusted["served_extra"] == []


_BAD_INPUT = {
    # content is no_log: Ansible masks its value wherever it appears, so not a single letter here
    "two sources": ({"path": "/etc/hostname", "content": "not a certificate"}, "mutually exclusive"),
    "port 0": ({"host": "127.0.0.1", "port": 0}, "port: 0 is not a valid port"),
    "bad valid_at": ({"path": "/nonexistent.pem", "valid_at": "+3 fortnights"}, "valid_at: "),
}


def test_bad_input_fails_naming_the_parameter():
    results = _in_parallel({label: args for label, (args, dummy) in _BAD_INPUT.items()})
    for label, (dummy, message) in _BAD_INPUT.items():
        result = results[label]
        assert result["failed"] and message in result["msg"], (label, result.get("msg"))
        assert "Traceback" not in result.get("msg", "") and "exception" not in result, label


# --------------------------------------------------------------------------
# Live lab upstreams


def test_live_healthy(live):
    result = live["healthy"]
    assert not result["failed"], result.get("msg")
    assert result["source"]["type"] == "endpoint" and result["source"]["chain_read"] == "full"
    assert result["verified"]["ok"] is True and result["complete"] is True and result["order_ok"] is True
    assert len(result["chain"]) == 2 and result["names"] == [
        {"name": "healthy.lab.test", "covered": True, "matched": "healthy.lab.test"}]
    assert result["findings"] == []


@needs_openssl
def test_live_missing_intermediate(lab, live):
    scenario = lab.scenarios["missing_intermediate"]
    result = live["missing_intermediate"]
    assert "chain_incomplete" in _codes(result) and result["complete"] is False
    assert result["verified"]["code"] == _nginx_code(scenario) == 21
    assert _first_openssl_error(lab.info["ca_file"], scenario["cert_file"]) == 20  # where openssl verify stops
    assert result["missing_issuer"]["found_in"] == live["intermediate_file"]
    assert result["complete_chain"].count("BEGIN CERTIFICATE") == 2
    assert result["complete_chain_verified"]["ok"] is True


def test_live_expired(lab, live):
    result = live["expired"]
    assert "expired" in _codes(result)
    assert result["verified"]["code"] == _nginx_code(lab.scenarios["expired"]) == 10
    assert result["expires_in_days"] < 0 and result["expiring"] is True


def test_live_deep_chain(lab, live):
    result = live["deep_chain"]  # verify_depth 1, nginx's default, as the lab's probe
    assert result["complete"] is True and len(result["chain"]) == 3
    assert "chain_too_deep" in _codes(result)
    assert result["verified"]["code"] == _nginx_code(lab.scenarios["deep_chain"]) == 20
    assert [e["code"] for e in result["verified"]["errors"]] == [22, 20]
    assert result["verified"]["path"] == [c["subject"] for c in result["chain"]]  # as far as OpenSSL got
    assert result["complete_chain_verified"] is None


def test_live_mismatch_weak_and_untrusted(lab, live):
    mismatch = live["hostname_mismatch"]
    assert _codes(mismatch) == ["hostname_mismatch"] and mismatch["verified"]["ok"] is True
    weak = live["rsa1024"]
    assert "weak_key" in _codes(weak)
    assert weak["verified"]["code"] == _nginx_code(lab.scenarios["rsa1024"]) == 66
    other = live["unknown_root"]
    assert _codes(other) == ["untrusted_root"]
    assert other["verified"]["code"] == _nginx_code(lab.scenarios["unknown_root"]) == 20


def test_live_tls13_only_server_shows_its_whole_chain_or_only_its_leaf(live):
    result = live["tls13_only"]
    assert not result["failed"], result.get("msg")
    if MSG_CALLBACK or sys.version_info >= (3, 13):  # the handshake's own (decrypted) Certificate message, or ssl's
        assert result["source"]["chain_read"] == "full" and result["verified"]["ok"] is True
        assert len(result["chain"]) == 2 and result["source"]["tls_version"] == "TLSv1.3"
        assert result["source"]["handshakes"] == 1
        return
    assert result["source"]["chain_read"] == "leaf_only" and result["source"]["tls_version"] == "TLSv1.3"
    assert len(result["chain"]) == 1 and result["names"][0]["covered"] is True
    assert result["verified"]["ok"] is None and "TLS 1.3 only" in result["verified"]["note"]
    assert result["complete"] is None and result["order_ok"] is None
    assert "chain_incomplete" not in _codes(result)

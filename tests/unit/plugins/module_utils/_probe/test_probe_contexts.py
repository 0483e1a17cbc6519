# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SSLContexts of one tls_probe call (issue #15): one per distinct set of settings, keyed by
everything that shapes it, the trust store loaded only when a connection needs it."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest
import trustme

from ansible_collections.tlsops.handshake.plugins.module_utils._common import forked
from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import Deadline
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import handshake as hs, processes
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import CallShared, probe_targets
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import build_targets
from tests.unit.plugins.module_utils.loopback_tls import LoopbackTlsServer


class _Reads(dict):
    """A spec that records which keys are read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def _spec(**overrides):
    return build_targets(["127.0.0.1:443"], overrides)[0]


def test_the_key_names_every_setting_make_context_reads():
    for verify in (True, False):
        for extra in ({}, {"ca_data": "x"}, {"ca_file": "/nonexistent"}):
            spec = _Reads(_spec(verify=verify), **extra)
            try:
                hs.make_context(spec)
            except (ssl.SSLError, OSError):
                pass  # the trust store given here does not load: what was read up to there counts
            read = spec.read - {"verify"}
            assert read <= set(hs.CONTEXT_SETTINGS) | set(hs.TRUST_SETTINGS), read


@pytest.mark.parametrize("setting,one,other", [
    ("protocols", ["TLSv1.2", "TLSv1.3"], ["TLSv1.3"]),
    ("ciphers", None, "ECDHE+AESGCM"),
    ("ssl_options", (0, 0), (4, 0)),
    ("groups", None, ["secp384r1"]),
    ("alpn", None, ["h2"]),
    ("client_cert", None, "/a/cert.pem"),
    ("client_key", None, "/a/key.pem"),
    ("client_key_passphrase", None, "secret"),
    ("ca_data", None, "-----BEGIN CERTIFICATE-----"),
    ("ca_file", None, "/a/ca.pem"),
])
def test_each_setting_makes_its_own_context(setting, one, other):
    first, second = dict(_spec(), **{setting: one}), dict(_spec(), **{setting: other})
    assert hs.context_key(first) != hs.context_key(second)
    assert hs.context_key(first) == hs.context_key(dict(first))
    if setting in hs.TRUST_SETTINGS:  # without verification no trust store is loaded: one context serves both
        assert hs.context_key(first, verify=False) == hs.context_key(second, verify=False)
    else:
        assert hs.context_key(first, verify=False) != hs.context_key(second, verify=False)


def test_verify_makes_its_own_context_and_the_follow_up_override_counts():
    spec = _spec()
    assert hs.context_key(spec) != hs.context_key(spec, verify=False)
    assert hs.context_key(dict(spec, verify=False)) == hs.context_key(spec, verify=False)


def test_equal_settings_share_a_context_and_different_ones_do_not():
    cache = hs.ContextCache()
    one, two = build_targets(["127.0.0.1:1", "127.0.0.1:2"], {})
    tls13 = build_targets(["127.0.0.1:3"], {"protocols": ["TLSv1.3"]})[0]
    assert cache.entry(one) is cache.entry(two)
    assert cache.entry(tls13) is not cache.entry(one)
    assert cache.entry(tls13).ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    assert cache.entry(one).ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert cache.entry(one, verify=False).ctx.verify_mode == ssl.CERT_NONE
    assert cache.entry(one).ctx.verify_mode == ssl.CERT_REQUIRED
    assert cache.built == len(cache) == 3


def test_many_threads_build_one_context():
    cache = hs.ContextCache()
    spec = _spec()
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.entry(spec).ready())) for _number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(got) == 16 and all(ctx is got[0] for ctx in got) and cache.built == 1


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_trust_store_is_loaded_with_the_first_connection_only(tmp_path):
    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))   # one CA: cert_store_stats counts it once loaded
    with LoopbackTlsServer(ssl.TLSVersion.TLSv1_3) as server:
        settings = {"ca_file": str(ca_file), "timeout": 3, "http_request": False}
        spec = build_targets(["127.0.0.1:%d" % server.port], settings)[0]
        cache = hs.ContextCache()
        closed = dict(spec, port=_closed_port())
        out = hs.handshake(closed, ("127.0.0.1", closed["port"]), Deadline(3), contexts=cache)
        assert out.error_kind == hs.ErrorKind.REFUSED
        assert cache.entry(spec).ctx.cert_store_stats()["x509_ca"] == 0, "no connection: no trust store loaded"
        out = hs.handshake(spec, ("127.0.0.1", server.port), Deadline(3), contexts=cache)
    assert out.error_kind == hs.ErrorKind.VERIFY, out   # another CA's leaf: verified against the store, refused
    assert cache.entry(spec).ctx.cert_store_stats()["x509_ca"] == 1
    assert cache.built == 1


def test_a_call_parses_each_certificate_and_resolves_each_name_once():
    shared = CallShared()
    assert shared.address("127.0.0.1", 443) == shared.address("127.0.0.1", 443)
    assert shared.address("127.0.0.1", 443)[0] == ("127.0.0.1", 443)
    assert shared.address("name.invalid", 443)[1].startswith("could not resolve name.invalid")
    assert shared.parse(b"\x30\x00") is None


@pytest.mark.skipif(not hs.MSG_CALLBACK, reason="this Python has no SSLContext._msg_callback")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_group_and_served_chain_come_from_the_handshake_itself(version):
    with LoopbackTlsServer(version, names=("upstream.lab.test",)) as server:
        results, _summary = probe_targets([{"host": "127.0.0.1", "port": server.port, "server_name": "upstream.lab.test",
                                            "verify": False, "http_request": False, "timeout": 5}])
    result = results[0]
    assert result["ok"] and result["handshakes"] == 1, result
    assert result["tls"]["group"] == "x25519"
    assert [c["subject"] for c in result["chain"]][0] == result["certificate"]["subject"]
    assert len(result["chain"]) == 2 and result["chain"][1]["subject"] == result["certificate"]["issuer"]


def test_without_the_message_callback_a_healthy_target_still_costs_at_most_two(monkeypatch):
    # A Python without SSLContext._msg_callback cannot be installed here: the flag the contexts read stands in.
    monkeypatch.setattr(hs, "MSG_CALLBACK", False)
    with LoopbackTlsServer(ssl.TLSVersion.TLSv1_3, names=("upstream.lab.test",)) as server:
        results, _summary = probe_targets([{"host": "127.0.0.1", "port": server.port, "server_name": "upstream.lab.test",
                                            "verify": False, "http_request": False, "timeout": 5}])
    result = results[0]
    assert result["ok"] and result["handshakes"] == 2, result
    assert len(result["chain"]) == 2, "the one follow-up left reads the chain (a TLS 1.2 ClientHello)"
    assert result["tls"]["group"] is None
    assert any("negotiated group not read" in e for e in result["evidence"]), result["evidence"]


@pytest.fixture
def openssl_server(tmp_path):
    """``openssl s_server -www`` on 127.0.0.1 in its own process (a thread of this one would keep the probe
    from forking), with a leaf of a fresh CA; yields ``(port, ca_file)``."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "leaf.pem"))
    leaf.private_key_pem.write_to_path(str(tmp_path / "leaf.key"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["openssl", "s_server", "-quiet", "-www", "-accept", "127.0.0.1:%d" % port,
                               "-cert", str(tmp_path / "leaf.pem"), "-key", str(tmp_path / "leaf.key")],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("openssl s_server did not listen on %d" % port)
                time.sleep(0.05)
        yield port, str(tmp_path / "ca.pem")
    finally:
        server.kill()
        server.wait(10)


def test_a_call_dealt_out_to_processes_loads_each_trust_store_once_before_forking(openssl_server, tmp_path, monkeypatch):
    port, ca_file = openssl_server
    loads = tmp_path / "loads"
    load_trust = hs._load_trust

    def counted(ctx, spec, verify):      # the real load, and which process did it (children write here too)
        with open(str(loads), "a") as record:
            record.write("%d\n" % os.getpid())
        return load_trust(ctx, spec, verify)

    monkeypatch.setattr(hs, "_load_trust", counted)
    # a thread left by an earlier test (a resolver still asking for name.invalid) keeps the probe from forking
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name not in forked.FORK_SAFE_THREADS:
            thread.join(30)
    if not forked.available():
        pytest.skip("threads that are not fork-safe still run: %s" % [t.name for t in threading.enumerate()])
    targets = [{"host": "127.0.0.1", "port": port}] * (2 * processes.MIN_TARGETS_PER_PROCESS)
    results, summary = probe_targets(targets, {"ca_file": ca_file, "timeout": 5}, workers=2)
    assert summary["processes"] == 2
    assert all(r["handshake_ok"] and r["verification"]["ok"] for r in results), {r["cause"] for r in results}
    assert loads.read_text().split() == [str(os.getpid())], "loaded once, by the parent: the children had it"

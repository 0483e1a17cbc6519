# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe through real Ansible against the real lab: every scenario must be
named by its cause."""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from tests.integration.helpers import probe_args, run_module, scenarios as lab_scenarios


@pytest.fixture(scope="module")
def all_results(lab):
    scenarios = [dict(s, name=n) for n, s in lab_scenarios(lab)]
    res = run_module("tls_probe", {"targets": [probe_args(lab, s["name"]) for s in scenarios]})
    assert not res.get("failed"), res.get("msg")
    return scenarios, res


def test_every_scenario_is_classified(all_results):
    scenarios, res = all_results
    got = {r["target"]: r["cause"] for r in res["results"]}
    want = {s["name"]: s["expected_cause"] for s in scenarios}
    wrong = {name: (want[name], got.get(name)) for name in want if got.get(name) != want[name]}
    details = {r["target"]: (r["detail"], r["raw_error"], r["evidence"]) for r in res["results"]
               if r["target"] in wrong}
    assert not wrong, "expected vs got: %r\n%r" % (wrong, details)


def test_results_keep_input_order_and_summary_counts(all_results):
    scenarios, res = all_results
    assert [r["target"] for r in res["results"]] == [s["name"] for s in scenarios]
    summary = res["summary"]
    assert summary["total"] == len(scenarios)
    assert summary["ok"] == sum(1 for r in res["results"] if r["ok"])
    assert summary["failed"] == summary["total"] - summary["ok"]
    assert sum(summary["by_cause"].values()) == summary["total"]
    assert res["changed"] is False


def test_every_failure_carries_nginx_text_and_fix(all_results):
    res = all_results[1]
    for r in res["results"]:
        if r["cause"] == "ok":
            assert r["ok"] and r["fix"] == []
            continue
        assert not r["ok"], r
        assert r["nginx_error"] and "<" not in r["nginx_error"].replace("<upstream", ""), r["nginx_error"]
        assert r["fix"] and all(isinstance(f, str) and f for f in r["fix"])
        assert r["detail"]
        assert r["handshakes"] >= 1
    unknown = [r for r in res["results"] if r["cause"] == "unknown"]
    assert all(r["raw_error"] for r in unknown)


def test_healthy_reports_version_cipher_group_alpn_and_chain(all_results):
    res = all_results[1]
    healthy = next(r for r in res["results"] if r["target"] == "healthy")
    assert healthy["ok"] and healthy["handshake_ok"]
    assert healthy["tls"]["version"] == "TLSv1.3"
    assert healthy["tls"]["cipher"].startswith("TLS_")
    assert healthy["tls"]["group"] == "x25519"
    assert healthy["tls"]["alpn"] == "h2"
    assert healthy["verification"] == {"ok": True, "code": 0, "message": "ok"}
    assert healthy["hostname_match"] is True
    assert healthy["http_status"] is None  # ALPN h2: no HTTP/1.1 request is sent
    assert len(healthy["chain"]) == 2
    leaf, inter = healthy["chain"]
    assert leaf["issuer"] == inter["subject"]
    assert "healthy.lab.test" in leaf["sans"]
    for key in ("subject", "issuer", "not_before", "not_after", "days_left", "sans", "sha256", "key_type",
                "key_bits", "signature_algorithm"):
        assert healthy["certificate"][key] not in (None, ""), key
    assert healthy["timing"]["connect_ms"] >= 0 and healthy["timing"]["handshake_ms"] > 0


def test_tls12_healthy_reports_ecdhe_group(all_results):
    res = all_results[1]
    r = next(r for r in res["results"] if r["target"] == "healthy_tls12")
    assert r["ok"] and r["tls"]["version"] == "TLSv1.2"
    assert r["tls"]["group"] == "x25519"
    assert len(r["chain"]) == 2
    assert r["http_status"] == 200


def test_fix_names_the_directive(all_results):
    res = all_results[1]
    by = {r["target"]: r for r in res["results"]}
    assert "proxy_ssl_server_name on;" in by["sni_required"]["fix"]
    assert "proxy_ssl_name sni.lab.test;" in by["sni_required"]["fix"]
    assert any("proxy_ssl_verify_depth 2;" in f for f in by["deep_chain"]["fix"])
    assert any(f.startswith("proxy_ssl_protocols") and "TLSv1.3" in f for f in by["tls13_only"]["fix"])
    assert any("proxy_ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384" in f for f in by["cipher_disjoint"]["fix"])
    assert any("Groups secp384r1" in f for f in by["group_disjoint"]["fix"])


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1) to keep DNS off the network")
def test_dns_failure_without_any_dns_traffic(lab):
    name, scenario = next((n, s) for n, s in lab.scenarios.items() if s.get("isolated_dns"))
    # An empty network namespace: the resolver is unreachable, so no query leaves the machine.
    res = run_module("tls_probe", {"targets": [probe_args(lab, name)]}, prefix=["unshare", "-n"])
    r = res["results"][0]
    assert r["cause"] == "dns_failure", r
    assert scenario["host"] in r["nginx_error"]


def test_check_mode_probes_the_same(lab):
    res = run_module("tls_probe", {"targets": [probe_args(lab, "plain_http")]}, check=True)
    assert res["changed"] is False
    assert res["results"][0]["cause"] == "plain_http"


def test_enumerate_returns_exactly_the_configured_set(lab):
    s = lab.scenarios["enumerate"]
    res = run_module("tls_probe", {"targets": [probe_args(lab, "enumerate",
                                                          enumerate=["protocols", "ciphers", "groups", "sni"])]})
    r = res["results"][0]
    caps, known = r["capabilities"], s["known"]
    assert caps["protocols"] == known["protocols"]
    for version, ciphers in known["ciphers"].items():
        assert sorted(caps["ciphers"][version]) == sorted(ciphers), version
    assert sorted(caps["groups"]) == sorted(known["groups"])
    assert caps["requires_sni"] is False
    accepted = len(caps["protocols"]) + sum(len(v) for v in caps["ciphers"].values()) + len(caps["groups"])
    # by elimination: accepted items + one refusal per list + one hello per protocol version + a few more
    # 1 probe + 2 detail hellos + 2 SNI handshakes + one refusal per scanned list = 8
    assert r["handshakes"] <= accepted + len(("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")) + 8, r["handshakes"]


def test_enumerate_sni_on_sni_gate(lab):
    res = run_module("tls_probe", {"targets": [probe_args(lab, "sni_required", sni=True, enumerate=["sni"])]})
    caps = res["results"][0]["capabilities"]
    assert caps["requires_sni"] is True


@pytest.mark.parametrize("args, needle", [
    ({"targets": ["127.0.0.1:0"]}, "targets[0].port"),
    ({"targets": [{"host": "127.0.0.1", "port": 70000}]}, "targets[0].port"),
    ({"targets": ["127.0.0.1:443"], "protocols": ["TLSv1.4"]}, "protocols"),
    ({"targets": [{"host": "127.0.0.1", "protocols": ["SSLv3"]}]}, "targets[0].protocols"),
    ({"targets": ["127.0.0.1:443"], "ca_file": "/nonexistent/ca.pem"}, "ca_file"),
    ({"targets": ["127.0.0.1:443"], "client_cert": "/etc/hostname"}, "client_key"),
    ({"targets": ["127.0.0.1:443"], "groups": ["curve9999"]}, "groups"),
    ({"targets": ["127.0.0.1:443"], "ciphers": "NO-SUCH-CIPHER"}, "ciphers"),
    ({"targets": []}, "targets"),
])
def test_bad_parameters_name_the_parameter(args, needle):
    res = run_module("tls_probe", args)
    assert res.get("failed") is True, res
    assert needle in res["msg"], res["msg"]
    assert "Traceback" not in res.get("module_stderr", "") and "exception" not in res


def test_500_targets_with_silent_servers_stay_bounded(lab):
    targets = []
    for i in range(500):
        targets.append(probe_args(lab, "silent" if i % 25 == 0 else "healthy", name="t%03d" % i, timeout=2))
    started = time.monotonic()
    res = run_module("tls_probe", {"targets": targets, "concurrency": 64, "diagnose": False})
    elapsed = time.monotonic() - started
    causes = [r["cause"] for r in res["results"]]
    assert causes.count("handshake_timeout") == 20
    assert causes.count("ok") == 480
    # 20 silent targets at 2 s each spread over 64 slots: far below 500 x 2 s; generous for slow CI.
    assert elapsed < 120, elapsed
    for r in res["results"]:
        if r["cause"] == "handshake_timeout":
            assert r["timing"]["handshake_ms"] < 2000 + 1000


@pytest.mark.parametrize("scenario, offset_ms, cause, clock", [
    # the lab's leaf expired a day ago: a clock 3 days ahead of true time explains it
    ("expired", -3 * 86400 * 1000, "clock_skew", True),
    ("expired", -3600 * 1000, "cert_expired", False),
    # valid from +30 days: a clock 31 days behind explains it
    ("not_yet_valid", 31 * 86400 * 1000, "clock_skew", True),
    ("not_yet_valid", 0, "cert_not_yet_valid", False),
    ("not_yet_valid", None, "cert_not_yet_valid", None),
])
def test_clock_offset_separates_clock_skew_from_bad_certificates(lab, scenario, offset_ms, cause, clock):
    extra = {} if offset_ms is None else {"clock_offset_ms": offset_ms}
    res = run_module("tls_probe", {"targets": [probe_args(lab, scenario, **extra)]})
    r = res["results"][0]
    assert (r["cause"], r["clock_could_be_cause"]) == (cause, clock), r["detail"]
    if cause == "clock_skew":
        assert "verify error: (%d:" % (10 if scenario == "expired" else 9) in r["nginx_error"]
        assert any("time_sync" in f for f in r["fix"])


@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None or os.geteuid() != 0,
                    reason="needs root, unshare(1) and ip(8) for a resolver of its own")
def test_a_resolver_that_does_not_answer_costs_the_timeout_not_its_retries(tmp_path):
    """A real stalled resolver: in a mount and network namespace of its own, /etc/resolv.conf names a UDP
    socket on 127.0.0.1:53 that reads queries and never answers (glibc waits 30 s, its cap of the 60 s asked).
    The target's name fails as dns_failure after its timeout, and the module ends long before the resolver
    would."""
    resolv, ready = tmp_path / "resolv.conf", tmp_path / "ready"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:60 attempts:1\n")
    silent = ("import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
              "s.bind(('127.0.0.1', 53)); open(%r, 'w').close(); time.sleep(120)" % str(ready))
    # a PID namespace too: when ansible (its first process) ends, the kernel ends the silent resolver
    setup = ('ip link set lo up && mount --bind "$0" /etc/resolv.conf && '
             '{ "$1" -c "$2" </dev/null >/dev/null 2>&1 & } && '
             'while [ ! -e "$3" ]; do sleep 0.05; done; shift 3; exec "$@"')
    prefix = ["unshare", "-m", "-n", "-p", "--fork", "--kill-child", "sh", "-c", setup, str(resolv), sys.executable,
              silent, str(ready)]
    started = time.monotonic()
    res = run_module("tls_probe", {"targets": [{"host": "stalled.resolver.test", "port": 443, "timeout": 1}]},
                     prefix=prefix)
    elapsed = time.monotonic() - started
    r = res["results"][0]
    assert r["cause"] == "dns_failure", r
    assert "the system resolver did not answer within 1 s" in r["detail"] + r["raw_error"], r
    assert elapsed < 20, elapsed        # the resolver alone held the module 30 s

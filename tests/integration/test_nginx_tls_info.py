# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info through real Ansible: the lab's own nginx (its reverse proxy in front of every
scenario) read with ``nginx -T``, and its probe targets handed unchanged to tls_probe, which must then
fail exactly as that nginx fails."""

from __future__ import annotations

import os
import textwrap

import pytest

from tests.integration.helpers import run_module

PROBE_DEFAULT_PROTOCOLS = ["TLSv1.2", "TLSv1.3"]


@pytest.fixture(scope="module")
def lab_report(lab):
    res = run_module("nginx_tls_info", {"config": lab.path("nginx.conf"), "prefix": lab.dir})
    assert not res["failed"], res.get("msg")
    return res


def proxied(lab):
    """The scenarios the lab's proxy forwards to (location = /NAME)."""
    return {n: s for n, s in lab.scenarios.items() if s.get("proxy_path")}


def entry_for(report, name):
    found = [u for u in report["upstreams"] if any(loc["location"] == "= /" + name for loc in u["locations"])]
    assert len(found) == 1, name
    return found[0]


def test_lab_config_is_read_from_nginx_dash_t(lab, lab_report):
    assert lab_report["source"] == "nginx -T"
    assert lab_report["config_test"]["ok"] is True and lab_report["summary"]["config_valid"] is True
    assert lab_report["files"] == [lab.path("nginx.conf")]
    assert lab_report["nginx"]["version"] and lab_report["nginx"]["openssl_running"]
    assert lab_report["changed"] is False
    assert len(lab_report["upstreams"]) == len(proxied(lab))


def test_every_proxied_scenario_has_the_effective_settings_of_its_probe(lab, lab_report):
    for name, scenario in proxied(lab).items():
        entry = entry_for(lab_report, name)
        probe, eff = scenario["probe"], entry["effective"]
        assert entry["servers"][0]["host"] == scenario["host"] and entry["servers"][0]["port"] == scenario["port"]
        assert eff["protocols"] == probe.get("protocols", PROBE_DEFAULT_PROTOCOLS), name
        assert eff["server_name_on"] is probe.get("sni", True), name
        assert eff["ssl_name_resolved"] == probe.get("server_name", scenario["server_name"]), name
        assert eff["verify"] is probe.get("verify", True), name
        assert eff["session_reuse"] is False
        if eff["verify"]:
            assert eff["verify_depth"] == probe.get("verify_depth", 9), name
            assert eff["trusted_certificate"] == probe.get("ca_file", lab.info["ca_file"]), name
        assert eff["ciphers"] == probe.get("ciphers", "DEFAULT"), name
        if "groups" in probe:
            assert eff["groups"] == probe["groups"], name
        if "client_cert" in probe:
            assert (eff["certificate"], eff["certificate_key"]) == (probe["client_cert"], probe["client_key"])
        loc = entry["locations"][0]
        assert loc["file"] == lab.path("nginx.conf") and loc["server_names"] == ["proxy.lab.test"]


def test_lab_findings_have_and_have_not(lab, lab_report):
    def codes(name):
        return [f["code"] for f in entry_for(lab_report, name)["findings"]]

    assert "https_to_plain_port" in codes("plain_http")
    assert "https_to_plain_port" not in codes("healthy")
    assert "sni_off_for_hostname" in codes("sni_required")
    assert "sni_off_for_hostname" not in codes("sni_unknown_name")
    depth = [f for f in entry_for(lab_report, "deep_chain")["findings"] if f["code"] == "verify_depth_too_small"]
    assert len(depth) == 1 and depth[0]["severity"] == "info" and "needs probe" in depth[0]["message"]
    assert "verify_depth_too_small" not in codes("healthy")           # depth 9
    assert "legacy_protocols" in codes("local_config")                 # proxy_ssl_protocols TLSv1
    assert "legacy_protocols" not in codes("healthy")
    assert all(c not in codes("healthy") for c in ("verify_off", "verify_without_trusted_certificate"))
    servers = {s["server_names"][0]: s for s in lab_report["servers"] if s["server_names"]}
    missing = lab.scenarios["missing_intermediate"]["server_name"]
    assert [f["code"] for f in servers[missing]["findings"]] == ["certificate_not_full_chain"]
    healthy = lab.scenarios["healthy"]["server_name"]
    assert "certificate_not_full_chain" not in [f["code"] for f in servers[healthy]["findings"]]


@pytest.fixture(scope="module")
def probed(lab, lab_report):
    """tls_probe run on nginx_tls_info's probe targets exactly as returned, one per proxied scenario."""
    names = sorted(proxied(lab))
    targets = []
    for name in names:
        entry_targets = entry_for(lab_report, name)["probe_targets"]
        assert len(entry_targets) == 1, name
        targets.append(entry_targets[0])
    res = run_module("tls_probe", {"targets": targets, "timeout": 3})
    assert not res["failed"], res.get("msg")
    return dict(zip(names, res["results"]))


def test_probe_targets_make_tls_probe_fail_as_nginx_fails(lab, probed):
    wrong = {name: (lab.scenarios[name]["expected_cause"], r["cause"], r["detail"])
             for name, r in probed.items() if r["cause"] != lab.scenarios[name]["expected_cause"]}
    assert not wrong, wrong


def test_plain_http_port_both_ways(lab, lab_report, probed):
    finding = [f for f in entry_for(lab_report, "plain_http")["findings"] if f["code"] == "https_to_plain_port"][0]
    assert finding["cause"] == "plain_http" == probed["plain_http"]["cause"]
    assert "%d" % lab.scenarios["plain_http"]["port"] in finding["message"]


def test_chains_from_the_probe_settle_verify_depth(lab, probed):
    chains = {r["target"]: r["chain"] for r in probed.values() if r.get("chain")}
    res = run_module("nginx_tls_info", {"config": lab.path("nginx.conf"), "prefix": lab.dir, "chains": chains})
    deep = entry_for(res, "deep_chain")
    found = [f for f in deep["findings"] if f["code"] == "verify_depth_too_small"]
    assert len(found) == 1 and found[0]["severity"] == "error" and "holds 2" in found[0]["message"]
    assert found[0]["fix"] == "proxy_ssl_verify_depth 2;"
    assert not [f for f in entry_for(res, "healthy")["findings"] if f["code"] == "verify_depth_too_small"]


def test_rejected_config_and_check_mode(tmp_path):
    d = str(tmp_path)
    os.makedirs(os.path.join(d, "conf.d"))
    with open(os.path.join(d, "nginx.conf"), "w") as handle:
        handle.write(textwrap.dedent("""\
            pid {d}/nginx.pid;
            error_log {d}/error.log;
            events {}
            http {
                access_log off;
                ssl_prefer_server_ciphers on;
                include conf.d/*.conf;
            }
            """).replace("{d}", d))
    with open(os.path.join(d, "conf.d", "options-ssl.conf"), "w") as handle:
        handle.write("ssl_prefer_server_ciphers off;\n")
    for check in (False, True):
        res = run_module("nginx_tls_info", {"config": d + "/nginx.conf", "prefix": d}, check=check)
        assert not res["failed"], res.get("msg")
        rejected = [f for f in res["findings"] if f["code"] == "config_rejected"]
        assert len(rejected) == 1
        assert rejected[0]["message"].endswith(
            '[emerg] "ssl_prefer_server_ciphers" directive is duplicate in %s/conf.d/options-ssl.conf:1' % d)
        assert res["summary"]["config_valid"] is False and res["source"] == "files"
        assert "duplicate_directive" in res["summary"]["by_code"]


@pytest.mark.parametrize("args, needle", [
    ({"policy": {"protocols": ["TLSv1.4"]}}, "policy.protocols"),
    ({"chains": {"x:443": "long"}}, "chains[x:443]"),
    ({"config": "relative/nginx.conf"}, "config:"),
    ({"nginx_path": "/nonexistent/nginx"}, "nginx_path:"),
    ({"source": "guess"}, "source"),
])
def test_bad_parameters_name_the_parameter(args, needle):
    res = run_module("nginx_tls_info", args)
    assert res["failed"] is True, res
    assert needle in res["msg"], res["msg"]

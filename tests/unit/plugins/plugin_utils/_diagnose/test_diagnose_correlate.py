# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's correlation rules on small hand-made inputs: whose fault, why, the ranking."""

from __future__ import annotations

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes as _causes
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose import report as engine
from ansible_collections.tlsops.handshake.plugins.plugin_utils._diagnose.correlate import SIDE_BY_LAYER
from tests.unit.plugins.plugin_utils.diagnose_builders import NOW, SITE, cert, host, logs, probe, upstream_entry

U = "10.0.0.7:443"
V = "10.0.0.8:443"


def build(hosts, **options):
    return engine.build_report(hosts, options, now=NOW)


def finding(report, **keys):
    found = [f for f in report["findings"] if all(f[k] == v for k, v in keys.items())]
    assert len(found) == 1, (keys, [(f["cause"], f["side"], f["owner"]) for f in report["findings"]])
    return found[0]


def pair(report, proxy, upstream=U):
    found = [p for p in report["pairs"] if p["proxy"] == proxy and p["upstream"] == upstream]
    assert len(found) == 1, found
    return found[0]


def test_same_upstream_failing_from_every_proxy_is_the_upstreams_fault():
    report = build({name: host([probe(U, "cert_expired")]) for name in ("p1", "p2", "p3")})
    f = finding(report, cause="cert_expired")
    assert (f["side"], f["owner"], f["severity"]) == ("upstream", U, "error")
    assert f["impact"] == {"pairs": 3, "hosts": 3}
    assert "every proxy that uses it (p1, p2, p3)" in f["why"]
    assert f["fix"] == _causes.render("cert_expired", host="10.0.0.7", port="443")[1]
    assert report["summary"]["status"] == "failure" and report["summary"]["by_cause"] == {"cert_expired": 3}


def test_failing_from_one_proxy_while_it_works_from_others_is_that_proxys_fault_with_the_difference():
    hosts = {
        "p1": host([probe(U, "sni_required", sni=False)], [upstream_entry(U, server_name_on=False)]),
        "p2": host([probe(U)]),
        "p3": host([probe(U)]),
    }
    report = build(hosts)
    f = finding(report, cause="sni_required")
    assert (f["side"], f["owner"], f["impact"]) == ("proxy", "p1", {"pairs": 1, "hosts": 1})
    assert "fails from p1 while it works from p2, p3" in f["why"].replace(" and ", ", ")
    evidence = pair(report, "p1")["evidence"][0]
    assert evidence.startswith("works from p2 (%s:12 location /api server www.example.com) with SNI 10.0.0.7, TLSv1.3" % SITE)
    assert "p1 has proxy_ssl_server_name off (%s:13)" % SITE in evidence
    assert f["fix"][0] == "proxy_ssl_server_name on;"
    assert pair(report, "p2")["side"] is None and pair(report, "p2")["ok"]


LOCAL = "127.0.0.1:8443"
MACHINE_A, MACHINE_B = "0b5e9c1e-8d7e-4c1a-9f55-3a1d2e4b6c70/4026531840", "7c2d4f9a-1e3b-4a6c-8d5f-9b0e1c2a3d4e/4026531840"


@pytest.mark.parametrize("where", [(MACHINE_A, MACHINE_B), (None, None), (MACHINE_A, None)],
                         ids=["two machines", "unknown", "one unknown"])
def test_a_loopback_upstream_down_on_one_machine_is_that_upstreams_not_the_proxys(where):
    """127.0.0.1:8443 of p1 and of p2 are two services (a local app on each proxy): p1's refusing while
    p2's answers says nothing about p1's nginx; the cause's layer decides, as for an upstream only p1 uses."""
    report = build({"p1": host([probe(LOCAL, "connection_refused")], network_namespace=where[0]),
                    "p2": host([probe(LOCAL)], network_namespace=where[1])})
    f = finding(report, cause="connection_refused")
    assert (f["side"], f["owner"], f["impact"]) == ("upstream", LOCAL, {"pairs": 1, "hosts": 1})
    assert "only p1 uses 127.0.0.1:8443 (a loopback address: each machine has its own)" in f["why"]
    assert "works from" not in " ".join(pair(report, "p1", LOCAL)["evidence"])


def test_a_loopback_upstream_shared_by_proxies_on_one_machine_is_compared_as_one():
    """Two nginx instances in one network namespace reach the same 127.0.0.1:8443: rule 2 applies."""
    hosts = {"p1": host([probe(LOCAL, "sni_required", sni=False)], [upstream_entry(LOCAL, server_name_on=False)],
                        network_namespace=MACHINE_A),
             "p2": host([probe(LOCAL)], network_namespace=MACHINE_A)}
    f = finding(build(hosts), cause="sni_required")
    assert (f["side"], f["owner"]) == ("proxy", "p1")
    assert "fails from p1 while it works from p2" in f["why"]


def test_a_routed_upstream_is_one_service_wherever_it_is_probed_from():
    hosts = {"p1": host([probe(U, "sni_required", sni=False)], [upstream_entry(U, server_name_on=False)],
                        network_namespace=MACHINE_A),
             "p2": host([probe(U)], network_namespace=MACHINE_B)}
    assert (finding(build(hosts), cause="sni_required")["owner"]) == "p1"


def test_a_proxy_whose_other_location_works_is_at_fault_for_the_failing_one():
    entries = [upstream_entry(U, location="/old", protocols=["TLSv1"]), upstream_entry(U, location="/new")]
    results = [probe(U, "protocol_mismatch"), probe(U)]
    report = build({"p1": host(results, entries)})
    failing = [p for p in report["pairs"] if not p["ok"]][0]
    assert (failing["side"], failing["owner"]) == ("proxy", "p1")
    assert "works from another location of p1" in failing["why"]
    assert "p1 has proxy_ssl_protocols TLSv1 (%s:15)" % SITE in failing["evidence"][0]
    assert failing["where"] == ["%s:12 location /old server www.example.com" % SITE]


@pytest.mark.parametrize("cause, side", [
    ("connection_refused", "upstream"), ("not_tls", "upstream"), ("cert_chain_incomplete", "upstream"),
    ("unknown", "upstream"), ("protocol_mismatch", "proxy"), ("client_cert_required", "proxy"), ("local_config", "proxy"),
])
def test_a_single_proxy_decides_by_the_causes_layer(cause, side):
    assert SIDE_BY_LAYER[_causes.CAUSES[cause]["layer"]] == side
    report = build({"p1": host([probe(U, cause)]), "p2": host([probe(V)])})
    f = finding(report, cause=cause)
    assert (f["side"], f["owner"]) == (side, U if side == "upstream" else "p1")
    assert f["why"].startswith("only p1 uses %s: a %s-layer cause" % (U, _causes.CAUSES[cause]["layer"]))


def test_a_single_proxy_whose_nginx_finding_names_the_cause_is_at_fault():
    finding_ = {"code": "https_to_plain_port", "severity": "error", "file": SITE, "line": 12, "cause": "plain_http",
                "message": "proxy_pass https://10.0.0.7:80 opens TLS to the plain-HTTP port"}
    report = build({"p1": host([probe("10.0.0.7:80", "plain_http")], [upstream_entry("10.0.0.7:80", findings=[finding_])])})
    f = finding(report, cause="plain_http")
    assert (f["side"], f["owner"]) == ("proxy", "p1")
    assert "nginx_tls_info on p1: proxy_pass https://10.0.0.7:80 opens TLS to the plain-HTTP port (%s:12)" % SITE in f["evidence"]


def test_all_proxies_failing_with_different_causes_fall_back_to_each_causes_layer():
    report = build({"p1": host([probe(U, "sni_required")]), "p2": host([probe(U, "cert_expired")])})
    assert (pair(report, "p1")["side"], pair(report, "p1")["owner"]) == ("proxy", "p1")
    assert (pair(report, "p2")["side"], pair(report, "p2")["owner"]) == ("upstream", U)
    assert "with different causes (cert_expired, sni_required)" in pair(report, "p1")["why"]


def test_tls_probes_clock_skew_is_that_proxys_with_time_sync_info_saying_which_clock():
    valid = cert()
    hosts = {"p1": host([probe(U, certificate=valid)]),
             "p2": host([probe(U, "clock_skew", certificate=valid, clock_could_be_cause=True)], offset_ms=-172800000.0),
             "p3": host([probe(U, certificate=valid)])}
    report = build(hosts)
    f = finding(report, cause="clock_skew")
    assert (f["side"], f["owner"], f["severity"]) == ("proxy", "p2", "error")
    assert f["evidence"][0].startswith("time_sync_info on p2: the clock is 2.0 d ahead (NTP server 10.0.0.123:123")
    assert f["fix"] == _causes.render("clock_skew", skewed_host="p2", offset_s="-172800.0", clock_effect="expired",
                                      host="10.0.0.7", port="443", server_name="10.0.0.7")[1]
    assert "p2" in f["fix"][0] and "2.0 d ahead" in f["why"]


def test_expired_by_a_skewed_clock_that_tls_probe_did_not_judge_is_clock_skew():
    valid = cert()      # valid at NOW; p2's clock is 300 days ahead, so it read "expired"
    hosts = {"p1": host([probe(U, certificate=valid)]),
             "p2": host([probe(U, "cert_expired", certificate=valid)], offset_ms=-300 * 86400000.0)}
    report = build(hosts)
    p2 = pair(report, "p2")
    assert (p2["cause"], p2["side"], p2["owner"]) == ("clock_skew", "proxy", "p2")
    assert "certificate CN=api.example.com is valid from 2026-01-01T00:00:00Z to 2026-12-31T00:00:00Z" in p2["evidence"]


def test_expired_with_a_good_clock_stays_expired():
    expired = cert(not_after="2026-05-01T00:00:00Z")
    report = build({"p1": host([probe(U, "cert_expired", certificate=expired)], offset_ms=-300 * 86400000.0),
                    "p2": host([probe(U, "cert_expired", certificate=expired)])})
    f = finding(report, cause="cert_expired")
    assert (f["side"], f["owner"]) == ("upstream", U)
    # p1's clock is off too: a warning of its own, since no pair fails because of it
    clock = finding(report, cause="clock_skew")
    assert (clock["severity"], clock["owner"]) == ("warning", "p1")


def test_a_skewed_clock_without_failures_is_a_warning():
    report = build({"p1": host([probe(U)], offset_ms=5000.0)})
    f = finding(report, cause="clock_skew")
    assert (f["severity"], f["side"], f["owner"], f["impact"]) == ("warning", "proxy", "p1", {"pairs": 0, "hosts": 1})
    assert "5.0 s behind" in f["what"]
    assert report["summary"]["status"] == "warning"


def test_log_events_for_an_upstream_that_probes_fine_now_are_intermittent():
    report = build({"p1": host([probe(U)], logs=logs({U: {"handshake_timeout": 4, "connection_reset": 1}})),
                    "p2": host([probe(U)], logs=logs({U: {"handshake_timeout": 2}}))})
    entry = [e for e in report["logs"]["upstream"] if e["host"] == "p1"][0]
    assert (entry["intermittent"], entry["probe_ok"], entry["count"]) == (True, True, 5)
    f = finding(report, cause="handshake_timeout")
    assert (f["severity"], f["side"], f["owner"], f["intermittent"]) == ("warning", "upstream", U, True)
    assert f["impact"] == {"pairs": 2, "hosts": 2}
    assert "nginx logged 7 failure(s) (p1 5, p2 2), first 2026-06-01T08:00:00, last 2026-06-01T11:30:00" in f["why"]
    assert report["summary"]["status"] == "warning" and report["summary"]["pairs_failed"] == 0


def test_logged_failures_of_a_failing_pair_are_its_evidence_not_intermittent():
    report = build({"p1": host([probe(U, "cert_expired")], logs=logs({U: {"cert_expired": 3}, V: {"connection_refused": 1}}))})
    by_upstream = dict((e["upstream"], e) for e in report["logs"]["upstream"])
    assert by_upstream[U]["intermittent"] is False and by_upstream[U]["probe_ok"] is False
    assert by_upstream[V]["probe_ok"] is None and by_upstream[V]["intermittent"] is False   # not probed
    p1 = pair(report, "p1")
    assert p1["logged"]["count"] == 3
    assert any(e.startswith("nginx's error log on p1: 3 failure(s) to %s (cert_expired 3)" % U) for e in p1["evidence"])
    assert not [f for f in report["findings"] if f["intermittent"]]


def test_client_side_events_are_reported_apart_by_cause_with_top_clients():
    clients = [{"address": "198.51.100.9", "count": 40, "causes": {"protocol_mismatch": 30, "not_tls": 10}},
               {"address": "203.0.113.5", "count": 7, "causes": {"protocol_mismatch": 7}}]
    report = build({"p1": host([probe(U)], logs=logs(client={"protocol_mismatch": 37, "not_tls": 10}, clients=clients))})
    client = dict((e["cause"], e) for e in report["logs"]["client"])
    assert client["protocol_mismatch"]["top_clients"] == [{"address": "198.51.100.9", "count": 30},
                                                          {"address": "203.0.113.5", "count": 7}]
    assert client["not_tls"]["count"] == 10
    f = finding(report, side="client")
    assert (f["severity"], f["owner"], f["cause"]) == ("info", "p1", "protocol_mismatch")
    assert f["fix"] == [_causes.CLIENT_SIDE_FIX]
    # never mixed with upstream failures: no pair, no cause count, status stays ok
    assert report["summary"]["by_cause"] == {} and report["summary"]["status"] == "ok"
    assert report["logs"]["upstream"] == []


def test_unreachable_hosts_are_rows_not_a_crash():
    report = build({"p1": host([probe(U, "cert_expired")]), "p2": None,
                    "p3": {"reachable": False, "unreachable_msg": "Failed to connect to the host via ssh"}})
    rows = dict((h["name"], h) for h in report["hosts"])
    assert (rows["p2"]["reachable"], rows["p2"]["error"]) == (False, "no data was collected for this host")
    assert (rows["p3"]["reachable"], rows["p3"]["error"]) == (False, "Failed to connect to the host via ssh")
    assert report["summary"]["hosts_unreachable"] == 2 and report["summary"]["pairs"] == 1
    assert "p3    (unreachable)  -             Failed to connect to the host via ssh" in engine.lines(report)


def test_a_failed_step_is_on_its_hosts_row():
    data = host([probe(U)])
    data["probe"] = {"failed": True, "msg": "targets[0]: unknown key(s) sni2"}
    data["logs"] = {"skipped": True}
    report = build({"p1": data})
    assert report["hosts"][0]["error"] == "probe: targets[0]: unknown key(s) sni2"
    assert report["summary"]["pairs"] == 0 and report["summary"]["status"] == "warning"


def test_findings_are_ranked_by_pairs_times_hosts():
    hosts = {"p1": host([probe(U, "cert_expired"), probe(V, "connection_refused")]),
             "p2": host([probe(U, "cert_expired"), probe(V)]),
             "p3": host([probe(U, "cert_expired"), probe(V)])}
    report = build(hosts)
    assert [(f["rank"], f["cause"], f["impact"]["pairs"] * f["impact"]["hosts"]) for f in report["findings"]] == [
        (1, "cert_expired", 9), (2, "connection_refused", 1)]
    assert report["findings"][0]["line"].startswith("1. [error] %s: the upstream's certificate has expired (from p1, p2, p3)"
                                                    " | where: p1 -> %s at %s:12" % (U, U, SITE))


def test_ties_are_broken_by_cause_then_owner_whatever_the_input_order():
    w = "10.0.0.9:443"
    hosts = {"p2": host([probe(V, "connection_refused")]), "p1": host([probe(U, "connection_refused")]),
             "p3": host([probe(w, "cert_expired")])}
    first = build(hosts)
    again = build(dict(reversed(list(hosts.items()))))
    order = [(f["cause"], f["owner"]) for f in first["findings"]]
    assert order == [("cert_expired", w), ("connection_refused", U), ("connection_refused", V)]
    assert order == [(f["cause"], f["owner"]) for f in again["findings"]]


def test_a_served_incomplete_chain_is_the_proxys():
    chain_result = {"source": {"type": "path", "path": "/etc/nginx/tls/site.pem"}, "complete": False, "leaf_position": 0,
                    "chain": [{"subject": "CN=www.example.com", "not_before": "2026-01-01T00:00:00Z",
                               "not_after": "2026-09-01T00:00:00Z"}],
                    "missing_issuer": {"name": "CN=Example CA R3"}, "expires_in_days": 92, "expiring": False,
                    "findings": [{"code": "chain_incomplete", "severity": "error", "cause": "cert_chain_incomplete",
                                  "message": "the chain stops at CN=www.example.com"}]}
    server = {"file": SITE, "line": 3, "listen": [{"address": "0.0.0.0", "port": 443}],
              "ssl_certificates": ["/etc/nginx/tls/site.pem"]}
    data = host([probe(U)], chains=[chain_result])
    data["nginx"]["servers"] = [server]
    report = build({"p1": data})
    f = finding(report, cause="cert_chain_incomplete")
    assert (f["side"], f["owner"], f["severity"]) == ("proxy", "p1", "error")
    assert f["where"] == ["p1: /etc/nginx/tls/site.pem (server at %s:3)" % SITE]
    assert f["fix"] == _causes.render("cert_chain_incomplete", host="p1", port=443, issuer="CN=Example CA R3")[1]
    assert report["certificates"][0]["status"] == "incomplete"


def test_origin_from_tls_probe_ties_each_result_to_its_location():
    origin_a = {"upstream": U, "proxy_pass": "https://%s/" % U, "kind": "proxy",
                "locations": [{"file": SITE, "line": 30, "location": "/a", "server_names": ["a.example.com"]}]}
    origin_b = dict(origin_a, locations=[{"file": SITE, "line": 40, "location": "/b", "server_names": ["b.example.com"]}])
    results = [probe(U, name=U + " @ a", origin=origin_a), probe(U, "sni_required", name=U + " @ b", origin=origin_b)]
    report = build({"p1": host(results)})
    failing = [p for p in report["pairs"] if not p["ok"]][0]
    assert failing["origin"] == origin_b and failing["where"] == ["%s:40 location /b server b.example.com" % SITE]
    assert failing["id"] == "p1 -> %s @ b" % U


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1)])
def test_each_result_is_paired_with_its_own_upstream_whatever_the_order(order):
    """Four upstreams, two of them with the same origin (one upstream block, two servers): every result finds
    the entry of its own target, whichever order tls_probe's results come in."""
    shared = {"upstream": "pool", "proxy_pass": "https://pool/", "kind": "proxy",
              "locations": [{"file": SITE, "line": 50, "location": "/pool", "server_names": ["p.example.com"]}]}
    addresses = ["10.0.1.%d:443" % n for n in range(4)]
    entries = [upstream_entry(a, location="/u%d" % n, verify_depth=n + 1) for n, a in enumerate(addresses)]
    for entry in entries[2:]:
        entry["probe_targets"][0]["origin"] = shared
    results = [probe(a, origin=shared if n >= 2 else None) for n, a in enumerate(addresses)]
    report = build({"p1": host([results[n] for n in order], entries=entries)})
    depths = {p["upstream"]: p["settings"]["verify_depth"]["value"] for p in report["pairs"]}
    # the shared origin pairs by order among its own targets: the first such result gets the first such target
    first_shared, second_shared = [addresses[n] for n in order if n >= 2]
    assert depths == {addresses[0]: 1, addresses[1]: 2, first_shared: 3, second_shared: 4}


def test_an_unknown_cause_code_reads_as_unknown_with_a_note():
    result = probe(U, "unknown")
    result["cause"] = "cosmic_rays"
    report = build({"p1": host([result])})
    p1 = pair(report, "p1")
    assert p1["cause"] == "unknown"
    assert "tls_probe returned the cause 'cosmic_rays', which this collection does not know" in p1["evidence"]


@pytest.mark.parametrize("hosts, message", [
    ([], "hosts: expected a dict of inventory host name -> collected data"),
    ({}, "hosts: no host data"),
    ({"p1": ["probe"]}, "hosts.p1: expected a dict with reachable"),
    ({"p1": {"probes": {}}}, "hosts.p1: unknown key(s) probes; allowed: reachable, unreachable_msg, nginx"),
    ({"p1": {"reachable": "yes"}}, "hosts.p1.reachable: expected true or false, got 'yes'"),
    ({"p1": {"probe": "ok"}}, "hosts.p1.probe: expected the registered result of one module call (a dict) or null, got str"),
    ({"p1": {"chains": "x"}}, "hosts.p1.chains: expected a list of module results, a result or null, got str"),
])
def test_bad_input_names_where(hosts, message):
    with pytest.raises(engine.InputError) as exc:
        build(hosts)
    assert message in str(exc.value)


def test_bad_fail_on_names_the_option():
    with pytest.raises(engine.InputError, match="fail_on: 'sometimes' is not one of never, failure, warning"):
        build({"p1": host([probe(U)])}, fail_on="sometimes")


@pytest.mark.parametrize("status, fail_on, fails", [
    ("failure", "failure", True), ("warning", "failure", False), ("warning", "warning", True), ("ok", "warning", False),
    ("failure", "never", False), ("failure", "warning", True),
])
def test_fail_on(status, fail_on, fails):
    assert engine.fails({"options": {"fail_on": fail_on}, "summary": {"status": status}}) is fails


def test_a_registered_loop_of_cert_chain_info_counts_as_its_list():
    data = host([probe(U)])
    data["chains"] = {"results": [{"source": {"path": "/a.pem"}, "chain": [], "findings": []},
                                  {"skipped": True}, {"failed": True, "msg": "path: not found"}]}
    report = build({"p1": data})
    assert [c["path"] for c in report["certificates"]] == ["/a.pem"]
    assert report["hosts"][0]["error"] == "chains[2]: path: not found"


PLAINTEXT_CHECK = {"upstream": U, "proxy_pass": "http://%s/" % U, "kind": "http", "expect": "plaintext",
                   "locations": [{"file": SITE, "line": 30, "location": "/plain", "server_names": ["www.example.com"]}]}


def test_a_plaintext_check_that_handshakes_is_the_proxys_http_to_tls_port():
    """nginx_tls_info's check target for proxy_pass http:// to a TLS port: a handshake that works proves the
    port speaks TLS, so nginx's plaintext is the fault, on that proxy, with the https:// fix."""
    report = build({"p1": host([probe(U, "ok", name="%s (plaintext in proxy_pass)" % U, origin=PLAINTEXT_CHECK)]),
                    "p2": host([probe(V)])})
    f = finding(report, cause="http_to_tls_port")
    assert (f["side"], f["owner"]) == ("proxy", "p1")
    assert f["fix"][0] == "proxy_pass https://10.0.0.7:443;  # the port speaks TLS: a handshake with it succeeds"
    checked = pair(report, "p1")
    assert checked["ok"] is False and "nginx sends plaintext (http://%s/)" % U in checked["detail"]
    assert report["summary"]["pairs_failed"] == 1


@pytest.mark.parametrize("cause", ["plain_http", "not_tls", "connection_refused", "handshake_timeout"])
def test_a_plaintext_check_that_finds_plaintext_or_nothing_is_no_pair(cause):
    """plain_http: nginx is right to send plaintext; a dead or odd port proves nothing: neither is a pair."""
    report = build({"p1": host([probe(U, cause, origin=PLAINTEXT_CHECK), probe(V)])})
    assert [p["upstream"] for p in report["pairs"]] == [V]
    assert not [f for f in report["findings"] if f["cause"] in (cause, "http_to_tls_port")]

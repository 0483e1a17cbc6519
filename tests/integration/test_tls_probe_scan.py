# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The capability scan at once (max_connections_per_server): same results as one connection at a time,
never more connections open to the server than the bound, and every connection counted.

bench/relay.py, a real TCP relay process on loopback, stands in front of the lab's ``enumerate`` nginx: it
counts accepted connections and the peak of client connections open at the same time, and with ``rtt_ms``
holds the data like a network path so the scan's connections overlap as they would there.
"""

from __future__ import annotations

import time

import pytest

from bench.relay import RelayProcess
from tests.collection_path import ensure_importable
from tests.integration.helpers import probe_args, run_module
from tests.integration.playbook_cases import assert_clean_failure, run_cases

SCAN = ["protocols", "ciphers", "groups"]


def _relay(lab, name, rtt_ms=0.0):
    return RelayProcess([lab.scenarios[name]["port"]], 600, rtt_ms=rtt_ms)


def _through(lab, name, relay, **extra):
    target = probe_args(lab, name, **extra)
    target.update(host="127.0.0.1", port=relay.ports[lab.scenarios[name]["port"]])
    return target


def _counted(lab, name, relay):
    stats = relay.stats()
    assert stats["open"] == 0, stats
    return stats["routes"][str(lab.scenarios[name]["port"])]


def _scan(lab, name, width, rtt_ms=0.0):
    with _relay(lab, name, rtt_ms) as relay:
        res = run_module("tls_probe", {"targets": [_through(lab, name, relay, enumerate=SCAN)],
                                       "max_connections_per_server": width})
        return res["results"][0], _counted(lab, name, relay)


def _scan_bound(result, width):
    """Connections a scan may cost: the probe's own 3, 4 version probes (each the first round of its
    version's cipher list), and per list its accepted items plus one refusal per partition: a list is split
    only once it accepted two items, into at most min(width, accepted) partitions; the groups are two lists
    (TLS 1.3, then TLS 1.2)."""
    caps = result["capabilities"]

    def refusals(n):
        return max(1, min(width, n))

    per_list = sum(n + refusals(n) for n in (len(c) for c in caps["ciphers"].values()))
    groups = len(caps["groups"])
    return 3 + 4 + per_list + groups + 2 * refusals(groups)


def _same_as_known(caps, known):
    assert caps["protocols"] == known["protocols"]
    assert {v: sorted(c) for v, c in caps["ciphers"].items()} == {v: sorted(c) for v, c in known["ciphers"].items()}
    assert sorted(caps["groups"]) == sorted(known["groups"])


@pytest.mark.parametrize("name", ["enumerate", "enumerate_wide"])
def test_scan_at_once_finds_what_the_sequential_scan_finds(lab, name):
    one, relay_one = _scan(lab, name, 1)
    eight, relay_eight = _scan(lab, name, 8)
    assert one["ok"] and eight["ok"], (one, eight)
    # identical, order included: each list in the probe's offer order, whatever the width
    assert one["capabilities"] == eight["capabilities"]
    _same_as_known(eight["capabilities"], lab.scenarios[name]["known"])
    assert "capability scan incomplete" not in " ".join(one["evidence"] + eight["evidence"])
    # every connection counted, also when they come from several threads
    assert one["handshakes"] == relay_one["connections"]
    assert eight["handshakes"] == relay_eight["connections"]
    assert relay_one["peak_open"] == 1
    assert relay_eight["peak_open"] <= 8
    assert one["handshakes"] <= _scan_bound(one, 1), one["handshakes"]
    assert eight["handshakes"] <= _scan_bound(eight, 8), eight["handshakes"]


def _probe_alone(lab, name, **extra):
    """Connections of the ordinary probe of ``name`` without a scan (1 to 3: the detail ClientHellos are
    needed only where ssl's message callback cannot name the group and chain)."""
    res = run_module("tls_probe", {"targets": [probe_args(lab, name, **extra)]})
    return res["results"][0]["handshakes"]


def test_one_connection_at_a_time_costs_what_the_sequential_scan_cost(lab):
    one, _relay_one = _scan(lab, "enumerate", 1)
    # TLSv1 and TLSv1.1 refused; TLS 1.2 and 1.3: 2 suites + 1 refusal each (the first round is the
    # version probe); groups: TLS 1.3 2 + 1 refusal, TLS 1.2 brainpoolP256r1 + 1 refusal
    assert one["handshakes"] == _probe_alone(lab, "enumerate") + 2 + 3 + 3 + 3 + 2


def test_with_trace_the_scan_is_one_connection_at_a_time(lab):
    # the transcript is read in order, so trace keeps the scan sequential whatever the bound says
    with _relay(lab, "enumerate", rtt_ms=20) as relay:
        res = run_module("tls_probe", {"targets": [_through(lab, "enumerate", relay, enumerate=SCAN, trace=True)],
                                       "max_connections_per_server": 8})
        counted = _counted(lab, "enumerate", relay)
    result = res["results"][0]
    assert result["ok"], result
    _same_as_known(result["capabilities"], lab.scenarios["enumerate"]["known"])
    assert counted["peak_open"] == 1, counted
    assert result["handshakes"] == counted["connections"] == _probe_alone(lab, "enumerate", trace=True) + 13


@pytest.mark.parametrize("width", [3, 8])
def test_never_more_connections_open_than_the_bound(lab, width):
    # a 20 ms path, so the scan's connections overlap as on a real network
    result, relay = _scan(lab, "enumerate_wide", width, rtt_ms=20)
    assert result["ok"], result
    _same_as_known(result["capabilities"], lab.scenarios["enumerate_wide"]["known"])
    assert 2 <= relay["peak_open"] <= width, relay
    assert result["handshakes"] == relay["connections"]
    assert result["handshakes"] <= _scan_bound(result, width)


def test_the_scan_keeps_its_deadline_and_its_count_under_concurrency(lab):
    # in process: the scan's budget cut to 1 s on a path of 300 ms RTT (a connection costs 2 RTT), so the
    # scan (about 6 rounds of 4 connections) cannot finish; it must stop at its deadline, say so, count right
    ensure_importable()
    from ansible_collections.tlsops.handshake.plugins.module_utils._probe import enumerate as enumerate_, run as run_
    from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import build_targets

    with _relay(lab, "enumerate_wide", rtt_ms=300) as relay:
        spec = build_targets([_through(lab, "enumerate_wide", relay, enumerate=SCAN, timeout=1.0)], {})[0]
        spec["max_connections_per_server"] = 4
        probe = run_.ProbeRun(spec)
        assert run_.resolve(probe) is None
        probe.restart_clock(1.0, "the test's budget")
        start = time.monotonic()
        caps = enumerate_.capabilities(probe, SCAN)
        took = time.monotonic() - start
        counted = _counted(lab, "enumerate_wide", relay)
    assert any("capability scan incomplete" in note for note in probe.evidence), probe.evidence
    assert "groups" not in caps or "ciphers" not in caps, caps
    assert took < 1.0 + 1.0 + 2.0, took       # the budget, one answer's timeout, slack for a loaded machine
    assert probe.handshakes == counted["connections"]
    assert 2 <= counted["peak_open"] <= 4, counted


@pytest.mark.parametrize("value", [0, -1, 65, 100000])
def test_bad_bound_values_are_refused_naming_the_option(tmp_path, value):
    ran = run_cases("tls_probe", [("bound", {"targets": ["127.0.0.1:9"], "max_connections_per_server": value})],
                    tmp_path)
    assert_clean_failure("bound", ran["bound"], "max_connections_per_server", "use 1")

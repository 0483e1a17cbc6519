# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe's typed result: the TypedDicts of _probe/result_types.py name exactly the keys of the
module's RETURN (plus host, port and sni, which every result carries), and real results have
exactly the declared keys."""
from __future__ import annotations

import re
import socket

import yaml

from ansible_collections.tlsops.handshake.plugins.module_utils._probe import result_types as types, run
from ansible_collections.tlsops.handshake.plugins.modules import tls_probe

UNDOCUMENTED = {"host", "port", "sni"}


def _keys(typed):
    return set(typed.__annotations__)


def test_the_result_types_declare_every_documented_key():
    ret = yaml.safe_load(tls_probe.RETURN)
    assert _keys(types.ProbeResult) == set(ret["results"]["contains"]) | UNDOCUMENTED
    assert _keys(types.NegotiatedTls) == set(ret["results"]["contains"]["tls"]["sample"])
    assert _keys(types.ProbeSummary) == set(ret["summary"]["contains"])
    for typed, name in ((types.Timing, "timing"), (types.Verification, "verification"),
                        (types.Capabilities, "capabilities")):
        described = ret["results"]["contains"][name]["description"]
        described = " ".join(described) if isinstance(described, list) else described
        assert set(re.findall(r"C\((\w+)\)", described)) == _keys(typed), name


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_real_results_have_exactly_the_declared_keys():
    port = _closed_port()  # nothing listens there: a refused connection, a real result
    results, summary = run.probe_targets([{"host": "127.0.0.1", "port": port, "name": "refused"}],
                                         {"timeout": 2.0, "diagnose": False})
    traced, _summary = run.probe_targets([{"host": "127.0.0.1", "port": port, "name": "refused"}],
                                         {"timeout": 2.0, "diagnose": False, "trace": True})
    assert set(traced[0]) == _keys(types.ProbeResult)
    assert set(summary) == _keys(types.ProbeSummary)
    result = results[0]
    assert result["cause"] == "connection_refused", result["cause"]
    assert set(result) == _keys(types.ProbeResult) - {"trace", "trace_text"}  # those only with trace: true
    for name, typed in (("tls", types.NegotiatedTls), ("timing", types.Timing), ("verification", types.Verification)):
        assert set(result[name]) == _keys(typed), name

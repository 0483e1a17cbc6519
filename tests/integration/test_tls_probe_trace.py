# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe trace: true through real Ansible against the lab's real servers (nginx, the key-share relay):
the transcript names the messages and the alerts each scenario really exchanges, and no key material."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.helpers import probe_args, run_module

SCENARIOS = ("healthy", "healthy_tls12", "cipher_disjoint", "key_share_relay")


@pytest.fixture(scope="module")
def traced(lab):
    res = run_module("tls_probe", {"targets": [probe_args(lab, name) for name in SCENARIOS], "trace": True})
    assert not res.get("failed"), res.get("msg")
    return {r["target"]: r for r in res["results"]}


def _first(result):
    """(direction, message) of the probe's own handshake (connection 1)."""
    return [(e["direction"], e["message"]) for e in result["trace"] if e["connection"] == 1 and e["direction"] != "none"]


def _entries(result, connection, message):
    return [e for e in result["trace"] if e["connection"] == connection and e["message"] == message]


def test_tls13_transcript_names_the_encrypted_flight(traced):
    healthy = traced["healthy"]
    assert healthy["cause"] == "ok"
    first = _first(healthy)
    assert first[:7] == [("sent", "ClientHello"), ("received", "ServerHello"), ("received", "ChangeCipherSpec"),
                         ("received", "EncryptedExtensions"),
                         ("received", "Certificate"), ("received", "CertificateVerify"), ("received", "Finished")]
    assert ("sent", "Finished") in first
    hello = _entries(healthy, 1, "ClientHello")[0]["fields"]
    assert hello["server_name"] == "healthy.lab.test" and "TLSv1.3" in hello["supported_versions"]
    server = _entries(healthy, 1, "ServerHello")[0]["fields"]
    assert server["version"] == "TLSv1.3" and server["key_share_group"] == "x25519"
    assert _entries(healthy, 1, "EncryptedExtensions")[0]["fields"]["alpn"] == "h2"
    certs = _entries(healthy, 1, "Certificate")[0]["fields"]["certificates"]
    assert [c["subject"] for c in certs] == [c["subject"] for c in healthy["chain"]]
    assert any(line.startswith(">>> TLS 1.3, Handshake [length ") and line.endswith("], ClientHello")
               for line in healthy["trace_text"])


def test_tls12_transcript_has_the_plaintext_flight(traced):
    result = traced["healthy_tls12"]
    assert result["cause"] == "ok"
    first = _first(result)
    assert first[:8] == [("sent", "ClientHello"), ("received", "ServerHello"), ("received", "Certificate"),
                         ("received", "ServerKeyExchange"), ("received", "ServerHelloDone"),
                         ("sent", "ClientKeyExchange"), ("sent", "ChangeCipherSpec"), ("sent", "Finished")]
    assert _entries(result, 1, "ServerHello")[0]["fields"]["version"] == "TLSv1.2"
    assert ("received", "ChangeCipherSpec") in first and first.count(("received", "Finished")) == 1


def test_alert_40_is_in_the_handshake_and_in_the_follow_ups(traced):
    result = traced["cipher_disjoint"]
    assert result["cause"] == "cipher_mismatch"
    hello = _entries(result, 1, "ClientHello")[0]["fields"]
    assert [c for c in hello["cipher_suites"] if "SCSV" not in c] == ["ECDHE-RSA-AES128-GCM-SHA256"]
    alert = _entries(result, 1, "Alert")
    assert [(a["direction"], a["fields"]["level"], a["fields"]["description"], a["fields"]["code"]) for a in alert] \
        == [("received", "fatal", "handshake_failure", 40)]
    assert "<<< TLS 1.2, Alert [length 0002], fatal handshake_failure" in result["trace_text"] \
        or "<<< TLS 1.3, Alert [length 0002], fatal handshake_failure" in result["trace_text"]
    connections = {e["connection"] for e in result["trace"]}
    assert len(connections) == result["handshakes"] > 1
    follow_up_alerts = [e for e in result["trace"] if e["message"] == "Alert" and e["connection"] > 1]
    assert follow_up_alerts, "the diagnose follow-ups' answers are in the transcript"


def test_key_share_violation_shows_the_rewritten_group_and_our_alert(traced):
    result = traced["key_share_relay"]
    assert result["cause"] == "key_share_violation"
    offered = _entries(result, 1, "ClientHello")[0]["fields"]["key_share_groups"]
    answered = _entries(result, 1, "ServerHello")[0]["fields"]["key_share_group"]
    assert answered not in offered, (offered, answered)
    sent_alerts = [e["fields"]["description"] for e in _entries(result, 1, "Alert") if e["direction"] == "sent"]
    assert sent_alerts == ["illegal_parameter"]


def test_no_key_material_and_bounded(traced):
    for name, result in traced.items():
        text = json.dumps(result["trace"]) + "\n".join(result["trace_text"])
        assert not re.search(r"[0-9a-fA-F]{32,}", text), name
        assert len(result["trace"]) <= 200 and sum(len(line) + 1 for line in result["trace_text"]) <= 64 * 1024 + 200
        for entry in result["trace"]:
            assert not {"random", "session_id", "key_share", "verify_data", "ticket"} & set(entry["fields"]), entry

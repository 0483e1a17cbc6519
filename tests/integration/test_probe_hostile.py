# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile and broken peers get a classified result within the timeout (engine level, no Ansible)."""

from __future__ import annotations

import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
from tests.integration.helpers import probe_args

HOSTILE = ("banner", "garbage", "giant_record", "silent", "stall_mid_hello", "close_mid_handshake",
           "reset_mid_handshake", "filtered", "closed_port")
TIMEOUT = 1.5


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_peer_is_classified_within_the_timeout(lab, name):
    started = time.monotonic()
    results, _summary = probe_targets([probe_args(lab, name, timeout=TIMEOUT)])
    elapsed = time.monotonic() - started
    assert results[0]["cause"] == lab.scenarios[name]["expected_cause"], results[0]
    # one timed-out connection at most, plus quick follow-ups against peers that answer at once
    assert elapsed < TIMEOUT + 1.0, elapsed


def test_silent_peers_do_not_stall_healthy_ones(lab):
    targets = [probe_args(lab, "silent", timeout=TIMEOUT, name="silent%d" % i) for i in range(8)]
    targets += [probe_args(lab, "healthy", timeout=TIMEOUT, name="healthy%d" % i) for i in range(8)]
    started = time.monotonic()
    results, summary = probe_targets(targets, concurrency=16)
    assert time.monotonic() - started < TIMEOUT + 1.5
    assert summary["by_cause"] == {"handshake_timeout": 8, "ok": 8}
    assert all(r["timing"]["handshake_ms"] < 500 for r in results if r["cause"] == "ok")


# --------------------------------------------------------------------------------------------------
# The hostile-peer suite (issue #8): peers from tests/lab/hostile.py, each probed in a fresh process
# by tls_probe's engine (diagnose on and off) and cert_chain_info's host mode.  Every probe must end
# classified within the target's deadline (timeout x DEADLINE_FACTOR) with bounded memory.

HOSTILE_SUITE = {
    # peer: (timeout, expected cause with diagnose on and off, chain host mode: "error" or "chain")
    "hello_request_flood": (1.0, "handshake_timeout", "error"),
    "hello_request_flood_packed": (1.0, "handshake_timeout", "error"),
    "endless_warnings": (1.0, "protocol_violation", "error"),
    "garbage_flood": (1.0, "not_tls", "error"),
    "garbage": (1.0, "not_tls", "error"),
    "huge_message": (1.0, "protocol_violation", "error"),
    "giant_record": (1.0, "not_tls", "error"),
    "slowloris": (1.0, "handshake_timeout", "error"),
    "slow_refusal": (3.0, "cipher_mismatch", "error"),
    "hrr_loop": (1.0, "protocol_violation", "error"),
    "trickle_http": (1.0, "ok", "chain"),
    "reset": (1.0, "connection_reset", "error"),
    "stall": (1.0, "handshake_timeout", "error"),
    "silent": (1.0, "handshake_timeout", "error"),
    "banner": (1.0, "not_tls", "error"),
}
# Slack over the deadline for a loaded 2-core machine (process start is not in the measured time).
SLACK = 1.0
# The peers send megabytes; a probe keeps at most a 256 kB flight and 4 kB of HTTP.
MAX_RSS_GROWTH_KB = 24 * 1024


def _run_in_child(hostile, name, timeout):
    import json
    import subprocess
    import sys

    from tests.lab.hostile import SERVER_NAME

    args = {"port": hostile.port(name), "server_name": SERVER_NAME, "ca_file": hostile.ca_file, "timeout": timeout}
    # three probes, each bounded by timeout x 2; anything near the hard limit is a hang
    hard_limit = 3 * (2 * timeout + SLACK) + 10
    try:
        proc = subprocess.run([sys.executable, "-m", "tests.integration.hostile_run", json.dumps(args)],
                              capture_output=True, text=True, timeout=hard_limit, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("%s: the probes hung (still running after %d s)" % (name, hard_limit))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(HOSTILE_SUITE))
def test_hostile_suite_classified_within_the_deadline_in_bounded_memory(hostile, name):
    timeout, cause, chain = HOSTILE_SUITE[name]
    report = _run_in_child(hostile, name, timeout)
    deadline = timeout * 2
    for mode in ("probe_diagnose", "probe_no_diagnose"):
        got = report[mode]
        assert got["cause"] == cause, (mode, got)
        assert got["elapsed"] <= deadline + SLACK, (mode, got)
        assert got["detail"] and "internal probe error" not in got["detail"], (mode, got)
        if got["cause"] in ("unknown", "protocol_violation"):
            assert got["raw_error"], (mode, got)
    host_mode = report["chain_host_mode"]
    assert host_mode["elapsed"] <= deadline + SLACK, host_mode
    if chain == "error":
        assert host_mode["error"].startswith("host: "), host_mode
    else:
        assert host_mode.get("chain_length", 0) >= 1, host_mode
    assert report["peak_rss_growth_kb"] < MAX_RSS_GROWTH_KB, report


def test_trickled_http_answer_is_cut_at_the_deadline_and_said(hostile):
    report = _run_in_child(hostile, "trickle_http", 1.0)
    got = report["probe_no_diagnose"]
    assert got["http_status"] is None
    assert any("HTTP answer was not complete at the deadline" in e for e in got["evidence"]), got


def test_slow_follow_ups_share_one_deadline_and_the_first_cause_stands(hostile):
    """Each hello answered after 2.5 s with timeout 3 cost 12-15 s before: now timeout x 2."""
    report = _run_in_child(hostile, "slow_refusal", 3.0)
    got = report["probe_diagnose"]
    assert got["elapsed"] <= 6.0 + SLACK, got
    assert got["cause"] == "cipher_mismatch"  # the cause of the first handshake's alert 40
    assert any("deadline" in e and "the cause found so far stands" in e for e in got["evidence"]), got


def test_hello_request_flood_is_stopped_by_the_watchdog(hostile):
    report = _run_in_child(hostile, "hello_request_flood", 1.0)
    for mode in ("probe_diagnose", "probe_no_diagnose"):
        got = report[mode]
        assert got["cause"] == "handshake_timeout", got
        assert any("kept OpenSSL busy" in e for e in got["evidence"]), got


# --------------------------------------------------------------------------------------------------
# The mTLS race: a TLS 1.3 server refuses a missing client certificate only after the handshake.
# One probe in 15 said ok with http_status null: the probe gave up reading too early (a write that
# failed after the server's reset, or a short read window left by a slow handshake).

def test_mtls_refusals_of_the_lab_are_never_reported_ok(lab):
    targets = [probe_args(lab, name, name="%s-%d" % (name, i))
               for name in ("mtls13", "mtls12", "mtls_nginx") for i in range(32)]
    results, summary = probe_targets(targets, concurrency=16)
    assert summary["by_cause"] == {"client_cert_required": len(targets)}, [
        (r["target"], r["cause"], r["http_status"], r["raw_error"]) for r in results if r["cause"] != "client_cert_required"]


def test_mtls_refusal_followed_by_a_reset_is_never_reported_ok(hostile):
    from tests.lab.hostile import SERVER_NAME

    target = {"host": "127.0.0.1", "port": hostile.port("mtls_reset"), "server_name": SERVER_NAME,
              "ca_file": hostile.ca_file, "timeout": 3}
    for concurrency in (1, 8):
        results, _summary = probe_targets([dict(target, name="mtls%d" % i) for i in range(40)],
                                          concurrency=concurrency)
        wrong = [(r["cause"], r["http_status"]) for r in results if r["cause"] != "client_cert_required"]
        assert not wrong, "%d of 40 probes: %r" % (len(wrong), wrong[:3])
        assert all(r["raw_error"] == "tlsv13 alert certificate required" for r in results)

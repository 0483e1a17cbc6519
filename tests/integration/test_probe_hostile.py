# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile and broken peers get a classified result within the timeout (engine level, no Ansible)."""

from __future__ import annotations

import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._probe import probe_targets
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

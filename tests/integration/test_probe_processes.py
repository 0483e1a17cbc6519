# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A large tls_probe call dealt out to several processes (_probe/processes.py) gives what one process gives,
in the same order, against the real lab: every kind of upstream, healthy, broken and hostile."""

from __future__ import annotations

import os

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._probe import processes
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
from tests.integration.helpers import probe_args, run_module
from tests.lab import scenarios

# one connection at a time (openssl s_server) or a name only a namespace resolves: probed once each
_ONCE = {s["name"] for s in scenarios.SPECS if s["backend"] != scenarios.NGINX}
_SKIPPED = {s["name"] for s in scenarios.SPECS if s.get("isolated_dns")}


def _targets(lab, copies):
    targets = []
    for spec in scenarios.SPECS:
        name = spec["name"]
        if name in _SKIPPED or name not in lab.scenarios:
            continue
        for copy in range(1 if name in _ONCE else copies):
            targets.append(probe_args(lab, name, name="%s#%d" % (name, copy)))
    return targets


# sends fresh random bytes to every connection, which the result quotes
_RANDOM = {"garbage"}


def _comparable(results):
    # how long each step took is the only thing allowed to differ, and what a random server said
    return [{key: value for key, value in result.items() if key != "timing"}
            if result["target"].split("#")[0] not in _RANDOM else (result["target"], result["cause"])
            for result in results]


def test_three_processes_give_what_one_gives(lab, forked_pids):
    targets = _targets(lab, 8)
    assert len(targets) >= 3 * processes.MIN_TARGETS_PER_PROCESS
    alone, alone_summary = probe_targets(targets, concurrency=12, workers=1)
    assert forked_pids == []
    parted, parted_summary = probe_targets(targets, concurrency=12, workers=3)
    assert len(forked_pids) == 3
    assert [r["target"] for r in parted] == [r["target"] for r in alone] == [t["name"] for t in targets]
    assert _comparable(parted) == _comparable(alone)
    assert (alone_summary.pop("processes"), parted_summary.pop("processes")) == (1, 3)
    assert parted_summary == alone_summary
    assert {r["cause"] for r in parted} >= {"ok", "plain_http", "cert_expired", "handshake_timeout", "not_tls"}


def _die():
    os.kill(os.getpid(), 9)


def test_a_process_that_dies_has_its_part_probed_by_the_module(lab, forked_pids, monkeypatch):
    targets = _targets(lab, 8)[:2 * processes.MIN_TARGETS_PER_PROCESS]
    alone, _summary = probe_targets(targets, concurrency=8, workers=1)
    real_start = processes.forked.start

    def the_second_child_dies(work, part, width):
        return real_start(_die) if part[0]["index"] == 1 else real_start(work, part, width)
    monkeypatch.setattr(processes.forked, "start", the_second_child_dies)
    parted, _summary = probe_targets(targets, concurrency=8, workers=2)
    assert len(forked_pids) == 2
    assert _comparable(parted) == _comparable(alone)


@pytest.mark.parametrize("count, concurrency, workers, expected", [
    (127, 32, 8, 1), (128, 32, 8, 2), (1000, 32, 8, 8), (1000, 32, 1, 1), (1000, 3, 8, 3), (64 * 40, 256, 64, 40),
])
def test_how_many_processes(count, concurrency, workers, expected):
    assert processes.processes_for(count, concurrency, workers) == expected
    shares = processes.shares(concurrency, expected)
    assert sum(shares) == concurrency and max(shares) - min(shares) <= 1 and min(shares) >= 1


def test_through_ansible_the_module_forks_and_answers_the_same(lab):
    # the module runs with its lifeline thread (a thread forked.available knows); bad values name the option
    targets = _targets(lab, 8)[:2 * processes.MIN_TARGETS_PER_PROCESS]
    targets = [t for t in targets if t["name"].split("#")[0] not in _RANDOM]
    one = run_module("tls_probe", {"targets": targets, "workers": 1, "concurrency": 8})
    two = run_module("tls_probe", {"targets": targets, "workers": 2, "concurrency": 8})
    assert not one["failed"] and not two["failed"], (one.get("msg"), two.get("msg"))
    assert (one["summary"].pop("processes"), two["summary"].pop("processes")) == (1, 2)
    assert one["summary"] == two["summary"] and _comparable(one["results"]) == _comparable(two["results"])
    for workers in (0, 65):
        bad = run_module("tls_probe", {"targets": ["127.0.0.1:1"], "workers": workers})
        assert bad["failed"] and bad["msg"] == ("workers: %d is out of range; use 1-64 (1 probes in the module's own "
                                                "process)" % workers)

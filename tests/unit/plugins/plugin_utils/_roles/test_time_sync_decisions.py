# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The time_sync role's decisions (plugins/plugin_utils/_roles/time_sync.py), from the role's own
defaults/main.yml: container mode from PID 1's capability bounding set (or the virtualization facts
when it is unreadable), and chrony.conf's directives."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles import time_sync as ts

ROLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 5, "roles", "time_sync")
FULL = "Name:\tsystemd\nCapInh:\t0000000000000000\nCapBnd:\t000001ffffffffff\n"    # a privileged PID 1
NO_SYS_TIME = "CapBnd:\t00000000a80425fb\n"                                         # podman's default set


@pytest.mark.parametrize("status, virt, role, container, reason", [
    (FULL, "podman", "guest", False, "PID 1 has CAP_SYS_TIME in its bounding set, virtualization: podman (guest)"),
    (NO_SYS_TIME, "kvm", "guest", True, "PID 1 has no CAP_SYS_TIME in its bounding set, virtualization: kvm (guest)"),
    ("", "podman", "guest", True, "the capabilities of PID 1 are unreadable, virtualization: podman (guest)"),
    ("", "kvm", "guest", False, "the capabilities of PID 1 are unreadable, virtualization: kvm (guest)"),
    ("CapBnd: zz\n", "docker", "host", False, "the capabilities of PID 1 are unreadable, virtualization: docker (host)"),
    ("", None, None, False, "the capabilities of PID 1 are unreadable, virtualization: unknown (unknown)"),
])
def test_auto_mode_follows_cap_sys_time_then_the_virtualization_facts(status, virt, role, container, reason):
    assert ts.container_mode(status, "auto", virt, role) == {"container": container, "reason": reason}


@pytest.mark.parametrize("mode, container", [("container", True), ("host", False)])
def test_a_forced_mode_wins_over_the_capabilities(mode, container):
    for status in (FULL, NO_SYS_TIME, ""):
        assert ts.container_mode(status, mode, "podman", "guest") == {
            "container": container, "reason": "time_sync_container_mode=" + mode}


def test_an_unknown_mode_is_an_error_naming_the_variable():
    with pytest.raises(ValueError, match="time_sync_container_mode 'sometimes' is not one of auto, container, host"):
        ts.container_mode(FULL, "sometimes", None, None)


def _variables(**overrides):
    with open(os.path.join(ROLE, "defaults", "main.yml")) as fh:
        variables = yaml.safe_load(fh)
    variables.update(overrides)
    return variables


def test_source_lines_default_to_iburst_and_take_each_option():
    out = ts.chrony_directives(_variables(time_sync_servers=[
        {"host": "ntp1.example", "port": 123, "minpoll": 4, "maxpoll": 6, "options": ["xleave", "key 10"]},
        {"host": "2001:db8::1", "iburst": False, "prefer": "yes", "nts": True, "trust": "on"},
        {"host": "pool.example", "pool": True, "maxsources": 4, "port": None, "iburst": None},
    ]), container=False)
    assert out["sources"] == ["server ntp1.example port 123 iburst minpoll 4 maxpoll 6 xleave key 10",
                              "server 2001:db8::1 prefer nts trust",
                              "pool pool.example maxsources 4"]


def test_policy_lines_appear_only_when_they_change_chronys_default():
    assert ts.chrony_directives(_variables(), container=False)["policy"] == ["makestep 1.0 3"]
    out = ts.chrony_directives(_variables(
        time_sync_min_sources="2", time_sync_max_distance=1.5, time_sync_makestep={"limit": -1},
        time_sync_local_stratum=8, time_sync_local_orphan=True, time_sync_allow=["192.0.2.0/24", "all 10/8"],
        time_sync_deny=["192.0.2.128/25"]), container=False)
    assert out["policy"] == ["minsources 2", "maxdistance 1.5", "makestep 1.0 -1", "local stratum 8 orphan",
                             "allow 192.0.2.0/24", "allow all 10/8", "deny 192.0.2.128/25"]
    assert ts.chrony_directives(_variables(time_sync_makestep={}, time_sync_min_sources=1), container=False)["policy"] == []


@pytest.mark.parametrize("rtcsync, container, leapsectz, system", [
    (True, False, "right/UTC", ["rtcsync", "leapsectz right/UTC"]),
    (True, True, "right/UTC", ["leapsectz right/UTC"]),            # chronyd -x cannot set the RTC either
    ("no", False, "", []),
])
def test_system_lines_leave_out_rtcsync_in_container_mode(rtcsync, container, leapsectz, system):
    out = ts.chrony_directives(_variables(time_sync_rtcsync=rtcsync, time_sync_leapsectz=leapsectz), container)
    assert out["system"] == system

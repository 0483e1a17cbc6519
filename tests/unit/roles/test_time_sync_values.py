# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile values of every time_sync variable that reaches chrony.conf or the container drop-in,
through a real ansible-playbook on localhost: the role's validation (tasks/check_vars.yml) must
refuse each one, naming the variable, its value escaped and what is allowed, before the templates
are rendered (a newline in an option or an allow entry added "allow all": an open NTP server).
Legal values render to exactly the directives meant, and chronyd -p accepts them when chrony is
unpacked (make deps).  Only check_vars.yml and the two templates run, into the test's directory:
nothing is installed, no chronyd is started."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.unit.roles._playbook import CHRONYD, ROLES_DIR, run_cases

ROLE = os.path.join(ROLES_DIR, "time_sync")
NTP1 = {"host": "ntp1.example"}

# case -> (variables, the start of the message that must name the variable and show its value escaped)
HOSTILE = {
    "host_newline": ({"time_sync_servers": [{"host": "ntp1.example\nallow all"}]},
                     'time_sync_servers[0].host = "ntp1.example\\nallow all" is not allowed: a DNS name'),
    "host_hash": ({"time_sync_servers": [{"host": "ntp1#x"}]}, 'time_sync_servers[0].host = "ntp1#x"'),
    "options_newline": ({"time_sync_servers": [dict(NTP1, options=["xleave\nallow all"])]},
                        'time_sync_servers[0].options[0] = "xleave\\nallow all" is not allowed: chrony option words'),
    "options_carriage_return": ({"time_sync_servers": [dict(NTP1, options=["xleave\rallow all"])]},
                                'time_sync_servers[0].options[0] = "xleave\\rallow all"'),
    "port_newline": ({"time_sync_servers": [dict(NTP1, port="123\nallow all")]},
                     'time_sync_servers[0].port = "123\\nallow all" is not allowed: a port number'),
    "minpoll_newline": ({"time_sync_servers": [dict(NTP1, minpoll="6\nallow all")]},
                        'time_sync_servers[0].minpoll = "6\\nallow all" is not allowed: a whole number'),
    "maxsources_newline": ({"time_sync_servers": [dict(NTP1, pool=True, maxsources="4\nallow all")]},
                           'time_sync_servers[0].maxsources = "4\\nallow all"'),
    "allow_newline": ({"time_sync_servers": [NTP1], "time_sync_allow": ["10.0.0.0/8\nallow all"]},
                      'time_sync_allow[0] = "10.0.0.0/8\\nallow all" is not allowed: all, or an address'),
    "deny_newline": ({"time_sync_servers": [NTP1], "time_sync_deny": ["10.1.0.0/16\ndeny"]},
                     'time_sync_deny[0] = "10.1.0.0/16\\ndeny"'),
    "leapsectz_newline": ({"time_sync_servers": [NTP1], "time_sync_leapsectz": "right/UTC\nallow all"},
                          'time_sync_leapsectz = "right/UTC\\nallow all" is not allowed: one word'),
    "extra_config_newline": ({"time_sync_servers": [NTP1], "time_sync_extra_config": ["maxslewrate 100\nallow all"]},
                             'time_sync_extra_config[0] = "maxslewrate 100\\nallow all" is not allowed: text on one line'),
    "makestep_threshold_newline": ({"time_sync_servers": [NTP1],
                                    "time_sync_makestep": {"threshold": "1.0\nallow all", "limit": 3}},
                                   'time_sync_makestep.threshold = "1.0\\nallow all" is not allowed: a finite number'),
    "makestep_limit_newline": ({"time_sync_servers": [NTP1], "time_sync_makestep": {"threshold": 1.0, "limit": "3\nallow all"}},
                               'time_sync_makestep.limit = "3\\nallow all" is not allowed: a whole number'),
    "max_distance_nan": ({"time_sync_servers": [NTP1], "time_sync_max_distance": "nan"},
                         'time_sync_max_distance = "nan" is not allowed: a finite number'),
    "min_sources_newline": ({"time_sync_servers": [NTP1], "time_sync_min_sources": "2\nallow all"},
                            'time_sync_min_sources = "2\\nallow all"'),
    "local_stratum_newline": ({"time_sync_local_stratum": "8\nallow all"}, 'time_sync_local_stratum = "8\\nallow all"'),
    "container_mode_newline": ({"time_sync_servers": [NTP1],
                                "time_sync_container_mode": "container\n[Service]\nExecStartPre=/bin/true"},
                               'time_sync_container_mode = "container\\n[Service]\\nExecStartPre=/bin/true" is not allowed: '
                               'one of auto, container, host'),
}

LEGAL = {
    "time_sync_servers": [
        {"host": "ntp1.example", "port": 123, "minpoll": 4, "maxpoll": 6, "options": ["xleave", "key 10", "maxdelay 0.01"]},
        {"host": "2001:db8::1"},
        {"host": "pool.example", "pool": True, "maxsources": 4},
    ],
    "time_sync_allow": ["192.0.2.0/24", "all 10/8", "2001:db8::/32"],
    "time_sync_deny": ["192.0.2.128/25"],
    "time_sync_makestep": {"threshold": 0.5, "limit": -1},
    "time_sync_local_stratum": 8,
    "time_sync_extra_config": ["maxslewrate 100"],
    "time_sync_container_mode": "container",
}


def _render_tasks(root):
    def tasks(case_id):
        case_dir = os.path.join(root, case_id)
        return [
            {"ansible.builtin.include_role": {"name": "tlsops.handshake.time_sync", "tasks_from": "check_vars.yml",
                                              "public": True}},
            {"ansible.builtin.include_vars": {"file": os.path.join(ROLE, "vars", "Debian.yml")}},
            {"ansible.builtin.set_fact": {
                "__time_sync_container": "{{ time_sync_container_mode == 'container' }}",
                "__time_sync_container_reason": "time_sync_container_mode={{ time_sync_container_mode }}"}},
            {"ansible.builtin.template": {"src": os.path.join(ROLE, "templates", "chrony.conf.j2"),
                                          "dest": os.path.join(case_dir, "chrony.conf"), "mode": "0644"}},
            {"ansible.builtin.template": {"src": os.path.join(ROLE, "templates", "chrony-container.conf.j2"),
                                          "dest": os.path.join(case_dir, "dropin.conf"), "mode": "0644"}},
        ]
    return tasks


def _config_lines(path):
    with open(path) as fh:
        return [line.strip() for line in fh if line.strip() and not line.lstrip().startswith(("#", "!", ";", "%"))]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("time_sync_values"))
    cases = dict(((k, v[0]) for k, v in HOSTILE.items()), legal=LEGAL)
    for case_id in cases:
        os.makedirs(os.path.join(root, case_id))
    return root, run_cases(root, cases, _render_tasks(root))


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_value_is_refused_naming_it_before_anything_is_rendered(outcomes, case):
    root, results = outcomes
    message = results[case]
    case_dir = os.path.join(root, case)
    rendered = sorted(os.listdir(case_dir))
    if message == "accepted":
        pytest.fail("accepted; rendered: %s" % json.dumps({f: _config_lines(os.path.join(case_dir, f)) for f in rendered}))
    assert message.startswith("time_sync: "), message
    assert HOSTILE[case][1] in message, message
    assert "nothing was written" in message and "\n" not in message
    assert rendered == []


def test_legal_values_render_to_exactly_the_directives_meant(outcomes):
    root, results = outcomes
    assert results["legal"] == "accepted"
    lines = _config_lines(os.path.join(root, "legal", "chrony.conf"))
    assert [line.split()[0] for line in lines] == [
        "server", "server", "pool", "makestep", "local", "allow", "allow", "allow", "deny",
        "keyfile", "driftfile", "ntsdumpdir", "logdir", "maxupdateskew", "leapsectz", "maxslewrate"]
    assert lines[0] == "server ntp1.example port 123 iburst minpoll 4 maxpoll 6 xleave key 10 maxdelay 0.01"
    assert lines[5:9] == ["allow 192.0.2.0/24", "allow all 10/8", "allow 2001:db8::/32", "deny 192.0.2.128/25"]
    assert _config_lines(os.path.join(root, "legal", "dropin.conf")) == [
        "[Unit]", "ConditionCapability=", "[Service]", "ExecStart=", "ExecStart=!/usr/sbin/chronyd $DAEMON_OPTS -x"]


@pytest.mark.skipif(CHRONYD is None, reason="chronyd is not unpacked (make chrony)")
def test_chronyd_accepts_the_legal_values(outcomes):
    root, _results = outcomes
    proc = subprocess.run([CHRONYD, "-p", "-f", os.path.join(root, "legal", "chrony.conf")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "allow all 10/8" in proc.stdout

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's modules through real Ansible, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO_ROOT, "build", "collections")
BIN = os.path.dirname(sys.executable)


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCAL_TEMP": os.path.join(REPO_ROOT, "build", "ansible-tmp"),
    })
    env.update(extra or {})
    return env


def run_module(module, args, check=False, prefix=(), timeout=600):
    """Run ``ansible localhost -m tlsops.handshake.MODULE -a JSON`` and return the host's result."""
    cmd = list(prefix) + [os.path.join(BIN, "ansible"), "localhost", "-c", "local",
                          "-m", "tlsops.handshake." + module, "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    # The default callback prints "localhost | SUCCESS => {json}" (or FAILED!).
    status, _sep, payload = proc.stdout.partition(" => ")
    try:
        result = json.loads(payload)
    except ValueError:
        raise AssertionError("ansible printed no JSON result (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                             % (proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
    result["failed"] = "FAILED" in status
    return result


def scenarios(lab, names=None):
    """``[(name, scenario)]`` of the lab, optionally only ``names``; dns_failure needs `unshare -n`."""
    return [(n, s) for n, s in lab.scenarios.items()
            if (names is None and not s.get("isolated_dns")) or (names is not None and n in names)]


def probe_args(lab, scenario_name, **extra):
    """tls_probe target dict for the lab scenario ``scenario_name`` (its overrides included)."""
    scenario = lab.scenarios[scenario_name]
    target = {"host": scenario["host"], "port": scenario["port"], "name": scenario_name}
    if scenario.get("server_name"):
        target["server_name"] = scenario["server_name"]
    target.update(scenario.get("probe") or {})
    target.update(extra)
    target.setdefault("ca_file", lab.info["ca_file"])
    target.setdefault("timeout", 3)
    return target

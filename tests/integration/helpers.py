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
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "json",
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
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible printed no JSON (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                             % (proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
    return doc["plays"][0]["tasks"][0]["hosts"]["localhost"]


def probe_args(lab, scenario, **extra):
    """tls_probe target dict for a lab scenario (its overrides included)."""
    target = {"host": scenario["host"], "port": scenario["port"], "name": scenario["name"]}
    if scenario.get("server_name"):
        target["server_name"] = scenario["server_name"]
    target.update(scenario.get("probe") or {})
    target.update(extra)
    target.setdefault("ca_file", lab.info["ca_file"])
    target.setdefault("timeout", 3)
    return target

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a real ansible-playbook on localhost (connection local) for the role tests.

``run_playbook(workdir, plays, *args)`` writes ``plays`` (JSON is YAML) and runs it with the
venv's ansible-playbook and this working tree as tlsops.handshake; it returns the completed
process, stdout and stderr as text.  ``case_plays`` turns {case: vars} into one play per case
(play vars never leak into the next play) that records "accepted" or the failure message of
the tasks it runs; the last play writes them all to one JSON file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.collection_path import COLLECTIONS_ROOT, REPO_ROOT

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ROLES_DIR = os.path.join(REPO_ROOT, "roles")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
CHRONYD = next((p for p in (os.path.join(REPO_ROOT, "build", "chrony", "usr", "sbin", "chronyd"),
                            shutil.which("chronyd") or "") if p and os.access(p, os.X_OK)), None)


def run_playbook(workdir, plays, *args, timeout=240, env=None):
    path = os.path.join(workdir, "playbook.yml")
    with open(path, "w") as fh:
        json.dump(plays, fh, indent=1)
    for sub in ("local-tmp", "remote-tmp"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    run_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="0",
                   ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "local-tmp"),
                   ANSIBLE_REMOTE_TMP=os.path.join(workdir, "remote-tmp"))
    run_env.update(env or {})
    cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
           path] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=run_env, cwd=workdir, check=False)


def case_plays(cases, tasks_for, results_path):
    """One play per case: ``tasks_for(case_id)`` in a block, recording "accepted" or the failure message."""
    record = "{{ __case_results | default({}) | combine({__case_id: %s}) }}"
    plays = []
    for case_id, variables in cases.items():
        plays.append({
            "name": case_id, "hosts": "localhost", "gather_facts": False,
            "vars": dict(variables, __case_id=case_id),
            "tasks": [{
                "block": tasks_for(case_id) + [{"ansible.builtin.set_fact": {"__case_results": record % "'accepted'"}}],
                "rescue": [{"ansible.builtin.set_fact": {
                    "__case_results": record % "ansible_failed_result.msg | default(ansible_failed_result | string)"}}],
            }],
        })
    plays.append({"name": "results", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.copy": {"content": "{{ __case_results | default({}) | to_json }}", "dest": results_path,
                                  "mode": "0644"}}]})
    return plays


def run_cases(workdir, cases, tasks_for):
    """{case: "accepted" or failure message}; fails the test with ansible's output when the run broke."""
    results_path = os.path.join(workdir, "results.json")
    proc = run_playbook(workdir, case_plays(cases, tasks_for, results_path))
    assert proc.returncode == 0 and os.path.exists(results_path), proc.stdout[-4000:] + proc.stderr[-4000:]
    with open(results_path) as fh:
        results = json.load(fh)
    assert sorted(results) == sorted(cases), proc.stdout[-4000:]
    return results

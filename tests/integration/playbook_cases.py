# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many module calls in one real ansible-playbook run, each result kept for Python to assert on.

A bad-input table is one playbook (Ansible's start-up is paid once): each case a task of its own
with ``ignore_errors`` and ``register`` (not a loop: at -vvv Ansible prints loop items with every
result, and a test for secrets would find its own input there), a per-task ``timeout`` so that a
module that hangs fails its case instead of the run, and a last task that writes every registered
result as JSON.  The run gets its own session (killed whole on
timeout) and a cap on its address space, so code that reads /dev/zero to the end fails with
MemoryError instead of eating the machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile

from tests.hazards import cap_child_memory
from tests.integration.helpers import BIN, REPO_ROOT, ansible_env


def run_playbook(playbook, verbosity=0, timeout=900, extra_env=None, extra_args=(), inventories=None):
    """``(returncode, stdout + stderr)`` of ``ansible-playbook playbook`` on localhost, connection local,
    or with ``inventories`` (inventory files, each passed with -i) and the connections they name."""
    if inventories:
        where = [arg for inventory in inventories for arg in ("-i", str(inventory))]
    else:
        where = ["-i", "localhost,", "-c", "local"]
    cmd = [os.path.join(BIN, "ansible-playbook")] + where + [str(playbook)] + list(extra_args)
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    proc = subprocess.Popen(cmd, env=ansible_env(extra_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True,
                            preexec_fn=cap_child_memory())
    try:
        output, _unused = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _unused = proc.communicate()
        raise AssertionError("ansible-playbook did not end within %s s:\n%s" % (timeout, output[-4000:]))
    return proc.returncode, output


class Cases(object):
    """Registered results by case name (``cases[name]``), and all ansible-playbook printed."""

    def __init__(self, results, output, returncode):
        self.results = results
        self.output = output
        self.returncode = returncode

    def __getitem__(self, name):
        return self.results[name]


def run_cases(module, cases, workdir=None, task_timeout=60, verbosity=0, timeout=None, extra_args=()):
    """Run ``tlsops.handshake.MODULE`` once per case in one playbook; returns Cases.

    ``cases`` is ``{name: args}`` or a list of ``(name, args)``.  ``workdir`` holds the playbook
    and the results (a temporary directory under build/ when not given, removed afterwards).
    """
    pairs = list(cases.items()) if isinstance(cases, dict) else list(cases)
    names = [name for name, _args in pairs]
    assert len(set(names)) == len(names), "case names must be unique"
    own_dir = workdir is None
    workdir = tempfile.mkdtemp(prefix="cases-", dir=os.path.join(REPO_ROOT, "build")) if own_dir else str(workdir)
    tasks = [{"name": name, "tlsops.handshake." + module: args, "register": "case_%d" % i,
              "ignore_errors": True, "timeout": task_timeout}
             for i, (name, args) in enumerate(pairs)]
    out = os.path.join(workdir, "results.json")
    every = ", ".join("'case_%d': case_%d" % (i, i) for i in range(len(pairs)))
    tasks.append({"name": "write every result", "ansible.builtin.copy": {
        "content": "{{ {%s} | to_json }}" % every, "dest": out, "mode": "0600"}})
    playbook = os.path.join(workdir, "cases.yml")
    try:
        with open(playbook, "w") as handle:
            json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle, indent=1)
        returncode, output = run_playbook(playbook, verbosity=verbosity, extra_args=extra_args,
                                          timeout=timeout or task_timeout * len(pairs) + 300)
        assert os.path.exists(out), "no results (rc=%s):\n%s" % (returncode, output[-6000:])
        with open(out) as handle:
            registered = json.load(handle)
    finally:
        if own_dir:
            for name in (playbook, out):
                if os.path.exists(name):
                    os.unlink(name)
            os.rmdir(workdir)
    return Cases({name: registered["case_%d" % i] for i, name in enumerate(names)}, output, returncode)


def assert_clean_failure(name, result, *needles):
    """The case failed with a message holding every needle, and nothing crashed."""
    assert result.get("failed") is True, (name, result)
    message = result.get("msg") or ""
    for needle in needles:
        assert needle in message, (name, needle, message)
    assert_no_crash(name, result)


def assert_no_crash(name, result):
    text = json.dumps(result)
    # ansible-core 2.19 puts "exception": "(traceback unavailable)" into every fail_json result
    assert "Traceback" not in text and "module_stderr" not in result and "MODULE FAILURE" not in text, (name, result)
    assert result.get("exception") in (None, "(traceback unavailable)"), (name, result)
    # a module that raised: "Task failed: Module failed: <exception text>" (2.19) or MODULE FAILURE
    assert "Module failed" not in str(result.get("msg")), (name, "crashed", result)
    assert not result.get("timedout") and "Timed out after" not in text, (name, "hung", result)

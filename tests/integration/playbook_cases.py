# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many runs of one module in a single ansible-playbook (Ansible's start-up is paid once).

``run_cases(module, {name: args})`` runs the real module once per case (one task each,
``ignore_errors``), registers the results and writes them to a JSON file that the test
reads back: ``{name: result}``, each result as Ansible registered it (``failed``, ``msg``,
``warnings``, ``invocation``...).  ``output`` is everything ansible-playbook printed, for
tests that grep it (-vvv included).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile

from tests.integration.helpers import BIN, REPO_ROOT, ansible_env

_HEADER = """\
- name: Every case of {module}
  hosts: localhost
  gather_facts: false
  connection: local
  tasks:
"""
# one task per case, its arguments written out: a loop would put them in ``item``, which Ansible
# prints with every result at -vvv (a test for secrets would then find its own input there)
_TASK = """\
    - name: Case {index}
      tlsops.handshake.{module}: {args}
      register: case_{index}
      ignore_errors: true
"""
_SAVE = """\
    - name: Save the results
      ansible.builtin.copy:
        content: "{{{{ [{registered}] | to_json }}}}"
        dest: {out}
        mode: "0600"
"""


class Cases(object):
    def __init__(self, results, output, returncode):
        self.results = results
        self.output = output
        self.returncode = returncode

    def __getitem__(self, name):
        return self.results[name]


def run_cases(module, cases, verbosity=0, timeout=600):
    """Run ``tlsops.handshake.MODULE`` once per ``{name: args}``; a Cases of the registered results."""
    workdir = tempfile.mkdtemp(prefix="cases-", dir=os.path.join(REPO_ROOT, "build"))
    playbook = os.path.join(workdir, "playbook.yml")
    out = os.path.join(workdir, "results.json")
    names = list(cases)
    with open(playbook, "w") as handle:
        handle.write(_HEADER.format(module=module))
        for index, name in enumerate(names):
            # JSON is YAML flow style; control characters stay escaped (\uXXXX)
            handle.write(_TASK.format(index=index, module=module, args=json.dumps(cases[name])))
        handle.write(_SAVE.format(registered=", ".join("case_%d" % i for i in range(len(names))),
                                  out=json.dumps(out)))
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", playbook]
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    try:
        # its own session: on a timeout the whole group goes, a module blocked on a FIFO included
        proc = subprocess.Popen(cmd, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError("ansible-playbook did not finish within %s s" % timeout)
        output = stdout + stderr
        try:
            with open(out) as handle:
                registered = json.load(handle)
        except (OSError, ValueError):
            raise AssertionError("the playbook saved no results (rc=%s)\n%s" % (proc.returncode, output[-4000:]))
        return Cases(dict(zip(names, registered)), output, proc.returncode)
    finally:
        for name in (playbook, out):
            if os.path.exists(name):
                os.unlink(name)
        os.rmdir(workdir)

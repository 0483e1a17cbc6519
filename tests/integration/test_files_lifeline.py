# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""handshake_log_info and nginx_tls_info end when the Ansible run that started them is killed.

Each module is started by real ``ansible`` (connection local) on work that lasts minutes, then
the ``ansible`` processes are killed (SIGKILL, as an operator's Ctrl-C twice or an OOM kill would
leave them).  The module's stdout pipe then has no reader; the module must notice and exit within
seconds instead of working on for nobody.

* handshake_log_info reads a 1 TiB sparse file (no disk used): a log that takes many minutes to read.
* nginx_tls_info is pointed (nginx_path) at a stand-in for an nginx binary that never answers: a shell
  script that sleeps.  A real nginx that hangs in ``nginx -V`` cannot be made here; the script is
  the one thing in this test that is not the real thing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.integration.helpers import BIN, ansible_env


def _processes():
    """``{pid: (ppid, cmdline)}`` of every live (not zombie) process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if fields[0] != "Z":
            found[int(entry)] = (int(fields[1]), cmdline)
    return found


def _descendants(root):
    """``{pid: cmdline}`` of ``root`` and everything below it (ansible's workers start their own sessions)."""
    table = _processes()
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in table and pid not in tree:
            tree[pid] = table[pid][1]
            todo.extend(child for child, (ppid, dummy) in table.items() if ppid == pid)
    return tree


def _kill(started):
    """SIGKILL the processes of ``started`` ({pid: cmdline}) that still run that same command."""
    table = _processes()
    for pid, cmdline in started.items():
        if pid in table and table[pid][1] == cmdline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _run_then_kill_ansible(module, args, module_marker):
    """Start the module through ansible, kill ansible once the module runs, and return how long the
    module then lived (None: it was still running after 20 s)."""
    cmd = [os.path.join(BIN, "ansible"), "localhost", "-c", "local", "-m", "tlsops.handshake." + module,
           "-a", json.dumps(args)]
    proc = subprocess.Popen(cmd, env=ansible_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    started = {}
    try:
        deadline = time.monotonic() + 90
        module_pids = []
        while time.monotonic() < deadline and not module_pids:
            assert proc.poll() is None, "ansible ended before the module ran"
            module_pids = [p for p, cmdline in _descendants(proc.pid).items() if module_marker in cmdline]
            time.sleep(0.2)
        assert module_pids, "the module did not start within 90 s"
        time.sleep(2)                                   # well into its work
        started = _descendants(proc.pid)
        assert all(p in started for p in module_pids), "the module ended on its own"
        ansible = {p: c for p, c in started.items() if "bin/ansible " in c and "AnsiballZ" not in c}
        assert proc.pid in ansible
        _kill(ansible)
        killed = time.monotonic()
        while time.monotonic() - killed < 20:
            table = _processes()
            if not any(p in table and table[p][1] == started[p] for p in module_pids):
                return time.monotonic() - killed
            time.sleep(0.2)
        return None
    finally:
        _kill(started)                                  # everything this test started, by pid and command
        proc.wait()


@pytest.mark.timeout(180)
def test_handshake_log_info_ends_when_ansible_is_killed(tmp_path):
    endless = tmp_path / "error.log"
    with open(str(endless), "wb") as handle:
        handle.truncate(1 << 40)                        # 1 TiB of zeros, sparse
    lived = _run_then_kill_ansible("handshake_log_info", {"paths": [str(endless)], "rotated": False},
                                   "AnsiballZ_handshake_log_info")
    assert lived is not None and lived < 10, lived


@pytest.mark.timeout(180)
def test_nginx_tls_info_ends_when_ansible_is_killed(tmp_path):
    hung = tmp_path / "nginx"
    hung.write_text("#!/bin/sh\nexec sleep 600\n")
    hung.chmod(0o755)
    lived = _run_then_kill_ansible("nginx_tls_info", {"nginx_path": str(hung), "timeout": 600},
                                   "AnsiballZ_nginx_tls_info")
    assert lived is not None and lived < 10, lived

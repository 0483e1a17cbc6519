# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start a module through real ``ansible``, kill Ansible (SIGKILL, as an OOM kill or a twice
pressed Ctrl-C leaves it) while the module works, and measure how long the module lives on.

Only processes this run started are killed, each by pid and only while it still runs the same
command line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

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
        except (OSError, IndexError):
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


def _runs_module(cmdline, marker):
    """True for the Python process that runs the module's AnsiballZ file.  Ansible also starts
    short-lived helpers naming that file (``chmod u+x .../AnsiballZ_x.py``, ``rm -f -r``): taking one
    of those for the module made the test fail at random on a loaded machine."""
    words = cmdline.split()
    return (len(words) >= 2 and os.path.basename(words[0]).startswith("python")
            and any(os.path.basename(word) == marker + ".py" for word in words[1:]))


def run_then_kill_ansible(module, args, busy_after=2.0, wait=20.0):
    """Seconds ``tlsops.handshake.MODULE`` lived on after every Ansible process was killed, or None
    when it still ran after ``wait`` seconds.  Ansible is killed ``busy_after`` seconds into the
    module's run (the caller makes sure the module is busy for much longer than that)."""
    marker = "AnsiballZ_" + module
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
            module_pids = [p for p, cmdline in _descendants(proc.pid).items() if _runs_module(cmdline, marker)]
            time.sleep(0.2)
        assert module_pids, "the module did not start within 90 s"
        time.sleep(busy_after)
        started = _descendants(proc.pid)
        assert all(p in started for p in module_pids), "the module ended on its own: it was not kept busy"
        ansible = {p: c for p, c in started.items() if "bin/ansible " in c and "AnsiballZ" not in c}
        assert proc.pid in ansible
        _kill(ansible)
        killed = time.monotonic()
        while time.monotonic() - killed < wait:
            table = _processes()
            if not any(p in table and table[p][1] == started[p] for p in module_pids):
                return time.monotonic() - killed
            time.sleep(0.2)
        return None
    finally:
        _kill(started)
        proc.wait()

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module notices when the Ansible run that reads its output is gone."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

from ansible_collections.tlsops.handshake.plugins.module_utils._common import lifeline
from tests.collection_path import COLLECTIONS_ROOT


def test_a_pipe_without_reader_and_a_closed_pty_mean_gone():
    reader, writer = os.pipe()
    try:
        assert not lifeline.controller_gone(os.getppid(), writer)
        os.close(reader)
        assert lifeline.controller_gone(os.getppid(), writer)
    finally:
        os.close(writer)
    master, slave = pty.openpty()
    assert not lifeline.controller_gone(os.getppid(), slave)
    os.close(master)
    assert lifeline.controller_gone(os.getppid(), slave)
    os.close(slave)


def test_a_changed_parent_means_gone():
    assert lifeline.controller_gone(os.getppid() + 100000) is True


def test_a_busy_process_exits_when_its_reader_goes_away():
    """A child busy in a loop (as in a stuck handshake) ends within seconds of its reader closing."""
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from ansible_collections.tlsops.handshake.plugins.module_utils._common import lifeline as l\n"
            "l.exit_with_controller(interval=0.2)\n"
            "print('ready', flush=True)\n"
            "while True: time.sleep(0.01)\n" % str(COLLECTIONS_ROOT))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"ready\n"
        child.stdout.close()
        started = time.monotonic()
        assert child.wait(timeout=10) == lifeline.EXIT_CODE
        assert time.monotonic() - started < 5
        assert b"is gone" in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

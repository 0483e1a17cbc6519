# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_common/forked: real forks.  An answer comes back as returned, a failure as ChildFailed naming it, no
child outlives stop(), and a process forks only when no thread it does not know runs.  The threads it
does know (the deadline watchdog, the lifeline) start over in the child."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import deadline, forked


def _gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def test_an_answer_comes_back_as_returned():
    children = [forked.start(lambda n: {"n": n, "pid": os.getpid(), "data": b"\x00" * n}, n) for n in (1, 70000)]
    try:
        answers = [forked.answer(child) for child in children]
    finally:
        forked.stop(children)
    assert [a["n"] for a in answers] == [1, 70000] and answers[1]["data"] == b"\x00" * 70000
    assert {a["pid"] for a in answers} == {c.pid for c in children} and os.getpid() not in {a["pid"] for a in answers}


def test_an_exception_in_the_child_is_named():
    def fails():
        raise ValueError("no such part")
    child = forked.start(fails)
    with pytest.raises(forked.ChildFailed, match="^ValueError: no such part$"):
        forked.answer(child)
    assert _gone(child.pid)


def test_a_child_that_dies_fails_and_is_reaped():
    child = forked.start(lambda: os.kill(os.getpid(), 9))
    with pytest.raises(forked.ChildFailed, match=r"ended without an answer \(wait status 9\)"):
        forked.answer(child)
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)


def test_stop_kills_and_reaps_what_still_runs():
    children = [forked.start(time.sleep, 60) for _count in range(3)]
    started = time.monotonic()
    forked.stop(children)
    assert time.monotonic() - started < 5
    for child in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(child.pid, os.WNOHANG)
    forked.stop(children)       # twice is harmless


def test_no_fork_while_an_unknown_thread_runs():
    assert forked.available()
    release = threading.Event()
    other = threading.Thread(target=release.wait, name="someone-elses")
    other.start()
    try:
        assert not forked.available()
    finally:
        release.set()
        other.join()
    assert forked.available()


def test_the_watchdog_starts_over_in_a_child():
    # the parent's watchdog thread is running; the child has none until it needs one, and it then acts
    left, right = socket.socketpair()
    with deadline.Deadline(5).guard(left):
        assert deadline._WATCHDOG._thread is not None and deadline._WATCHDOG._thread.is_alive()
        assert forked.available()       # the watchdog is one of the threads that start over

        def a_read_the_watchdog_ends():
            a, b = socket.socketpair()
            a.settimeout(10)
            started = time.monotonic()
            with deadline.Deadline(0.2).guard(a) as guard:
                data = a.recv(1)
            return data, guard.fired, time.monotonic() - started
        data, fired, seconds = forked.answer(forked.start(a_read_the_watchdog_ends))
    left.close()
    right.close()
    assert (data, fired) == (b"", True) and seconds < 5


_LIFELINE_CHILD = r"""
import os, sys, threading, time
sys.path[:0] = %r
from ansible_collections.tlsops.handshake.plugins.module_utils._common import forked, lifeline
if %r:  # a child that starts slowly: its parent is gone before lifeline's fork hook runs in it
    os.register_at_fork(after_in_child=lambda: time.sleep(0.5))
lifeline.exit_with_controller(interval=0.1)
names = forked.answer(forked.start(lambda: sorted(t.name for t in threading.enumerate())))
child = forked.start(time.sleep, 60)
print(names, child.pid, flush=True)
os._exit(0)     # the module is gone: its child must not stay
"""


@pytest.mark.parametrize("slow_start", [False, True])
def test_a_child_follows_its_module_out_when_the_module_is_gone(slow_start):
    proc = subprocess.run([sys.executable, "-c", _LIFELINE_CHILD % (sys.path, slow_start)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, check=True)
    names, pid = proc.stdout.decode().rsplit(" ", 1)
    assert "tlsops-lifeline" in names
    pid = int(pid)
    limit = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < limit:
        time.sleep(0.05)
    if not _gone(pid):
        os.kill(pid, 9)
        pytest.fail("the child of a gone module kept running")

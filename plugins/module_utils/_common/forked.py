# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work done in forked children, each answering through a pipe.

A forked child starts at once (no interpreter, no imports) and sees the parent's data without copying
it in; it sends back one pickled answer.  Used where a single Python cannot keep up: a large log read
in parts, many upstreams probed by several processes, hosts.json written while the report is built.

``start(work, *args)`` forks a child that runs ``work(*args)``; ``answer(child)`` waits for it and gives
what ``work`` returned, or raises ChildFailed (the child raised, was killed, or said nothing);
``stop(children)`` kills and reaps whatever is still running (call it on every way out).
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading

# threads that may run while this process forks: each resets itself in the child (os.register_at_fork)
FORK_SAFE_THREADS = ("tlsops-lifeline", "tlsops-deadline-watchdog")


class ChildFailed(Exception):
    """A child gave no answer: ``work`` raised (the text says what), or the child died."""


class Child(object):
    def __init__(self, pid, pipe):
        self.pid, self.pipe, self.done = pid, pipe, False


def available():
    """Can this process fork safely?  Not without os.fork, and not while a thread it does not know runs:
    a lock that thread holds at the fork stays held in the child for ever."""
    if not hasattr(os, "fork"):
        return False
    current = threading.current_thread()
    return all(thread is current or thread.name in FORK_SAFE_THREADS for thread in threading.enumerate())


def default_workers(cap=8):
    """The processors this process may run on, at most ``cap``."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, min(count, cap))


def start(work, *args):
    """Fork a child that runs ``work(*args)`` and sends back its return value (or its exception's text)."""
    source, sink = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(source)
        _run_child(sink, work, args)
    os.close(sink)
    return Child(pid, source)


def _run_child(sink, work, args):
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            answer = (True, work(*args))
        except BaseException as exc:        # pylint: disable=broad-exception-caught
            answer = (False, "%s: %s" % (type(exc).__name__, exc))
        with os.fdopen(sink, "wb") as out:
            pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        os._exit(0)     # no atexit handlers, no buffers of the parent flushed twice


def answer(child):
    """Wait for ``child``; what its ``work`` returned.  ChildFailed when it raised or died without a word.
    Interrupted while waiting, the child is left to stop(), which kills it."""
    with os.fdopen(child.pipe, "rb") as source:
        child.pipe = None       # closed with ``source``
        try:
            said = pickle.load(source)
        except (EOFError, pickle.UnpicklingError, OSError, ValueError):
            said = None
    status = os.waitpid(child.pid, 0)[1]
    child.done = True
    if said is None:
        raise ChildFailed("the child process ended without an answer (wait status %d)" % status)
    ok, value = said
    if not ok:
        raise ChildFailed(value)
    return value


def stop(children):
    """Kill and reap every child not yet answered (a sibling failed, or the parent is interrupted)."""
    for child in children:
        if child.done:
            continue
        steps = (lambda: os.close(child.pipe) if child.pipe is not None else None,
                 lambda: os.kill(child.pid, signal.SIGKILL), lambda: os.waitpid(child.pid, 0))
        for step in steps:
            try:
                step()
            except OSError:         # already closed, already gone
                pass
        child.done = True

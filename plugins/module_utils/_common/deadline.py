# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One deadline per probed target, enforced in a way the peer cannot defeat.

A socket timeout only bounds each single wait: a peer that sends one byte
just before every timeout keeps a reader going forever, and a peer that keeps
OpenSSL busy (an endless stream of HelloRequest records) never lets
``do_handshake()`` come back to Python at all.  So every probe of a target
shares one ``Deadline`` (``timeout`` x DEADLINE_FACTOR from the start), and:

* before every read or write the socket timeout is set to what is left of it
  (``Deadline.arm``), so no single wait outlives the deadline;
* every connection is registered with one shared watchdog thread while it is
  in use (``Deadline.guard``).  At the deadline the watchdog shuts the
  connection down (``shutdown(SHUT_RDWR)`` on a duplicate of its descriptor),
  which makes a read loop in C see end-of-file and return.  ``Guard.fired``
  then tells a deadline from a peer that really closed.

Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time

# A target's whole probe (connect, handshake, HTTP exchange, diagnose follow-ups)
# ends within ``timeout`` x DEADLINE_FACTOR seconds; the first handshake alone
# still gets ``timeout``, like proxy_ssl_handshake_timeout.
DEADLINE_FACTOR = 2
# The capability scan (enumerate) is opt-in and costs one ClientHello per
# accepted item: it gets its own budget of ``timeout`` x ENUMERATE_FACTOR.
ENUMERATE_FACTOR = 10
# A follow-up is not started with less than this many seconds left.
MIN_BUDGET = 0.05
# The watchdog acts this long after a deadline, so the socket's own timeout
# normally wins and reports an ordinary timeout.
GRACE = 0.1


class DeadlineReached(OSError):
    """The target's deadline left no time for a step; the step was not (fully) run."""


class Deadline(object):
    """An absolute point in time.monotonic(), with helpers for sockets."""

    def __init__(self, seconds, what="the target's deadline"):
        self.seconds = float(seconds)
        self.at = time.monotonic() + self.seconds
        self.what = what

    def remaining(self):
        return max(0.0, self.at - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.at

    def budget(self, cap=None):
        """Seconds a step may take: what is left, at most ``cap``."""
        left = self.remaining()
        return left if cap is None else min(left, float(cap))

    def sooner(self, seconds):
        """A Deadline ``seconds`` from now, or at this one if that comes first."""
        return Deadline(min(float(seconds), self.remaining()), self.what)

    def require(self, step):
        """Raise DeadlineReached when less than MIN_BUDGET is left for ``step``."""
        if self.remaining() < MIN_BUDGET:
            raise DeadlineReached("%s was reached before %s" % (self.what, step))

    def arm(self, sock, cap=None):
        """Set ``sock``'s timeout to what is left (at most ``cap``); socket.timeout when nothing is."""
        left = self.budget(cap)
        if left <= 0:
            raise socket.timeout("timed out (%s)" % self.what)
        sock.settimeout(max(left, 0.001))
        return left

    def guard(self, sock):
        """Register ``sock`` with the watchdog until this deadline; use as a context manager."""
        return Guard(sock, self.at)


class Guard(object):
    """A socket registered with the watchdog. ``fired`` is True once the watchdog shut it down."""

    def __init__(self, sock, at):
        self.fired = False
        self._entry = None
        self._sock = sock
        self._at = at

    def __enter__(self):
        self._entry = _WATCHDOG.register(self._sock, self._at + GRACE, self)
        return self

    def __exit__(self, *exc):
        _WATCHDOG.unregister(self._entry)
        self._entry = None
        return False

    def move(self, at):
        """Change the point at which the watchdog acts (e.g. from the handshake's to the exchange's).

        Keeps the duplicate made at registration: the socket object given then may
        be detached by now (ssl's wrap_socket takes its descriptor over).
        """
        self._at = at
        self._entry = _WATCHDOG.reschedule(self._entry, at + GRACE)


class _Watchdog(object):
    """One daemon thread and a heap of (due, seq, entry) for every registered socket."""

    def __init__(self):
        self._reset()

    def _reset(self):
        """Nothing watched, no thread: a forked child starts over (its parent's thread is not in it)."""
        self._lock = threading.Condition(threading.Lock())
        self._heap = []
        self._seq = itertools.count()
        self._thread = None

    def register(self, sock, due, guard):
        try:
            dup = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except (OSError, ValueError):
            dup = None  # a closed socket: nothing to watch
        entry = {"dup": dup, "guard": guard, "live": dup is not None}
        if dup is None:
            return entry
        with self._lock:
            heapq.heappush(self._heap, (due, next(self._seq), entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tlsops-deadline-watchdog", daemon=True)
                self._thread.start()
            # wake the watchdog only when it must act sooner: a wake-up per connection cost a thread
            # switch each (about 1 ms per ClientHello under load, the top of the capability scan's profile)
            if self._heap[0][2] is entry:
                self._lock.notify()
        return entry

    def reschedule(self, entry, due):
        """The same watched socket, due at ``due`` instead; returns the new entry."""
        if not entry:
            return entry
        with self._lock:
            if not entry["live"]:
                return entry
            entry["live"] = False  # the old heap slot is skipped; the duplicate lives on in the new one
            moved = {"dup": entry["dup"], "guard": entry["guard"], "live": True}
            heapq.heappush(self._heap, (due, next(self._seq), moved))
            if self._heap[0][2] is moved:  # as in register: only when the watchdog must act sooner
                self._lock.notify()
        return moved

    def unregister(self, entry):
        if not entry:
            return
        with self._lock:
            if entry["live"]:
                entry["live"] = False
                _close(entry["dup"])

    def _run(self):
        with self._lock:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][0] <= now or not self._heap[0][2]["live"]):
                    _due, _seq, entry = heapq.heappop(self._heap)
                    if entry["live"]:
                        entry["live"] = False
                        entry["guard"].fired = True
                        try:
                            entry["dup"].shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        _close(entry["dup"])
                wait = (self._heap[0][0] - now) if self._heap else None
                self._lock.wait(wait)


def _close(sock):
    try:
        sock.close()
    except OSError:
        pass


_WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG._reset)  # pylint: disable=protected-access

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_deadline: one deadline per target, and the watchdog that ends a read the peer would keep going."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import deadline as dl


def _pair():
    """A connected TCP pair on loopback (the watchdog works on real sockets)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    client = socket.create_connection(ls.getsockname())
    server = ls.accept()[0]
    ls.close()
    return client, server


def _open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_watchdog_ends_a_blocking_read_with_no_timeout_at_all():
    """A recv() without any timeout blocks in C forever; the watchdog shuts it down at the deadline."""
    client, server = _pair()
    try:
        client.settimeout(None)
        deadline = dl.Deadline(0.3)
        started = time.monotonic()
        with deadline.guard(client) as guard:
            data = client.recv(10)
        elapsed = time.monotonic() - started
        assert data == b"" and guard.fired
        assert 0.3 <= elapsed < 0.3 + dl.GRACE + 0.5, elapsed
    finally:
        client.close()
        server.close()


def test_arm_sets_what_is_left_so_a_trickling_peer_cannot_extend_it():
    client, server = _pair()
    stop = threading.Event()

    def trickle():
        while not stop.wait(0.1):
            try:
                server.sendall(b"x")
            except OSError:
                return

    feeder = threading.Thread(target=trickle)
    feeder.start()
    try:
        deadline = dl.Deadline(0.5)
        started = time.monotonic()
        got = b""
        with pytest.raises(socket.timeout):
            while True:
                deadline.arm(client)
                got += client.recv(1)
        assert got and time.monotonic() - started < 0.5 + 0.2
    finally:
        stop.set()
        feeder.join()
        client.close()
        server.close()


def test_unregistered_sockets_are_left_alone_and_their_duplicates_closed():
    client, server = _pair()
    before = _open_fds()
    try:
        with dl.Deadline(0.2).guard(client) as guard:
            assert _open_fds() == before + 1  # the duplicate the watchdog would shut down
        assert _open_fds() == before
        time.sleep(0.2 + dl.GRACE + 0.2)
        assert not guard.fired
        server.sendall(b"still open")
        client.settimeout(2)
        assert client.recv(100) == b"still open"
    finally:
        client.close()
        server.close()


def test_many_deadlines_fire_in_order_with_one_thread():
    pairs = [_pair() for _index in range(20)]
    threads_before = threading.active_count()
    try:
        guards = []
        for index, (client, _server) in enumerate(pairs):
            guard = dl.Deadline(0.05 * (20 - index)).guard(client)
            guard.__enter__()
            guards.append(guard)
        assert threading.active_count() <= max(threads_before, 1) + 1
        time.sleep(0.05)
        assert not any(g.fired for g in guards[:15])
        time.sleep(1.0 + dl.GRACE)
        assert all(g.fired for g in guards)
        for guard in guards:
            guard.__exit__(None, None, None)
    finally:
        for client, server in pairs:
            client.close()
            server.close()


def test_require_refuses_a_step_without_time_left():
    deadline = dl.Deadline(0.0, "the target's deadline (timeout x 2 = 0.0 s)")
    with pytest.raises(dl.DeadlineReached, match="was reached before a follow-up"):
        deadline.require("a follow-up")
    assert issubclass(dl.DeadlineReached, OSError)
    assert dl.Deadline(5).sooner(1).seconds <= 1


def test_a_moved_guard_still_fires_after_the_socket_object_gave_its_descriptor_away():
    """ssl's wrap_socket detaches the plain socket the guard was made for; moving the guard to the
    exchange's deadline must keep watching the same connection."""
    client, server = _pair()
    try:
        guard = dl.Deadline(30).guard(client)
        with guard:
            taken_over = socket.socket(fileno=client.detach())  # what wrap_socket does
            guard.move(time.monotonic() + 0.2)
            taken_over.settimeout(None)
            started = time.monotonic()
            assert taken_over.recv(10) == b""
            assert guard.fired and time.monotonic() - started < 0.2 + dl.GRACE + 0.5
        taken_over.close()
    finally:
        client.close()
        server.close()

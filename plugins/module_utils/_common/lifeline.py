# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End a module when the Ansible run that started it is gone.

A module is a child of the connection (sshd's session, or the controller for
``connection: local``) and writes its result to a pipe that Ansible reads.
When Ansible is killed, the read end of that pipe closes (the write end then
polls POLLERR, a pty POLLHUP) and, often, the module is re-parented.  Nobody
will read the result any more, so there is no reason to keep probing servers:
a watcher thread ends the process.  The thread runs while the main thread
sits in OpenSSL with the GIL released, so it works during a stuck handshake.

Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import os
import select
import sys
import threading

EXIT_CODE = 3
_started = []
_forking = []       # the pid of the process that is forking: a child's parent, even if that one is gone already


def controller_gone(original_parent, stdout_fd=1):
    """True when the parent changed or nobody reads ``stdout_fd`` any more."""
    if original_parent not in (0, 1) and os.getppid() != original_parent:
        return True
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    try:
        poller.register(stdout_fd, select.POLLERR | select.POLLHUP)
        events = poller.poll(0)
    except (OSError, ValueError):
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) and not mask & select.POLLNVAL for _fd, mask in events)


def _watch(original_parent, interval, stdout_fd):
    stop = threading.Event()
    while not stop.wait(interval):
        if controller_gone(original_parent, stdout_fd):
            try:
                sys.stderr.write("tlsops.handshake: the Ansible run that started this module is gone; exiting\n")
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os._exit(EXIT_CODE)  # pylint: disable=protected-access


def exit_with_controller(interval=1.0, stdout_fd=1):
    """Start (once per process) the daemon thread that ends the module when Ansible is gone.

    A child the module forks (forked.start) gets a watcher of its own, watching the module: the parent's
    thread is not in it, and a child whose module is gone has nobody to answer to either."""
    if _started:
        return
    _started.append((interval, stdout_fd))
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_remember_forking_process, after_in_child=_follow_in_child)
    _start_watcher(os.getppid(), interval, stdout_fd)


def _start_watcher(parent, interval, stdout_fd):
    watcher = threading.Thread(target=_watch, args=(parent, interval, stdout_fd), name="tlsops-lifeline", daemon=True)
    watcher.start()


def _remember_forking_process():
    _forking[:] = [os.getpid()]


def _follow_in_child():
    # not os.getppid(): a parent that exits right after the fork may be gone before this runs, and the
    # child, re-parented already, would watch its new parent
    if _started:
        interval, stdout_fd = _started[0]
        _start_watcher(_forking[0] if _forking else os.getppid(), interval, stdout_fd)

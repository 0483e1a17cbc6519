# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A call of many targets probed by several processes, each with its share of the concurrency.

One Python process runs every target's Python code (the message callback OpenSSL calls about 25 times a
handshake, the parsing of what the server sent, the watchdog) under one GIL: with 32 handshakes at once,
threads queue for it and switch about 60 times a handshake.  Measured on 2 cores against 900 loopback
upstreams: 32 threads 1.44-1.59 s; 2 processes of 16 threads 1.03-1.25 s, with less CPU in all.  So a
large call is dealt out to forked children (``_common/forked``), ``targets[i::n]`` to the i-th, which probe
their part as one process would and send back the results; the parent puts them back in input order.
``concurrency`` stays the bound of the whole call: the children's shares add up to it.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

from ansible_collections.tlsops.handshake.plugins.module_utils._common import forked

# below this many targets a process, the fork and the results' way back cost more than the GIL does
MIN_TARGETS_PER_PROCESS = 64


def processes_for(count, concurrency, workers):
    """How many processes probe ``count`` targets: at most ``workers``, never more than ``concurrency``,
    one per MIN_TARGETS_PER_PROCESS targets, and one where forking is not safe (forked.available)."""
    wanted = min(int(workers or 1), int(concurrency), count // MIN_TARGETS_PER_PROCESS)
    if wanted < 2 or not forked.available():
        return 1
    return wanted


def shares(concurrency, processes):
    """``concurrency`` split into ``processes`` whole shares (differing by at most one) that add up to it."""
    base, extra = divmod(int(concurrency), processes)
    return [base + (1 if index < extra else 0) for index in range(processes)]


def probe_in_processes(specs, concurrency, processes, probe_part):
    """``probe_part(part, concurrency)`` for each process's part, in forked children; the results in the
    order of ``specs``.  A child that dies without an answer has its part probed here, as it would have."""
    parts = [specs[index::processes] for index in range(processes)]
    widths = shares(concurrency, processes)
    children = []
    try:
        for part, width in zip(parts, widths):
            children.append(forked.start(probe_part, part, width))
        answers = []
        for child, part, width in zip(children, parts, widths):
            try:
                found = forked.answer(child)
            except forked.ChildFailed:
                found = None
            if found is None or len(found) != len(part):
                found = probe_part(part, width)
            answers.append(found)
    finally:
        forked.stop(children)
    results = [None] * len(specs)
    for index, found in enumerate(answers):
        results[index::processes] = found
    return results

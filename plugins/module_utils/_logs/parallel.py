# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One large plain log read by several processes at once, each its own part of the file.

A 400 MB error log costs a core more than a second; a proxy has more than one.  The file is cut at line
ends into one part per worker; each worker (a forked child: no interpreter to start, nothing to pickle on
the way in) reads its part with ``os.pread`` into a reader of its own and sends back the reader's
tables, which are merged in the order of the parts, so the result is the one a single reader gives.
Where a part cannot know what the lines before it said, its reader says so and the file is read again by
one reader: a split container line began (its parts may be in the next part), or, with ``since``, a
line without a time came before any line with one.  So does a part with more distinct messages than
its share of the pending table, so the parent never holds more than one reader's worth of them.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import os

from ansible_collections.tlsops.handshake.plugins.module_utils._common import forked
from ansible_collections.tlsops.handshake.plugins.module_utils._logs import blocks, groups

MIN_BYTES = 16 << 20        # smaller files are read faster by one process than forks cost
MAX_WORKERS = 8


def default_workers():
    """The processors this process may run on, at most MAX_WORKERS."""
    return forked.default_workers(MAX_WORKERS)


class _GiveUp(Exception):
    """This part cannot be read apart from the others; the file is read by one reader."""


class _PartStream(object):
    """``read1`` over ``fd`` from ``start`` to ``stop`` (None: to the end of the file, as it grows)."""

    block_size = blocks.BLOCK_SIZE

    def __init__(self, fd, start, stop):
        self._fd, self._at, self._stop = fd, start, stop

    def read1(self, size):
        if self._stop is not None:
            size = min(size, self._stop - self._at)
            if size <= 0:
                return b""
        data = os.pread(self._fd, size, self._at)
        self._at += len(data)
        return data


def _line_start_after(fd, offset, size):
    """The offset just after the first line end at or after ``offset - 1``; ``size`` when there is none."""
    at = offset - 1
    while at < size:
        chunk = os.pread(fd, 1 << 16, at)
        if not chunk:
            break
        found = chunk.find(b"\n")
        if found >= 0:
            return at + found + 1
        at += len(chunk)
    return size


def parts_of(fd, size, workers):
    """``[(start, stop), ...]``: the file cut at line ends into at most ``workers`` parts of about equal
    size; the last one's stop is None (it reads to the end, as one reader would)."""
    starts = [0]
    for index in range(1, workers):
        start = _line_start_after(fd, size * index // workers, size)
        if start >= size:
            break
        if start > starts[-1]:
            starts.append(start)
    return list(zip(starts, starts[1:] + [None]))


def _read_part(make_reader, fd, start, stop, fmt, reference, pending_share):
    """In a forked child: read one part into a fresh reader; its tables, or None when the part cannot stand alone."""
    def give_up():
        raise _GiveUp()
    reader = make_reader()
    reader.max_pending, reader.when_full = pending_share, give_up
    try:
        reader.read(_PartStream(fd, start, stop), fmt=fmt, reference=reference)
    except _GiveUp:
        return None
    if reader.split_lines or (start and reader.untimed_first):
        return None
    return {
        "pending": list(reader.pending.items()),
        "clients": reader.clients, "clients_pruned": reader.clients_pruned,
        "unparsed": reader.unparsed,
        "unparsed_samples": list(zip(reader.unparsed_keys, reader.unparsed_samples)),
        "formats": reader.formats, "lines": reader.lines, "bytes": reader.bytes,
        "before_since": reader.before_since, "without_time": reader.without_time,
    }


def merge(reader, tables):
    """Add one part's tables to ``reader`` as if it had read the part after what it read before."""
    pending = reader.pending
    for key, (count, first, last, text, info) in tables["pending"]:
        entry = pending.get(key)
        if entry is None:
            if len(pending) >= reader.max_pending:
                reader.when_full()
                pending = reader.pending
            pending[key] = [count, first, last, text, info]
            continue
        entry[0] += count
        groups.widen(entry, first)
        groups.widen(entry, last)
    for address, (count, first, last, codes) in tables["clients"].items():
        reader.merge_client(address, count, first, last, codes)
    reader.clients_pruned = reader.clients_pruned or tables["clients_pruned"]
    reader.unparsed += tables["unparsed"]
    for key, sample in tables["unparsed_samples"]:
        if len(reader.unparsed_samples) < reader.samples and key not in reader.unparsed_keys:
            reader.unparsed_keys[key] = None
            reader.unparsed_samples.append(sample)
    for name, count in tables["formats"].items():
        reader.formats[name] = reader.formats.get(name, 0) + count
    reader.lines += tables["lines"]
    reader.bytes += tables["bytes"]
    reader.before_since += tables["before_since"]
    reader.without_time += tables["without_time"]


def read(reader, make_reader, stream, fmt, reference, workers):
    """Read the plain file under ``stream`` into ``reader`` with ``workers`` processes; False (nothing read,
    ``stream`` untouched) when one reader must read it: a small or compressed file, one worker, no fork,
    or a part that could not stand alone.  ``make_reader()`` gives a fresh reader like ``reader``."""
    fd = stream.fileno() if stream.compression is None and workers > 1 and forked.available() else None
    if fd is None:
        return False
    size = os.fstat(fd).st_size
    if size < MIN_BYTES:
        return False
    parts = parts_of(fd, size, workers)
    if len(parts) < 2:
        return False
    pending_share = max(1, reader.max_pending // len(parts))
    children = []
    try:
        for start, stop in parts:
            children.append(forked.start(_read_part, make_reader, fd, start, stop, fmt, reference, pending_share))
        found = []
        for child in children:
            tables = forked.answer(child)
            if tables is None:      # this part cannot stand alone: one reader reads the file
                return False
            found.append(tables)
    except forked.ChildFailed:
        return False
    finally:
        forked.stop(children)       # the ones not waited for, or all when the parent was interrupted
    for tables in found:
        merge(reader, tables)
    return True

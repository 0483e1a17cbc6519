# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The new lines of nginx error logs since the last run, counted by handshake_log_info's engine.

Per log the state keeps ``(device, inode, offset)``.  A run reads from the saved offset to the last
complete line (at most ``max_bytes``; the rest waits for the next run).  When the inode changed (the log
was rotated: renamed and recreated) or the file is shorter than the offset (truncated, copytruncate),
the run first finishes the rotated copy (``path.1``, when it has the old inode) from the saved offset,
then reads the new file from its start.  A log seen for the first time starts at its end: history is
handshake_log_info's job, the counters count from the monitor's start.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import io
import os

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files as safe
from ansible_collections.tlsops.handshake.plugins.module_utils._logs import read as log_read

DEFAULT_MAX_BYTES = 16 * 1024 * 1024


def _read_span(path, offset, max_bytes, where):
    """Bytes of ``path`` from ``offset`` up to its last complete line (at most ``max_bytes``)."""
    with safe.open_binary(path, where=where, what="an nginx error log") as handle:
        handle.seek(offset)
        data = handle.read(max_bytes)
    end = data.rfind(b"\n") + 1
    return data[:end]


def _count(data, totals):
    """Add the handshake failures of ``data`` to ``totals`` (``{"side|cause": n}``)."""
    if not data:
        return
    reader = log_read._Reader(0, 1, None)      # pylint: disable=protected-access
    reader.read(io.BytesIO(data))
    for side, group in reader.result()["events"]["by_side"].items():
        for cause, count in group["causes"].items():
            key = "%s|%s" % (side, cause)
            totals[key] = totals.get(key, 0) + count


def read_new_lines(path, saved, totals, max_bytes=DEFAULT_MAX_BYTES, where="error_logs"):
    """Count the lines of ``path`` added since ``saved`` into ``totals``; returns the new saved state.

    ``saved``: the dict this returned last run (or None).  Raises OSError (safe_files.FileRefused names
    ``where``) when the log cannot be read.
    """
    st = os.stat(path)
    identity = [st.st_dev, st.st_ino]
    if not saved:
        return {"identity": identity, "offset": st.st_size}
    offset = int(saved.get("offset", 0))
    if saved.get("identity") != identity or st.st_size < offset:
        rotated = path + ".1"
        try:
            old = os.stat(rotated)
        except OSError:
            old = None
        if old is not None and [old.st_dev, old.st_ino] == saved.get("identity") and old.st_size >= offset:
            _count(_read_span(rotated, offset, max_bytes, where), totals)
        offset = 0
    data = _read_span(path, offset, max_bytes, where)
    _count(data, totals)
    return {"identity": identity, "offset": offset + len(data)}

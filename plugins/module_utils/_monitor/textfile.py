# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus metrics in node_exporter's textfile-collector format, written atomically.

node_exporter reads every ``*.prom`` file of its ``--collector.textfile.directory`` at each scrape: a
half-written file would be scraped as a parse error, so the file is written next to its final name
(``.tmp``, a suffix node_exporter ignores), flushed, and renamed over it.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import math
import os
import tempfile


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return "%d" % value
    return repr(value)


class Metrics(object):
    """Families in the order they are declared; each holds ``(labels, value)`` samples."""

    def __init__(self):
        self.families = []
        self.by_name = {}

    def declare(self, name, kind, help_text):
        if name not in self.by_name:
            self.by_name[name] = (kind, help_text, [])
            self.families.append(name)

    def add(self, name, value, **labels):
        if value is None:
            return
        self.by_name[name][2].append((labels, value))

    def render(self):
        out = []
        for name in self.families:
            kind, help_text, samples = self.by_name[name]
            out.append("# HELP %s %s" % (name, help_text.replace("\\", "\\\\").replace("\n", " ")))
            out.append("# TYPE %s %s" % (name, kind))
            for labels, value in samples:
                shown = ",".join('%s="%s"' % (k, _escape(v)) for k, v in sorted(labels.items()) if v is not None)
                out.append("%s%s %s" % (name, "{%s}" % shown if shown else "", _number(value)))
        return "\n".join(out) + "\n"


def write_atomically(path, text, mode=0o644):
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

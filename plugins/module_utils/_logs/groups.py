# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The aggregates of the log reader (_logs): one group per cause, upstream or side, each with a count,
the first and last time, counters and a few distinct samples.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import lines

OTHER = "(other)"
VARIED = object()       # a field whose lines disagree


def group(table, key):
    """The Group of ``key`` in ``table``, made on first use."""
    found = table.get(key)
    if found is None:
        found = table[key] = Group()
    return found


class Group(object):
    __slots__ = ("count", "first", "last", "samples", "sample_keys", "counters", "fields",
                 "ambiguous", "candidates", "notes")

    def __init__(self):
        self.count = 0
        self.first = self.last = None
        self.samples, self.sample_keys = [], set()
        self.counters = {}
        self.fields = {}
        self.ambiguous = 0
        self.candidates, self.notes = [], []

    def add(self, count, first, last, sample_key, line, limit):
        self.count += count
        if first is not None and (self.first is None or first < self.first):
            self.first = first
        if last is not None and (self.last is None or last > self.last):
            self.last = last
        if len(self.samples) < limit and sample_key not in self.sample_keys:
            self.sample_keys.add(sample_key)
            self.samples.append(lines.sample(line))

    def bump(self, name, value, count, cap=None):
        counter = self.counters.setdefault(name, {})
        if cap is not None and value not in counter and len(counter) >= cap:
            value = OTHER
        counter[value] = counter.get(value, 0) + count

    def field(self, name, value):
        if value is None:
            return
        old = self.fields.get(name)
        if old is None:
            self.fields[name] = value
        elif old is not VARIED and old != value:
            self.fields[name] = VARIED

    def ambiguity(self, count, candidates, note):
        self.ambiguous += count
        for code in candidates:
            if code not in self.candidates:
                self.candidates.append(code)
        if note not in self.notes:
            self.notes.append(note)

    def as_dict(self, *counters):
        out = {"count": self.count, "first_seen": lines.iso(self.first), "last_seen": lines.iso(self.last),
               "samples": list(self.samples)}
        for name in counters:
            out[name] = by_count(self.counters.get(name, {}))
        return out


def by_count(counter):
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def widen(entry, stamp):
    """Stretch ``entry[1]`` (first) and ``entry[2]`` (last) to ``stamp``; a line without a time moves neither."""
    if stamp is None:
        return
    if entry[1] is None or stamp < entry[1]:
        entry[1] = stamp
    if entry[2] is None or stamp > entry[2]:
        entry[2] = stamp

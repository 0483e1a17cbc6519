# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What was worked out from a key, remembered up to a bound.

A fleet repeats itself: the same issuer on every leaf, the same few host names among many targets, the same
intermediate served by every upstream.  A BoundedMemo keeps what was read or checked for a key so the next
sight of it costs a dictionary lookup; past ``limit`` keys it keeps nothing new (work is done again, memory
does not grow), so hostile input cannot grow it either.  What is worth keeping is the caller's choice:
x509_lite keeps no part it refused, the probe keeps "does not parse" for a certificate it saw twice.

Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

from typing import Any, Dict, Hashable


class BoundedMemo(object):
    """Values by key, at most ``limit`` of them; ``keep`` returns the value it was given, kept or not.
    Thread-safe for its use here: a dict's get and set are atomic, and two threads that both miss a key
    both work it out and keep the same value."""

    __slots__ = ("values", "limit")

    def __init__(self, limit: int):
        self.values: Dict[Hashable, Any] = {}
        self.limit = limit

    def get(self, key, default=None):
        return self.values.get(key, default)

    def keep(self, key, value):
        if len(self.values) < self.limit:
            self.values[key] = value
        return value

    def __contains__(self, key):
        return key in self.values

    def __len__(self):
        return len(self.values)

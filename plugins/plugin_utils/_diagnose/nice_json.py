# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``json.dumps(value, indent=N, sort_keys=True, separators=(",", ": "), default=default)``, the same text, faster.

With ``indent`` the standard library's C encoder is not used: its pure-Python encoder passes every piece of text
up through one generator per level of nesting, which at 1000 upstreams a host (hosts.json, 21 MB a host) is
most of diagnose_report's time.  This one appends the pieces to one list from plain recursive calls and
writes a container's scalars in its own loop.  Anything it does not know how to write exactly as json does
(a mapping that is not a dict, a key json would refuse, a cycle) is left to ``json.dumps`` itself, so the
text, and the error, are always json's.
"""

from __future__ import annotations

import json
import math
from json import encoder as _encoder

_STRING = _encoder.encode_basestring_ascii      # json's own (its C version when there is one)
_INT = int.__repr__
_FLOAT = float.__repr__
_INFINITY = float("inf")


class _NotPlain(Exception):
    """A value this encoder leaves to json.dumps."""


def _float(value):
    if math.isnan(value):
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return _FLOAT(value)


# the plain types by their exact type (what json.loads and most module results give): one dict lookup
_EXACT = {str: _STRING, int: _INT, float: _float, bool: lambda value: "true" if value else "false",
          type(None): lambda _value: "null"}


def _scalar(value):
    """json's text of a scalar, or None for a container or an unknown type."""
    exact = _EXACT.get(type(value))
    if exact is not None:
        return exact(value)
    if isinstance(value, str):
        return _STRING(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return _INT(value)
    if isinstance(value, float):
        return _float(value)
    return None


def _key(key):
    """A key as json writes it, before quoting: a scalar's text (``1`` -> ``"1"``, None -> ``"null"``)."""
    if isinstance(key, str):
        return key
    text = _scalar(key)
    if text is None:
        raise _NotPlain()
    return text


def dumps(value, indent=4, default=None):
    """The text of ``json.dumps(value, indent=indent, sort_keys=True, separators=(",", ": "), default=default)``."""
    pieces = []
    if _encode(value, indent, default, pieces, None):
        return "".join(pieces)
    return json.dumps(value, indent=indent, sort_keys=True, separators=(",", ": "), default=default)


def dump(value, stream, indent=4, default=None):
    """Write ``dumps(value, indent, default)`` to ``stream``, a seekable text file opened for writing (at its start),
    a block at a time: the text of a 1000-upstream host (21 MB) never stands whole in memory, nor its million
    pieces (several hundred MB of fresh memory, in a forked child, for six such hosts)."""
    pieces = []

    def flush():
        stream.write("".join(pieces))
        del pieces[:]
    if _encode(value, indent, default, pieces, flush):
        flush()
        return
    stream.seek(0)
    stream.truncate()
    stream.write(json.dumps(value, indent=indent, sort_keys=True, separators=(",", ": "), default=default))


_BLOCK = 1 << 15      # pieces held before ``flush`` writes them out


def _encode(value, indent, default, pieces, flush):
    """Append the text of ``value`` to ``pieces`` (handing them to ``flush()`` whenever there are many, when it
    is given); False when the value is one to leave to json.dumps."""
    append = pieces.append
    exact_of = _EXACT.get
    pads = ["\n"]

    def pad(level):
        while len(pads) <= level:
            pads.append("\n" + " " * (indent * len(pads)))
        return pads[level]

    def write(item, level):
        text = _scalar(item)
        if text is not None:
            append(text)
        elif isinstance(item, (list, tuple)):
            write_list(item, level)
        elif isinstance(item, dict):
            write_dict(item, level)
        elif default is None:
            raise _NotPlain()
        else:
            write(default(item), level)

    # write_list and write_dict repeat one loop on purpose (as json's own encoder does): a shared loop over
    # (key, item) pairs costs a quarter more time, and this is the report task's biggest part
    def write_list(items, level):
        if not items:
            append("[]")
            return
        inner = pad(level + 1)
        separator = "," + inner
        append("[" + inner)
        first = True
        for item in items:
            if first:
                first = False
            else:
                append(separator)
            exact = exact_of(type(item))
            if exact is not None:
                append(exact(item))
            else:
                write(item, level + 1)
        append(pad(level) + "]")
        if flush is not None and len(pieces) > _BLOCK:
            flush()

    def write_dict(mapping, level):
        if not mapping:
            append("{}")
            return
        inner = pad(level + 1)
        separator = "," + inner
        append("{" + inner)
        first = True
        for key, item in sorted(mapping.items()):
            if first:
                first = False
            else:
                append(separator)
            append(_STRING(key if key.__class__ is str else _key(key)) + ": ")
            exact = exact_of(type(item))
            if exact is not None:
                append(exact(item))
            else:
                write(item, level + 1)
        append(pad(level) + "}")
        if flush is not None and len(pieces) > _BLOCK:
            flush()

    try:
        write(value, 0)
    except (_NotPlain, RecursionError):
        return False
    return True

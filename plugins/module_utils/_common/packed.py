# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bulky keys of a result as one string, and back (the modules' ``pack_results`` option).

ansible-core converts, copies and filters every value of a task's result several times on its way
from the worker to the callbacks and the registered variable: about 10 kB and 300 values per
upstream for nginx_tls_info plus tls_probe, several seconds per host at 1000 upstreams
(docs/benchmarks.md). A playbook that only hands such a result on to diagnose_report asks for it
packed: JSON, zlib-compressed, in base64, behind a version prefix, one string that crosses
ansible-core in one piece (and a tenth of the bytes over SSH). Standard library only: tls_probe
packs on the managed host.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping

PACKED_KEY = "packed"
# nginx_tls_info's probe targets, packed apart so that tls_probe's packed_targets gets them and nothing more
TARGETS_KEY = "packed_targets"
PACKED_KEYS = (PACKED_KEY, TARGETS_KEY)
PREFIX = "tlsops-packed-1:"
# Far above any real result (a 1000-upstream host unpacks to about 10 MB); a bound, so that a
# compressed string from a hostile host cannot fill the controller's memory.
MAX_UNPACKED_BYTES = 1 << 30


class PackedError(ValueError):
    """A packed string that cannot be unpacked; the message says why."""


def pack(values):
    """``values`` (a dict of JSON-able data) as one string."""
    data = json.dumps(values, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return PREFIX + base64.b64encode(zlib.compress(data, 6)).decode("ascii")


def pack_keys(result, keys, into=PACKED_KEY):
    """``result`` with the present ``keys`` moved into ``result[into]``; nothing to pack leaves it as it is."""
    present = [key for key in keys if key in result]
    if not present:
        return result
    out = {key: value for key, value in result.items() if key not in present}
    out[into] = pack({key: result[key] for key in present})
    return out


def unpack(text, limit=MAX_UNPACKED_BYTES):
    """The dict ``pack()`` was given. Raises PackedError naming what is wrong with ``text``."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise PackedError("not a packed result (a string starting with %r)" % PREFIX)
    try:
        compressed = base64.b64decode(text[len(PREFIX):].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise PackedError("the packed result is not valid base64 (cut short or altered on its way)")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, limit)
        if inflater.unconsumed_tail:
            raise PackedError("the packed result unpacks to more than %d bytes" % limit)
        data += inflater.flush()
    except zlib.error as exc:
        raise PackedError("the packed result is not zlib data (%s)" % exc)
    if not inflater.eof:
        raise PackedError("the packed result is cut short")
    try:
        values = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise PackedError("the packed result is not JSON (%s)" % exc)
    if not isinstance(values, dict):
        raise PackedError("the packed result is not a dict of result keys")
    return values


def unpacked(result, limit=MAX_UNPACKED_BYTES):
    """``result`` with its packed keys (``packed``, ``packed_targets``) back in place; a result without them is
    returned as it is."""
    if not isinstance(result, Mapping) or not any(key in result for key in PACKED_KEYS):
        return result
    out = {key: value for key, value in result.items() if key not in PACKED_KEYS}
    for packed_key in PACKED_KEYS:
        if packed_key not in result:
            continue
        for key, value in unpack(result[packed_key], limit).items():
            if key in out:
                raise PackedError("the packed result repeats the key %r that the result has already" % key)
            out[key] = value
    return out


def unpack_targets(text, limit=MAX_UNPACKED_BYTES):
    """The probe targets in nginx_tls_info's ``packed_targets``. Raises PackedError naming what is wrong."""
    values = unpack(text, limit)
    targets = values.get("probe_targets")
    if set(values) != {"probe_targets"} or not isinstance(targets, list):
        raise PackedError("not nginx_tls_info's packed_targets (a packed dict of probe_targets alone)")
    return targets

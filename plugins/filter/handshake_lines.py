# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: handshake_lines
short_description: One line per probed upstream, with its cause and its fix
version_added: 0.1.0
description:
  - Turns the RV(tlsops.handshake.tls_probe#module:results) of M(tlsops.handshake.tls_probe) into one
    readable line per upstream - target, cause and the fix (or the negotiated version and cipher when healthy).
  - Also takes the whole registered result, packed (O(tlsops.handshake.tls_probe#module:pack_results=true)) or
    not; a packed one is unpacked here, so a template hands on one string instead of a thousand results.
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: The C(results) list returned by M(tlsops.handshake.tls_probe), or the registered result itself.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Print one line per upstream
  ansible.builtin.debug:
    msg: "{{ probe.results | tlsops.handshake.handshake_lines }}"

- name: The same from a result registered with pack_results
  ansible.builtin.debug:
    msg: "{{ probe | tlsops.handshake.handshake_lines }}"
"""

RETURN = r"""
_value:
  description: One string per result, in the same order.
  type: list
  elements: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.module_utils._common.packed import PackedError, unpacked


def _line(result):
    target = result.get("target", "?")
    cause = result.get("cause", "unknown")
    if cause == "ok":
        tls = result.get("tls") or {}
        return "%s: ok (%s %s)" % (target, tls.get("version"), tls.get("cipher"))
    fix = " ".join(result.get("fix") or [])
    return "%s: %s - %s | fix: %s" % (target, cause, result.get("detail", ""), fix)


def handshake_lines(results):
    if isinstance(results, Mapping) and ("results" in results or "packed" in results):
        try:
            results = unpacked(results).get("results")
        except PackedError as exc:
            raise AnsibleFilterError("handshake_lines: %s" % exc)
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise AnsibleFilterError("handshake_lines expects the 'results' list of tlsops.handshake.tls_probe")
    return [_line(r) for r in results]


class FilterModule(object):
    def filters(self):
        return {"handshake_lines": handshake_lines}

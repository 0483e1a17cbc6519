# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: unpack_result
short_description: A module result as it is without pack_results
version_added: 0.1.0
description:
  - M(tlsops.handshake.tls_probe), M(tlsops.handshake.nginx_tls_info) and M(tlsops.handshake.diagnose_report) with
    C(pack_results=true) return their bulky keys as one string, C(packed) (and nginx_tls_info its probe targets as
    another, C(packed_targets)). This filter
    puts them back, so the result is the one the module returns without the option.
  - A result without C(packed) and C(packed_targets) is returned as it is; a list (a loop's C(results)) is unpacked
    item by item.
  - Fails naming what is wrong when C(packed) or C(packed_targets) is not a packed string (cut short, altered, or
    more than 1 GiB unpacked).
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: A registered result of tls_probe, nginx_tls_info or diagnose_report, or a list of them.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Probe a thousand upstreams, packed
  tlsops.handshake.tls_probe:
    targets: "{{ upstreams }}"
    pack_results: true
  register: probe

- name: One line per upstream
  ansible.builtin.debug:
    msg: "{{ (probe | tlsops.handshake.unpack_result).results | tlsops.handshake.handshake_lines }}"
"""

RETURN = r"""
_value:
  description: The result with the keys of C(packed) and C(packed_targets) back in place and those two removed, or the
    list of such results.
  type: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.module_utils._common.packed import PackedError, unpacked


def unpack_result(value):
    try:
        if isinstance(value, list):
            return [unpacked(item) for item in value]
        return unpacked(value)
    except PackedError as exc:
        raise AnsibleFilterError("unpack_result: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"unpack_result": unpack_result}

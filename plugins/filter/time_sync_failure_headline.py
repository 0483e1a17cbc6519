# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: time_sync_failure_headline
short_description: The first line of the time_sync role's message when the verification fails
version_added: 0.1.0
description:
  - What went wrong first, for the P(tlsops.handshake.time_sync#role) role's C(templates/verify_failure.txt.j2). Not
    meant for playbooks.
  - "In this order: chronyd's state could not be read (the result has no C(daemon.answered); its C(msg) says why),
    chronyd does not answer, it did not synchronise within O(wait_timeout) seconds (with chronyd's reason when
    known), or it is synchronised but the clock is off by more than O(max_offset_ms)."
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: The failed M(tlsops.handshake.time_sync_info) result (C(ansible_failed_result)).
    type: dict
    required: true
  host:
    description: The host's name, C(inventory_hostname).
    type: str
    required: true
  wait_timeout:
    description: C(time_sync_wait_timeout), seconds.
    type: raw
    required: true
  max_offset_ms:
    description: C(time_sync_max_offset_ms).
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: The headline of a failed wait
  ansible.builtin.debug:
    msg: >-
      {{ ansible_failed_result | tlsops.handshake.time_sync_failure_headline(host=inventory_hostname,
           wait_timeout=time_sync_wait_timeout, max_offset_ms=time_sync_max_offset_ms) }}
"""

RETURN = r"""
_value:
  description: One line, starting with V(time_sync:).
  type: str
  sample: "time_sync: chrony on proxy1 did not synchronise within 120 s: no selectable source."
"""

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.time_sync import failure_headline


def time_sync_failure_headline(result, host, wait_timeout, max_offset_ms):
    return failure_headline(result, host, wait_timeout, max_offset_ms)


class FilterModule(object):
    def filters(self):
        return {"time_sync_failure_headline": time_sync_failure_headline}

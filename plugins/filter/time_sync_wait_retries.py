# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: time_sync_wait_retries
short_description: How often the time_sync role asks chronyd whether it is synchronised
version_added: 0.1.0
description:
  - The retries of the P(tlsops.handshake.time_sync#role) role's wait in C(tasks/verify.yml) (C(vars/main.yml)'s
    C(__time_sync_retries)). Not meant for playbooks.
  - Enough polls O(delay) seconds apart (at least 1 second) to cover the input's seconds, rounded up, and at least one.
    Both numbers are read as Jinja's C(int) filter reads them (text, a float cut to a whole number, 0 when not a number).
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: C(time_sync_wait_timeout), seconds.
    type: raw
    required: true
  delay:
    description: C(time_sync_wait_delay), seconds between two polls.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Retries of a 120 s wait, polling every 5 s (24)
  ansible.builtin.debug:
    msg: "{{ 120 | tlsops.handshake.time_sync_wait_retries(delay=5) }}"
"""

RETURN = r"""
_value:
  description: The number of retries, at least 1.
  type: int
"""

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.time_sync import wait_retries


def time_sync_wait_retries(wait_timeout, delay):
    return wait_retries(wait_timeout, delay)


class FilterModule(object):
    def filters(self):
        return {"time_sync_wait_retries": time_sync_wait_retries}

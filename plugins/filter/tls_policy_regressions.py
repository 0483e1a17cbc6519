# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: tls_policy_regressions
short_description: The handshakes the tls_policy role's new policy broke
version_added: 0.1.0
description:
  - "The decision of the P(tlsops.handshake.tls_policy#role) role's post-reload gate (C(tasks/probe_after.yml)):
    which upstreams completed their handshake with the settings in force before this run and fail with the new
    policy. Any of them makes the role restore the previous files. Not meant for playbooks."
  - An upstream that failed before as well is not counted. Without O(after) (the after probe was skipped) there is
    no regression.
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: The C(results) of M(tlsops.handshake.tls_probe) for the C(before) targets of O(pairs), in order.
    type: list
    elements: dict
    required: true
  after:
    description: The C(results) of M(tlsops.handshake.tls_probe) for the C(after) targets of O(pairs), in order; null when not probed.
    type: list
    elements: dict
  pairs:
    description: The probe pairs, P(tlsops.handshake.tls_policy_probe_targets#filter)'s result.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Find handshakes that worked before and fail now (what the role's tasks/probe_after.yml does)
  ansible.builtin.set_fact:
    regressions: >-
      {{ probed_before.results | tlsops.handshake.tls_policy_regressions(after=probed_after.results | default(none),
                                                                         pairs=probe_pairs) }}
"""

RETURN = r"""
_value:
  description:
    - "One entry per broken handshake: C(name) and C(target) (V(host:port)) of the upstream, and the C(cause),
      C(detail), C(nginx_error) and C(fix) of its after probe."
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.tls_policy import regressions


def tls_policy_regressions(before, pairs, after=None):
    if not isinstance(before, list) or not isinstance(pairs, list) or not isinstance(after, (list, type(None))):
        raise AnsibleFilterError("tls_policy_regressions expects the before results, the after results (or none) and "
                                 "the probe pairs as lists")
    return regressions(before, after, pairs)


class FilterModule(object):
    def filters(self):
        return {"tls_policy_regressions": tls_policy_regressions}

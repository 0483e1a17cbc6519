# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: time_sync_container_mode
short_description: Whether chronyd must run in container mode (chronyd -x), and why
version_added: 0.1.0
description:
  - The decision of the P(tlsops.handshake.time_sync#role) role's C(tasks/facts.yml). Not meant for playbooks.
  - "With O(mode=auto): container mode when PID 1 has no CAP_SYS_TIME in its bounding set (the C(CapBnd) line of
    C(/proc/1/status), what systemd's C(ConditionCapability) checks); when that is unreadable, when the host is a
    container guest (docker, podman, lxc, systemd-nspawn, ...). V(container) and V(host) force the answer."
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: The text of PID 1's C(/proc/1/status) (empty when it could not be read).
    type: str
    required: true
  mode:
    description: C(time_sync_container_mode).
    type: str
    choices: [auto, container, host]
    required: true
  virtualization_type:
    description: C(ansible_facts.virtualization_type).
    type: str
  virtualization_role:
    description: C(ansible_facts.virtualization_role).
    type: str
"""

EXAMPLES = r"""
- name: Decide on container mode
  ansible.builtin.set_fact:
    decision: >-
      {{ pid1_status.content | b64decode
         | tlsops.handshake.time_sync_container_mode(mode='auto', virtualization_type=ansible_facts.virtualization_type,
                                                    virtualization_role=ansible_facts.virtualization_role) }}
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    container:
      description: Whether chronyd runs in container mode.
      type: bool
    reason:
      description: "Why, for the role's messages (C(PID 1 has no CAP_SYS_TIME in its bounding set, virtualization: podman (guest)))."
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.time_sync import container_mode


def time_sync_container_mode(pid1_status, mode, virtualization_type=None, virtualization_role=None):
    try:
        return container_mode(pid1_status or "", mode, virtualization_type, virtualization_role)
    except ValueError as exc:
        raise AnsibleFilterError("time_sync_container_mode: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"time_sync_container_mode": time_sync_container_mode}

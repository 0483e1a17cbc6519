# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: time_sync_chrony_directives
short_description: The chrony.conf directives of the time_sync role's variables
version_added: 0.1.0
description:
  - Turns the C(time_sync_*) variables of the P(tlsops.handshake.time_sync#role) role into the lines of chrony.conf;
    the role's C(templates/chrony.conf.j2) lays them out. Not meant for playbooks.
  - "A C(time_sync_servers) entry becomes a C(server) (C(pool) with O(pool=true)) line with C(iburst) unless switched
    off; C(minsources) is written only above 1; C(rtcsync) never in container mode (chronyd -x)."
  - The values are checked before (the role's C(config_value_errors) check); this filter does not check them again.
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: "The role's variables, C({time_sync_name: value}): at least every variable the role documents."
    type: dict
    required: true
  container:
    description: Whether chronyd runs in container mode (with C(-x)).
    type: bool
    required: true
"""

EXAMPLES = r"""
- name: The directives (what the role's chrony.conf.j2 does)
  vars:
    names: "{{ query('ansible.builtin.varnames', '^time_sync_') }}"
  ansible.builtin.debug:
    msg: "{{ dict(names | zip(query('ansible.builtin.vars', *names))) | tlsops.handshake.time_sync_chrony_directives(container=false) }}"
"""

RETURN = r"""
_value:
  description: The lines of chrony.conf, in three groups.
  type: dict
  contains:
    sources:
      description: One C(server) or C(pool) line per C(time_sync_servers) entry.
      type: list
      elements: str
    policy:
      description: C(minsources), C(maxdistance), C(makestep), C(local stratum), C(allow) and C(deny) lines.
      type: list
      elements: str
    system:
      description: C(rtcsync) and C(leapsectz) lines.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.time_sync import chrony_directives


def time_sync_chrony_directives(variables, container):
    if not isinstance(variables, dict):
        raise AnsibleFilterError("time_sync_chrony_directives expects a dict of the role's variables")
    try:
        return chrony_directives(variables, container)
    except KeyError as exc:
        raise AnsibleFilterError("time_sync_chrony_directives: the role variable %s is missing from the input" % exc)


class FilterModule(object):
    def filters(self):
        return {"time_sync_chrony_directives": time_sync_chrony_directives}

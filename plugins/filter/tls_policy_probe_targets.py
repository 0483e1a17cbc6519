# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: tls_policy_probe_targets
short_description: The tls_probe targets of the tls_policy role's post-reload gate, before and after
version_added: 0.1.0
description:
  - For each upstream of a resolved policy (P(tlsops.handshake.tls_policy_resolve#filter)'s result) that the gate probes,
    one tls_probe target with the settings in force before this run and one with the new policy's.
  - "Before: the settings recorded in the state line of the upstream's snippet, else in the http-level file, else
    nginx's own C(proxy_ssl_*) defaults for its version (C(proxy_ssl_protocols) by version, no SNI, no verification)."
  - "The server name and SNI follow nginx, as M(tlsops.handshake.nginx_tls_info)'s probe targets do: the upstream's
    C(server_name), else its host; no SNI and no C(server_name) for an IP literal host."
  - The role calls it in C(tasks/probe_before.yml). Not meant for playbooks.
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: The resolved policy (C(tls_policy_resolve)'s result).
    type: dict
    required: true
  snapshot:
    description: "The files read before this run, C({path: {content: base64}}); a missing file has no entry."
    type: dict
    required: true
  state_tag:
    description: The prefix of the line that records the settings in a file the role wrote.
    type: str
    required: true
  nginx_version:
    description: The version of nginx (C(1.22.1)), for its default C(proxy_ssl_protocols).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Set the probe targets, before and after (what the role's tasks/probe_before.yml does)
  ansible.builtin.set_fact:
    pairs: >-
      {{ resolved | tlsops.handshake.tls_policy_probe_targets(snapshot={}, nginx_version='1.22.1',
                                                              state_tag='# tlsops.handshake.tls_policy settings: ') }}
"""

RETURN = r"""
_value:
  description:
    - "One C({before, after}) per probed upstream, each a M(tlsops.handshake.tls_probe) target: C(name), C(host),
      C(port), C(server_name) (left out for an IP literal host probed by address), C(sni), C(protocols), C(verify),
      and C(ciphers), C(groups), C(ca_file), C(verify_depth), C(client_cert), C(client_key) when set."
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.tls_policy import PolicyError, probe_pairs


def tls_policy_probe_targets(resolved, snapshot, state_tag, nginx_version):
    if not isinstance(resolved, dict) or not isinstance(snapshot, dict):
        raise AnsibleFilterError("tls_policy_probe_targets expects the resolved policy and a dict of snapshot files")
    try:
        return probe_pairs(resolved, snapshot, state_tag, str(nginx_version))
    except PolicyError as exc:
        raise AnsibleFilterError("tls_policy_probe_targets: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"tls_policy_probe_targets": tls_policy_probe_targets}

# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: tls_policy_resolve
short_description: The tls_policy role's variables resolved into nginx directives and probe settings
version_added: 0.1.0
description:
  - Resolves the C(tls_policy_*) variables of the P(tlsops.handshake.tls_policy#role) role into the document its tasks
    and templates use; the role calls it in C(tasks/resolve.yml). Not meant for playbooks.
  - "Server side: the profile's protocols, ciphers and groups unless overridden; the post-quantum groups (such as
    C(X25519MLKEM768)) are dropped when nginx runs with OpenSSL older than 3.5; C(ssl_session_tickets off) unless
    C(tls_policy_session_tickets) says otherwise when nginx is older than 1.23.2 (no ticket key rotation)."
  - "Upstream side: the C(tls_policy_upstream_*) defaults, each C(tls_policy_upstreams) entry's overrides
    (null keeps the default), the directives of its snippet and the settings the post-reload gate probes it with."
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: "The role's variables, C({tls_policy_name: value}): at least every variable the role documents."
    type: dict
    required: true
  nginx_version:
    description: The version of nginx, as C(nginx -V) prints it (C(1.22.1)).
    type: str
    required: true
  openssl_version:
    description: The version of the OpenSSL nginx runs with (C(3.0.2)); an unreadable one counts as older than 3.5.
    type: str
    required: true
  conf_name:
    description: The name of the http-level file the role writes in C(tls_policy_conf_dir).
    type: str
    required: true
  snippet_prefix:
    description: The prefix of the per-upstream snippets the role writes in C(tls_policy_snippets_dir).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Resolve the policy (what the role's tasks/resolve.yml does)
  vars:
    names: "{{ query('ansible.builtin.varnames', '^tls_policy_') }}"
  ansible.builtin.set_fact:
    resolved: >-
      {{ dict(names | zip(query('ansible.builtin.vars', *names)))
         | tlsops.handshake.tls_policy_resolve(nginx_version='1.22.1', openssl_version='3.0.2',
                                               conf_name='tlsops_tls_policy.conf', snippet_prefix='tlsops_upstream_') }}
"""

RETURN = r"""
_value:
  description: The resolved policy.
  type: dict
  contains:
    server_lines:
      description: The http-level server-side directives, C([{key, line}]) (empty when C(tls_policy_manage_server) is false).
      type: list
      elements: dict
    upstream_lines:
      description: The http-level C(proxy_ssl_*) defaults, C([{key, line}]) (empty when C(tls_policy_manage_upstreams) is false).
      type: list
      elements: dict
    upstream_defaults:
      description: The upstream settings every entry starts from (C(server_name_indication), C(protocols), C(groups), ...).
      type: dict
    upstream_settings:
      description: The probe settings of the defaults (C(sni), C(server_name), C(protocols), C(verify), C(ca_file), ...).
      type: dict
    upstreams:
      description:
        - One dict per C(tls_policy_upstreams) entry, its settings resolved, with C(port), C(host), C(probe),
          C(snippet) (the file), C(lines) (its directives) and C(settings) (its probe settings).
      type: list
      elements: dict
    conf:
      description: The path of the http-level file.
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.tls_policy import PolicyError, resolve


def tls_policy_resolve(variables, nginx_version, openssl_version, conf_name, snippet_prefix):
    if not isinstance(variables, dict):
        raise AnsibleFilterError("tls_policy_resolve expects a dict of the role's variables, got %s"
                                 % type(variables).__name__)
    try:
        return resolve(variables, str(nginx_version), str(openssl_version), conf_name, snippet_prefix)
    except PolicyError as exc:
        raise AnsibleFilterError("tls_policy_resolve: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"tls_policy_resolve": tls_policy_resolve}

# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: config_value_errors
short_description: The role variables that would change what a configuration file means
version_added: 0.1.0
description:
  - Checks each variable against the kind of value it is in the file it reaches (an nginx directive argument,
    a chrony word, a path, a number) and returns one message per bad value, naming the variable, showing the value
    escaped (never key material) and saying what is allowed.
  - A newline, C(;), C({), C(}), C(#) or a quote where the file's syntax gives it a meaning would add directives;
    the roles of this collection call this filter in their C(tasks/check_vars.yml), before anything is written.
  - Unset values (null, empty string) pass; whether a value is required is checked elsewhere.
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: "The variables to check, C({name: value})."
    type: dict
    required: true
  kinds:
    description:
      - "The kind of each variable, C({name: kind}). A list value is checked element by element."
      - A kind is one of V(hostname_or_ip), V(upstream_name), V(tls_protocol), V(openssl_ciphers), V(openssl_group),
        V(nginx_session_cache), V(nginx_time), V(nginx_resolver), V(nginx_bare_path), V(file_path), V(single_line),
        V(chrony_word), V(chrony_words), V(chrony_address), V(int), V(uint), V(port), V(number), or
        C(choice:a,b,c).
      - A dict instead of a kind gives the kinds of the keys of a dict value, or of each dict of a list value.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse a host that would add a directive
  vars:
    __errors: >-
      {{ {'my_host': my_host, 'my_servers': my_servers}
         | tlsops.handshake.config_value_errors({'my_host': 'hostname_or_ip', 'my_servers': {'host': 'hostname_or_ip'}}) }}
  ansible.builtin.assert:
    that: __errors | length == 0
    fail_msg: "{{ __errors | join('; ') }}"
"""

RETURN = r"""
_value:
  description:
    - 'One message per bad value, for example C(my_servers[0].host = "ntp1\nallow all" is not allowed: a DNS name ...).'
    - Empty when every value is allowed.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.config_values import value_errors


def config_value_errors(values, kinds):
    if not isinstance(values, dict) or not isinstance(kinds, dict):
        raise AnsibleFilterError("config_value_errors expects a dict of values and a dict of kinds")
    try:
        return value_errors(values, kinds)
    except ValueError as exc:
        raise AnsibleFilterError("config_value_errors: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"config_value_errors": config_value_errors}

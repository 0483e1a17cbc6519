# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: nginx_test_failure
short_description: Why nginx -t rejected a configuration, from its stderr
version_added: 0.1.0
description:
  - Reads the standard error of C(nginx -t) with the collection's one reader of nginx's messages
    (C(plugins/module_utils/_nginx/output.py)) and returns nginx's C([emerg]) message and the file and line it names.
  - The message is every C([emerg]) line as nginx wrote it, with the lines that continue it (an inline key nginx
    quotes spans several), up to nginx's closing C(configuration file ... test failed) line, key material redacted
    (as by P(tlsops.handshake.redact_key_material#filter)) before the lines are joined with spaces.
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: The standard error of C(nginx -t).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Fail with nginx's message and where it stopped
  vars:
    failure: "{{ nginx_t.stderr | tlsops.handshake.nginx_test_failure }}"
  ansible.builtin.fail:
    msg: "{{ failure.message }} ({{ failure.file }}:{{ failure.line }})"
"""

RETURN = r"""
_value:
  description: Why nginx -t failed.
  type: dict
  contains:
    message:
      description: The C([emerg]) lines, redacted and joined; without one, the whole input, trimmed.
      type: str
    file:
      description: The file of the C(in FILE:LINE) that ends nginx's message, or null (OpenSSL's errors name none).
      type: str
    line:
      description: Its line, or null.
      type: int
    quoted:
      description: The first C(("...")) argument nginx quotes, as in C(SSL_CTX_set_cipher_list("X") failed), or empty.
      type: str
"""

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.output import test_failure
from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.config_values import redact_key_material


def nginx_test_failure(stderr):
    return test_failure(stderr if isinstance(stderr, str) else "", redact=redact_key_material)


class FilterModule(object):
    def filters(self):
        return {"nginx_test_failure": nginx_test_failure}

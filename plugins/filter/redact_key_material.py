# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: redact_key_material
short_description: Text without PEM blocks, inline data values or long base64 runs
version_added: 0.1.0
description:
  - Replaces every PEM block (C(-----BEGIN ...) to C(-----END ...-----), or to the end of a cut text), every
    nginx C(data:) value and every base64 run of 40 characters or more with a short note.
  - The roles of this collection show nginx's messages and configuration lines in their failures; nginx prints an
    inline C(data:) key it cannot load, and a configuration may hold one.
author:
  - tlsops.handshake contributors (@tlsops)
options:
  _input:
    description: The text.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Fail with nginx's message, without the key it quotes
  ansible.builtin.fail:
    msg: "{{ nginx_t.stderr | tlsops.handshake.redact_key_material }}"
"""

RETURN = r"""
_value:
  description: The text with key material replaced by C((PEM block not shown)), C(data:(not shown)) or C((base64 not shown)).
  type: str
"""

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.config_values import redact_key_material


class FilterModule(object):
    def filters(self):
        return {"redact_key_material": redact_key_material}

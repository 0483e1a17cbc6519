# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private keys never leave the managed host.

nginx accepts a key inline (``ssl_certificate_key "data:-----BEGIN PRIVATE KEY..."``,
since 1.15.10), and a configuration may hold one anywhere else (a ``set`` or ``map``
value, a commented-out line, a key file included by mistake); nginx also repeats
such a value in its own error messages.  Everything nginx_tls_info sends to the
controller, and every sample line handshake_log_info returns, goes through
``redact()`` first, on the host.

The replacement keeps the number of newlines, so the file:line of every directive
after it stays right, and says that a key was there: the effective settings then
show ``data:<redacted private key>``.

Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import re

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.tokens import located_statements

REDACTED = "<redacted private key>"
INLINE_KEY = "data:" + REDACTED
MARKER = "PRIVATE KEY"
# A PEM private key of any kind (PRIVATE, RSA/EC/DSA/ENCRYPTED/OPENSSH PRIVATE KEY), up to its
# END line; a block without one (truncated, or one line of a log) up to a quote or ";"; a lone END line.
_PEM_KEY_RE = re.compile(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY-----(?:.*?-----END[ A-Z0-9]*PRIVATE KEY-----|[^\"';]*)"
                         r"|-----END[ A-Z0-9]*PRIVATE KEY-----", re.DOTALL)
_BASE64_LINE_RE = re.compile(r"^[A-Za-z0-9+/]{40,76}={0,2}\s*$")     # PEM body lines are 64 wide, at most 76


def _keep_newlines(original, replacement):
    return replacement + "\n" * original.count("\n")


def _redact_inline_key_arguments(text):
    """Every ``*_certificate_key data:...`` value (not a ``data:$variable``) becomes INLINE_KEY."""
    if "data:" not in text:
        return text
    cuts = []
    for directive, args, dummy_line, spans in located_statements(text):
        if not directive.endswith("certificate_key"):
            continue
        for arg, (start, end) in zip(args, spans):
            if arg.startswith("data:") and not arg.startswith("data:$"):
                cuts.append((start, end))
    for start, end in reversed(cuts):
        text = text[:start] + _keep_newlines(text[start:end], '"%s"' % INLINE_KEY) + text[end:]
    return text


def redact(text):
    """``text`` (configuration, nginx's messages) without private key material."""
    if not text:
        return text
    return redact_pem(_redact_inline_key_arguments(text))


def redact_pem(text):
    """``text`` without PEM private key blocks (or the start of one); cheap when there is none."""
    if not text or MARKER not in text:
        return text
    return _PEM_KEY_RE.sub(lambda match: _keep_newlines(match.group(0), REDACTED), text)


def redact_line(line):
    """One line of a log as it may be returned: a PEM block's start redacted, and a line that is
    nothing but base64 (a PEM body line nginx logged after "cannot load certificate key") dropped."""
    if _BASE64_LINE_RE.match(line):
        return REDACTED
    return redact_pem(line)

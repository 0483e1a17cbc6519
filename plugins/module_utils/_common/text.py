# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filling the ``{field}`` templates of the vocabularies (causes, findings, SNTP errors).

A template names fields its caller may not know (an unnamed upstream, an error without errno):
a missing field becomes a placeholder instead of a KeyError in the middle of a report.
"""

from __future__ import annotations

# Standard library only: this file runs on managed hosts.


class _WithPlaceholders(dict):
    def __init__(self, fields, missing):
        super(_WithPlaceholders, self).__init__(fields)
        self._missing = missing

    def __missing__(self, key):
        return self._missing % {"field": key} if "%(field)" in self._missing else self._missing


def fill(template, fields, missing=""):
    """``template`` with its ``{field}`` replaced from ``fields`` (a mapping).

    A field ``fields`` lacks becomes ``missing``, in which ``%(field)s`` stands for the field's name
    (``"<%(field)s>"`` renders ``{host}`` as ``<host>``).
    """
    # str.format_map reads the fields as string.Formatter does (a dict subclass's __missing__ included), in C:
    # a third of the time, for the thousands of findings of a large configuration
    return template.format_map(_WithPlaceholders(fields, missing))

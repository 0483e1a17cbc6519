# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal nginx configuration tokenizer for the managed host.

Only for finding a few directives (include, error_log, certificate paths)
without dependencies; the real parsing of a configuration happens on the
controller with crossplane (plugin_utils/_nginx_parse.py).
"""

from __future__ import annotations


def tokens(text):
    """(token, quoted) pairs of nginx configuration text, comments dropped."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch in "{};":
            yield ch, False
            i += 1
        elif ch in "\"'":
            j, buf = i + 1, []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            yield "".join(buf), True
            i = j + 1
        else:
            j, buf = i, []
            while j < n and not text[j].isspace() and text[j] not in ";{}":
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j:j + 2])
                    j += 2
                    continue
                if text[j] == "$" and j + 1 < n and text[j + 1] == "{":
                    # ${name}: its } stays in the word.  Whitespace, ; or { end the word first, as in
                    # nginx: an unclosed ${ must not swallow the statements up to the next }.
                    end = j + 2
                    while end < n and not text[end].isspace() and text[end] not in ";{}":
                        end += 1
                    end += 1 if end < n and text[end] == "}" else 0
                    buf.append(text[j:end])
                    j = end
                    continue
                buf.append(text[j])
                j += 1
            yield "".join(buf), False
            i = j


def statements(text):
    """``(directive, args)`` of every statement, at any depth (blocks are flattened)."""
    words = []
    for token, quoted in tokens(text):
        if not quoted and token in ("{", ";", "}"):
            if words:
                yield words[0], words[1:]
            words = []
            continue
        words.append(token)

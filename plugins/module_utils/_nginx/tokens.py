# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal nginx configuration tokenizer for the managed host.

Only for finding a few directives (include, error_log, certificate paths)
without dependencies; the real parsing of a configuration happens on the
controller with crossplane (plugin_utils/_nginx_parse.py).
"""

from __future__ import annotations


def _scan(text):
    """``(token, quoted, start, end)`` of nginx configuration text, comments dropped.

    ``text[start:end]`` is the token as written (with its quotes), so a caller can
    replace it in place (secrets) or count the lines before it (file:line).
    """
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch in "{};":
            yield ch, False, i, i + 1
            i += 1
        elif ch in "\"'":
            j, buf = i + 1, []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            yield "".join(buf), True, i, min(j + 1, n)
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
            yield "".join(buf), False, i, j
            i = j


def tokens(text):
    """(token, quoted) pairs of nginx configuration text, comments dropped."""
    for token, quoted, dummy_start, dummy_end in _scan(text):
        yield token, quoted


def statements(text):
    """``(directive, args)`` of every statement, at any depth (blocks are flattened)."""
    for directive, args, dummy_line, dummy_spans in located_statements(text):
        yield directive, args


def located_statements(text):
    """``(directive, args, line, spans)`` of every statement, at any depth.

    ``line`` is the 1-based line of the directive's name; ``spans`` holds one
    ``(start, end)`` offset pair per argument, its text as written in ``text``.
    """
    words, spans = [], []
    line, counted_to, start_line = 1, 0, 1
    for token, quoted, start, end in _scan(text):
        if not quoted and token in ("{", ";", "}"):
            if words:
                yield words[0], words[1:], start_line, spans[1:]
            words, spans = [], []
            continue
        if not words:
            line += text.count("\n", counted_to, start)
            counted_to = start
            start_line = line
        words.append(token)
        spans.append((start, end))

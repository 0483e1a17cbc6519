# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one follower of nginx's ``include`` on the managed host, for when nginx itself is not asked.

As nginx does it (ngx_conf_include, ngx_conf_full_name):

* a relative pattern is taken relative to the *conf prefix*, the directory of the main
  configuration file (not the ``-p`` prefix, which only log and temp paths use), and the name is
  the prefix and the pattern joined as written (no ``..`` folded), which is also the name nginx
  puts in ``nginx -T`` headers and in its ``[emerg] ... in FILE:LINE`` messages;
* a pattern with ``*``, ``?`` or ``[`` is a glob: its matches in sorted order, hidden files not
  matched by ``*``, no match at all is no error; any other pattern names one file that must exist;
* the included file's statements take the include's place and its context (an include inside
  ``http {`` puts its directives in http).

Reading is the caller's ``read(path, origin)`` (through _safe_files, with the caller's caps), so
this module opens nothing itself and only calls ``glob`` and the reader.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Dict

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.tokens import parse

MAX_DEPTH = 64


class IncludeLoop(OSError):
    """A file that includes itself, directly or through others; nginx would recurse until it fails."""


def full_name(path, conf_prefix):
    """``path`` as nginx names it: absolute as given, else joined to ``conf_prefix``."""
    return path if os.path.isabs(path) else os.path.join(conf_prefix, path)


def is_glob(pattern):
    return glob.has_magic(pattern)


def expand(pattern, conf_prefix):
    """The files an ``include pattern;`` names, in the order nginx reads them."""
    pattern = full_name(pattern, conf_prefix)
    return sorted(glob.glob(pattern)) if is_glob(pattern) else [pattern]


def walk(main, conf_prefix, read, on_error=None, strict=False, once=False, max_files=None, context=()):
    """Yield the Statement of every directive of ``main`` and of what it includes, in nginx's order.

    ``read(path, origin)`` returns a file's text or raises OSError; ``origin`` is ``(file, line)``
    of the include that named it, None for ``main``.  ``on_error(path, origin, exc)`` is called for
    a file that cannot be read (a missing file, one refused by _safe_files, an IncludeLoop) and the
    walk goes on; without it the error is raised.  With ``once`` a file (by the name nginx gives it) is
    read only the first time it is named; ``max_files`` stops reading more files silently.  ``strict`` is the
    tokenizer's (NginxSyntaxError, naming FILE:LINE, is always raised, never passed to on_error).
    """
    state: Dict[str, Any] = {"read": 0, "seen": set()}

    def problem(path, origin, exc):
        if on_error is None:
            raise exc
        on_error(path, origin, exc)

    def visit(path, origin, ctx, stack):
        if max_files is not None and state["read"] >= max_files:
            return
        if once and path in state["seen"]:
            return      # also ends a loop: nothing is read twice
        real = os.path.realpath(path)
        if real in stack or len(stack) >= MAX_DEPTH:
            problem(path, origin, IncludeLoop("%s:%d: include %s: the file includes itself (through %s); nginx would "
                                              "fail; remove the loop" % (origin[0], origin[1], path, " -> ".join(stack))))
            return
        try:
            text = read(path, origin)
        except OSError as exc:
            problem(path, origin, exc)
            return
        state["read"] += 1
        state["seen"].add(path)
        for statement in parse(text, path, strict, ctx):
            yield statement
            if statement.name == "include" and statement.args:
                for included in expand(statement.args[0], conf_prefix):
                    yield from visit(included, (path, statement.line), statement.context, stack + (real,))

    return visit(main, None, tuple(context), ())

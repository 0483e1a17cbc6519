# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse the text of an nginx configuration (all its files) into one tree, on the controller.

The parser is crossplane (nginx's own, https://github.com/nginxinc/crossplane).  It
reads files, so every file of the configuration is written into a private temporary
directory that mirrors its original path and parsed there one file at a time
(``single=True``: crossplane never looks at the controller's own /etc/nginx).  The
``include`` directives are then expanded here, against the files that were
collected, as nginx expands them: relative patterns from the main file's directory,
globs sorted, dot-files only for a dot pattern, and a file included from several
places parsed in each of those contexts.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from typing import List, Optional, Tuple

CROSSPLANE_IMPORT_ERROR: Optional[str] = None
try:
    import crossplane
except ImportError as _exc:  # the action plugin turns this into a clear error
    crossplane = None
    CROSSPLANE_IMPORT_ERROR = str(_exc)

MAX_INCLUDE_DEPTH = 32
# blocks whose entries are table rows, not directives (crossplane's table knows nothing of them)
OPAQUE_BLOCKS = ("map", "geo", "types", "split_clients", "charset_map", "match")


class ParseError(ValueError):
    """The configuration cannot be parsed at all (the message says why; ``errors``: ``[{file, line, error}]``)."""

    def __init__(self, message, errors=()):
        super(ParseError, self).__init__(message)
        self.errors = list(errors)


class Node:
    """One directive: ``name``, ``args``, where it is (``file``, ``line``) and its ``block`` (or None)."""

    __slots__ = ("name", "args", "file", "line", "block", "_by_name")

    def __init__(self, name, args, file, line, block=None):
        self.name = name
        self.args = list(args)
        self.file = file
        self.line = line
        self.block = block
        self._by_name = None

    def _index(self):
        """``{name: [child, ...]}`` in block order, built once: effective.lookup() asks an http block of
        1000 upstreams for each of a dozen directives per upstream, and a scan each time was quadratic."""
        block = self.block or ()
        if self._by_name is None or self._by_name[0] is not block or self._by_name[1] != len(block):
            index = {}
            for node in block:
                index.setdefault(node.name, []).append(node)
            self._by_name = (block, len(block), index)
        return self._by_name[2]

    def children(self, *names):
        if len(names) == 1:
            return list(self._index().get(names[0], ()))
        return [n for n in self.block or () if not names or n.name in names]

    def first(self, name):
        nodes = self._index().get(name)
        return nodes[0] if nodes else None

    @property
    def where(self):
        return {"file": self.file, "line": self.line}

    def __repr__(self):
        block = ", block" if self.block is not None else ""
        return "Node(%r, %r, %s:%s%s)" % (self.name, self.args, self.file, self.line, block)


class Config:
    """The parsed configuration: ``root`` (the main file's directives, includes expanded)."""

    def __init__(self, root, main, conf_prefix, files, errors):
        self.root = Node("main", [], main, 0, root)
        self.main = main
        self.conf_prefix = conf_prefix
        self.files = files
        self.errors = errors

    def walk(self):
        """Every node with the chain of its enclosing blocks: ``(node, parents)``."""
        stack: List[Tuple[Node, Tuple[Node, ...]]] = [(child, (self.root,)) for child in reversed(self.root.block)]
        while stack:
            node, parents = stack.pop()
            yield node, parents
            if node.block is not None:
                stack.extend((child, parents + (node,)) for child in reversed(node.block))


def _glob_match(pattern, path):
    """Does ``path`` match the glob ``pattern`` as glob(3) matches it (no '/' across '*', no dot-files)?"""
    pat_parts = pattern.split("/")
    path_parts = path.split("/")
    if len(pat_parts) != len(path_parts):
        return False
    for pat, part in zip(pat_parts, path_parts):
        if part.startswith(".") and not pat.startswith("."):
            return False
        if not fnmatch.fnmatchcase(part, pat):
            return False
    return True


def _has_magic(text):
    return any(c in text for c in "*?[")


def _convert(stmts, path):
    nodes = []
    for stmt in stmts:
        if stmt.get("directive") == "#":
            continue
        block = _convert(stmt["block"], path) if "block" in stmt else None
        nodes.append(Node(stmt["directive"], stmt.get("args", []), path, stmt.get("line"), block))
    return nodes


def structure_errors(local, path):
    """What nginx's own reader (ngx_conf_read_token) rejects and crossplane lets through, on crossplane's tokens.

    crossplane checks ";" only for the directives its table knows and takes a "}" (or the end of the file)
    straight after a directive's words as the end of the directive; nginx refuses both, whatever the
    directive: ``unexpected "}"``, ``unexpected end of file, expecting ";" or "}"``.  Also a ";" or "{" where
    a directive's name should be.  ``[{file, line, error}]`` in nginx's words.
    """
    errors, words, line = [], 0, 1
    try:
        for token, line, quoted in crossplane.lex(local):
            if quoted or token not in ("{", "}", ";"):
                if quoted or not token.startswith("#"):
                    words += 1
                continue
            if token == "}" and words:
                errors.append((line, 'unexpected "}"'))
            elif token in ("{", ";") and not words:
                errors.append((line, 'unexpected "%s"' % token))
            words = 0
    except crossplane.errors.NgxParserBaseException:
        return []      # crossplane's own parse reports it
    if words:
        errors.append((line, 'unexpected end of file, expecting ";" or "}"'))
    return [{"file": path, "line": at, "error": "%s in %s:%s" % (text, path, at)} for at, text in errors]


def argument_errors(nodes, ctx=()):
    """crossplane's checks of the arguments and terminators of the directives its table knows (nginx's own
    NGX_CONF_TAKE1... masks), on the expanded tree, where every directive is in its real context."""
    errors = []
    for node in nodes:
        stmt = {"directive": node.name, "line": node.line, "args": node.args}
        try:
            crossplane.analyzer.analyze(node.file, stmt, "{" if node.block is not None else ";", ctx,
                                        check_ctx=False, check_args=True)
        except crossplane.errors.NgxParserDirectiveError as exc:
            errors.append({"file": node.file, "line": node.line,
                           "error": "%s in %s:%s" % (exc.strerror, node.file, node.line)})
        if node.block is not None and node.name not in OPAQUE_BLOCKS:
            errors.extend(argument_errors(node.block, crossplane.analyzer.enter_block_ctx(stmt, ctx)))
    return errors


def _parse_one(tmpdir, path, content, nginx_accepted=False):
    """crossplane's parse of one file: ``(nodes, errors)``.

    Each file is parsed alone, so the context of an included file is unknown here: the arguments are
    checked once the includes are expanded (argument_errors).  structure_errors() adds what nginx's
    reader refuses for any directive, unless ``nginx_accepted``: nginx itself read the file without
    an error (a successful ``nginx -T``), so its reader refused nothing, and a second lexing of every
    file (a fifth of the parse at a thousand upstreams) would find nothing.
    """
    local = os.path.join(tmpdir, path.lstrip("/") or "nginx.conf")
    os.makedirs(os.path.dirname(local), exist_ok=True)
    with open(local, "w", encoding="utf-8") as handle:
        handle.write(content)
    payload = crossplane.parse(local, single=True, comments=False, check_ctx=False, check_args=False,
                               catch_errors=True)
    errors = []
    for err in payload.get("errors", []):
        text = str(err.get("error", "")).replace(local, path)
        if text:      # crossplane stops with an empty error at an unexpected end of file
            errors.append({"file": path, "line": err.get("line"), "error": text})
    if not nginx_accepted:
        lines = {err["line"] for err in errors}
        errors.extend(err for err in structure_errors(local, path) if err["line"] not in lines)
    if payload.get("errors") and not errors:
        errors.append({"file": path, "line": None, "error": "crossplane could not parse %s" % path})
    errors.sort(key=lambda err: err["line"] or 0)
    parsed = payload["config"][0].get("parsed", []) if payload.get("config") else []
    return _convert(parsed, path), errors


def parse(files, main=None, conf_prefix=None, refused=(), nginx_accepted=False):
    """Parse ``files`` (``[{path, content}]``, the main file first unless ``main`` names it).
    ``nginx_accepted``: they are the dump of a successful ``nginx -T`` (see _parse_one).

    Returns a ``Config``.  Syntax errors do not raise: they are in ``Config.errors`` as
    ``{file, line, error}``, and the rest of the configuration is still read (the caller decides).
    An ``include`` of a file in ``refused`` (found but not read: the host reports why) is no error here.
    """
    if crossplane is None:
        raise ParseError("the Python package crossplane is needed on the controller to parse nginx "
                         "configurations (pip install crossplane): %s" % CROSSPLANE_IMPORT_ERROR)
    if not files:
        raise ParseError("no configuration file was collected")
    main = main or files[0]["path"]
    conf_prefix = conf_prefix or os.path.dirname(main)
    by_path, errors = {}, []
    tmpdir = tempfile.mkdtemp(prefix="nginx_tls_info-")
    try:
        for entry in files:
            if entry["path"] in by_path:
                continue
            nodes, file_errors = _parse_one(tmpdir, entry["path"], entry.get("content") or "", nginx_accepted)
            by_path[entry["path"]] = nodes
            errors.extend(file_errors)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if main not in by_path:
        raise ParseError("the main configuration file %s was not collected" % main)
    paths = list(by_path)

    def expand(nodes, stack):
        out = []
        for node in nodes:
            if node.name == "include" and node.block is None and node.args:
                pattern = node.args[0]
                if not os.path.isabs(pattern):
                    pattern = os.path.normpath(os.path.join(conf_prefix, pattern))
                if _has_magic(pattern):
                    targets = sorted(p for p in paths if _glob_match(pattern, p))
                elif pattern in by_path:
                    targets = [pattern]
                else:
                    targets = []
                    if pattern not in refused:
                        errors.append({"file": node.file, "line": node.line,
                                       "error": 'open() "%s" failed: no such file (include in %s:%s)'
                                                % (pattern, node.file, node.line)})
                for target in targets:
                    if target in stack or len(stack) > MAX_INCLUDE_DEPTH:
                        errors.append({"file": node.file, "line": node.line,
                                       "error": "include loop: %s includes %s again" % (node.file, target)})
                        continue
                    out.extend(expand(by_path[target], stack + (target,)))
                continue
            if node.block is not None:
                node = Node(node.name, node.args, node.file, node.line, expand(node.block, stack))
            out.append(node)
        return out

    root = expand(by_path[main], (main,))
    seen = {(err["file"], err["line"]) for err in errors}
    for err in argument_errors(root):
        if (err["file"], err["line"]) not in seen:      # a snippet included twice is wrong once
            seen.add((err["file"], err["line"]))
            errors.append(err)
    order = {path: index for index, path in enumerate(paths)}
    errors.sort(key=lambda err: (order.get(err["file"], len(order)), err["line"] or 0))
    return Config(root, main, conf_prefix, paths, errors)

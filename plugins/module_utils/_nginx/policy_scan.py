# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tls_policy role's read-only scan of the nginx configuration (engine of tls_policy_scan).

Reads the configuration nginx loads with the host-side reader (_nginx/tokens in strict mode,
_nginx/includes), every file through _safe_files, and says what the role needs: directives it
sets that are already set outside its files, whether its http-level file is included, where to
insert its upstream includes, snippets no longer managed, and a snapshot of every file it may
write or remove.  It writes nothing; the role writes.

``scan(args)`` takes the role's arguments (see the module's documentation) and returns the
result; ScanError says why the configuration cannot be used, naming FILE:LINE where there is one.
"""

from __future__ import annotations

import base64
import fnmatch
import glob
import os
import shutil
import stat
from typing import Any, Dict

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files as safe
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import collect, includes, output
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.tokens import NginxSyntaxError, parse

MAX_FILE_BYTES = 8 * 1024 * 1024    # far above any nginx configuration file
CONFIG_WHAT = "an nginx configuration file (a regular file)"
WRITE_WHAT = "a file the role may write (a regular file)"
BEGIN = "# BEGIN tlsops.handshake.tls_policy upstream %s"
END = "# END tlsops.handshake.tls_policy upstream %s"
_EMPTY = {"duplicates": [], "files": {}, "locations": [], "own_included": False, "stale": [], "snapshot": {},
          "pid_file_exists": False, "snippets_dir_exists": False}


class ScanError(Exception):
    """The configuration cannot be scanned; ``str()`` says why and where."""


class NginxError(Exception):
    """``nginx -V`` cannot be asked; ``str()`` names nginx_binary and the fix."""


def nginx_facts(binary, timeout=30.0):
    """What ``nginx -V`` says that the role uses (see the module's RETURN)."""
    path = binary if os.sep in binary else shutil.which(binary)
    if not path or not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise NginxError("nginx_binary: %s is not an executable file%s; set tls_policy_nginx_binary to the path of "
                         "the nginx binary" % (binary, "" if os.sep in binary else " on PATH"))
    rc, out, err = collect.run([path, "-V"], timeout)
    text = (err or "") + (out or "")
    if rc != 0:
        status = "exit status %s" % rc if rc is not None else "did not run"
        raise NginxError("nginx_binary: %s -V failed (%s): %s" % (path, status, text.strip() or "no output"))
    info = output.parse_version_output(text)
    return {"version": info["version"] or "0", "openssl_version": info["openssl_version"],
            "conf_file": info["conf_file"], "pid_file": info["pid_file"], "prefix": info["prefix"], "output": text}


def matches(directive, spec):
    """``spec`` is ``name`` or ``name ARG0`` (ARG0 compared without case)."""
    parts = spec.split(None, 1)
    if parts[0] != directive.name:
        return False
    return len(parts) == 1 or (bool(directive.args) and directive.args[0].lower() == parts[1].lower())


def shown(directive):
    """The directive as the role's messages show it: an inline data: value (a key) is not shown."""
    return " ".join([directive.name] + ["data:(not shown)" if a.startswith("data:") else a for a in directive.args])


def _decode(data):
    return data.decode("utf-8", "surrogateescape")    # written back unchanged where nothing is edited


class Reader(object):
    """The configuration nginx loads from ``conf``, includes followed (as nginx does, relative to
    ``prefix``, the directory of the main file); files the role owns may be missing."""

    def __init__(self, prefix, own=()):
        self.prefix = prefix
        self.own = set(own)
        self.texts = {}
        self.directives = []
        self.http_includes = []     # include patterns (full names) seen in http context

    def read(self, path, origin=None, where="conf"):
        if path not in self.texts:
            where = "%s:%d include" % origin if origin else where
            try:
                self.texts[path] = _decode(safe.read_bytes(path, MAX_FILE_BYTES, where=where, what=CONFIG_WHAT))
            except OSError as exc:
                raise ScanError(str(exc))
        return self.texts[path]

    def _refused(self, path, origin, exc):
        if origin and not os.path.lexists(path) and os.path.realpath(path) in self.own:
            return      # the role's own file, not written yet
        raise ScanError(str(exc))

    def load(self, conf):
        try:
            for directive in includes.walk(conf, self.prefix, self.read, on_error=self._refused, strict=True):
                self.directives.append(directive)
                if directive.name == "include" and directive.args and directive.context == ("http",):
                    self.http_includes.append(includes.full_name(directive.args[0], self.prefix))
        except NginxSyntaxError as exc:
            raise ScanError(str(exc))
        return self.directives


def directives_of(text, path):
    """The directives of one file's text (includes not followed), read strictly."""
    try:
        return list(parse(text, path, strict=True))
    except NginxSyntaxError as exc:
        raise ScanError(str(exc))


def read_directives(path):
    """The directives of the file ``path`` (includes not followed)."""
    return directives_of(Reader(os.path.dirname(path)).read(path), path)


def comment_lines(text, ranges, marker, path, directives):
    """Prefix the lines of each (start, end) range with '# MARKER'; refuse lines shared with others."""
    lines = text.split("\n")
    targets = set()
    for start, end in ranges:
        targets.update(range(start, end + 1))
    for d in directives:
        if d.file == path and set(range(d.line, d.end_line + 1)) & targets and (d.line, d.end_line) not in ranges:
            raise ScanError("%s:%d: '%s' shares a line with a directive the role sets; put that directive on "
                            "its own line or remove it by hand" % (path, d.line, shown(d)))
    for number in sorted(targets):
        line = lines[number - 1]
        body = line.lstrip()
        lines[number - 1] = "%s# %s%s" % (line[:len(line) - len(body)], marker, body)
    return "\n".join(lines)


def _find_location(directives, path, location, name):
    found = [d for d in directives if d.file == path and d.name == "location" and " ".join(d.args) == location]
    if not found:
        raise ScanError("upstream %s: no 'location %s {' in %s" % (name, location, path))
    if len(found) > 1:
        raise ScanError("upstream %s: %s has more than one 'location %s'" % (name, path, location))
    return found[0]


def insert_include(text, spec, path):
    """Insert or refresh the marker block with ``include`` right after ``location LOC {``."""
    begin, end = BEGIN % spec["name"], END % spec["name"]
    include = "include %s;" % spec["include"]
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == begin:
            for j in range(i + 1, len(lines)):
                if lines[j].strip() == end:
                    indent = line[:len(line) - len(line.lstrip())]
                    lines[i:j + 1] = [indent + begin, indent + include, indent + end]
                    return "\n".join(lines)
            raise ScanError("%s:%d: %s without its END marker" % (path, i + 1, begin))
    loc = _find_location(directives_of(text, path), path, spec["location"], spec["name"])
    rest = lines[loc.end_line - 1].rsplit("{", 1)[-1].strip()
    if rest and not rest.startswith("#"):
        raise ScanError("upstream %s: %s:%d: put 'location %s {' on a line of its own to let the role insert "
                        "its include, or include the snippet yourself" % (spec["name"], path, loc.end_line,
                                                                          spec["location"]))
    base = lines[loc.line - 1]
    indent = base[:len(base) - len(base.lstrip())] + "    "
    lines[loc.end_line:loc.end_line] = [indent + begin, indent + include, indent + end]
    return "\n".join(lines)


def snapshot(path):
    """Previous state of one file: exists, mode and base64 content (restored on failure)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {"exists": False, "mode": "0644", "content": ""}
    try:
        data = safe.read_bytes(path, MAX_FILE_BYTES, where="own", what=WRITE_WHAT)
    except OSError as exc:
        raise ScanError(str(exc))
    return {"exists": True, "mode": "%04o" % stat.S_IMODE(st.st_mode), "content": base64.b64encode(data).decode()}


def _duplicates(reader, args, own):
    """Directives the role sets at http level, set outside its files: ``(duplicates, edits)``."""
    found, edits = [], {}
    for d in reader.directives:
        if os.path.realpath(d.file) in own or d.context != ("http",):
            continue
        if any(matches(d, spec) for spec in args.get("http", [])):
            found.append({"file": d.file, "line": d.line, "directive": shown(d), "context": "http"})
            edits.setdefault(d.file, []).append((d.line, d.end_line))
    return found, edits


def _locations(reader, specs, found, edits):
    """Where each upstream's include goes, and the directives it would duplicate there."""
    loaded = set(os.path.realpath(d.file) for d in reader.directives)
    out = []
    for spec in specs:
        path = spec["file"]
        if not os.path.isfile(path):
            raise ScanError("upstream %s: location_file %s does not exist" % (spec["name"], path))
        if os.path.realpath(path) not in loaded:
            raise ScanError("upstream %s: location_file %s is not part of the configuration nginx loads"
                            % (spec["name"], path))
        loc = _find_location(reader.directives, path, spec["location"], spec["name"])
        out.append({"name": spec["name"], "file": path, "line": loc.line})
        ctx = loc.context + ("location " + " ".join(loc.args),)
        for d in reader.directives:
            if d.file == path and d.context == ctx and any(matches(d, k) for k in spec.get("keys", [])):
                found.append({"file": d.file, "line": d.line, "directive": shown(d), "context": ctx[-1]})
                edits.setdefault(d.file, []).append((d.line, d.end_line))
    return out


def scan(args):
    """What the role needs to know before it writes; raises ScanError."""
    conf = args["conf"]
    prefix = args.get("prefix") or os.path.dirname(conf)
    stale = []
    if args.get("snippets_glob"):
        keep = set(os.path.realpath(p) for p in args.get("own", []))
        stale = [p for p in sorted(glob.glob(args["snippets_glob"])) if os.path.realpath(p) not in keep]
    own = set(os.path.realpath(p) for p in list(args.get("own", [])) + stale + list(args.get("also_own", [])))
    reader = Reader(prefix, own)
    reader.load(conf)
    own_include = args.get("own_include")
    result: Dict[str, Any] = {"ok": True, "error": None, "files": {},
                              "own_included": bool(own_include) and any(fnmatch.fnmatchcase(own_include, p)
                                                                        for p in reader.http_includes)}
    result["duplicates"], edits = _duplicates(reader, args, own)
    locations = args.get("locations", [])
    result["locations"] = _locations(reader, locations, result["duplicates"], edits)

    contents = {}
    if args.get("comment_out"):
        marker = args.get("marker", "tlsops.handshake.tls_policy: ")
        for path, ranges in edits.items():
            contents[path] = comment_lines(reader.read(path), sorted(set(ranges)), marker, path, reader.directives)
    for spec in locations:
        path = spec["file"]
        contents[path] = insert_include(contents.get(path, reader.read(path)), spec, path)
    for path, text in contents.items():
        if text != reader.read(path):
            result["files"][path] = {"mode": "%04o" % stat.S_IMODE(os.stat(path).st_mode), "content": text}

    result["stale"] = stale
    paths = list(args.get("own", [])) + list(args.get("also_own", [])) + stale + sorted(result["files"])
    result["snapshot"] = dict((p, snapshot(p)) for p in paths)
    result["pid_file_exists"] = bool(args.get("pid_file")) and os.path.exists(args["pid_file"])
    result["snippets_dir_exists"] = bool(args.get("snippets_dir")) and os.path.isdir(args["snippets_dir"])
    return result


def scan_or_error(args):
    """scan(), or the same keys with ``ok`` false and ``error`` saying why."""
    try:
        return scan(args)
    except ScanError as exc:
        return dict(_EMPTY, ok=False, error=str(exc))

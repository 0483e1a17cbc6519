# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read an nginx configuration the way nginx does and report what tls_policy needs.

Private helper of the tlsops.handshake.tls_policy role, run on the managed host with
``ansible.builtin.script``; Python 3 standard library only. It only reads files and
prints one JSON document; the role writes whatever has to change.

Argument: base64 of a JSON object
    conf          main configuration file (nginx -V --conf-path)
    prefix        nginx prefix (relative include paths are resolved against it)
    own           files the role owns (never reported as duplicates)
    own_include   the role's http-level file: must be matched by an include in http{}
    http          directive keys the role sets at http level: "name" or "name ARG0"
    comment_out   true: return the new content of files with duplicates commented out
    marker        text put after "# " on each commented line
    also_own      more files of the role (its http-level file when it is not written any more)
    snippets_glob the role's snippets: those not in ``own`` are reported as ``stale``
    locations     [{name, file, location, keys, include}]: insert "include INCLUDE;" as a
                  marker block after the opening line of "location LOCATION {" in FILE and
                  report directives KEYS already set in that location (or commented out)
    pid_file, snippets_dir   reported as pid_file_exists / snippets_dir_exists

Output: {"ok", "error", "duplicates": [{file, line, directive, context}], "own_included",
"files": {path: {"mode", "content"}} (new content of files outside the role), "locations":
[{name, file, line}], "stale": [path], "snapshot": {path: {"exists", "mode", "content" (base64)}}
for every file the role may write or remove, "pid_file_exists", "snippets_dir_exists"}
"""

from __future__ import annotations

import base64
import fnmatch
import glob
import json
import os
import stat
import sys

MAX_FILE_BYTES = 8 * 1024 * 1024    # far above any nginx configuration file


class ScanError(Exception):
    pass


def read_regular(path, why):
    """The bytes of ``path``, a regular file of at most MAX_FILE_BYTES; a FIFO, a device or a
    directory is refused at once (opened non-blocking, never read), whatever its size claims."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ScanError("cannot read %s (%s): %s" % (path, why, exc.strerror))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ScanError("%s (%s) is not a regular file (a FIFO, a device or a directory); "
                            "the role reads and writes regular files only" % (path, why))
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise ScanError("%s (%s) is larger than %d bytes" % (path, why, MAX_FILE_BYTES))
        return b"".join(chunks)
    finally:
        os.close(fd)


class Directive:
    __slots__ = ("name", "args", "file", "line", "end_line", "context")

    def __init__(self, name, args, file, line, end_line, context):
        self.name, self.args, self.file, self.line, self.end_line = name, args, file, line, end_line
        self.context = context

    def matches(self, spec):
        parts = spec.split(None, 1)
        if parts[0] != self.name:
            return False
        return len(parts) == 1 or (bool(self.args) and self.args[0].lower() == parts[1].lower())

    def text(self):
        """The directive as the role's messages show it: an inline data: value (a key) is not shown."""
        return " ".join([self.name] + ["data:(not shown)" if a.startswith("data:") else a for a in self.args])


def tokenize(text, path):
    """Yield (token, line, quoted) like ngx_conf_read_token; '{', '}' and ';' are tokens."""
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch in " \t\r":
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in "{};":
            yield ch, line, False
            i += 1
        elif ch in "\"'":
            quote, start_line, i, buf = ch, line, i + 1, []
            while True:
                if i >= n:
                    raise ScanError("%s:%d: unterminated quoted string" % (path, start_line))
                c = text[i]
                if c == "\\" and i + 1 < n:
                    buf.append(text[i:i + 2])
                    i += 2
                    continue
                if c == quote:
                    i += 1
                    break
                if c == "\n":
                    line += 1
                buf.append(c)
                i += 1
            yield "".join(buf), start_line, True
        else:
            start, start_line = i, line
            while i < n:
                c = text[i]
                if c in " \t\r\n;":
                    break
                if c == "{":
                    if i > start and text[i - 1] == "$":  # ${variable}
                        close = text.find("}", i)
                        if close < 0:
                            raise ScanError("%s:%d: unterminated ${" % (path, line))
                        i = close + 1
                        continue
                    break
                if c == "}" and i > start:
                    break
                i += 1
            yield text[start:i], start_line, False


class Parser:
    def __init__(self, prefix, own=(), follow_includes=True):
        self.prefix = prefix
        self.own = set(own)
        self.follow_includes = follow_includes
        self.directives = []
        self.http_includes = []     # include patterns seen in http context
        self.texts = {}
        self.seen_stack = []

    def read(self, path):
        if path not in self.texts:
            self.texts[path] = read_regular(path, "nginx configuration").decode("utf-8", errors="surrogateescape")
        return self.texts[path]

    def parse_file(self, path, context):
        if path in self.seen_stack:
            raise ScanError("include loop through %s" % path)
        self.seen_stack.append(path)
        tokens = list(tokenize(self.read(path), path))
        pos = self._parse(tokens, 0, path, context, top=True)
        assert pos == len(tokens)
        self.seen_stack.pop()

    def _parse(self, tokens, pos, path, context, top=False):
        words, start_line = [], None
        while pos < len(tokens):
            tok, line, quoted = tokens[pos]
            pos += 1
            if not quoted and tok == ";":
                if not words:
                    continue
                self._directive(words, path, start_line, line, context)
                words = []
            elif not quoted and tok == "{":
                if not words:
                    raise ScanError("%s:%d: unexpected \"{\"" % (path, line))
                d = self._directive(words, path, start_line, line, context)
                words = []
                pos = self._parse(tokens, pos, path, context + (self._block_name(d),))
            elif not quoted and tok == "}":
                if top or words:
                    raise ScanError("%s:%d: unexpected \"}\"" % (path, line))
                return pos
            else:
                if not words:
                    start_line = line
                words.append(tok)
        if not top:
            raise ScanError("%s: unexpected end of file, expecting \"}\"" % path)
        if words:
            raise ScanError("%s:%d: unexpected end of file, expecting \";\" or \"}\"" % (path, start_line))
        return pos

    @staticmethod
    def _block_name(d):
        if d.name == "location":
            return "location " + " ".join(d.args)
        return d.name

    def _directive(self, words, path, line, end_line, context):
        d = Directive(words[0], words[1:], path, line, end_line, context)
        self.directives.append(d)
        if d.name == "include" and d.args and self.follow_includes:
            pattern = d.args[0]
            if not os.path.isabs(pattern):
                pattern = os.path.join(self.prefix, pattern)
            if context == ("http",):
                self.http_includes.append(pattern)
            for included in sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]:
                if os.path.isfile(included):
                    self.parse_file(included, context)
                elif not glob.has_magic(pattern) and os.path.realpath(included) not in self.own:
                    raise ScanError("%s:%d: include %s: no such file" % (path, line, pattern))
        return d


def comment_lines(text, ranges, marker, path, directives):
    """Prefix the lines of each (start, end) range with '# MARKER'; refuse lines shared with others."""
    lines = text.split("\n")
    targets = set()
    for start, end in ranges:
        targets.update(range(start, end + 1))
    for d in directives:
        if d.file == path and set(range(d.line, d.end_line + 1)) & targets and (d.line, d.end_line) not in ranges:
            raise ScanError("%s:%d: '%s' shares a line with a directive the role sets; put that directive on "
                            "its own line or remove it by hand" % (path, d.line, d.text()))
    for number in sorted(targets):
        line = lines[number - 1]
        body = line.lstrip()
        lines[number - 1] = "%s# %s%s" % (line[:len(line) - len(body)], marker, body)
    return "\n".join(lines)


def _parse_text(text, path, prefix):
    """Directives of one file's text (includes not followed), for re-reading edited content."""
    sub = Parser(prefix, follow_includes=False)
    sub.texts[path] = text
    sub._parse(list(tokenize(text, path)), 0, path, (), top=True)
    return sub.directives


def _find_location(directives, path, location, name):
    found = [d for d in directives if d.file == path and d.name == "location" and " ".join(d.args) == location]
    if not found:
        raise ScanError("upstream %s: no 'location %s {' in %s" % (name, location, path))
    if len(found) > 1:
        raise ScanError("upstream %s: %s has more than one 'location %s'" % (name, path, location))
    return found[0]


def insert_include(text, spec, path, prefix):
    """Insert or refresh the marker block with ``include`` right after ``location LOC {``."""
    begin = "# BEGIN tlsops.handshake.tls_policy upstream %s" % spec["name"]
    end = "# END tlsops.handshake.tls_policy upstream %s" % spec["name"]
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
    loc = _find_location(_parse_text(text, path, prefix), path, spec["location"], spec["name"])
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
    data = read_regular(path, "a file the role may write")
    return {"exists": True, "mode": "%04o" % stat.S_IMODE(st.st_mode), "content": base64.b64encode(data).decode()}


def scan(args):
    conf = args["conf"]
    prefix = args.get("prefix") or os.path.dirname(conf)
    stale = []
    if args.get("snippets_glob"):
        keep = set(os.path.realpath(p) for p in args.get("own", []))
        stale = [p for p in sorted(glob.glob(args["snippets_glob"])) if os.path.realpath(p) not in keep]
    own = set(os.path.realpath(p) for p in list(args.get("own", [])) + stale + list(args.get("also_own", [])))
    parser = Parser(prefix, own)
    parser.parse_file(conf, ())
    marker = args.get("marker", "tlsops.handshake.tls_policy: ")
    own_include = args.get("own_include")
    own_included = bool(own_include) and any(fnmatch.fnmatchcase(own_include, p) for p in parser.http_includes)
    result = {"ok": True, "error": None, "duplicates": [], "files": {}, "locations": [],
              "own_included": own_included}
    loaded = set(os.path.realpath(d.file) for d in parser.directives)

    edits = {}      # path -> [(start, end)] to comment out, in the file's original line numbers
    for d in parser.directives:
        if os.path.realpath(d.file) in own or d.context != ("http",):
            continue
        if any(d.matches(spec) for spec in args.get("http", [])):
            result["duplicates"].append({"file": d.file, "line": d.line, "directive": d.text(), "context": "http"})
            edits.setdefault(d.file, []).append((d.line, d.end_line))

    locations = args.get("locations", [])
    for spec in locations:
        path = spec["file"]
        if not os.path.isfile(path):
            raise ScanError("upstream %s: location_file %s does not exist" % (spec["name"], path))
        if os.path.realpath(path) not in loaded:
            raise ScanError("upstream %s: location_file %s is not part of the configuration nginx loads"
                            % (spec["name"], path))
        loc = _find_location(parser.directives, path, spec["location"], spec["name"])
        result["locations"].append({"name": spec["name"], "file": path, "line": loc.line})
        ctx = loc.context + ("location " + " ".join(loc.args),)
        for d in parser.directives:
            if d.file == path and d.context == ctx and any(d.matches(k) for k in spec.get("keys", [])):
                result["duplicates"].append({"file": d.file, "line": d.line, "directive": d.text(),
                                             "context": ctx[-1]})
                edits.setdefault(d.file, []).append((d.line, d.end_line))

    contents = {}
    if args.get("comment_out"):
        for path, ranges in edits.items():
            contents[path] = comment_lines(parser.read(path), sorted(set(ranges)), marker, path, parser.directives)
    for spec in locations:
        path = spec["file"]
        contents[path] = insert_include(contents.get(path, parser.read(path)), spec, path, prefix)

    for path, text in contents.items():
        if text != parser.read(path):
            st = os.stat(path)
            result["files"][path] = {"mode": "%04o" % stat.S_IMODE(st.st_mode), "content": text}

    result["stale"] = stale
    paths = list(args.get("own", [])) + list(args.get("also_own", [])) + stale + sorted(result["files"])
    result["snapshot"] = dict((p, snapshot(p)) for p in paths)
    result["pid_file_exists"] = bool(args.get("pid_file")) and os.path.exists(args["pid_file"])
    result["snippets_dir_exists"] = bool(args.get("snippets_dir")) and os.path.isdir(args["snippets_dir"])
    return result


def main():
    try:
        args = json.loads(base64.b64decode(sys.argv[1]).decode("utf-8"))
        result = scan(args)
    except ScanError as exc:
        result = {"ok": False, "error": str(exc), "duplicates": [], "files": {}, "locations": [],
                  "own_included": False, "stale": [], "snapshot": {}, "pid_file_exists": False,
                  "snippets_dir_exists": False}
    json.dump(result, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

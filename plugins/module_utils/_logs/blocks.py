# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A log read in large blocks, and the lines of a block that can hold a handshake failure.

A Python loop over every line of a 400 MB log costs seconds; most lines are noise.  The reader
(_logs/read) therefore reads blocks of BLOCK_SIZE bytes, counts their lines with ``bytes.count``,
and looks only at the lines :func:`candidates` finds by fixed markers: nginx's TLS wording, its words for
a failed connection to an upstream, and the starts of split container lines.  Lines keep readline's
shape: each ends with its ``\\n`` (the last line of a stream may not), a line longer than MAX_LINE
is its first MAX_LINE bytes.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import re

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes

BLOCK_SIZE = 1 << 20        # bytes read at once: large enough that per-block costs vanish, small for memory
# ... of an archive: a decompressor that meets damage loses the piece it was making, and what came
# before the damage counts; decompressing costs far more than a block does anyway.
ARCHIVE_BLOCK_SIZE = 64 << 10
MAX_LINE = 65536            # bytes of one line looked at; the rest of a longer line is skipped

# A line is worth the per-line reader only with one of these: nginx's TLS wording, a journal message
# kept as bytes, or nginx's words for a failed connection to an upstream (causes.NETWORK_LOG_WORDS: no
# other line without TLS wording names a cause).  Split container lines (a CRI " P " part, a Docker
# entry that does not end its line) are found apart (see candidates).
TLS_MARKERS = (b"SSL", b"handshak", b"HTTPS port", b'"MESSAGE":[')
NETWORK_MARKERS = tuple(word.encode("ascii") for word in causes.NETWORK_LOG_WORDS)
MARKERS = TLS_MARKERS + NETWORK_MARKERS
# Each marker to the end of its line, as compiled patterns: their literal-prefix search costs a fraction of
# bytes.find's, which for a needle of 6 bytes or more sets up a two-way search at every call.  The match
# ends at the line's end, so the next search starts on the next line.
_MARKER_LINE_RES = dict((marker, re.compile(re.escape(marker) + b"[^\n]*")) for marker in MARKERS)
# The TLS markers are found through one byte each with bytes.find (memchr), a fourth of the cost of a
# pattern pass: (the byte, (marker, where the byte first is in it), ...).
_BY_BYTE = ((b"S", ((b"SSL", 0), (b"HTTPS port", 4), (b'"MESSAGE":[', 3))), (b"k", ((b"handshak", 7),)))
_CRI_PART_RE = re.compile(b"P ")     # the end of a CRI " P " part marker (candidates)
_DOCKER_LINE_END = b'\\n"'     # the end of a Docker json-file "log" string that ends its line
_CRI_PART_SPAN = (19, 45)   # where " P " starts in a CRI line: after an RFC 3339 time and the stream name


def _network_pattern(words):
    """One pattern for the network markers that hold "upstream": its literal-prefix search stops at each
    "upstream" and lookbehinds check the rest of the word there, inside the regex engine, so the many
    other upstream lines of a log (timeouts of plain-HTTP upstreams, buffering warnings) cost no Python.
    ``(pattern or None, the words without "upstream")``."""
    alternatives, apart = [], []
    for word in words:
        before, found, after = word.partition(b"upstream")
        if not found:
            apart.append(word)
            continue
        alternatives.append(b"(?<=" + re.escape(before + found) + b")" + re.escape(after))
    if not alternatives:
        return None, tuple(apart)
    return re.compile(b"upstream(?:" + b"|".join(alternatives) + b")[^\n]*"), tuple(apart)


_NETWORK_LINE_RE, _NETWORK_APART = _network_pattern(NETWORK_MARKERS)


def has_words(raw):
    """Whether the line ``raw`` (bytes) holds nginx's TLS wording or one of NETWORK_MARKERS: the words
    candidates() finds, checked on one line."""
    return (b"SSL" in raw or b"handshak" in raw or b"HTTPS port" in raw
            or any(word in raw for word in NETWORK_MARKERS))


def regions(read1, counted, handle, block_size=BLOCK_SIZE, max_line=MAX_LINE):
    """Call ``handle(data, start, end)`` for each region of the stream: ``data[start:end]`` is whole lines,
    each ending with ``\n``, except the last line of the stream when it has none.  A line that goes on
    from one block into the next comes alone, already cut to ``max_line`` bytes (only that much of it is
    kept while it lasts).  One block is held at a time: it is let go before the next is read.
    ``counted`` (a list: lines, bytes) is kept up to date as blocks are read, so it holds what was
    read when ``read1`` raises."""
    carry = b""                 # the start of a line that goes on in the next block
    while True:
        block = read1(block_size)
        if not block:
            break
        counted[1] += len(block)
        first = block.find(b"\n")
        if first < 0:
            if len(carry) < max_line:
                carry += block[:max_line - len(carry)]
            continue
        # bytes.count of one byte is a plain loop over every byte; replace finds them with memchr, about
        # four times faster even with the copy it makes
        counted[0] += len(block) - len(block.replace(b"\n", b""))
        start = 0
        if carry:
            line = (carry + block[:min(first + 1, max_line)])[:max_line]
            carry = b""
            handle(line, 0, len(line))
            start = first + 1
        last = block.rfind(b"\n") + 1
        if start < last:
            handle(block, start, last)
        if last < len(block):
            carry = block[last:last + max_line]
        block = b""
    if carry:
        counted[0] += 1
        handle(carry, 0, len(carry))


def line_at(data, start, end, max_line=MAX_LINE):
    """``(line, next_start)`` for the line at ``start`` of a region ``data[start:end]`` (regions())."""
    stop = data.find(b"\n", start, end) + 1 or end
    return data[start:min(stop, start + max_line)], stop


def _byte_marker_lines(data, start, end, lines, byte, markers):
    """Put the lines of ``data[start:end]`` with one of ``markers`` (_BY_BYTE) into ``lines`` (as candidates
    does), found through ``byte`` with ``bytes.find`` of one byte (memchr); the rest of a line found is
    skipped.  Returns ``end``, or where it gave up because too many of ``byte`` start no marker (a log
    full of capitals): from there, less the marker's reach, patterns must search."""
    find, rfind, starts = data.find, data.rfind, data.startswith
    misses = 64 + (end - start) // 256
    at = find(byte, start, end)
    while at >= 0:
        for marker, offset in markers:
            if at - offset >= start and starts(marker, at - offset, end):
                line_end = find(b"\n", at, end)
                stop = line_end + 1 if line_end >= 0 else end
                if stop not in lines:
                    lines[stop] = rfind(b"\n", 0, at) + 1
                at = find(byte, stop, end) if line_end >= 0 else -1
                break
        else:
            misses -= 1
            if not misses:
                return at
            at = find(byte, at + 1, end)
    return end


def _pattern_lines(pattern, data, start, end, lines):
    """Put the lines of ``data[start:end]`` where ``pattern`` (a marker to its line's end) matches into ``lines``."""
    rfind = data.rfind
    for found in pattern.finditer(data, start, end):
        stop = found.end()
        stop = stop + 1 if stop < end else end
        if stop not in lines:
            lines[stop] = rfind(b"\n", 0, found.start()) + 1


def candidates(data, start, end):
    """The lines of the region ``data[start:end]`` (regions()) that may matter, as ``{stop: start}`` in no
    order (``stop``: just after the line's ``\n``, or ``end``): those with a MARKER, with a CRI ``P`` part,
    or starting with ``{`` (a JSON entry: the reader decides)."""
    # Keyed by the line's end: a marker match runs to it, so a line found before (a TLS line may have
    # "SSL", "handshak" and "while connecting to upstream") is known without looking back for its start.
    lines = {}
    find, rfind = data.find, data.rfind
    for byte, markers in _BY_BYTE:
        searched = _byte_marker_lines(data, start, end, lines, byte, markers)
        if searched < end:
            reach = max(offset for _marker, offset in markers)
            for marker, _offset in markers:
                _pattern_lines(_MARKER_LINE_RES[marker], data, max(start, searched - reach), end, lines)
    if _NETWORK_LINE_RE is not None:
        _pattern_lines(_NETWORK_LINE_RE, data, start, end, lines)
    for word in _NETWORK_APART:
        _pattern_lines(_MARKER_LINE_RES[word], data, start, end, lines)
    # "P " as a compiled pattern, its space checked apart: bytes.find(b" P") stops at every "P" of "HTTP"
    # (three times the cost), and a needle ending in a space or starting with a line end at every word or line
    for found in _CRI_PART_RE.finditer(data, start + 1, end):
        at = found.start() - 1
        if data[at] == 32:      # " P "
            line = rfind(b"\n", 0, at) + 1
            if _CRI_PART_SPAN[0] <= at - line <= _CRI_PART_SPAN[1]:
                lines[find(b"\n", at, end) + 1 or end] = line
    # "{" rather than "\n{": a needle starting with a line end makes find stop at every line
    at = find(b"{", start, end)
    while at >= 0:
        if at == start or data[at - 1] == 10:      # a "{" that starts a line
            stop = find(b"\n", at, end) + 1 or end
            # a Docker entry whose "log" ends the line (``\n"``) holds nothing without a marker: only one that
            # does not (part of a split line, or no Docker entry) is read whole (read._worth_reading)
            if find(_DOCKER_LINE_END, at, min(stop, at + MAX_LINE)) < 0:
                lines[stop] = at
        at = find(b"{", at + 1, end)
    return lines


# ------------------------------------------------------------------------------ since
_NGINX_SHAPE = b"[0-9][^\n]{3}/"       # what the reader takes for nginx's own line: a digit, "/" fifth
_NGINX_SHAPE_RE = re.compile(_NGINX_SHAPE)
_NGINX_TIME_RE = re.compile(b"[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\Z")


def _byte_class_below(value, newline):
    """A class of the bytes below ``value`` (with or without the line end)."""
    if newline:
        return b"[\\x00-\\x%02x]" % (value - 1)
    return b"[\\x00-\\x09\\x0b-\\x%02x]" % (value - 1)


def _older_pattern(since):
    """A pattern matching, at a line start, exactly the lines the reader takes for nginx's own (a digit,
    "/" fifth) whose first 19 bytes sort before ``since`` (nginx's time layout), as ``raw[:19] < since``
    does: one byte compared after the other, nested so a line costs one pass over its common prefix.
    A line shorter than 19 bytes sorts before ``since`` when it is a prefix of it (its line end, or the
    end of the data, comes where ``since`` still has a digit)."""
    tail = b"(?!)"                          # all 19 bytes equal: not before
    for index in range(18, -1, -1):
        byte = since[index]
        here = re.escape(since[index:index + 1])
        if index == 4:                      # "/" both ways: no smaller byte may stand here
            tail = here + tail
        elif index >= 5:
            tail = b"(?:" + _byte_class_below(byte, True) + b"|\\Z|" + here + tail + b")"
        else:                               # still to come: the "/" that makes it nginx's line
            rest = b"[^\n]{%d}/" % (3 - index)
            smaller = _byte_class_below(byte, False) if index else b"[0-%c]" % (byte - 1) if byte > 48 else None
            tail = b"(?:" + (smaller + rest + b"|" if smaller else b"") + here + tail + b")"
    return tail


class SinceLines(object):
    """Where a reader with ``since`` can skip its line-by-line look.  Every line before ``since`` must be
    counted and every line's time carried to the next line without one, so such a reader looks at each
    line; but nginx's own lines at or after ``since`` matter only when they hold a marker, as without
    ``since``, and a run of nginx's own lines before it is only counted.  Patterns find, inside the regex
    engine, where either stretch ends: a line of another shape (its time is in its frame, or it takes the
    time of the line before) or one on the other side of ``since`` (in nginx's time layout: since_lines)."""

    def __init__(self, since):
        older = _older_pattern(since)
        self._older_at = re.compile(older)
        self._not_older_after = re.compile(b"\n(?!" + older + b")")
        self._alone_after = re.compile(b"\n(?!" + _NGINX_SHAPE + b")|\n" + older)

    @staticmethod
    def _line_after(pattern, data, start, end):
        found = pattern.search(data, start, end)
        return min(found.start() + 1, end) if found else end

    def older_run(self, data, start, end):
        """The end of the run of nginx's own lines before ``since`` at ``start`` (``start`` when that line is
        none of them); the run is whole lines, the last one may end the data without a line end."""
        if not self._older_at.match(data, start, end):
            return start
        return self._line_after(self._not_older_after, data, start, end)

    def plain_run(self, data, start, end):
        """The end of the run of nginx's own lines at or after ``since`` at ``start`` (``start`` when that line
        is none of them)."""
        if not _NGINX_SHAPE_RE.match(data, start, end) or self._older_at.match(data, start, end):
            return start
        return self._line_after(self._alone_after, data, start, end)


# Wrapped lines whose own nginx time the line-by-line reader goes by, as patterns (ASCII only: where the reader's
# str patterns would read a non-ASCII character differently, the line is left to it):
# * a Docker json-file entry (its three keys in Docker's order) whose "log" is one whole line (it ends with \n,
#   so no split line is open), written as json.loads reads it (no control byte, only JSON's escapes; the string
#   part unrolled: plain characters, then escapes each followed by plain characters, so it never backtracks);
_JSON_CHARS = b'[^"\\\\\x00-\x1f]*(?:\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\\\x00-\x1f]*)*'
_DOCKER_HEAD = b'\\{"log":"'
_DOCKER_TAIL = b'\\\\n","stream":"' + _JSON_CHARS + b'","time":"' + _JSON_CHARS + b'"\\}\n'
# * kubectl logs --prefix, docker compose logs (each with --timestamps or not), a CRI log's whole line (F), a
#   syslog or journalctl line with its host and tag; no escape byte in the line (compose's colours are removed
#   before anything is read, which moves what follows).
_ISO_ZONED = b"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:?[0-9]{2})"
_ISO_ANY = _ISO_ZONED[:-1] + b")?"
_NAME_BYTES = b"[^\\]/ \x00-\x1f\x7f-\xff]+"
_TAG_BYTES = b"[!-9;-Z\\\\^-~]"            # printable ASCII but blank, ":", "[" and "]"
_PREFIXES = {
    "kubectl": b"\\[pod/" + _NAME_BYTES + b"/" + _NAME_BYTES + b"\\] (?:" + _ISO_ZONED + b" )?",
    "docker_compose": b"[A-Za-z0-9][A-Za-z0-9_.-]* *\\| (?:" + _ISO_ZONED + b" )?",
    "cri": _ISO_ANY + b" (?:stdout|stderr) F ",
    "syslog": b"(?:<[0-9]{1,3}>)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-3]?[0-9] [0-9]{2}:[0-9]{2}:"
              b"[0-9]{2}(?:\\.[0-9]{1,9})? (?:" + _TAG_BYTES + b"* )?" + _TAG_BYTES + b"+(?:\\[[0-9]+\\])?: ",
}
_PREFIXES["journalctl"] = _PREFIXES["syslog"]
# the shapes each ``format`` reads a line's own time from, as the reader does (auto: all of them)
_SHAPES = {"auto": ("docker_json", "kubectl", "docker_compose", "cri", "syslog"), "docker_json": ("docker_json",),
           "kubectl": ("kubectl",), "docker_compose": ("docker_compose",), "cri": ("cri",), "syslog": ("syslog",),
           "journalctl": ("journalctl",)}
# nginx's time and the blank after it (what its header starts with), captured: the time the reader keeps
_NGINX_TIME_AND_BLANK = b"(?=([0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}) )"


class SinceWrappedLines(object):
    """Runs of wrapped lines before ``since`` (bytes, nginx's time layout) in ``shapes`` (_SHAPES): each holds
    one whole nginx line whose own time (the one the reader goes by) sorts before ``since``, so the line-by-line
    reader would only count it and keep that time."""

    def __init__(self, since, shapes):
        older = _NGINX_TIME_AND_BLANK + _older_pattern(since)
        lines = []
        if "docker_json" in shapes:
            lines.append(_DOCKER_HEAD + older + _JSON_CHARS + _DOCKER_TAIL)
        prefixes = [_PREFIXES[shape] for shape in shapes if shape != "docker_json"]
        if prefixes:
            lines.append(b"(?:" + b"|".join(prefixes) + b")" + older + b"[^\n\x1b]*\n")
        self._older_line = re.compile(b"|".join(b"(?:" + line + b")" for line in lines))

    def older_run(self, data, start, end):
        """``(stop, time of the last line)`` of the run at ``start``, ``(start, None)`` when there is none. A line
        longer than MAX_LINE ends the run (the reader looks at its first MAX_LINE bytes only)."""
        match = self._older_line.match
        stop = start
        last = None
        while True:
            found = match(data, stop, end)
            if found is None or found.end() - stop > MAX_LINE:
                break
            last = found
            stop = found.end()
        if last is None:
            return start, None
        return stop, last.group(last.lastindex or 1)     # the one group of the alternative that matched


def since_wrapped_lines(since, fmt):
    """SinceWrappedLines for ``since`` (bytes) and the shapes of ``fmt``, or None when ``since`` is not in
    nginx's time layout or ``fmt`` wraps no line (nginx's own lines: since_lines)."""
    shapes = _SHAPES.get(fmt)
    return SinceWrappedLines(since, shapes) if shapes and _NGINX_TIME_RE.match(since) else None


def since_lines(since):
    """SinceLines for ``since`` (bytes), or None when it is not in nginx's time layout (every line is then
    looked at one by one)."""
    return SinceLines(since) if _NGINX_TIME_RE.match(since) else None

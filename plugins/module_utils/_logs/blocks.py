# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A log read in large blocks, and the lines of a block that can hold a handshake failure.

A Python loop over every line of a 400 MB log costs seconds; most lines are noise.  The reader
(_logs/read) therefore reads blocks of BLOCK_SIZE bytes, counts their lines with ``bytes.count``,
and looks only at the lines :func:`candidates` finds with ``bytes.find`` on fixed markers: the words
every TLS or upstream line has, and the starts of split container lines.  Lines keep readline's
shape: each ends with its ``\\n`` (the last line of a stream may not), a line longer than MAX_LINE
is its first MAX_LINE bytes.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import re

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import lines as _lines

BLOCK_SIZE = 1 << 20        # bytes read at once: large enough that per-block costs vanish, small for memory
# ... of an archive: a decompressor that meets damage loses the piece it was making, and what came
# before the damage counts; decompressing costs far more than a block does anyway.
ARCHIVE_BLOCK_SIZE = 64 << 10
MAX_LINE = 65536            # bytes of one line looked at; the rest of a longer line is skipped

# A line is worth the per-line reader only with one of these: nginx's TLS and upstream wording, a
# journal message kept as bytes.  Split container lines (a CRI " P " part, a Docker entry that does
# not end its line) are found apart (see candidates).
MARKERS = (b"upstream", b"SSL", b"handshak", b"HTTPS port", b'"MESSAGE":[')
# nginx's header as lines.HEAD_RE reads it (ASCII digits only: a line it misses goes the long way)
HEAD_RE = re.compile(_lines.HEAD_RE.pattern.encode("ascii"))
# Each marker to the end of its line, as compiled patterns: their literal-prefix search costs a fraction of
# bytes.find's, which for a needle of 6 bytes or more sets up a two-way search at every call (the loop
# over "upstream" alone was half the reader's time).  The match ends at the line's end, so the next
# search starts on the next line.
_MARKER_LINE_RES = tuple(re.compile(re.escape(marker) + b"[^\n]*") for marker in MARKERS)
# All markers but "upstream" are found through one byte each with bytes.find (memchr), a fourth of the cost
# of a pattern pass: (the byte, (marker, where the byte first is in it), ...).  The lines of "upstream"
# must be visited anyway, and none of its bytes is rare.
_BY_BYTE = ((b"S", ((b"SSL", 0), (b"HTTPS port", 4), (b'"MESSAGE":[', 3))), (b"k", ((b"handshak", 7),)))
# nginx's header with a level other than debug, as HEAD_RE reads it (a debug line never is quiet)
_QUIET_HEAD = HEAD_RE.pattern.replace(b"debug|", b"", 1)
MAX_QUIET_PATTERN = 64      # quiet messages compiled into one pattern; with more, each is looked up alone
_CRI_PART_RE = re.compile(b"P ")     # the end of a CRI " P " part marker (candidates)
_DOCKER_LINE_END = b'\\n"'     # the end of a Docker json-file "log" string that ends its line
_CRI_PART_SPAN = (19, 45)   # where " P " starts in a CRI line: after an RFC 3339 time and the stream name


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


def message_key(data, start, stop):
    """What decides whether the nginx line ``data[start:stop]`` (header whole, as lines.parse finds it)
    names a handshake failure: its message, as bytes (to the line's end, line end included, when no
    client follows); None for another line or a debug line.  Lines with the same key have the same
    message, level aside."""
    head = HEAD_RE.match(data, start, stop)
    if head is None or head.group(2) == b"debug":
        return None
    cut = data.find(b", client: ", head.end(), stop)
    return data[head.end():stop if cut < 0 else cut]


def quiet_pattern(quiet):
    """The ``match`` of a compiled pattern that matches, at a line's start (``match(data, line, stop)``), an
    nginx line whose message_key() is in ``quiet``, or None when ``quiet`` is empty or too large.  One call
    instead of a header match, a find, a slice and a set lookup per line: most lines that candidates()
    looks at are such lines.  Messages starting with ``*`` are left out (the header's ``*N `` could then
    be read two ways); a line it does not match is looked up the long way."""
    keys = sorted(key for key in quiet if not key.startswith(b"*"))
    if not keys or len(quiet) > MAX_QUIET_PATTERN:
        return None
    # a message without a client ends the line (its line end is part of the key), or the stream
    ends = [re.escape(key) + (b"" if key.endswith(b"\n") else b"(?=, client: |\\Z)") for key in keys]
    return re.compile(_QUIET_HEAD + b"(?:" + b"|".join(ends) + b")").match


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
    """Put the lines of ``data[start:end]`` where ``pattern`` (one of _MARKER_LINE_RES) matches into ``lines``."""
    rfind = data.rfind
    for found in pattern.finditer(data, start, end):
        stop = found.end()
        stop = stop + 1 if stop < end else end
        if stop not in lines:
            lines[stop] = rfind(b"\n", 0, found.start()) + 1


def candidates(data, start, end, quiet=None, quiet_match=None):
    """``(lines, quiet_lines)`` for the region ``data[start:end]`` (regions()): the lines that may matter
    as ``{stop: start}`` in no order (``stop``: just after the line's ``\n``, or ``end``), and how many lines
    were left out because ``quiet`` (a set of message_key()s known to name nothing) holds their key.

    Lines that may matter: those with a MARKER, with a CRI ``P`` part, or starting with ``{`` (a JSON
    entry: the reader decides).  ``quiet`` is used only for lines that only ``upstream`` brought, and only
    when the region has no line of the last two kinds, which could start a split line; ``quiet_match`` is
    quiet_pattern(quiet), or None."""
    # Keyed by the line's end: a marker match runs to it, so a line found before (most TLS lines have
    # "SSL", "handshak" and "upstream") is known without looking back for its start.
    lines = {}
    find, rfind = data.find, data.rfind
    for byte, markers in _BY_BYTE:
        searched = _byte_marker_lines(data, start, end, lines, byte, markers)
        if searched < end:
            reach = max(offset for _marker, offset in markers)
            for marker, _offset in markers:
                _pattern_lines(_MARKER_LINE_RES[MARKERS.index(marker)], data, max(start, searched - reach), end, lines)
    # "P " as a compiled pattern, its space checked apart: bytes.find(b" P") stops at every "P" of "HTTP"
    # (three times the cost), and a needle ending in a space or starting with a line end at every word or line
    for found in _CRI_PART_RE.finditer(data, start + 1, end):
        at = found.start() - 1
        if data[at] == 32:      # " P "
            line = rfind(b"\n", 0, at) + 1
            if _CRI_PART_SPAN[0] <= at - line <= _CRI_PART_SPAN[1]:
                lines[find(b"\n", at, end) + 1 or end] = line
                quiet = None
    # "{" rather than "\n{": a needle starting with a line end makes find stop at every line
    at = find(b"{", start, end)
    while at >= 0:
        if at == start or data[at - 1] == 10:      # a "{" that starts a line
            stop = find(b"\n", at, end) + 1 or end
            # a Docker entry whose "log" ends the line (``\n"``) holds nothing without a marker: only one that
            # does not (part of a split line, or no Docker entry) is read whole (read._worth_reading)
            if find(_DOCKER_LINE_END, at, min(stop, at + MAX_LINE)) < 0:
                lines[stop] = at
            quiet = None
        at = find(b"{", at + 1, end)
    quiet_lines = 0
    head_at = HEAD_RE.match
    for found in _MARKER_LINE_RES[0].finditer(data, start, end):
        stop = found.end()
        stop = stop + 1 if stop < end else end
        if stop in lines:
            continue
        line = rfind(b"\n", 0, found.start()) + 1
        if quiet and stop - line <= MAX_LINE:
            if quiet_match is not None and quiet_match(data, line, stop) is not None:
                quiet_lines += 1
                continue
            head = head_at(data, line, stop)        # message_key(), inline: this runs for most lines
            if head is not None and head.group(2) != b"debug":
                cut = find(b", client: ", head.end(), stop)
                if data[head.end():stop if cut < 0 else cut] in quiet:
                    quiet_lines += 1
                    continue
        lines[stop] = line
    return lines, quiet_lines

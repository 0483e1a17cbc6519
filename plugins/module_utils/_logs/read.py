# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine of tlsops.handshake.handshake_log_info: nginx error logs in, aggregates out.

    read_logs(paths=None, config=DEFAULT_CONFIG, rotated=True, since=None, samples=3, top_clients=10)

Streams each file in blocks of a few MB in binary mode (gzip/bzip2/xz decompressed on the fly) and
keeps only aggregates, so memory does not grow with the log:

* ``bytes.find`` on fixed markers (``SSL``, ``upstream``, ``handshak``, ``HTTPS port``: _logs/blocks)
  finds the lines worth reading in a block; the others are only counted, never decoded or matched;
* an nginx line whose message was already found to name no handshake failure (``upstream timed
  out ... while reading response header``) is counted as looked at without being parsed again;
* a matching line is reduced to (message, level, upstream host:port), counted in a table of at most
  MAX_PENDING such keys that is folded into the groups whenever it fills;
* each group keeps a count, the first and last time, counters and at most ``samples`` lines;
* client addresses are counted in a table of at most ``max(CLIENT_CAP, 100 * top_clients)`` entries:
  when it fills, the less frequent half is dropped.  Counts are then lower bounds for addresses that
  came back after being dropped, heavy hitters (bursts from few addresses) stay exact in practice,
  and ``clients_approximate`` says that it happened.

Causes come from the shared vocabulary (_common/causes.py); nothing here names a cause by itself.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import heapq
import os
import zlib
from typing import Any, Dict, List, Optional, TypedDict

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes, safe_files as safe
from ansible_collections.tlsops.handshake.plugins.module_utils._logs import blocks, files, formats, groups, journal, lines, parallel

DEFAULT_CONFIG = files.DEFAULT_CONFIG
MAX_LINE = blocks.MAX_LINE  # bytes of one line looked at; the rest of a longer line is skipped
MAX_PENDING = 20000         # distinct (message, level, upstream) keys held before folding into groups
MAX_CACHE = 4096            # classified messages remembered
MAX_UPSTREAMS = 1000        # keys of events.by_upstream; further upstreams count under OTHER
MAX_GROUP_UPSTREAMS = 50    # upstreams listed inside one cause
CLIENT_CAP = 10000
MAX_SAMPLES = 100           # per group: samples x groups x SAMPLE_MAX characters is what the result may hold
MAX_TOP_CLIENTS = 1000
OTHER = groups.OTHER


class LogReadError(ValueError):
    """Bad input; the message starts with the name of the parameter at fault."""


# One file of the module's ``files``: path, and compression, lines, bytes, skipped or error.
FileReport = Dict[str, Any]
# One group of ``events.by_cause`` / ``by_upstream`` / ``by_side`` (groups.Group.as_dict and more).
GroupReport = Dict[str, Any]


class Events(TypedDict):
    total: int
    by_cause: Dict[str, GroupReport]
    by_upstream: Dict[str, GroupReport]
    by_side: Dict[str, GroupReport]
    without_time: int


class ReadTotals(TypedDict):
    """What the lines said: the part of the result that _Reader builds."""

    events: Events
    formats: Dict[str, int]
    clients: List[Dict[str, Any]]
    clients_approximate: bool
    lines_read: int
    bytes_read: int
    lines_before_since: int
    unparsed: Dict[str, Any]


class LogsResult(ReadTotals):
    """read_logs' result: handshake_log_info's return values (see its RETURN), keys in this order."""

    files: List[FileReport]
    paths_from: str
    missing: List[str]
    warnings: List[str]
    since: Optional[str]
    journal: Optional[Dict[str, Any]]


def _reason_of(message):
    """The raw OpenSSL reason of an SSL error nginx logged (``sslv3 alert bad record mac``), else nginx's
    own words before ``while ...``."""
    reason = causes.raw_reason(message)
    if not reason:
        reason = message.split(" while ", 1)[0]
    return lines.sample(reason)[:200]


# formats whose lines may put a host and tag of any shape before nginx's header (syslog relays, journald)
_SEARCHED = frozenset((formats.AUTO, "journalctl", "syslog", "journal_json"))


def _worth_reading(raw):
    """Whether a line that is not nginx's own may hold a handshake line: its wording, or the start of a
    split line (a CRI ``P`` part, a Docker entry that does not end the line), or a journal message kept
    as bytes."""
    return (blocks.has_words(raw) or raw.find(b" P ", 19, 48) >= 0 or (raw[:1] == b"{" and b'\\n"' not in raw)
            or b'"MESSAGE":[' in raw)


def _nginx_shaped(data, start):
    """Whether the line at ``start`` is one the reader takes for nginx's own (a digit, "/" fifth)."""
    return data[start + 4:start + 5] == b"/" and data[start:start + 1].isdigit()


def _time_of_last_line(data, start, stop):
    """What a line-by-line reader keeps as the time of the last line of ``data[start:stop]``, one of nginx's
    own: its first 19 bytes."""
    line = data.rfind(b"\n", start, stop - 1) + 1 or start
    return data[line:min(line + 19, stop)]


class _Reader(object):
    def __init__(self, samples, top_clients, since_key):
        self.samples = samples
        self.top_clients = top_clients
        self.since_key = since_key
        self.since_bytes = None if since_key is None else since_key.encode("ascii")
        # runs of nginx's own lines on one side of since, found by patterns (None: every line one by one)
        self.since_lines = None if since_key is None else blocks.since_lines(self.since_bytes)
        self._since_wrapped = {}     # format -> runs of wrapped lines on the old side of since (or None)
        self.pending = {}
        self.cache = {}
        self.by_cause, self.by_upstream, self.by_side = {}, {}, {}
        self.total = 0
        self.clients = {}
        self.client_cap = max(CLIENT_CAP, 100 * top_clients)
        self.clients_pruned = False
        self.unparsed = 0
        self.unparsed_samples, self.unparsed_keys = [], {}
        self.max_pending, self.when_full = MAX_PENDING, self.fold
        # what a reader of one part of a file cannot know: a split line began (its parts may lie in the
        # parts around), a line without a time came before any line with one (with since)
        self.split_lines = self.untimed_first = False
        self.lines = self.bytes = self.before_since = 0
        self.without_time = 0
        self.formats = {}

    def fresh(self):
        """A reader like this one with nothing read yet."""
        return _Reader(self.samples, self.top_clients, self.since_key)

    # ----------------------------------------------------------------------- per line
    def read(self, stream, fmt=formats.AUTO, reference=None):
        """Count one open binary stream (``read1(size)``, and ``block_size`` if it has one) into the aggregates (lines_read and bytes_read
        count what was read even when the stream breaks off).  ``reference`` (epoch) is when the stream
        was last written: a syslog time without a year is put before it."""
        counted = [0, 0]
        framer = formats.Framer(fmt, formats.Clock(reference))
        try:
            self._read(stream.read1, counted, framer, getattr(stream, "block_size", blocks.BLOCK_SIZE))
        finally:
            self.lines += counted[0]
            self.bytes += counted[1]
            self.split_lines = self.split_lines or framer.split_seen

    def _read(self, read1, counted, framer, block_size):
        last = [None]           # the time of the line before: a line without one is as old as it
        fast = framer.fmt in (formats.AUTO, "nginx")
        since = self.since_lines if fast else None
        wrapped = self._wrapped_since(framer.fmt)

        def region(data, start, end):
            while start < end:
                if wrapped is not None and not framer.pending and not _nginx_shaped(data, start):
                    stop, last_time = wrapped.older_run(data, start, end)
                    if stop > start:
                        self.before_since += data.count(b"\n", start, stop)
                        last[0] = last_time
                        start = stop
                        continue
                if since is not None and not framer.pending:
                    stop = since.older_run(data, start, end)
                    if stop > start:
                        self.before_since += data.count(b"\n", start, stop) + (data[stop - 1] != 10)
                        last[0] = _time_of_last_line(data, start, stop)
                        start = stop
                        continue
                    stop = since.plain_run(data, start, end)
                    if stop > start:
                        self._candidates(data, start, stop, framer, fast, last)
                        last[0] = _time_of_last_line(data, start, stop)
                        start = stop
                        continue
                if self.since_bytes is not None or framer.pending:
                    # every line counts (its time for since, its part of a split line): one by one
                    raw, start = blocks.line_at(data, start, end)
                    self._line(raw, framer, fast, last)
                    continue
                start = self._candidates(data, start, end, framer, fast, last)

        blocks.regions(read1, counted, region, block_size)
        for content, frame_time, frame in framer.flush():
            self._logical(content, frame_time, frame, framer, last)

    def _wrapped_since(self, fmt):
        if self.since_bytes is None:
            return None
        if fmt not in self._since_wrapped:
            self._since_wrapped[fmt] = blocks.since_wrapped_lines(self.since_bytes, fmt)
        return self._since_wrapped[fmt]

    def _candidates(self, data, start, end, framer, fast, last):
        """The lines of ``data[start:end]`` that may matter, in order; returns where it stopped: ``end``, or
        after a line that began a split line (the framer wants every line after it)."""
        found = blocks.candidates(data, start, end)
        for stop in sorted(found):
            at = found[stop]
            self._line(data[at:min(stop, at + MAX_LINE)], framer, fast, last)
            if framer.pending:
                return stop
        return end

    def _line(self, raw, framer, fast, last):
        """One line of the file, with its line end, at most blocks.MAX_LINE bytes of it."""
        since = self.since_bytes
        if fast and raw[4:5] == b"/" and raw[:1].isdigit() and not framer.pending:
            # nginx's own line, the common case: kept cheap
            if since is not None:
                last[0] = raw[:19]
                if last[0] < since:
                    self.before_since += 1
                    return
            if not blocks.has_words(raw):
                return
            text = raw.decode("utf-8", "replace")
            parsed = lines.parse(text)
            if parsed is None:
                if lines.is_ssl_line(text):
                    self._unparsed(text, text[:200])
                return
            self._event(text, parsed[0], parsed, "nginx")
            return
        if since is None and not framer.pending and not _worth_reading(raw):
            return
        for content, frame_time, frame in framer.feed(raw.decode("utf-8", "replace")):
            self._logical(content, frame_time, frame, framer, last)

    def _logical(self, text, frame_time, frame, framer, last):
        """One log line out of its frame (or a line that was not framed)."""
        record = None
        if frame is not None:
            inner = framer.fmt if not frame or framer.fmt == formats.AUTO else "nginx"
            record = formats.read_line(text, inner, framer.clock, search=framer.fmt in _SEARCHED)
        stamp = frame_time
        if record is not None:
            stamp = record[0] or record[1] or frame_time
        if self.since_key is not None:
            if stamp is not None:
                last[0] = stamp.encode("ascii", "replace")
            if last[0] is None:
                self.untimed_first = True       # counts as recent: no line before it had a time
            elif last[0] < self.since_bytes:
                self.before_since += 1
                return
        if record is None:
            if lines.is_ssl_line(text[:lines.MESSAGE_MAX]):
                self._unparsed(text, text[:200])
            return
        message = record[3]
        if ("SSL" not in message and "handshak" not in message and "HTTPS port" not in message
                and not any(word in message for word in causes.NETWORK_LOG_WORDS)):
            return
        self._event(text, stamp, record[2:6], frame or record[6])

    def _event(self, text, stamp, parsed, name):
        """An nginx line with TLS wording or nginx's words for a failed upstream connection: ``parsed`` ends
        with (level, message, client, upstream); ``stamp`` is its time or None.  False when the message names
        no handshake failure (whatever else the line says: it is the same for every line with this message
        and level)."""
        level, message, client, upstream = parsed[-4:]
        if level == "debug":
            return None
        self.formats[name] = self.formats.get(name, 0) + 1
        info = self.cache.get(message)
        if info is None:
            if len(self.cache) >= MAX_CACHE:
                self.cache.clear()
            info = self.cache[message] = lines.classify(message)
        if info.code == "unknown" and not info.ssl:
            return False                    # no TLS wording and no cause: not a handshake line
        if upstream is not None:            # host:port is what groups; drop the URI
            upstream = lines.trim_upstream(upstream)
        if stamp is None:
            self.without_time += 1
        key = (message, level, upstream)
        entry = self.pending.get(key)
        if entry is None:
            if len(self.pending) >= self.max_pending:
                self.when_full()
            self.pending[key] = [1, stamp, stamp, text, info]
        else:
            entry[0] += 1
            groups.widen(entry, stamp)
        if info.side == lines.CLIENT and client:
            self._client(client, stamp, info.code)
        return True

    def _unparsed(self, text, key):
        self.unparsed += 1
        if len(self.unparsed_samples) < self.samples and key not in self.unparsed_keys:
            self.unparsed_keys[key] = None
            self.unparsed_samples.append(lines.sample(text))

    def merge_client(self, address, count, first, last, codes):
        """Add what another reader counted for a client address (_logs/parallel)."""
        entry = self.clients.get(address)
        if entry is None:
            self._make_room_for_a_client()
            self.clients[address] = [count, first, last, dict(codes)]
            return
        entry[0] += count
        groups.widen(entry, first)
        groups.widen(entry, last)
        for code, number in codes.items():
            entry[3][code] = entry[3].get(code, 0) + number

    def _make_room_for_a_client(self):
        if len(self.clients) >= self.client_cap:
            keep = heapq.nlargest(self.client_cap // 2, self.clients.items(), key=lambda kv: kv[1][0])
            self.clients = dict(keep)
            self.clients_pruned = True

    def _client(self, address, stamp, code):
        entry = self.clients.get(address)
        if entry is None:
            self._make_room_for_a_client()
            self.clients[address] = [1, stamp, stamp, {code: 1}]
            return
        entry[0] += 1
        groups.widen(entry, stamp)
        entry[3][code] = entry[3].get(code, 0) + 1

    # ----------------------------------------------------------------------- into groups
    def fold(self):
        """Move the pending table into the groups (in first-seen order, so samples are the first
        distinct lines read)."""
        limit = self.samples
        upstreams, reasons = {}, {}
        for (message, level, upstream), (count, first, last, text, info) in self.pending.items():
            code, fields, ambiguity, side, ssl = info
            scheme = up_key = host = port = None
            if upstream is not None:
                if upstream not in upstreams:
                    upstreams[upstream] = lines.split_upstream(upstream)
                scheme, up_key, host, port = upstreams[upstream]
            elif side == lines.UPSTREAM and fields.get("host"):       # host not found in upstream "name"
                host, port = lines.split_hostport(fields["host"])
                up_key = fields["host"]
            if not ssl and scheme in lines.PLAIN_SCHEMES:
                continue        # refused / timed out to a plain-HTTP upstream: no handshake involved
            self.total += count
            sample_key = (message, up_key)
            group = groups.group(self.by_cause, code)
            group.add(count, first, last, sample_key, text, limit)
            group.bump("sides", side, count)
            group.bump("levels", level, count)
            if side == lines.UPSTREAM:
                if up_key is not None:
                    group.bump("upstreams", up_key, count, cap=MAX_GROUP_UPSTREAMS)
                for name, value in (("host", host), ("port", port)):
                    group.field(name, value)
                for name in ("server_name", "verify_code", "verify_message"):
                    group.field(name, fields.get(name))
                if ambiguity:
                    group.ambiguity(count, ambiguity[0], ambiguity[1])
            if "verify_code" in fields:
                group.bump("verify_codes", str(fields["verify_code"]), count, cap=MAX_GROUP_UPSTREAMS)
            if code == "unknown":           # what OpenSSL (or nginx) said, for the reader to look up
                reason = reasons.get(message)
                if reason is None:
                    reason = reasons[message] = _reason_of(message)
                group.bump("reasons", reason, count, cap=MAX_GROUP_UPSTREAMS)
                group.field("raw_error", reason)
            if side == lines.UPSTREAM and up_key is not None:
                if up_key not in self.by_upstream and len(self.by_upstream) >= MAX_UPSTREAMS:
                    up_key = OTHER
                target = groups.group(self.by_upstream, up_key)
                target.add(count, first, last, sample_key, text, limit)
                target.bump("causes", code, count)
                target.bump("levels", level, count)
            target = groups.group(self.by_side, side)
            target.add(count, first, last, sample_key, text, limit)
            target.bump("causes", code, count)
        self.pending = {}

    # ----------------------------------------------------------------------- result
    def result(self) -> ReadTotals:
        self.fold()
        by_cause = {}
        for code, group in sorted(self.by_cause.items(), key=lambda kv: (-kv[1].count, kv[0])):
            entry = group.as_dict("sides", "levels", "upstreams")
            entry["title"] = causes.title(code)
            fix = []
            if group.counters["sides"].get(lines.UPSTREAM):
                known = dict((k, v) for k, v in group.fields.items() if v is not groups.VARIED)
                fix = causes.render(code, **known)[1]
            if group.counters["sides"].get(lines.CLIENT):
                fix.append(causes.CLIENT_SIDE_FIX)
            entry["fix"] = fix
            if "verify_codes" in group.counters:
                entry["verify_codes"] = groups.by_count(group.counters["verify_codes"])
            if "reasons" in group.counters:
                entry["reasons"] = groups.by_count(group.counters["reasons"])
            if group.ambiguous:
                entry["ambiguous"] = group.ambiguous
                entry["candidates"] = list(group.candidates)
                entry["note"] = " ".join(group.notes)
            by_cause[code] = entry
        by_upstream = dict((key, group.as_dict("causes", "levels")) for key, group in
                           sorted(self.by_upstream.items(), key=lambda kv: (-kv[1].count, kv[0])))
        by_side = dict((side, self.by_side[side].as_dict("causes")) for side in lines.SIDES
                       if side in self.by_side)
        top = heapq.nsmallest(self.top_clients, self.clients.items(), key=lambda kv: (-kv[1][0], kv[0]))
        clients = [{"address": address, "count": c, "first_seen": lines.iso(first), "last_seen": lines.iso(last),
                    "causes": groups.by_count(codes)} for address, (c, first, last, codes) in top]
        return ReadTotals(
            events=Events(total=self.total, by_cause=by_cause, by_upstream=by_upstream, by_side=by_side,
                          without_time=self.without_time),
            formats=groups.by_count(self.formats),
            clients=clients,
            clients_approximate=self.clients_pruned,
            lines_read=self.lines,
            bytes_read=self.bytes,
            lines_before_since=self.before_since,
            unparsed={"count": self.unparsed, "samples": list(self.unparsed_samples)},
        )


def _log_paths(paths, config, config_given, prefix=None):
    """``(patterns, paths_from, warnings, origins)``; ``origins`` maps a pattern to where it came from."""
    if paths:
        return list(paths), "paths", [], {}
    try:
        named, origins, warnings = files.config_error_logs(config, prefix=prefix)
    except (OSError, UnicodeError) as exc:
        if config_given:
            text = str(exc)
            raise LogReadError("config: cannot read the nginx configuration: %s"
                               % (text[len("config: "):] if text.startswith("config: ") else "%s (%s)" % (config, text)))
        if os.path.lexists(config):     # the default exists but is no configuration: say so
            return [files.FALLBACK_LOG], "fallback", ["%s; reading %s instead" % (exc, files.FALLBACK_LOG)], {}
        return [files.FALLBACK_LOG], "fallback", [], {}
    if not named:
        return [files.FALLBACK_LOG], "fallback", warnings, {}
    return named, "config", warnings, origins


def _check_numbers(samples, top_clients, workers):
    for name, value, low, top, hint in (("samples", samples, 0, MAX_SAMPLES, ""),
                                        ("top_clients", top_clients, 0, MAX_TOP_CLIENTS, ""),
                                        ("workers", workers, 1, parallel.MAX_WORKERS, "; 1 reads in one process")):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
            raise LogReadError("%s: must be a whole number from %d to %d, got %s%s" % (name, low, top, _shown(value), hint))


def _shown(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def read_logs(paths=None, config=None, rotated=True, since=None, samples=3, top_clients=10, now=None,
              format=formats.AUTO, journal_units=None, prefix=None,  # pylint: disable=redefined-builtin
              workers=None) -> LogsResult:
    """Aggregate the handshake failures of nginx error logs; see the module's RETURN for the shape.

    ``paths``: files or globs (default: the ``error_log`` files of ``config``, else
    /var/log/nginx/error.log, unless ``journal_units`` is given); with ``rotated`` each plain path
    brings its rotated copies.  ``format``: how the lines arrive (_logs_formats.FORMATS).
    ``journal_units``: systemd units whose journal is read too, through ``journalctl -o json``.
    ``since``: a duration (``2h``) or ISO time; only lines at or after it count.  ``prefix``: nginx's
    prefix, the base of relative ``error_log`` paths in ``config`` (default: the directory of ``config``).
    ``workers``: processes that read one large plain file at once (_logs/parallel; default: the
    processors this process may use, at most 8; 1 reads every file in this process).
    Raises LogReadError (message starts with the parameter's name) for bad input.
    """
    if workers is None:
        workers = parallel.default_workers()
    _check_numbers(samples, top_clients, workers)
    if format not in formats.FORMATS:
        raise LogReadError("format: %s is not one of %s" % (_shown(format), ", ".join(formats.FORMATS)))
    if journal_units is not None:
        try:
            journal_units = journal.check_units(journal_units)
        except journal.JournalError as exc:
            raise LogReadError(str(exc))
    since_key = since_epoch = None
    if since not in (None, ""):
        try:
            since_key, since_epoch = lines.parse_since(since, now=now)
        except lines.SinceError as exc:
            raise LogReadError(str(exc))
    reader = _Reader(samples, top_clients, since_key)
    journal_report, warnings = None, []
    if journal_units:
        try:
            journal_report, warnings = journal.read_journal(journal_units, reader, since_local=since_key)
        except journal.JournalError as exc:
            raise LogReadError(str(exc))
        if not paths:
            return _result(reader, [], "journal", [], warnings, since_key, journal_report)
    config_given = config not in (None, "")
    patterns, paths_from, more_warnings, origins = _log_paths(paths, config if config_given else DEFAULT_CONFIG,
                                                              config_given, prefix)
    warnings.extend(more_warnings)
    found, missing, refused, pattern_of = files.expand(patterns, rotated)
    if paths_from == "paths":
        warnings.extend("paths: %s does not exist" % name for name in missing)

    def where(pattern):
        return origins.get(pattern) or ("paths" if paths_from == "paths" else "the default error log")

    report, readable = _read_files(reader, found, refused, pattern_of, where, warnings, format, since_key, since_epoch,
                                   workers)
    if not readable:
        tried = ", ".join(found or [r[0] for r in refused] or patterns)
        errors = "; ".join("%s: %s" % (e["path"], e["error"]) for e in report if "error" in e)
        raise LogReadError("paths: no readable nginx error log among %s%s"
                           % (tried, " (%s)" % errors if errors else " (none exists)"))
    return _result(reader, report, paths_from, missing, warnings, since_key, journal_report)


def _read_files(reader, found, refused, pattern_of, where, warnings, fmt, since_key, since_epoch, workers):
    """Read each file into ``reader``: ``(files, readable)``, the module's ``files`` (refused ones first) and
    how many could be opened (or were skipped by ``since``); warnings are appended to ``warnings``."""
    report: List[FileReport] = []
    readable = 0
    for name, kind, pattern in refused:
        refusal = safe.FileRefused(name, kind, where(pattern), files.LOG_WHAT)
        report.append({"path": name, "error": "not read: it is %s" % kind})
        warnings.append(str(refusal))
    for name in found:
        entry = {"path": name}
        report.append(entry)
        try:
            stat = os.stat(name)
            if since_epoch is not None and stat.st_mtime < since_epoch - 2 and os.access(name, os.R_OK):
                entry.update(skipped="not modified since %s" % lines.iso(since_key), lines=0, bytes=0)
                readable += 1
                continue
            stream, compression = files.open_log(name, where(pattern_of[name]))
        except OSError as exc:
            entry["error"] = "cannot open: %s" % (exc.problem if isinstance(exc, safe.FileRefused)
                                                  else exc.strerror or exc)
            continue
        readable += 1
        entry["compression"] = compression
        before = (reader.lines, reader.bytes)
        try:
            with stream:
                if not parallel.read(reader, reader.fresh, stream, fmt, stat.st_mtime, workers):
                    reader.read(stream, fmt=fmt, reference=stat.st_mtime)
        except (OSError, EOFError, zlib.error) as exc:      # a corrupt or truncated archive (files.CorruptLog)
            entry["error"] = "stopped reading: %s" % exc
        entry["lines"], entry["bytes"] = reader.lines - before[0], reader.bytes - before[1]
        if "error" in entry:
            warnings.append("%s: %s: %s after %d lines; the lines before count, the other files are read"
                            % (where(pattern_of[name]), name, entry["error"], entry["lines"]))
    return report, readable


def _result(reader, report, paths_from, missing, warnings, since_key, journal_report) -> LogsResult:
    totals = reader.result()
    return LogsResult(events=totals["events"], formats=totals["formats"], clients=totals["clients"],
                      clients_approximate=totals["clients_approximate"], lines_read=totals["lines_read"],
                      bytes_read=totals["bytes_read"], lines_before_since=totals["lines_before_since"],
                      unparsed=totals["unparsed"], files=report, paths_from=paths_from, missing=missing,
                      warnings=warnings, since=lines.iso(since_key), journal=journal_report)

# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx's error lines as they really arrive: inside container log files, behind the prefixes tools add.

Two stages, per line:

* framing (a whole file line is not the log line): Docker's json-file driver
  (``{"log":"...\\n","stream":"stderr","time":"...Z"}``), Kubernetes CRI files
  (``2024-01-01T00:00:00.000000000Z stderr F <line>``, ``P`` parts joined) and ``journalctl -o json``
  (``MESSAGE``, ``__REALTIME_TIMESTAMP``).  :class:`Framer` keeps the parts of a split line, at most
  MAX_JOINED characters of it: the rest of a line that never ends is dropped.
* prefixes before nginx's own header: ``docker compose logs`` (``nginx-1  | ``), ``kubectl logs --prefix``
  (``[pod/NAME/CONTAINER] ``) and ``--timestamps``, journald's short, short-iso, short-precise and
  short-iso-precise output, syslog files (``Dec  6 20:33:00 host nginx[123]: ``, RFC 3339 times),
  nginx's own syslog datagrams (``<187>Dec  6 20:33:00 host nginx: ``) and RFC 5424 headers.

The time of a line is nginx's own when the nginx part has one (it is what nginx wrote: the local time
of the host or container nginx ran in), else the time of the wrapper, as the managed host's local time:
syslog and journal short times are local already; RFC 3339 times with an offset and the journal's
microseconds are converted.  A syslog time has no year: it is the year that puts the time at most two
days after the reference (the file's modification time, or now).
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import datetime
import json
import re
import time

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import lines

AUTO = "auto"
# The values of the module's ``format`` option, each a way nginx's error lines arrive.
FORMATS = ("auto", "nginx", "docker_compose", "kubectl", "journalctl", "syslog", "docker_json", "cri", "journal_json")
FRAMED = frozenset(("docker_json", "cri", "journal_json"))
MAX_JOINED = 65536          # characters of one line joined from CRI P parts or Docker's partial entries
_MAX_TIME_CACHE = 4096
_SEARCH_WIDTH = 300         # characters of an unknown prefix searched for nginx's header

_ANSI_RE = re.compile(u"\x1b\\[[0-9;]*[A-Za-z]")
_COMPOSE_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]*) *\| ")
_KUBECTL_RE = re.compile(r"\[pod/[^\]/ ]+/[^\] ]+\] ")
_ISO = r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.\d{1,9})?(Z|[+-]\d\d:?\d\d)?"
_ISO_RE = re.compile(_ISO + " ")
_CRI_RE = re.compile(_ISO + r" (stdout|stderr) ([FP])(?: |$)")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = dict((name, number) for number, name in enumerate(_MONTH_NAMES, 1))
_BSD_RE = re.compile(r"(?:<\d{1,3}>)?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ 0-3]?\d) "
                     r"(\d\d:\d\d:\d\d)(?:\.\d{1,9})? ")
_PRI_ISO_RE = re.compile(r"<\d{1,3}>" + _ISO + " ")
_RFC5424_RE = re.compile(r"<\d{1,3}>1 (?:" + _ISO + r"|-) \S+ \S+ \S+ \S+ (?:-|\[.*?\]) ?")
# what follows a syslog time: the host (nginx leaves it out with ``nohostname``, or writes an empty one
# before it knows it) and the tag, ``nginx:`` or ``nginx[123]:``
_HOST_TAG_RE = re.compile(r"(?:[^\s:\[\]]* )?[^\s:\[\]]+(?:\[\d+\])?: ")


def _civil(day, clock):
    """The datetime of ``2024-01-01`` and ``00:00:00`` (as _ISO_RE finds them): strptime's answer, or its
    ValueError.  strptime costs about 10 us a call, more than the rest of a wrapped line, and most
    wrapper times are distinct seconds; for ASCII digits the constructor accepts and refuses exactly
    the same fields (checked against strptime on every month, day, hour, minute and second, valid
    and not)."""
    digits = day[:4] + day[5:7] + day[8:10] + clock[:2] + clock[3:5] + clock[6:8]
    if digits.isascii() and digits.isdigit():
        return datetime.datetime(int(day[:4]), int(day[5:7]), int(day[8:10]),
                                 int(clock[:2]), int(clock[3:5]), int(clock[6:8]))
    return datetime.datetime.strptime(day + " " + clock, "%Y-%m-%d %H:%M:%S")


class Clock(object):
    """Wrapper times to nginx's time key (``YYYY/MM/DD HH:MM:SS``, the managed host's local time)."""

    def __init__(self, reference=None):
        self.reference = time.time() if reference is None else reference
        self._cache = {}

    def _cached(self, key, make):
        value = self._cache.get(key)
        if value is None:
            if len(self._cache) >= _MAX_TIME_CACHE:
                self._cache.clear()
            value = self._cache[key] = make()
        return value

    def iso(self, day, clock, zone):
        """``2024-01-01``, ``00:00:00``, ``Z`` / ``+0000`` / ``+02:00`` / None (local already)."""
        def make():
            if not zone:
                return "%s %s" % (day.replace("-", "/"), clock)
            offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[-2:]))
            try:
                when = _civil(day, clock)
                epoch = (when - datetime.datetime(1970, 1, 1)).total_seconds() - offset * 60
                return time.strftime(lines.TIME_FORMAT, time.localtime(epoch))
            except (ValueError, OverflowError, OSError):
                return False
        return self._cached((day, clock, zone), make) or None

    def bsd(self, month, day, clock):
        """A syslog time without a year: the year that puts it at most two days after the reference."""
        def make():
            ref = time.localtime(self.reference + 2 * 86400)
            year = ref.tm_year
            if (_MONTHS[month], int(day)) > (ref.tm_mon, ref.tm_mday):
                year -= 1
            return "%04d/%02d/%02d %s" % (year, _MONTHS[month], int(day), clock)
        return self._cached((month, day, clock), make)

    def epoch(self, seconds):
        try:
            return time.strftime(lines.TIME_FORMAT, time.localtime(seconds))
        except (ValueError, OverflowError, OSError):
            return None


# ------------------------------------------------------------------------------ framing
class Framer(object):
    """Turns the lines of a file (or of journalctl's output) into log lines: ``feed(text)`` returns
    ``[(line, frame_time, frame)]``, empty while a split line is not complete.  ``frame`` is the framing
    format, ``""`` for a line that is not framed, None when ``fmt`` is a framing format the line is not
    in.  ``flush()`` returns the parts of split lines left at the end."""

    def __init__(self, fmt, clock):
        self.fmt = fmt
        self.clock = clock
        self._parts = {}        # stream -> [joined text, time, format, chars]
        self.split_seen = False     # a split line began: its parts depend on the lines around them

    @property
    def pending(self):
        return bool(self._parts)

    def feed(self, text):
        fmt = self.fmt
        if fmt in (AUTO, "docker_json", "journal_json") and text[:1] == "{":
            out = self._json(text)
            if out is not None:
                return out
        elif fmt in (AUTO, "cri"):
            match = _CRI_RE.match(text)
            if match:
                stamp = self.clock.iso(match.group(1), match.group(2), match.group(3))
                body = text[match.end():].rstrip("\r\n")
                return self._join(match.group(4), body, stamp, "cri", match.group(5) == "F")
        if fmt in FRAMED:
            return [(text, None, None)]
        return [(text, None, "")]

    def _json(self, text):
        try:
            entry = json.loads(text)
        except ValueError:
            return None
        if not isinstance(entry, dict):
            return None
        if "MESSAGE" in entry and self.fmt in (AUTO, "journal_json"):
            message = entry["MESSAGE"]
            if isinstance(message, list):          # journald keeps a message with control bytes as bytes
                try:
                    message = bytes(bytearray(message[:MAX_JOINED])).decode("utf-8", "replace")
                except (TypeError, ValueError):
                    return None
            if not isinstance(message, str):
                return None
            stamp = None
            micro = entry.get("__REALTIME_TIMESTAMP")
            if isinstance(micro, str) and micro.isdigit():
                stamp = self.clock.epoch(int(micro) / 1e6)
            return [(message[:MAX_JOINED], stamp, "journal_json")]
        if "log" in entry and self.fmt in (AUTO, "docker_json"):
            body, when = entry["log"], entry.get("time")
            if not isinstance(body, str):
                return None
            stamp = None
            if isinstance(when, str):
                match = _ISO_RE.match(when + " ")
                if match:
                    stamp = self.clock.iso(match.group(1), match.group(2), match.group(3))
            stream = entry.get("stream") if isinstance(entry.get("stream"), str) else "?"
            # Docker splits a line longer than 16 KiB into entries whose ``log`` does not end the line
            return self._join(stream, body.rstrip("\n"), stamp, "docker_json", body.endswith("\n"))
        return None

    def _join(self, stream, body, stamp, fmt, complete):
        parts = self._parts.get(stream)
        if parts is None and complete:
            return [(body, stamp, fmt)]
        if parts is None:
            parts = self._parts[stream] = ["", stamp, fmt]
            self.split_seen = True
        room = MAX_JOINED - len(parts[0])
        if room > 0:
            parts[0] += body[:room]
        if not complete:
            return []
        del self._parts[stream]
        return [(parts[0], parts[1], parts[2])]

    def flush(self):
        out = [tuple(parts) for parts in self._parts.values()]
        self._parts = {}
        return out


# ------------------------------------------------------------------------------ prefixes
def strip_prefixes(text, fmt, clock):
    """``(rest, wrapper_time, name)``: ``text`` without the prefixes of ``fmt`` (``auto``: any known one,
    in the order tools stack them); ``name`` is the format found (``nginx`` for none), or None when
    ``fmt`` names a prefix the line does not have."""
    if fmt == "nginx":
        return text, None, "nginx"
    if "\x1b[" in text[:200]:                  # docker compose colours its prefixes on a terminal
        text = _ANSI_RE.sub("", text)
    name = stamp = None
    if fmt in (AUTO, "docker_compose"):
        match = _COMPOSE_RE.match(text)
        if match:
            text, name = text[match.end():], "docker_compose"
    if fmt in (AUTO, "kubectl"):
        match = _KUBECTL_RE.match(text)
        if match:
            text, name = text[match.end():], "kubectl"
    if fmt in (AUTO, "journalctl", "syslog") and name is None:
        rest, when = _syslog_header(text, clock)
        if rest is not None:
            return rest, when, "syslog" if fmt == AUTO else fmt
    if fmt in (AUTO, "kubectl", "docker_compose"):
        match = _ISO_RE.match(text)             # --timestamps: RFC 3339 with nanoseconds and Z
        if match and match.group(3):
            stamp = clock.iso(match.group(1), match.group(2), match.group(3))
            text, name = text[match.end():], name or ("kubectl" if fmt == AUTO else fmt)
    if name is None:
        return text, None, "nginx" if fmt == AUTO else None
    return text, stamp, name


def _syslog_header(text, clock):
    """``(rest, time)`` after a syslog or journal header (time, host, tag), or ``(None, None)``."""
    match = _BSD_RE.match(text)
    iso = False
    if match:
        stamp = clock.bsd(match.group(1), match.group(2).strip(), match.group(3))
    else:
        iso = True
        match = _RFC5424_RE.match(text)
        if match:
            stamp = clock.iso(match.group(1), match.group(2), match.group(3)) if match.group(1) else None
            return text[match.end():], stamp
        match = _PRI_ISO_RE.match(text) or _ISO_RE.match(text)
        if not match:
            return None, None
        stamp = clock.iso(match.group(1), match.group(2), match.group(3))
    rest = text[match.end():]
    tag = _HOST_TAG_RE.match(rest)
    if tag is not None:
        return rest[tag.end():], stamp
    if iso and lines.HEAD_SEARCH_RE.match(rest):
        return None, None           # a bare RFC 3339 time before nginx's header: kubectl's or compose's
    return rest, stamp              # a host and tag of another shape: read_line searches past them


def read_line(text, fmt, clock, search=True):
    """``(own_time, wrapper_time, level, message, client, upstream, name)`` of one log line (already
    unframed), or None when it holds no nginx line.  ``own_time`` is nginx's (None when the line was
    cut before it or nginx wrote none), ``wrapper_time`` that of the prefix, if any; ``name`` the format
    the prefix showed.  ``search``: look for nginx's header past a prefix of another shape."""
    rest, stamp, name = strip_prefixes(text, fmt, clock)
    if name is None:
        return None
    parsed = lines.parse(rest, header_only=True)
    if parsed is None and search:
        # nginx's header further on: a host and tag nobody stripped (journald keeps "host nginx: " of a
        # datagram sent to /dev/log), nginx's console form on stderr ("nginx: [emerg] ...")
        found = lines.HEAD_SEARCH_RE.search(rest, 0, _SEARCH_WIDTH)
        if found is not None:
            parsed = lines.parse(rest[found.start():], header_only=True)
    if parsed is None:
        parsed = lines.parse(rest)      # the bare message, in nginx's words
    if parsed is None:
        return None
    return parsed[0], stamp, parsed[1], parsed[2], parsed[3], parsed[4], name

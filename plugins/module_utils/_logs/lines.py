# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One nginx error-log line: its parts, its cause, its side; and the ``since`` option.

nginx writes (ngx_log_error_core, then the request's log handler)::

    2026/12/01 21:24:13 [error] 24381#24381: *9 MESSAGE, client: 127.0.0.1, server: NAME,
        request: "GET /x HTTP/1.1", upstream: "https://127.0.0.1:60359/x", host: "..."

The time is the host's local time, to the second.  Causes come only from MESSAGE (the text
before ``, client:``), never from the request or headers a client controls.
Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import datetime
import re
import time
from typing import Any, Dict, NamedTuple, Optional, Tuple

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.secrets import redact_line

LEVELS = "debug|info|notice|warn|error|crit|alert|emerg"
HEAD_RE = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(%s)\] \d+#\d+: (?:\*\d+ )?" % LEVELS)
# The same header with any of its parts cut (what tools keep of it): nginx's console form on stderr has
# no date ("nginx: [emerg] ..."), grep -o or a log shipper may keep only "[crit] 619#0: *3 ..." or less.
_CUT_HEAD_RE = re.compile(r"(?:(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) |(nginx: )(?=\[))?(?:\[(%s)\] )?(\d+#\d+: )?(?:\*\d+ )?"
                          % LEVELS)
# Without a header, a message is nginx's only when it starts in nginx's own words.
_NGINX_WORDS_RE = re.compile(
    r"(?:SSL_[a-z_]+\(\) failed|upstream SSL certificate|peer closed connection in SSL handshake|"
    r"[a-z_]+\(\) failed \(\d+: |upstream (?:timed out|prematurely)|host not found in upstream|"
    r"client sent plain HTTP request to HTTPS port|cannot load certificate)")
# nginx's header behind a prefix nobody knows (rsyslog's "host host nginx: " of a forwarded datagram),
# or nginx's console form on stderr ("nginx: [emerg] ..."): date and level, level and pid, or "nginx: [level]".
HEAD_SEARCH_RE = re.compile(r"(?<![^\s:])(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?:%(l)s)\] |\[(?:%(l)s)\] \d+#\d+: |"
                            r"(?<=nginx: )\[(?:%(l)s)\] )" % {"l": LEVELS})
TIME_FORMAT = "%Y/%m/%d %H:%M:%S"      # nginx's; sorts as text, so times compare as strings

SAMPLE_MAX = 1000                      # characters kept of one sample line
# Characters of a message the classifier reads.  nginx writes at most 2048 bytes per error-log line
# (NGX_MAX_ERROR_STR); a longer one is not nginx's, and its regex scans must stay cheap (a 64 kB line
# of "verify error: (1:" repeated cost 0.4 s).
MESSAGE_MAX = 4096
_CONTROL_RE = re.compile(u"[\x00-\x08\x0b-\x1f\x7f]")

# Causes a line without any SSL wording may report: the upstream never got to TLS.
NETWORK_CAUSES = frozenset(code for code, cause in causes.CAUSES.items() if cause["layer"] == "network") | {"not_tls"}
# Upstream schemes that never speak TLS: their connect errors are not handshake failures.
PLAIN_SCHEMES = frozenset(("http", "grpc", "fastcgi", "uwsgi", "scgi", "memcached"))
_PORT_RE = re.compile(r"[0-9]{1,5}\Z")
_DEFAULT_PORTS = {"https": 443, "grpcs": 443, "suwsgi": 443, "http": 80, "grpc": 80}


def parse(text, header_only=False):
    """``(time, level, message, client, upstream)`` of one decoded line, or None when it is not an
    nginx error-log line.  ``time`` is nginx's text (local time), or None with ``level`` when the line
    was cut before them: ``[crit] 619#0: *3 MESSAGE``, ``*10 MESSAGE`` and the bare MESSAGE are nginx's
    when nginx's words say so (``header_only``: only when some part of the header is there)."""
    head = HEAD_RE.match(text)
    if head is not None:
        stamp, level = head.group(1), head.group(2)
    else:
        head = _CUT_HEAD_RE.match(text)
        if head is None:        # every part of the pattern is optional: it always matches
            return None
        stamp, console, level, pid = head.groups()
        # a header is a date, a pid, or nginx's console form; a level alone is anybody's "[error]"
        if stamp is None and pid is None and not (console and level):
            if header_only or not _NGINX_WORDS_RE.match(text, head.end(), head.end() + MESSAGE_MAX):
                return None
    rest = text[head.end():].rstrip("\r\n")
    cut = rest.find(", client: ")
    if cut < 0:
        return stamp, level, rest, None, None
    message, context = rest[:cut], rest[cut + 10:]
    end = context.find(", ")
    client = context if end < 0 else context[:end]
    upstream = None
    start = context.find(', upstream: "')
    if start >= 0:
        stop = context.find('"', start + 13)
        upstream = context[start + 13:stop if stop >= 0 else None]
    return stamp, level, message, client, upstream


def split_upstream(url):
    """``(scheme, key, host, port)`` of nginx's upstream field: ``https://10.0.0.7:8443/x`` gives
    ``("https", "10.0.0.7:8443", "10.0.0.7", 8443)``; the stream module logs ``10.0.0.7:443`` (no
    scheme); a missing port is the scheme's default."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if rest.startswith("unix:"):                # unix:/run/app.sock:/uri
        socket = "unix:" + rest[5:].split(":", 1)[0]
        return scheme, socket, socket, None
    hostport = rest.split("/", 1)[0]
    host, port = split_hostport(hostport)
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    key = host if port is None else ("[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port))
    return scheme, key, host, port


def trim_upstream(url):
    """The upstream URL without its URI (what groups): ``https://10.0.0.7:443/x`` -> ``https://10.0.0.7:443``."""
    start = url.find("://")
    start = start + 3 if start >= 0 else 0
    if url.startswith("unix:", start):
        end = url.find(":", start + 5)
    else:
        end = url.find("/", start)
    return url if end < 0 else url[:end]


def split_hostport(text):
    """``("10.0.0.7", 443)`` from ``10.0.0.7:443``, ``("::1", 443)`` from ``[::1]:443``; port None if absent."""
    if text.startswith("["):
        host, _sep, tail = text[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    elif text.count(":") == 1:
        host, _sep, port = text.partition(":")
    else:
        host, port = text, ""
    # ASCII digits only: "²".isdigit() is true and int() refuses it; 5 at most, as in any port.
    return host, (int(port) if _PORT_RE.match(port) else None)


# nginx's wording when it is the client of an upstream: "... to upstream", "... from upstream",
# "upstream SSL certificate ...", "upstream timed out", 'host not found in upstream "x"'.  A server
# name such as upstream.example is no such wording.
_UPSTREAM_WORDS_RE = re.compile(r"\b(?:to|from|in) upstream\b|\bupstream (?:SSL|timed out|prematurely|sent|server)\b|"
                                r"\bwhile reading upstream\b|\bno live upstreams\b")
# nginx's wording for TLS: its OpenSSL calls (SSL_do_handshake(), SSL_read(), ...), its handshake
# phases, its SSL certificate checks and the plain-HTTP-to-HTTPS-port page.
_SSL_WORDS_RE = re.compile(r"SSL|handshak|HTTPS port")


# The closed set of sides a failure is on (the keys of events.by_side, in that order).
UPSTREAM = "upstream"   # nginx was the TLS client, towards an upstream
CLIENT = "client"       # nginx was the TLS server, on its listening side
SIDES = (UPSTREAM, CLIENT)


def side_of(message):
    """``upstream`` when nginx was the client (``... to upstream``, ``... from upstream``,
    ``upstream SSL certificate ...``), else ``client``: the failure was on the listening side."""
    return UPSTREAM if _UPSTREAM_WORDS_RE.search(message) else CLIENT


def is_ssl_line(message):
    """True for a TLS line: nginx names an OpenSSL call, a handshake, an SSL certificate check or
    its HTTPS port, or the line carries an OpenSSL error (``error:0A000410:``)."""
    return bool(_SSL_WORDS_RE.search(message)) or causes.raw_reason(message) is not None


class Classified(NamedTuple):
    """What one logged message means (a tuple: ``code, fields, ambiguity, side, ssl = classify(m)``)."""

    code: str                                   # a cause code of _common/causes.py, or "unknown"
    fields: Dict[str, Any]                      # render() fields the line gives (host, verify_code, ...)
    ambiguity: Optional[Tuple[Any, str]]        # (candidate codes, note) when the line stands for several
    side: str                                   # UPSTREAM or CLIENT
    ssl: bool                                   # TLS wording (else only network causes are named)


def classify(message) -> Classified:
    """``(cause, fields, ambiguity, side, ssl)`` for one message, in the shared vocabulary.

    ``cause`` is ``unknown`` when nothing names it.  ``fields`` are render() fields the line gives.
    ``ambiguity`` is ``(candidates, note)`` for a line that stands for several causes on its side
    (alert 40, verify error 20, ...).  Lines without SSL wording (``ssl`` false) name a cause only
    through nginx's own network wording (refused, unreachable, timed out while connecting, host not
    found).  OpenSSL's reasons are decided per side (_causes_reasons): the same reason can mean one
    thing from an upstream and another from a client.
    """
    message = message[:MESSAGE_MAX]
    side = side_of(message)
    ssl = is_ssl_line(message)
    code, fields = causes.cause_for_nginx_message(message)
    ambiguity = None
    if code is None:
        code = "unknown"
        if ssl:
            code, ambiguity = causes.log_reason(message, side)
    elif not ssl and code not in NETWORK_CAUSES:
        code = "unknown"
    elif code != "unknown" and side == "upstream":
        ambiguity = causes.log_ambiguity(message, fields.get("verify_code"), side)
    return Classified(code, fields, ambiguity, side, ssl)


def sample(text):
    """A line fit to return: no line end, no control characters, no private key material (nginx logs an
    inline key it cannot load), at most SAMPLE_MAX characters."""
    text = redact_line(text.rstrip("\r\n"))
    if len(text) > SAMPLE_MAX:
        text = text[:SAMPLE_MAX] + "..."
    return _CONTROL_RE.sub(u"\ufffd", text)


def iso(nginx_time):
    """``2026-12-01T21:24:13`` (local time, no offset) from nginx's ``2026/12/01 21:24:13``."""
    return None if nginx_time is None else nginx_time.replace("/", "-").replace(" ", "T")


# ----------------------------------------------------------------------------------- since
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_SINCE_DAYS = 36500          # a hundred years back is older than any log
SINCE_FORMS = ("a duration back from now such as 90s, 30m, 2h, 7d, 2w or 1h30m (at most %dd), or an ISO 8601 time "
               "such as 2026-12-01T21:00:00, 2026-12-01T20:00:00Z or 2026-12-01 (from 1970 on)" % MAX_SINCE_DAYS)


class SinceError(ValueError):
    pass


def _since_error(value, problem):
    text = repr(value) if len(repr(value)) <= 60 else repr(value)[:60] + "..."
    return SinceError("since: %s %s; give %s" % (text, problem, SINCE_FORMS))


def parse_since(value, now=None):
    """``(nginx_time, epoch)`` from a duration (``30m``, ``2h``, ``7d``, ``1h30m``, ``90s``, ``2w``)
    back from ``now``, or an ISO 8601 time (``2026-12-01T21:00:00``, ``...+02:00``, ``...Z``,
    ``2026-12-01``, or nginx's ``2026/12/01 21:00:00``).  A time without an offset is local time,
    as in the log; one with an offset is converted to local time.  Raises SinceError (naming
    ``since`` and the accepted forms) for anything else, a duration over MAX_SINCE_DAYS or a time
    before 1970 or past what the host's clock functions hold."""
    text = str(value).strip()
    now = time.time() if now is None else now
    compact = text.replace(" ", "").lower()
    parts = _DURATION_RE.findall(compact)
    if parts and "".join(n + u for n, u in parts) == compact:
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
        if not seconds <= MAX_SINCE_DAYS * 86400:       # also false for inf and nan
            raise _since_error(value, "is too long a duration")
        epoch = now - seconds
        return time.strftime(TIME_FORMAT, time.localtime(epoch)), epoch
    iso_text = text
    if re.match(r"^\d{4}/\d\d/\d\d", iso_text):
        iso_text = iso_text[:10].replace("/", "-") + iso_text[10:]
    if iso_text.endswith(("Z", "z")):
        iso_text = iso_text[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(iso_text)
    except ValueError:
        raise _since_error(value, "is neither a duration nor an ISO 8601 time")
    if when.year < 1970:
        raise _since_error(value, "is before 1970")
    try:
        if when.tzinfo is not None:
            when = when.astimezone().replace(tzinfo=None)
        epoch = when.timestamp()
    except (OverflowError, OSError, ValueError):
        raise _since_error(value, "is out of range")
    return when.strftime(TIME_FORMAT), epoch

# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""time_sync_info's ``compare_url``: one HTTP(S) HEAD request for a Date header,
sent to a server nobody vouches for.

The whole exchange (name lookup, connect, TLS, request, status line, headers)
lives under one deadline, checked before and after every read: a server that
trickles bytes, floods TLS records or sends one header line a second cannot
stretch it.  TLS runs over memory BIOs, so OpenSSL only ever works on bytes
this code handed it (bounded work between two deadline checks).  The response
head is bounded (line length, header count, total size) and the body is never
read.  Redirects are not followed: a 3xx reply carries a Date header like any
other, and following one would let the server choose where this host connects.

The URL's user information (``user:password@``) is never sent (a 401 reply
carries a Date as well) and never appears in a result or a message:
``redact()`` replaces it with ``********``.

Standard library only: this runs on managed hosts.
"""

from __future__ import annotations

import email.utils
import re
import socket
import ssl
import threading
import time
from typing import Any, List, Optional
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
MAX_HEAD_BYTES = 64 * 1024  # status line and headers together
MAX_LINE_BYTES = 8 * 1024
MAX_HEADERS = 100  # what http.client allows before it raises
MAX_INTERIM = 5  # 1xx responses skipped before the real one
MAX_HANDSHAKE_BYTES = 1024 * 1024
READ_SIZE = 16 * 1024
REDACTED = "********"
USER_AGENT = "tlsops.handshake time_sync_info"

_STATUS_RE = re.compile(br"^HTTP/(\d)\.(\d) ([0-9]{3})(?: ([^\r\n]*))?$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


class UrlError(ValueError):
    """compare_url can never work; the message starts with ``compare_url:`` and never holds userinfo."""


class _Failure(Exception):
    def __init__(self, code, message):
        super(_Failure, self).__init__(message)
        self.code = code


# ------------------------------------------------------------------ the URL


def redact(url):
    """``url`` with any ``user:password@`` replaced by ``********@``; works on malformed URLs too."""
    if not isinstance(url, str):
        return url
    scheme_end = url.find("://")
    start = scheme_end + 3 if scheme_end >= 0 else 0
    end = len(url)
    for stop in "/?#":
        found = url.find(stop, start)
        if found != -1:
            end = min(end, found)
    at = url.rfind("@", start, end)
    if at == -1:
        return url
    return url[:start] + REDACTED + url[at:]


def parse_url(url):
    """``{"scheme", "host", "port", "target", "host_header", "redacted", "userinfo"}`` of a compare_url.

    Raises UrlError naming compare_url (never quoting its userinfo) for anything that is
    not a plain http(s) URL: control characters, spaces or non-ASCII characters (they
    would split or corrupt the request), a bad host or port.
    """
    if not isinstance(url, str):
        raise UrlError("compare_url: must be a string (an http:// or https:// URL), not %s" % type(url).__name__)
    shown = redact(url)
    if len(url) > MAX_URL_LENGTH:
        raise UrlError("compare_url: %d characters; at most %d" % (len(url), MAX_URL_LENGTH))
    for index, char in enumerate(url):
        if not "\x21" <= char <= "\x7e":
            raise UrlError("compare_url: character %d is %s (U+%04X): it would corrupt or split the HTTP request; "
                           "percent-encode it (%%20 for a space)" % (index + 1, _char_kind(char), ord(char)))
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [ in the host
        raise UrlError("compare_url: %r is not a valid URL (unbalanced brackets around an IPv6 address?)" % shown)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise UrlError("compare_url: %r is not an http:// or https:// URL" % shown)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        raise UrlError("compare_url: the port in %r is not a number from 1 to 65535" % shown)
    if port is None:
        port = 443 if scheme == "https" else 80
    elif not 1 <= port <= 65535:
        raise UrlError("compare_url: port %d in %r is out of range; use 1-65535" % (port, shown))
    bracketed = parts.netloc.rpartition("@")[2].startswith("[")
    if bracketed or ":" in host:
        try:
            socket.inet_pton(socket.AF_INET6, host)
        except (OSError, ValueError):
            raise UrlError("compare_url: %r does not hold a valid IPv6 address in brackets" % shown)
        host_text = "[%s]" % host
    else:
        if not _valid_host(host):
            raise UrlError("compare_url: the host of %r is not a valid host name or IPv4 address" % shown)
        host_text = host
    default_port = 443 if scheme == "https" else 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else None
    return {"scheme": scheme, "host": host, "port": port, "target": target,
            "host_header": host_text if port == default_port else "%s:%d" % (host_text, port),
            "redacted": shown, "userinfo": userinfo or None}


def _char_kind(char):
    if char == " ":
        return "a space"
    if ord(char) < 0x20 or ord(char) == 0x7f:
        return "a control character"
    return "not ASCII"


def _valid_host(host):
    if not host or len(host) > 253:
        return False
    return all(_LABEL_RE.match(label) for label in host.rstrip(".").split("."))


# ------------------------------------------------------------------ the exchange


class _Connection(object):
    """A socket (and TLS over memory BIOs) whose every read respects one deadline."""

    def __init__(self, deadline, timeout, monotonic):
        self.deadline = deadline
        self.timeout = timeout
        self.monotonic = monotonic
        # set by connect(); what reads and writes them runs after it
        self.sock: Any = None
        self.tls: Optional[ssl.SSLObject] = None
        self.incoming: Any = None
        self.outgoing: Any = None
        self.stage = "connecting"

    def remaining(self):
        left = self.deadline - self.monotonic()
        if left <= 0:
            raise _Failure("timeout", "no complete response head within %s s (the deadline passed while %s)"
                           % (_num(self.timeout), self.stage))
        return left

    def connect(self, host, port):
        self.stage = "resolving %s" % host
        addresses = _resolve(host, port, self.remaining())
        if addresses is None:
            raise _Failure("timeout", "resolving %s took longer than %s s" % (host, _num(self.timeout)))
        last = None
        for family, socktype, proto, _name, sockaddr in addresses[:4]:
            self.stage = "connecting to %s" % _address_text(sockaddr)
            sock = socket.socket(family, socktype, proto)
            try:
                sock.settimeout(self.remaining())
                sock.connect(sockaddr)
            except socket.timeout:
                sock.close()
                self.remaining()
                last = _Failure("timeout", "connecting to %s timed out" % _address_text(sockaddr))
                continue
            except ConnectionRefusedError:
                sock.close()
                last = _Failure("connection_refused", "connection refused by %s" % _address_text(sockaddr))
                continue
            except OSError as exc:
                sock.close()
                last = _Failure("network_error", "cannot connect to %s: %s"
                                % (_address_text(sockaddr), exc.strerror or exc))
                continue
            except BaseException:
                sock.close()
                raise
            self.sock = sock
            return
        raise last or _Failure("resolve_failed", "%s has no address" % host)

    def start_tls(self, server_name, validate_certs):
        self.stage = "in the TLS handshake"
        context = ssl.create_default_context()
        if not validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_name)
        received = 0
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                received += self._feed()
                if received > MAX_HANDSHAKE_BYTES:
                    raise _Failure("tls_error", "the server sent more than %d KiB without completing the TLS "
                                   "handshake" % (MAX_HANDSHAKE_BYTES // 1024))
            except ssl.SSLCertVerificationError as exc:
                raise _Failure("certificate_invalid", "the server's certificate does not verify (%s); a clock far "
                               "off makes valid certificates look expired: set compare_validate_certs to false "
                               "to read its Date anyway" % (exc.verify_message or exc.reason or exc))
            except ssl.SSLError as exc:
                raise _Failure("tls_error", "TLS handshake failed: %s" % (exc.reason or exc))
        self._flush()

    def send(self, data):
        if self.tls is not None:
            self.tls.write(data)
            self._flush()
        else:
            self._sendall(data)

    def recv(self):
        """Some bytes of the response; b"" when the server closed the connection."""
        if self.tls is None:
            return self._recv_raw()
        while True:
            try:
                return self.tls.read(READ_SIZE)
            except ssl.SSLWantReadError:
                if self._feed() == 0 and self.incoming.eof:
                    return b""
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""
            except ssl.SSLError as exc:
                raise _Failure("tls_error", "TLS error while reading the response: %s" % (exc.reason or exc))

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass

    def _flush(self):
        pending = self.outgoing.read()
        if pending:
            self._sendall(pending)

    def _sendall(self, data):
        try:
            self.sock.settimeout(self.remaining())
            self.sock.sendall(data)
        except socket.timeout:
            self.remaining()
            raise _Failure("timeout", "the server does not take the request (%s)" % self.stage)
        except OSError as exc:
            raise _Failure("network_error", "sending failed %s: %s" % (self.stage, exc.strerror or exc))

    def _recv_raw(self):
        try:
            self.sock.settimeout(self.remaining())
            data = self.sock.recv(READ_SIZE)
        except socket.timeout:
            data = None
        except ConnectionResetError:
            raise _Failure("connection_reset", "the server reset the connection %s" % self.stage)
        except OSError as exc:
            raise _Failure("network_error", "reading failed %s: %s" % (self.stage, exc.strerror or exc))
        self.remaining()  # the deadline holds even when every read returns at once
        if data is None:  # a recv timed out but the deadline is still ahead (clock granularity)
            raise _Failure("timeout", "no complete response head within %s s (%s)" % (_num(self.timeout), self.stage))
        return data

    def _feed(self):
        data = self._recv_raw()
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()
        return len(data)


def _resolve(host, port, wait):
    """getaddrinfo in a helper thread (it has no timeout of its own); None when it took too long."""
    outcome: List[Any] = []

    def lookup():
        try:
            outcome.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            outcome.append(exc)

    worker = threading.Thread(target=lookup, name="tlsops-compare-resolve", daemon=True)
    worker.start()
    worker.join(wait)
    if not outcome:
        return None
    if isinstance(outcome[0], Exception):
        raise _Failure("resolve_failed", "cannot resolve %s: %s" % (host, getattr(outcome[0], "strerror", None)
                                                                    or outcome[0]))
    return outcome[0]


def _address_text(sockaddr):
    host, port = sockaddr[0], sockaddr[1]
    return ("[%s]:%d" % (host, port)) if ":" in host else ("%s:%d" % (host, port))


def _num(value):
    return ("%d" % value) if float(value).is_integer() else ("%g" % value)


def quote(data, limit=80):
    """Server bytes for a message: printable ASCII, at most ``limit`` characters (no terminal escapes)."""
    text = data.decode("latin-1") if isinstance(data, bytes) else str(data)
    cut = len(text) > limit
    shown = ascii(text[:limit])  # escapes control and non-ASCII characters alike
    return shown + ("... (%d bytes)" % len(data) if cut else "")


# ------------------------------------------------------------------ the response head


def _read_head(conn):
    """``(status, headers)`` of the first final response; headers a list of ``(name, value)`` bytes."""
    buffer = b""
    interim = 0
    total = 0
    while True:
        conn.stage = "reading the status line"
        status, buffer, total = _read_line(conn, buffer, total, "status line")
        match = _STATUS_RE.match(status)
        if not match:
            raise _Failure("bad_status_line", "the reply does not start with an HTTP/1.x status line: %s"
                           % quote(status))
        code = int(match.group(3))
        headers = []
        while True:
            conn.stage = "reading the headers (%d so far)" % len(headers)
            line, buffer, total = _read_line(conn, buffer, total, "header line")
            if not line:
                break
            if len(headers) >= MAX_HEADERS:
                raise _Failure("too_many_headers", "the reply has more than %d header lines" % MAX_HEADERS)
            name, sep, value = line.partition(b":")
            if sep and name and not name[:1].isspace():
                headers.append((name.strip().lower(), value.strip()))
            elif line[:1] in (b" ", b"\t"):
                headers.append((b"", line.strip()))  # an obsolete folded line: counted, never used
            else:
                raise _Failure("bad_header", "a header line without a colon: %s" % quote(line))
        if 100 <= code < 200 and code != 101 and interim < MAX_INTERIM:
            interim += 1
            continue
        return code, headers


def _read_line(conn, buffer, total, what):
    while True:
        end = buffer.find(b"\n")
        if end != -1:
            line = buffer[:end]
            if len(line) > MAX_LINE_BYTES:
                raise _Failure("header_too_long", "a %s longer than %d KiB" % (what, MAX_LINE_BYTES // 1024))
            return line.rstrip(b"\r"), buffer[end + 1:], total
        if len(buffer) > MAX_LINE_BYTES:
            raise _Failure("header_too_long", "a %s longer than %d KiB" % (what, MAX_LINE_BYTES // 1024))
        if total > MAX_HEAD_BYTES:
            raise _Failure("headers_too_large", "the response head is larger than %d KiB"
                           % (MAX_HEAD_BYTES // 1024))
        data = conn.recv()
        if not data:
            raise _Failure("closed", "the server closed the connection %s (after %d bytes)" % (conn.stage, total))
        buffer += data
        total += len(data)


# ------------------------------------------------------------------ the offset


def http_date_offset(url, timeout, validate_certs=True, clock=time.time, monotonic=time.monotonic):
    """Offset from an HTTP server's Date header: ``(Date + 0.5 s) - midpoint of the request``.

    Date has one-second resolution (and truncates), hence ``uncertainty_ms`` = 500 ms plus half
    the time from sending the request to the end of the response head.  Any status (a 3xx, a
    401) carries a usable Date.  Every failure is ``error_code`` + ``error``, within ``timeout``.
    """
    result = {"url": redact(url), "ok": False, "status": None, "date": None, "offset_ms": None,
              "uncertainty_ms": None, "rtt_ms": None, "elapsed_ms": None, "error": None, "error_code": None}
    try:
        parts = parse_url(url)
    except UrlError as exc:
        result.update(error=str(exc), error_code="invalid_url")
        return result
    started = monotonic()
    conn = _Connection(started + timeout, timeout, monotonic)
    try:
        conn.connect(parts["host"], parts["port"])
        if parts["scheme"] == "https":
            conn.start_tls(parts["host"], validate_certs)
        request = ("HEAD %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\nConnection: close\r\n\r\n"
                   % (parts["target"], parts["host_header"], USER_AGENT)).encode("ascii")
        conn.stage = "sending the request"
        t1, m1 = clock(), monotonic()
        conn.send(request)
        status, headers = _read_head(conn)
        elapsed = monotonic() - m1
    except _Failure as exc:
        result.update(error=str(exc), error_code=exc.code)
        return result
    finally:
        conn.close()
        result["elapsed_ms"] = round((monotonic() - started) * 1000.0, 1)
    result.update(status=status, rtt_ms=round(elapsed * 1000.0, 3))
    date = next((value for name, value in headers if name == b"date"), None)
    if not date:
        result.update(error="the response has no Date header", error_code="no_date")
        return result
    server_time = _parse_date(date)
    if server_time is None:
        result.update(error="unparsable Date header %s" % quote(date), error_code="bad_date")
        return result
    t_mid = t1 + elapsed / 2.0
    result.update({
        "ok": True,
        "date": date.decode("ascii"),
        "offset_ms": round((server_time + 0.5 - t_mid) * 1000.0, 3),
        "uncertainty_ms": round((0.5 + elapsed / 2.0) * 1000.0, 3),
    })
    return result


def _parse_date(value):
    """Seconds since the epoch of an HTTP date (RFC 9110 IMF-fixdate and the obsolete forms); None."""
    if not all(0x20 <= byte <= 0x7e for byte in value):
        return None  # nothing but printable ASCII is returned from a server we do not trust
    try:
        text = value.decode("ascii")
        parsed = email.utils.parsedate_to_datetime(text)
        if parsed is None or parsed.tzinfo is None:
            return None
        return parsed.timestamp()
    except (UnicodeError, TypeError, ValueError, IndexError, OverflowError):
        return None

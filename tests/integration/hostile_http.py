# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP(S) servers on 127.0.0.1 that misbehave on purpose, for time_sync_info's compare_url.

``HostileHttp(kind)`` listens on a free loopback port, answers every connection the way
``kind`` says (see BEHAVIOURS) and records what it saw: ``connections`` (a count) and
``requests`` (the bytes each client sent before the reply).  Every reply loop is bounded
in bytes and time (``LIMIT_SECONDS``), and ``stop()`` ends them all at once.
"""

from __future__ import annotations

import email.utils
import os
import select
import socket
import ssl
import threading
import time

LIMIT_SECONDS = 20.0  # no hostile reply lasts longer, whatever the client does
_HELLO_REQUEST = bytes.fromhex("16030300040000000000")  # a TLS 1.2 record holding one HelloRequest


def _date():
    return email.utils.formatdate(time.time(), usegmt=True).encode("ascii")


def _head(*extra):
    return b"HTTP/1.1 200 OK\r\nDate: " + _date() + b"\r\n" + b"".join(line + b"\r\n" for line in extra)


class HostileHttp(object):
    """One misbehaving server; use as a context manager."""

    def __init__(self, kind, tls_context=None, redirect_to=None):
        if kind not in BEHAVIOURS:
            raise ValueError("unknown behaviour %r" % kind)
        self.kind = kind
        self.tls_context = tls_context
        self.redirect_to = redirect_to
        self.connections = 0
        self.requests = []
        self.peer_closed = threading.Event()  # a silent or stalling connection saw the client go away
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        scheme = "https" if tls_context is not None else "http"
        self.url = "%s://127.0.0.1:%d/" % (scheme, self.port)
        self._threads = [threading.Thread(target=self._accept_loop, daemon=True)]

    def __enter__(self):
        self._threads[0].start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()

    # ------------------------------------------------------------ plumbing

    def _accept_loop(self):
        while not self._stop.is_set():
            ready, _w, _x = select.select([self._listener], [], [], 0.1)
            if not ready:
                continue
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, conn):
        started = time.monotonic()
        try:
            conn.settimeout(5)
            if self.kind.startswith("tls_"):
                BEHAVIOURS[self.kind](self, conn, started)
                return
            if self.tls_context is not None:
                conn = self.tls_context.wrap_socket(conn, server_side=True)
            if self.kind != "silent":
                self.requests.append(self._read_request(conn))
            BEHAVIOURS[self.kind](self, conn, started)
        except (OSError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _read_request(self, conn):
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        return data

    def _alive(self, started):
        return not self._stop.is_set() and time.monotonic() - started < LIMIT_SECONDS

    def _pace(self, conn, chunks, interval, started):
        for chunk in chunks:
            if not self._alive(started):
                return
            conn.sendall(chunk)
            self._stop.wait(interval)


# ---------------------------------------------------------------- behaviours


def _good(server, conn, started):
    conn.sendall(_head(b"Content-Length: 0") + b"\r\n")


def _silent(server, conn, started):
    """Say nothing; note when the client closes the connection (it gave up, or its process ended)."""
    while server._alive(started):
        readable, _w, _x = select.select([conn], [], [], 0.1)
        if readable:
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                server.peer_closed.set()
                return


def _slow_headers(server, conn, started):
    """The status line, then one header line a second (a Date among them), never the end."""
    server._pace(conn, [_head()] + [b"X-Slow-%d: yes\r\n" % i for i in range(60)], 1.0, started)


def _trickle(server, conn, started):
    """A correct reply, one byte every 0.2 s."""
    reply = _head(b"Content-Length: 0") + b"\r\n"
    server._pace(conn, [reply[i:i + 1] for i in range(len(reply))], 0.2, started)


def _many_headers(server, conn, started):
    conn.sendall(_head(*[b"X-Many-%d: yes" % i for i in range(150)]) + b"\r\n")


def _long_header(server, conn, started):
    conn.sendall(_head(b"X-Long: " + b"a" * (200 * 1024)) + b"\r\n")


def _endless_headers(server, conn, started):
    line = b"X-Endless: " + b"b" * 100 + b"\r\n"
    conn.sendall(_head())
    sent = 0
    while server._alive(started) and sent < (64 << 20):
        conn.sendall(line * 100)
        sent += len(line) * 100


def _huge_head(server, conn, started):
    """Header lines of 7 KB each (under the line limit), without end."""
    conn.sendall(_head())
    index = 0
    while server._alive(started) and index < 10000:
        conn.sendall(b"X-Huge-%d: " % index + b"h" * 7000 + b"\r\n")
        index += 1


def _endless_body(server, conn, started):
    """A correct head, then a body that never ends (a HEAD reply has none: the client must not read it)."""
    conn.sendall(_head(b"Transfer-Encoding: chunked") + b"\r\n")
    chunk = b"1000\r\n" + b"c" * 4096 + b"\r\n"
    sent = 0
    while server._alive(started) and sent < (64 << 20):
        conn.sendall(chunk)
        sent += len(chunk)


def _garbage_status(server, conn, started):
    conn.sendall(os.urandom(64).replace(b"\n", b"?") + b"\r\n" + _head()[len(b"HTTP/1.1 200 OK\r\n"):] + b"\r\n")


def _no_newline(server, conn, started):
    conn.sendall(b"HTTP/1.1 200 OK")
    while server._alive(started):
        conn.sendall(b"x" * 4096)


def _close(server, conn, started):
    conn.sendall(b"HTTP/1.1 200 OK\r\nDate: ")


def _reset(server, conn, started):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def _redirect(server, conn, started):
    conn.sendall(b"HTTP/1.1 302 Found\r\nDate: " + _date() + b"\r\nLocation: " + server.redirect_to.encode("ascii")
                 + b"\r\nContent-Length: 0\r\n\r\n")


def _unauthorized(server, conn, started):
    conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nDate: " + _date()
                 + b"\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n")


def _tls_hello_request_flood(server, conn, started):
    """Read the ClientHello, then send TLS HelloRequest records without end (never a ServerHello)."""
    conn.recv(65536)
    burst = _HELLO_REQUEST * 400
    sent = 0
    while server._alive(started) and sent < (256 << 20):
        conn.sendall(burst)
        sent += len(burst)


def _tls_stall(server, conn, started):
    """Read the ClientHello and never answer it."""
    conn.recv(65536)
    _silent(server, conn, started)


BEHAVIOURS = {
    "good": _good,
    "silent": _silent,
    "slow_headers": _slow_headers,
    "trickle": _trickle,
    "many_headers": _many_headers,
    "long_header": _long_header,
    "endless_headers": _endless_headers,
    "huge_head": _huge_head,
    "endless_body": _endless_body,
    "garbage_status": _garbage_status,
    "no_newline": _no_newline,
    "close": _close,
    "reset": _reset,
    "redirect": _redirect,
    "unauthorized": _unauthorized,
    "tls_hello_request_flood": _tls_hello_request_flood,
    "tls_stall": _tls_stall,
}


def tls_server_context(tmp_dir):
    """A server context with a fresh trustme CA; ``(context, ca_pem_path)``."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca_path = os.path.join(tmp_dir, "compare-ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    return context, ca_path

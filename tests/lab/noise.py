# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real traffic for the fleet's proxies: requests through them, and bad clients at their TLS port.

``requests_through``: one GET per (proxy, location), so each proxy's error log holds the upstream
failures nginx itself met.  ``client_noise``: what a listening proxy sees on the internet - plain
HTTP to its TLS port, TLS 1.0 clients, a ClientHello with no cipher in common, scanners that send
garbage or hang up mid-handshake - made with real sockets, Python's ssl and ``openssl s_client``,
from several loopback source addresses (127.0.0.0/8 is all loopback on Linux), so the log shows
top client addresses.  Every connection has a timeout; every count is bounded.
"""

from __future__ import annotations

import concurrent.futures
import os
import socket
import ssl
import subprocess
import warnings

TIMEOUT = 5.0
OPENSSL_BIN = os.environ.get("LAB_OPENSSL", "openssl")

# (source address, kind, count): the noisy proxy's visitors.  Counts differ so the top
# client addresses have an order.
NOISE = (
    ("127.0.0.66", "garbage", 4),         # a scanner: TLS record header, then junk
    ("127.0.0.66", "hang_up", 3),         # the same scanner: a ClientHello, then a FIN
    ("127.0.0.23", "plain_http", 3),      # plain HTTP to the TLS port
    ("127.0.0.10", "tls10", 2),           # an old client: TLS 1.0 only
    ("127.0.0.1", "no_shared_cipher", 1),  # openssl s_client offering only an anonymous cipher
)


def _connect(port, source):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    try:
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def _drain(sock):
    """Read until the peer closes or the timeout: nginx logs the failure once the connection ends."""
    total = 0
    try:
        while total < 1 << 20:
            chunk = sock.recv(4096)
            if not chunk:
                break
            total += len(chunk)
    except OSError:
        pass


def _client_hello():
    """The first flight of a real TLS 1.2 handshake (Python's ssl through memory BIOs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="scanner.invalid")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def _one(port, source, kind):
    if kind == "no_shared_cipher":
        # anonymous DH only: nginx's default ssl_ciphers (HIGH:!aNULL:!MD5) never picks it
        subprocess.run([OPENSSL_BIN, "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
                        "-cipher", "ADH-AES128-GCM-SHA256:@SECLEVEL=0", "-servername", "scanner.invalid"],
                       input=b"", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT * 2,
                       check=False)
        return
    with _connect(port, source) as sock:
        if kind == "plain_http":
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88\r\n\r\n")
            _drain(sock)
        elif kind == "garbage":
            sock.sendall(b"\x16\x03\x01\x00\x40" + os.urandom(64))
            _drain(sock)
        elif kind == "hang_up":
            sock.sendall(_client_hello())
            sock.shutdown(socket.SHUT_WR)
            _drain(sock)
        elif kind == "tls10":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            try:
                ctx.wrap_socket(sock, server_hostname="old.client.invalid").close()
            except (ssl.SSLError, OSError):
                pass
        else:
            raise ValueError("unknown noise kind %r" % kind)


def client_noise(port, noise=NOISE):
    """Send every bad client of ``noise`` to the TLS listener on 127.0.0.1:``port``; returns
    ``{source: connections}``."""
    jobs = [(source, kind) for source, kind, count in noise for _n in range(count)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda job: _one(port, *job), jobs))
    sent = {}
    for source, _kind, count in noise:
        sent[source] = sent.get(source, 0) + count
    return sent


def get(port, path, host):
    """``GET path`` over TLS to a proxy on 127.0.0.1:``port``; the HTTP status (None when the
    connection failed).  The proxy's own certificate is not checked: this drives traffic."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                tls.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
                head = tls.recv(64)
    except OSError:
        return None
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def requests_through(requests):
    """Run ``[(port, path, host)]`` in parallel; ``[status]`` in the same order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda r: get(*r), requests))

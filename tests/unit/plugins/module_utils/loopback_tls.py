# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real TLS server on 127.0.0.1 for the unit tests of the probe (Python's ssl = the host's OpenSSL)."""
from __future__ import annotations

import socket
import ssl
import threading

import trustme


class LoopbackTlsServer:
    """Answers handshakes on ``host`` (127.0.0.1) with a leaf (for ``names``) and its intermediate until stopped;
    ``ciphers`` narrows the TLS <= 1.2 suites it accepts; ``handle`` is what it does after each handshake."""

    def __init__(self, maximum_version, ciphers=None, names=("localhost", "127.0.0.1"), host="127.0.0.1"):
        intermediate = trustme.CA().create_child_ca()
        self.leaf = intermediate.issue_cert(*names)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.maximum_version = maximum_version
        if ciphers:
            self.context.set_ciphers(ciphers)
        self.leaf.configure_cert(self.context)
        self.listener = socket.create_server((host, 0), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _addr = self.listener.accept()
            except socket.timeout:
                continue
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.handle(tls)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def handle(self, tls):
        """What the server does on a connection once the handshake is done."""
        tls.recv(1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        self.listener.close()

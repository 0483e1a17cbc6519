# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's HTTP request after the handshake, against real TLS servers on loopback (Python's ssl, the
host's OpenSSL) that answer in pieces: the probe reads on for a body its Content-Length says is not all
there yet, and stops once it is (no wait for a close that may not come).  And the connection itself:
IPv4 and IPv6 sockaddrs as CallShared resolves them."""
from __future__ import annotations

import socket
import ssl
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import Deadline
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import handshake as hs
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import build_targets
from tests.unit.plugins.module_utils.loopback_tls import LoopbackTlsServer

BODY = b"<html><body>No required SSL certificate was sent</body></html>\n"


class AnsweringServer(LoopbackTlsServer):
    """A TLS server on ``host`` that reads a request, then writes each ``(pause, data)`` of ``pieces`` after its
    pause, and keeps the connection open for ``linger`` seconds."""

    def __init__(self, pieces, host="127.0.0.1", linger=1.0):
        super().__init__(ssl.TLSVersion.TLSv1_3, names=("upstream.lab.test",), host=host)
        self.pieces, self.linger = pieces, linger

    def handle(self, tls):
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = tls.recv(4096)
            if not chunk:
                return
            request += chunk
        for pause, data in self.pieces:
            time.sleep(pause)
            tls.sendall(data)
        time.sleep(self.linger)


def _probe(server, host="127.0.0.1"):
    target = {"host": host, "port": server.port, "server_name": "upstream.lab.test", "verify": False, "timeout": 5}
    results, _summary = probe_targets([target])
    return results[0]


def _exchange(server):
    """The handshake's Outcome: the answer as the probe read it (``http_body``)."""
    spec = build_targets([{"host": "127.0.0.1", "port": server.port, "server_name": "upstream.lab.test",
                           "verify": False, "timeout": 5}], {})[0]
    return hs.handshake(spec, ("127.0.0.1", server.port), Deadline(5))


def _head(length):
    return b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\ncontent-length:  %d \r\n\r\n" % length


def test_a_body_that_comes_after_its_headers_is_read_as_long_as_its_content_length_says():
    pieces = [(0, _head(len(BODY)) + BODY[:10]), (0.05, BODY[10:])]
    with AnsweringServer(pieces, linger=0.5) as server:
        out = _exchange(server)
    assert out.http_status == 400 and out.http_body == _head(len(BODY)) + BODY
    with AnsweringServer(pieces, linger=0.5) as server:
        result = _probe(server)
    assert result["cause"] == "client_cert_required", result


def test_an_answer_whole_by_its_content_length_is_not_read_further():
    # what comes after a whole answer is not the answer's: the probe has stopped reading by then (it read
    # on until the connection closed or 0.2 s passed before, and the trailer came within both)
    trailer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    with AnsweringServer([(0, _head(len(BODY)) + BODY), (0.05, trailer)], linger=0.5) as server:
        out = _exchange(server)
    assert out.http_status == 400 and out.http_body == _head(len(BODY)) + BODY


@pytest.mark.parametrize("data, whole", [
    (_head(3) + b"abc", True),
    (_head(4) + b"abc", False),
    (_head(0), True),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", False),
    (b"HTTP/1.1 200 OK\r\nX-Content-Length: 3\r\n\r\nabc", False),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3", False),
    (b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH:3\r\n\r\nabcdef", True),
])
def test_body_complete_reads_content_length_alone(data, whole):
    assert hs._body_complete(data) is whole


def _ipv6_loopback():
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_an_ipv6_upstream_is_reached_at_the_address_resolved_once():
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
    with AnsweringServer([(0, answer)], host="::1", linger=0.2) as server:
        result = _probe(server, host="::1")
    assert result["ok"] and result["http_status"] == 200, result
    assert result["timing"]["connect_ms"] is not None

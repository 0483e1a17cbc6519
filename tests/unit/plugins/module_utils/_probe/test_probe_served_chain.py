# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_probe.served_chain.fetch, the probe's public way to read a served chain (cert_chain_info's host mode),
against real TLS servers on 127.0.0.1."""
from __future__ import annotations

import socket
import ssl
import threading

import pytest
import trustme

from ansible_collections.tlsops.handshake.plugins.module_utils._chain import source
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import served_chain
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError


class _TlsServer:
    """Answers handshakes on 127.0.0.1 with a leaf and its intermediate until stopped."""

    def __init__(self, maximum_version):
        intermediate = trustme.CA().create_child_ca()
        self.leaf = intermediate.issue_cert("localhost", "127.0.0.1")
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.maximum_version = maximum_version
        self.leaf.configure_cert(self.context)
        self.listener = socket.create_server(("127.0.0.1", 0))
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
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


def test_a_tls12_server_gives_its_whole_chain_in_order():
    with _TlsServer(ssl.TLSVersion.TLSv1_2) as server:
        served = served_chain.fetch("127.0.0.1", server.port, "localhost", 5.0)
    expected = [ssl.PEM_cert_to_DER_cert(blob.bytes().decode()) for blob in server.leaf.cert_chain_pems]
    assert served.failed_at is None and served.error is None
    assert served.ders == expected and len(expected) == 2
    assert served.chain_read == served_chain.ChainRead.FULL
    assert (served.server_name, served.tls_version) == ("localhost", "TLSv1.2")
    assert served.handshakes >= 1 and served.elapsed_ms is not None


def test_nothing_listening_is_a_failed_handshake_not_an_exception():
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    served = served_chain.fetch("127.0.0.1", port, None, 2.0)
    assert served.failed_at == served_chain.FailedAt.HANDSHAKE and served.error and served.ders == []
    with pytest.raises(source.ChainInputError, match=r"^host: no TLS handshake with 127\.0\.0\.1:%d " % port):
        source.fetch_served_chain("127.0.0.1", port, None, 2.0)


@pytest.mark.parametrize("args,message", [
    (("127.0.0.1", 0), "port: 0 is not a valid port; use 1-65535"),
    (("bad host", 443), "host: 'bad host': the label 'bad host' may hold only letters"),
    (("127.0.0.1", 443, "a..b"), "server_name: 'a..b' has an empty label"),
])
def test_bad_parameters_are_named_by_their_key(args, message):
    with pytest.raises(ProbeConfigError) as caught:
        served_chain.fetch(*args)
    assert str(caught.value).startswith(message)
    with pytest.raises(source.ChainInputError) as caught:
        source.fetch_served_chain(*args)
    assert str(caught.value).startswith(message)

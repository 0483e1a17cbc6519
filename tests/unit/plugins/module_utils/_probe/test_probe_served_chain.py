# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_probe.served_chain.fetch, the probe's public way to read a served chain (cert_chain_info's host mode),
against real TLS servers on 127.0.0.1."""
from __future__ import annotations

import socket
import ssl

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._chain import source
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import served_chain
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError
from tests.unit.plugins.module_utils.loopback_tls import LoopbackTlsServer


def test_a_tls12_server_gives_its_whole_chain_in_order():
    with LoopbackTlsServer(ssl.TLSVersion.TLSv1_2) as server:
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

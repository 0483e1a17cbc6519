# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a server name can make the probe send: a real TLS server on loopback records the SNI and the
HTTP request it receives (tests/lab/hostile.py, peer "recorder")."""

from __future__ import annotations

import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common.deadline import Deadline
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import handshake as hs
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError, build_targets

INJECTED = "a\r\nX-Injected: yes"


@pytest.fixture()
def recorder(tmp_path):
    from tests.lab.hostile import HostilePeers

    with HostilePeers(str(tmp_path), hold=10, names=["recorder"]) as peers:
        yield peers


def _received(peers, count, wait=3.0):
    end = time.monotonic() + wait
    while time.monotonic() < end and len(peers.received()) < count:
        time.sleep(0.05)
    return peers.received()


def test_a_valid_name_reaches_the_server_as_sni_and_host(recorder):
    results, _summary = probe_targets([{"host": "127.0.0.1", "port": recorder.port("recorder"),
                                        "server_name": "hostile.lab.test", "ca_file": recorder.ca_file}])
    assert results[0]["cause"] == "ok" and results[0]["http_status"] == 200, results[0]
    seen = _received(recorder, 1)[0]
    assert seen["sni"] == "hostile.lab.test"
    assert "\r\nHost: hostile.lab.test\r\n" in seen["request"]


def test_crlf_in_server_name_is_refused_before_anything_is_sent(recorder):
    """Before: the request carried an extra 'X-Injected: yes' header line and the SNI the raw CR/LF."""
    with pytest.raises(ProbeConfigError, match=r"targets\[0\]\.server_name: .* contains a control character"):
        probe_targets([{"host": "127.0.0.1", "port": recorder.port("recorder"), "server_name": INJECTED,
                        "verify": False}])
    time.sleep(0.5)
    assert recorder.received() == []


def test_request_builder_refuses_crlf_even_without_validation(recorder):
    """Defence in depth: a spec that skipped build_targets still cannot add a header line."""
    spec = build_targets([{"host": "127.0.0.1", "port": recorder.port("recorder"), "verify": False}], {})[0]
    spec["server_name"] = INJECTED
    with pytest.raises(ValueError, match="control character"):
        hs.handshake(spec, ("127.0.0.1", spec["port"]), Deadline(3))
    for seen in _received(recorder, 1, wait=1.0):
        assert "X-Injected" not in seen["request"] and "\n" not in (seen["sni"] or ""), seen
    with pytest.raises(ValueError):
        hs.host_header("a\nb")
    assert hs.host_header("::1") == "[::1]" and hs.host_header("bücher.example") == "xn--bcher-kva.example"

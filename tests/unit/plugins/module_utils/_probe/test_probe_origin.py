# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe carries a target's ``origin`` (where nginx uses it) to its result unchanged, and refuses an
origin that is not a bounded JSON dict with a message naming targets[N].origin."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._probe.run import probe_targets
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ORIGIN_MAX_BYTES, ProbeConfigError, build_targets

ORIGIN = {"upstream": "backend", "proxy_pass": "https://backend/v1/", "kind": "proxy",
          "locations": [{"file": "/etc/nginx/sites/api.conf", "line": 12, "location": "/v1",
                         "server_names": ["api.example.com"], "listen": ["443 ssl"],
                         "proxy_pass": "https://backend/v1/"}],
          "locations_omitted": 0, "note": "ünïcode and any other key pass through"}


@pytest.fixture()
def refusing_port():
    """A loopback port that refuses connections: bound (so no one else takes it) but not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_origin_comes_back_unchanged_and_null_when_not_given(refusing_port):
    targets = [{"host": "127.0.0.1", "port": refusing_port, "name": "with origin", "origin": ORIGIN},
               {"host": "127.0.0.1", "port": refusing_port, "name": "without"},
               "127.0.0.1:%d" % refusing_port]
    results, _summary = probe_targets(targets, {"timeout": 2, "diagnose": False})
    assert [r["cause"] for r in results] == ["connection_refused"] * 3
    assert results[0]["origin"] == ORIGIN and results[0]["target"] == "with origin"
    assert results[1]["origin"] is None and results[2]["origin"] is None


def _nested(depth):
    value = {}
    for _level in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize("origin, needle", [
    (["not", "a", "dict"], "targets[1].origin: expected a dict"),
    ("sites/api.conf:12", "targets[1].origin: expected a dict"),
    ({"file": {1, 2}}, "targets[1].origin: cannot be written as JSON"),
    ({"line": float("nan")}, "targets[1].origin: cannot be written as JSON"),
    ({"lines": {12: "proxy_pass"}}, "targets[1].origin: would not come back unchanged"),
    ({"where": ("a.conf", 12)}, "targets[1].origin: would not come back unchanged"),
    ({"blob": "x" * ORIGIN_MAX_BYTES}, "targets[1].origin: %d bytes as JSON, more than the %d allowed"
     % (ORIGIN_MAX_BYTES + 11, ORIGIN_MAX_BYTES)),
    (_nested(100000), "targets[1].origin: cannot be written as JSON"),
])
def test_a_bad_origin_is_an_error_naming_it(origin, needle):
    with pytest.raises(ProbeConfigError) as err:
        build_targets(["127.0.0.1:1", {"host": "127.0.0.1", "port": 2, "origin": origin}], {})
    assert needle in str(err.value)


def test_an_origin_just_within_the_bound_is_accepted():
    origin = {"blob": "x" * (ORIGIN_MAX_BYTES - 11)}   # {"blob":"..."} is 11 bytes more
    assert build_targets([{"host": "127.0.0.1", "origin": origin}], {})[0]["origin"] is origin

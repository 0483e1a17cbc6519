# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one reading of IP literals and host:port, and the three callers that keep their own port rules."""
from __future__ import annotations

import pathlib
import re

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import check as clock
from ansible_collections.tlsops.handshake.plugins.module_utils._common import net
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import targets
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff

PLUGINS = pathlib.Path(net.__file__).resolve().parents[2]


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", True), ("::1", True), ("[::1]", True), ("fe80::1%eth0", True), ("[fe80::1%eth0]", True),
    ("example.com", False), ("", False), ("1.2.3", False), ("[example.com]", False), ("999.1.1.1", False),
])
def test_is_ip_literal(host, expected):
    assert net.is_ip_literal(host) is expected


@pytest.mark.parametrize("text,expected", [
    ("example.com", ("example.com", None)),
    ("example.com:8443", ("example.com", "8443")),
    (" example.com:8443 ", ("example.com", "8443")),
    ("example.com:", ("example.com", "")),
    ("example.com:https", ("example.com", "https")),
    ("[::1]:443", ("::1", "443")),
    ("[::1]", ("::1", None)),
    ("[::1]:", ("::1", "")),
    ("::1", ("::1", None)),
    ("2001:db8::1", ("2001:db8::1", None)),
    (":443", ("", "443")),
])
def test_split_host_port(text, expected):
    assert net.split_host_port(text) == expected


@pytest.mark.parametrize("text,host", [("[::1", "::1"), ("[::1]443", "::1"), ("[::1]x:443", "::1")])
def test_split_host_port_refuses_a_misused_bracket(text, host):
    with pytest.raises(net.HostPortError) as caught:
        net.split_host_port(text)
    assert caught.value.host == host and repr(text) in str(caught.value)


def test_each_caller_keeps_its_port_rules():
    # tls_probe: default 443, a misused '[' names the target
    spec = targets.build_targets(["[::1]:8443", "[::1]"], {})
    assert [(s["host"], s["port"]) for s in spec] == [("::1", 8443), ("::1", 443)]
    with pytest.raises(targets.ProbeConfigError, match=r"targets\[0\]: '\[::1' has an unclosed '\['"):
        targets.build_targets(["[::1"], {})
    with pytest.raises(targets.ProbeConfigError, match=r"targets\[0\]: '\[::1\]x' has 'x' after '\]'"):
        targets.build_targets(["[::1]x"], {})
    # nginx: a port that is not a number is None, a stray '[' is dropped
    assert eff.host_and_port("[::1]:8443") == ("::1", 8443)
    assert eff.host_and_port("backend:http") == ("backend", None)
    assert eff.host_and_port("[::1") == ("::1", None)
    # time_sync_info: default 123, anything odd after ']' is a syntax error naming the server
    assert clock.parse_server("[::1]", 0)[:2] == ("::1", 123)
    assert clock.parse_server("ntp.example:1123", 1)[:2] == ("ntp.example", 1123)
    with pytest.raises(clock.ClockConfigError, match=r"servers\[2\]: '\[::1\]x' is not host"):
        clock.parse_server("[::1]x", 2)


def test_one_copy_of_the_ip_literal_rule():
    """Before #11 three modules each had their own is_ip_literal (and their own bugs to fix three times)."""
    defining = sorted(str(p.relative_to(PLUGINS)) for p in PLUGINS.rglob("*.py")
                      if re.search(r"^def _?is_ip_literal\(", p.read_text(encoding="utf-8"), re.M))
    assert defining == ["module_utils/_common/net.py"]


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST.", True), ("app.localhost", True), ("10.0.0.7", False), ("::ffff:10.0.0.7", False),
    ("localhost.example.com", False), ("backend", False), ("[fe80::1%eth0]", False), ("", False),
])
def test_loopback_hosts(host, loopback):
    assert net.is_loopback(host) is loopback


def test_the_network_namespace_names_this_kernel_and_namespace():
    """Linux: boot id (random per boot) / inode of /proc/self/ns/net; the same in one process, every call."""
    where = net.network_namespace()
    assert re.match(r"^[0-9a-f-]{36}/[0-9]+$", where), where
    assert where == net.network_namespace()
    assert where.endswith("/%d" % pathlib.Path("/proc/self/ns/net").stat().st_ino)

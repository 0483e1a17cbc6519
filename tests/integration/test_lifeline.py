# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module ends when the Ansible run that started it is killed (plugins/module_utils/_common/lifeline.py).

Each module is started by real ``ansible`` (connection local) on work that would last minutes, then
the ``ansible`` processes are killed.  The module's stdout then has no reader; it must notice and
exit within seconds instead of working on for nobody, holding connections to upstreams.

* tls_probe / cert_chain_info: a peer that floods HelloRequest records (OpenSSL spins in C, the GIL
  released) or stalls, with ``timeout: 300``;
* time_sync_info: ``compare_url`` on a server that accepts and never answers, ``timeout: 60``;
* handshake_log_info: a 1 TiB sparse file as the log (no disk used);
* nginx_tls_info: ``nginx_path`` names a stand-in for nginx that never answers (a shell script that
  sleeps): a real nginx that hangs in ``nginx -V`` cannot be made here; this script is the one thing
  in these tests that is not the real thing.
"""

from __future__ import annotations

import pytest

from tests.integration.hostile_http import HostileHttp
from tests.integration.lifeline import run_then_kill_ansible

MAX_LIFE = 8.0          # the lifeline polls every second; slack for a loaded 2-core machine
QUIET_CLOCK = {"servers": [], "samples": 1, "sample_interval": 0, "proc_path": "/nonexistent/tlsops",
               "chronyc_path": "/nonexistent/tlsops", "timedatectl_path": "/nonexistent/tlsops",
               "ntpq_path": "/nonexistent/tlsops", "chrony_config": "/nonexistent/tlsops",
               "timesyncd_config": "/nonexistent/tlsops", "ntp_config": "/nonexistent/tlsops"}


def _assert_ends(module, args):
    lived = run_then_kill_ansible(module, args)
    assert lived is not None, "%s still ran 20 s after Ansible was killed" % module
    assert lived < MAX_LIFE, (module, lived)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("peer", ["hello_request_flood", "stall"])
def test_tls_probe_ends_when_ansible_is_killed(hostile, peer):
    _assert_ends("tls_probe", {"targets": [{"host": "127.0.0.1", "port": hostile.port(peer),
                                            "server_name": "hostile.lab.test"}], "timeout": 300})


@pytest.mark.timeout(180)
def test_cert_chain_info_host_mode_ends_when_ansible_is_killed(hostile):
    _assert_ends("cert_chain_info", {"host": "127.0.0.1", "port": hostile.port("hello_request_flood"),
                                     "server_name": "hostile.lab.test", "timeout": 300})


@pytest.mark.timeout(180)
def test_time_sync_info_ends_when_ansible_is_killed():
    with HostileHttp("silent") as server:
        _assert_ends("time_sync_info", dict(QUIET_CLOCK, timeout=60, compare_url=server.url))


@pytest.mark.timeout(180)
def test_handshake_log_info_ends_when_ansible_is_killed(tmp_path):
    endless = tmp_path / "error.log"
    with open(str(endless), "wb") as handle:
        handle.truncate(1 << 40)
    _assert_ends("handshake_log_info", {"paths": [str(endless)], "rotated": False})


@pytest.mark.timeout(180)
def test_nginx_tls_info_ends_when_ansible_is_killed(tmp_path):
    hung = tmp_path / "nginx"
    hung.write_text("#!/bin/sh\nexec sleep 600\n")
    hung.chmod(0o755)
    _assert_ends("nginx_tls_info", {"nginx_path": str(hung), "timeout": 600})

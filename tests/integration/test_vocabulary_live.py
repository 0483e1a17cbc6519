# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vocabulary against a live nginx 1.22 and a live tls_probe, inside an empty network namespace
(only loopback: nothing can leave the machine)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs import lines
from tests.integration.helpers import run_module
from tests.integration.nginx_reasons import ROUTES, UPSTREAMS

HERE = os.path.dirname(os.path.abspath(__file__))
pytestmark = pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0,
                                reason="needs unshare -n as root (routes inside the namespace)")


def test_live_nginx_logs_each_client_and_connect_reason(tmp_path):
    from tests.unit.plugins.module_utils._common.test_causes_reasons import REAL_CLIENTS, REAL_UPSTREAMS
    proc = subprocess.run(["unshare", "-n", sys.executable, "-W", "ignore", os.path.join(HERE, "nginx_reasons.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    seen = {}
    with open(str(tmp_path / "error.log"), encoding="utf-8") as fh:
        for parsed in filter(None, (lines.parse(line) for line in fh if "[notice]" not in line)):
            _time, _level, message, client, upstream = parsed
            code, _f, _a, side, _ssl = lines.classify(message)
            key = "/" + upstream.split("/", 3)[3] if upstream else client
            seen[key] = (side, code)
    want = dict((k, ("client", c)) for k, c in REAL_CLIENTS.items())
    want.update((k, ("upstream", c)) for k, c in REAL_UPSTREAMS.items())
    assert seen == want


@pytest.mark.parametrize("path", sorted(UPSTREAMS))
def test_tls_probe_names_the_same_network_causes(path):
    address, cause = UPSTREAMS[path]
    host, port = address.rsplit(":", 1)
    setup = "; ".join(ROUTES) + '; exec "$@"'
    res = run_module("tls_probe", {"targets": [{"host": host, "port": int(port), "timeout": 5}]},
                     prefix=["unshare", "-n", "sh", "-c", setup, "sh"], timeout=120)
    r = res["results"][0]
    assert r["cause"] == cause, r
    assert address in r["nginx_error"] and r["fix"], r

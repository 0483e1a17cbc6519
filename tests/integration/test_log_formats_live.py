# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""handshake_log_info's ``format`` and ``journal_units`` on output made now by the real tools.

* syslog: this host's nginx logs with ``error_log syslog:server=unix:SOCK`` into a Python unix-socket
  receiver; a request through it to a plain-HTTP upstream makes a real handshake failure, and the
  module (through Ansible) reads the datagrams.
* journald, rsyslog and CRI: tests/integration/log_formats_capture.py in two podman containers (named
  with a run id, removed by name), then the engine on what they wrote, and the engine INSIDE the
  systemd container reading the real journal with ``journal_units`` (journalctl -o json).
  Skipped, saying why, without podman, root or the molecule image.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import read_logs
from tests.integration import log_formats_capture as capture
from tests.integration.helpers import run_module
from tests.lab.nginx import NGINX_BIN

FORMATS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "unit", "plugins",
                           "module_utils", "fixtures", "logs", "formats")

SYSLOG_CONF = """
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log syslog:server=unix:{dir}/syslog.sock,tag=nginx info;
events {{ worker_connections 32; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{ listen 127.0.0.1:{plain}; return 200 "plain\\n"; }}
    server {{ listen 127.0.0.1:{proxy}; location / {{ proxy_pass https://127.0.0.1:{plain}; }} }}
}}
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Receiver(threading.Thread):
    """nginx's datagrams, one a line, until stopped (at most 10000, each wait bounded)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.settimeout(0.2)
        self.datagrams, self.stop = [], threading.Event()

    def run(self):
        for _turn in range(10000):
            if self.stop.is_set():
                break
            try:
                self.datagrams.append(self.sock.recv(65536))
            except socket.timeout:
                continue


def test_nginx_syslog_datagrams_from_a_unix_socket(tmp_path):
    if not os.access(NGINX_BIN, os.X_OK):
        pytest.skip("no nginx at %s (make deps installs it)" % NGINX_BIN)
    os.makedirs(str(tmp_path / "tmp"))
    plain, proxy = _free_port(), _free_port()
    (tmp_path / "nginx.conf").write_text(SYSLOG_CONF.format(dir=tmp_path, plain=plain, proxy=proxy,
                                                            user="user root;" if os.geteuid() == 0 else ""))
    receiver = _Receiver(str(tmp_path / "syslog.sock"))
    receiver.start()
    proc = subprocess.Popen([NGINX_BIN, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e",
                             str(tmp_path / "init.log"), "-g", "daemon off;"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        status = None
        while status is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/" % proxy, timeout=5)
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.1)
        assert status == 502
        deadline = time.monotonic() + 5
        while not any(b"wrong version number" in d for d in receiver.datagrams) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        receiver.stop.set()
        receiver.join(timeout=5)
        receiver.sock.close()
    failure = [d for d in receiver.datagrams if b"wrong version number" in d]
    assert failure and failure[0].startswith(b"<187>"), receiver.datagrams      # local7.err, nginx's default
    path = tmp_path / "datagrams.log"
    path.write_bytes(b"\n".join(receiver.datagrams) + b"\n")
    for fmt in ("auto", "syslog"):
        res = run_module("handshake_log_info", {"paths": [str(path)], "rotated": False, "format": fmt})
        assert not res["failed"], res
        assert res["formats"] == {"syslog": 1} and res["unparsed"]["count"] == 0
        assert res["events"]["by_upstream"]["127.0.0.1:%d" % plain]["causes"] == {"not_tls": 1}
    # read as nginx's own file format, the datagrams are not nginx lines
    res = run_module("handshake_log_info", {"paths": [str(path)], "rotated": False, "format": "nginx"})
    assert res["events"]["total"] == 0 and res["unparsed"]["count"] == 1


def _causes(result):
    return dict((code, group["count"]) for code, group in result["events"]["by_cause"].items())


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    reason = capture.unavailable()
    if reason:
        pytest.skip("podman capture: %s" % reason)
    out = str(tmp_path_factory.mktemp("log-formats"))
    capture.capture(out, engine=True)
    return out


@pytest.mark.parametrize("name", ["journal-json.log", "journal-short.log", "journal-short-iso.log",
                                  "journal-short-precise.log", "rsyslog-traditional.log", "rsyslog-rfc3339.log",
                                  "nginx-syslog-datagrams.log", "cri-k8s-file.log", "nginx-file.log"])
def test_a_fresh_capture_reads_as_the_committed_one(captured, name):
    fresh = read_logs(paths=[os.path.join(captured, name)], rotated=False)
    committed = read_logs(paths=[os.path.join(FORMATS_DIR, name)], rotated=False)
    assert _causes(fresh) == _causes(committed) and fresh["formats"] == committed["formats"]
    assert fresh["unparsed"]["count"] == 0


def test_journal_units_reads_the_real_journal_inside_the_container(captured):
    with open(os.path.join(captured, "journal-units-result.json")) as fh:
        res = json.load(fh)
    from_file = read_logs(paths=[os.path.join(captured, "journal-json.log")], rotated=False)
    assert _causes(res) == _causes(from_file) and res["formats"] == {"journal_json": 15}
    assert res["journal"]["rc"] == 0 and res["journal"]["truncated"] is False
    assert res["journal"]["command"][-1] == "--unit=nginx.service" and res["paths_from"] == "journal"

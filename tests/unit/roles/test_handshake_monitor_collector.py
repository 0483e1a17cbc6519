# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The handshake_monitor collector against real TLS servers on loopback, a real log file, and its
output read back with prometheus_client's text parser (the format node_exporter's textfile collector reads)."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.collection_path import COLLECTIONS_ROOT, REPO_ROOT, ensure_link
from tests.lab.pki import LabPKI

ensure_link()

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes  # noqa: E402
from ansible_collections.tlsops.handshake.plugins.module_utils._monitor import collector, logtail, targets  # noqa: E402
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import run as probe_run  # noqa: E402

SCRIPT = os.path.join(REPO_ROOT, "roles", "handshake_monitor", "files", "tlsops_handshake_monitor.py")
LOG_LINE = ('2026/12/01 21:32:49 [error] 3070#3070: *2 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::'
            'wrong version number) while SSL handshaking to upstream, client: 127.0.0.1, server: proxy.lab.test, '
            'request: "GET / HTTP/1.1", upstream: "https://127.0.0.1:37019/", host: "127.0.0.1:35457"\n')
EXPIRED_LINE = ('2026/12/01 21:32:50 [error] 3070#3070: *3 upstream SSL certificate verify error: (10:certificate has '
                'expired) while SSL handshaking to upstream, client: 127.0.0.1, server: proxy.lab.test, request: '
                '"GET / HTTP/1.1", upstream: "https://127.0.0.1:37020/", host: "127.0.0.1:35457"\n')


class Servers(object):
    """TLS servers on 127.0.0.1 with lab certificates, and one that accepts TCP and never answers."""

    def __init__(self, pki):
        self.socks, self.held = [], []
        self.stop = threading.Event()
        self.healthy = self._tls(pki.leaf("healthy", ["healthy.lab.test"]))
        self.expired = self._tls(pki.leaf("expired", ["expired.lab.test"], days_valid=(-30, -2)))
        self.silent = self._listen()
        self.silent_thread = threading.Thread(target=self._hold, daemon=True)
        self.silent_thread.start()

    def _listen(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.settimeout(0.2)
        self.socks.append(sock)
        return sock

    def _tls(self, pair):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*pair)
        sock = self._listen()

        def serve():
            while not self.stop.is_set():
                try:
                    conn, _addr = sock.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                try:
                    conn.settimeout(3)
                    with ctx.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(4096)
                        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except (OSError, ssl.SSLError):
                    conn.close()

        threading.Thread(target=serve, daemon=True).start()
        return sock

    def _hold(self):
        while not self.stop.is_set():
            try:
                conn, _addr = self.silent.accept()
                self.held.append(conn)      # never answers the ClientHello
            except socket.timeout:
                continue
            except OSError:
                return

    def port(self, sock):
        return sock.getsockname()[1]

    def close(self):
        self.stop.set()
        for sock in self.socks + self.held:
            sock.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pki = LabPKI(str(tmp_path_factory.mktemp("pki")))
    servers = Servers(pki)
    servers.ca_file = pki.root_file
    yield servers
    servers.close()


def _config(tmp_path, lab, extra, **more):
    textfile, state = tmp_path / "textfile", tmp_path / "state"
    textfile.mkdir(exist_ok=True)
    state.mkdir(exist_ok=True)
    config = {"engine_path": COLLECTIONS_ROOT, "textfile_dir": str(textfile), "state_dir": str(state),
              "proxy": "proxy1", "targets_file": str(tmp_path / "targets.json"), "extra_targets": extra,
              "refresh_from_nginx": False, "probe": {"timeout": 2.0, "ca_file": lab.ca_file, "http_request": False},
              "deadline": 12, "error_logs": [], "clock": None}
    config.update(more)
    return config


def _families(path):
    with open(path, encoding="utf-8") as handle:
        return {f.name: f for f in text_string_to_metric_families(handle.read())}


def _samples(families, name):
    """Samples named ``name`` (prometheus_client names a counter's family without its ``_total``)."""
    family = families.get(name) or families[name[:-len("_total")]]
    return [(s.labels, s.value) for s in family.samples if s.name == name]


def test_metrics_of_real_upstreams_parse_with_cause_labels(tmp_path, lab):
    healthy = {"host": "127.0.0.1", "port": lab.port(lab.healthy), "server_name": "healthy.lab.test", "name": "app"}
    expired = {"host": "127.0.0.1", "port": lab.port(lab.expired), "server_name": "expired.lab.test", "name": "old"}
    silent = {"host": "127.0.0.1", "port": lab.port(lab.silent), "server_name": "silent.lab.test", "name": "stuck"}
    (tmp_path / "targets.json").write_text(json.dumps([healthy, expired]))
    config = _config(tmp_path, lab, [silent])
    started = time.monotonic()
    errors = collector.run(config)
    took = time.monotonic() - started
    assert errors == [], errors
    assert took < config["deadline"], "the run outlived its deadline: %.1f s" % took

    families = _families(os.path.join(config["textfile_dir"], collector.METRICS_FILE))
    up = {labels["upstream"]: (labels, value) for labels, value in _samples(families, "tlsops_handshake_up")}
    assert up["app"][1] == 1 and up["old"][1] == 0 and up["stuck"][1] == 0
    assert up["app"][0]["proxy"] == "proxy1" and up["app"][0]["server_name"] == "healthy.lab.test"
    failures = {labels["upstream"]: labels["cause"] for labels, value in _samples(families, "tlsops_handshake_failure")}
    assert failures == {"old": "cert_expired", "stuck": "handshake_timeout"}
    assert all(cause in causes.CAUSE_CODES for cause in failures.values())
    versions = {labels["upstream"]: labels["version"] for labels, _value in _samples(families, "tlsops_tls_version_info")}
    assert versions["app"] == "TLSv1.3"
    days = {labels["upstream"]: value for labels, value in _samples(families, "tlsops_cert_days_left")}
    assert 88 <= days["app"] <= 90 and days["old"] < 0
    not_after = {labels["upstream"]: labels for labels, value in _samples(families, "tlsops_cert_not_after_timestamp_seconds")}
    assert len(not_after["app"]["serial"]) >= 2
    duration = dict((labels["upstream"], value) for labels, value in _samples(families, "tlsops_handshake_duration_seconds"))
    assert 0 < duration["app"] < 2
    assert families["tlsops_monitor_run_errors"].type == "counter"
    assert _samples(families, "tlsops_monitor_run_errors_total")[0][1] == 0
    assert abs(_samples(families, "tlsops_monitor_last_run_timestamp_seconds")[0][1] - time.time()) < 60
    leftovers = [n for n in os.listdir(config["textfile_dir"]) if n != collector.METRICS_FILE]
    assert leftovers == [], "temporary files left next to the metrics: %s" % leftovers


def test_log_counts_new_lines_only_and_survives_rotation(tmp_path, lab):
    log = tmp_path / "error.log"
    log.write_text(LOG_LINE * 5)                      # history: not counted
    config = _config(tmp_path, lab, [], error_logs=[str(log)], targets_file=None,
                     extra_targets=[{"host": "127.0.0.1", "port": lab.port(lab.healthy), "server_name": "healthy.lab.test"}])

    def totals():
        collector.run(config)
        families = _families(os.path.join(config["textfile_dir"], collector.METRICS_FILE))
        return {(lb["side"], lb["cause"]): v for lb, v in _samples(families, "tlsops_log_handshake_failures_total")}

    assert totals() == {}
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(LOG_LINE * 2 + EXPIRED_LINE + LOG_LINE[:40])   # the half-written line waits
    assert totals() == {("upstream", "not_tls"): 2, ("upstream", "cert_expired"): 1}
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(LOG_LINE[40:] + EXPIRED_LINE)
    # rotation: the old file (with two more lines) moves to .1, a new one starts
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(EXPIRED_LINE)
    os.rename(log, str(log) + ".1")
    log.write_text(LOG_LINE)
    assert totals() == {("upstream", "not_tls"): 4, ("upstream", "cert_expired"): 3}
    log.write_text("")                                # truncated (copytruncate)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(EXPIRED_LINE)
    assert totals() == {("upstream", "not_tls"): 4, ("upstream", "cert_expired"): 4}


def test_refused_log_is_a_run_error_not_a_crash(tmp_path, lab):
    fifo = tmp_path / "error.log"
    os.mkfifo(str(fifo))
    config = _config(tmp_path, lab, [{"host": "127.0.0.1", "port": lab.port(lab.healthy), "server_name": "healthy.lab.test"}],
                     error_logs=[str(fifo)], targets_file=None)
    collector.run(config)       # the first run only records where the log ends
    errors = collector.run(config)
    assert len(errors) == 1 and "error_logs" in errors[0] and str(fifo) in errors[0]
    families = _families(os.path.join(config["textfile_dir"], collector.METRICS_FILE))
    assert _samples(families, "tlsops_monitor_run_errors_total")[0][1] == 1
    assert [v for _labels, v in _samples(families, "tlsops_handshake_up")] == [1]


def test_targets_from_nginx_dump_follow_upstream_blocks():
    dump = ("# configuration file /etc/nginx/nginx.conf:\nhttp { upstream backend { server 10.0.0.7:8443; server 10.0.0.8:8443; }\n"
            "server { location / { proxy_pass https://backend; } location /b { proxy_pass https://api.example.com:9443/x; }\n"
            "location /c { proxy_pass http://plain; } location /d { proxy_pass https://$host; }\n"
            "location /g { grpc_pass grpcs://grpc.example.com; } } }\n")
    found = targets.targets_from_dump(dump)
    assert [t["host"] for t in found] == ["10.0.0.7:8443", "10.0.0.8:8443", "api.example.com:9443", "grpc.example.com:443"]
    assert found[0]["name"] == "backend (10.0.0.7:8443)" and found[0]["server_name"] == "backend"
    assert found[3]["alpn"] == ["h2"]
    merged = targets.merge([{"host": "10.0.0.7", "port": 8443, "name": "backend (10.0.0.7:8443)"}], [], found)
    assert [t["host"] for t in merged] == ["10.0.0.7", "10.0.0.8:8443", "api.example.com:9443", "grpc.example.com:443"]


def test_host_script_runs_with_the_role_config(tmp_path, lab):
    config = _config(tmp_path, lab, [{"host": "127.0.0.1", "port": lab.port(lab.expired), "server_name": "expired.lab.test"}],
                     targets_file=None)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = dict(os.environ, PYTHONPATH="")
    done = subprocess.run([sys.executable, SCRIPT, "--config", str(path)], capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    families = _families(os.path.join(config["textfile_dir"], collector.METRICS_FILE))
    assert [lb["cause"] for lb, _value in _samples(families, "tlsops_handshake_failure")] == ["cert_expired"]


def test_logtail_first_sight_starts_at_the_end(tmp_path):
    log = tmp_path / "e.log"
    log.write_text(LOG_LINE)
    totals = {}
    saved = logtail.read_new_lines(str(log), None, totals)
    assert saved["offset"] == len(LOG_LINE) and totals == {}


def test_one_deadline_for_the_run_and_the_late_targets_are_written_down(tmp_path, lab):
    silent = [{"host": "127.0.0.1", "port": lab.port(lab.silent), "server_name": "s%d.lab.test" % i, "name": "stuck%d" % i}
              for i in range(4)]
    config = _config(tmp_path, lab, silent, targets_file=None, deadline=2, concurrency=1)
    started = time.monotonic()
    errors = collector.run(config)
    took = time.monotonic() - started
    assert took < 4, "the run took %.1f s with a 2 s deadline" % took
    assert len(errors) == 1 and "not finished before the run's deadline" in errors[0]
    families = _families(os.path.join(config["textfile_dir"], collector.METRICS_FILE))
    assert sorted(lb["upstream"] for lb, v in _samples(families, "tlsops_handshake_up") if v == 0) == \
        ["stuck0", "stuck1", "stuck2", "stuck3"]
    assert {lb["cause"] for lb, _value in _samples(families, "tlsops_handshake_failure")} == {"handshake_timeout"}
    assert _samples(families, "tlsops_monitor_run_errors_total")[0][1] == 1


@pytest.mark.skipif(not os.access("/usr/sbin/nginx", os.X_OK), reason="nginx not installed (make deps)")
def test_new_upstream_in_the_real_nginx_config_is_probed(tmp_path, lab):
    conf = tmp_path / "nginx.conf"
    conf.write_text("error_log %s/error.log;\npid %s/nginx.pid;\nevents {}\nhttp {\n  upstream backend { server 127.0.0.1:%d; }\n"
                    "  server { listen 127.0.0.1:18443; location / { proxy_pass https://backend; } }\n}\n"
                    % (tmp_path, tmp_path, lab.port(lab.healthy)))
    config = _config(tmp_path, lab, [], targets_file=None, refresh_from_nginx=True, nginx_path="/usr/sbin/nginx",
                     nginx_config=str(conf))
    assert collector.run(config) == []
    families = _families(os.path.join(config["textfile_dir"], collector.METRICS_FILE))
    assert [(lb["upstream"], lb["server_name"], v) for lb, v in _samples(families, "tlsops_handshake_up")] == \
        [("backend (127.0.0.1:%d)" % lab.port(lab.healthy), "backend", 1)]


def test_a_run_shares_one_context_between_targets_with_the_same_settings(tmp_path, lab, monkeypatch):
    """One trust-store load per run, not one per target (issue #15: the system store costs ~40 ms a load).

    CallShared is wrapped only to see the instance the run makes; every probe is real."""
    made = []

    class Recorded(probe_run.CallShared):
        def __init__(self):
            super().__init__()
            made.append(self)

    monkeypatch.setattr(probe_run, "CallShared", Recorded)
    healthy = [{"host": "127.0.0.1", "port": lab.port(lab.healthy), "server_name": "healthy.lab.test", "name": "h%d" % i}
               for i in range(6)]
    config = _config(tmp_path, lab, healthy, targets_file=None)
    assert collector.run(config) == []
    families = _families(os.path.join(config["textfile_dir"], collector.METRICS_FILE))
    assert [v for _lb, v in _samples(families, "tlsops_handshake_up")] == [1.0] * 6
    assert len(made) == 1 and made[0].contexts.built == 1

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real nginx reverse proxy in front of each lab upstream: the error line
nginx itself logs must be the one tls_probe predicts in ``nginx_error``."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.helpers import REPO_ROOT, probe_args, run_module, scenarios as lab_scenarios

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason="nginx is not installed")


def proxy_directives(lab, name):
    """nginx directives equivalent to the probe parameters tls_probe uses."""
    p = probe_args(lab, name)
    lines = ["proxy_ssl_protocols %s;" % " ".join(p.get("protocols") or ["TLSv1.2", "TLSv1.3"])]
    if p.get("ciphers"):
        lines.append("proxy_ssl_ciphers %s;" % p["ciphers"])
    if p.get("groups"):
        lines.append("proxy_ssl_conf_command Groups %s;" % ":".join(p["groups"]))
    if p.get("sigalgs"):
        lines.append("proxy_ssl_conf_command SignatureAlgorithms %s;" % ":".join(p["sigalgs"]))
    name = p.get("server_name")
    if name:
        lines.append("proxy_ssl_name %s;" % name)
    lines.append("proxy_ssl_server_name %s;" % ("on" if p.get("sni", True) and name else "off"))
    if p.get("verify", True):
        lines += ["proxy_ssl_verify on;", "proxy_ssl_trusted_certificate %s;" % p["ca_file"],
                  "proxy_ssl_verify_depth %d;" % (p["verify_depth"] if p.get("verify_depth") is not None else 100)]
    if p.get("client_cert"):
        lines += ["proxy_ssl_certificate %s;" % p["client_cert"], "proxy_ssl_certificate_key %s;" % p["client_key"]]
    lines += ["proxy_connect_timeout 3s;", "proxy_read_timeout 3s;", "proxy_next_upstream off;"]
    return lines


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def proxy(lab):
    scenarios = [dict(s, name=n) for n, s in lab_scenarios(lab) if s.get("nginx_reproducible")]
    workdir = os.path.join(REPO_ROOT, "build", "proxy-pytest-%d" % os.getpid())
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(os.path.join(workdir, "logs"))
    port = _free_port()
    locations = []
    for s in scenarios:
        body = "\n            ".join(proxy_directives(lab, s["name"]))
        locations.append("        location = /s/%s {\n            proxy_pass https://%s:%d;\n            %s\n        }"
                         % (s["name"], s["host"], s["port"], body))
    conf = """
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/logs/error.log info;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy; fastcgi_temp_path %(d)s/fcgi;
    uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
    server {
        listen 127.0.0.1:%(port)d;
%(locations)s
    }
}
""" % {"d": workdir, "port": port, "locations": "\n".join(locations)}
    conf_path = os.path.join(workdir, "nginx.conf")
    with open(conf_path, "w") as fh:
        fh.write(conf)
    subprocess.run([NGINX, "-p", workdir, "-c", conf_path, "-t", "-q"], check=True, capture_output=True)
    subprocess.run([NGINX, "-p", workdir, "-c", conf_path], check=True, capture_output=True)
    try:
        for _attempt in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        responses = {}

        def fetch(s):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/s/%s" % (port, s["name"]), timeout=15) as r:
                    return s["name"], r.status, r.read(4096)
            except urllib.error.HTTPError as e:
                return s["name"], e.code, e.read(4096)

        with ThreadPoolExecutor(max_workers=16) as pool:
            for name, status, body in pool.map(fetch, scenarios):
                responses[name] = (status, body)
        time.sleep(0.5)  # nginx writes the log line as the request finishes
        with open(os.path.join(workdir, "logs", "error.log")) as fh:
            log = fh.read()
        yield scenarios, responses, log
    finally:
        subprocess.run([NGINX, "-p", workdir, "-c", conf_path, "-s", "stop"], capture_output=True, check=False)
        for _attempt in range(50):
            if not os.path.exists(os.path.join(workdir, "nginx.pid")):
                break
            time.sleep(0.1)
        shutil.rmtree(workdir, ignore_errors=True)


def _substance(text):
    """The part that says what failed: OpenSSL's extra data after the reason
    (":No ciphers enabled for max supported SSL/TLS version") is not exposed by
    Python's ssl, and the prefix/suffix of the log line is context."""
    text = re.sub(r"^.*?\*\d+ ", "", text).split(", client:")[0]
    return re.sub(r"(SSL routines::[a-z0-9 ,/_.-]+):[A-Z][^)]*\)", r"\1)", text)


def _lines_for(log, name):
    return [line for line in log.splitlines() if 'request: "GET /s/%s HTTP' % name in line]


def test_nginx_logs_what_the_probe_predicts(lab, proxy):
    scenarios, responses, log = proxy
    res = run_module("tls_probe", {"targets": [probe_args(lab, s["name"]) for s in scenarios]})
    mismatches = {}
    for s, r in zip(scenarios, res["results"]):
        lines = _lines_for(log, s["name"])
        status, body = responses[s["name"]]
        if not lines:
            # nginx proxies the upstream's own refusal (ssl_verify_client answers 400): no error line.
            if r["cause"] == "client_cert_required" and status == 400 and b"No required SSL certificate" in body:
                continue
            mismatches[s["name"]] = ("no nginx error line (HTTP %s)" % status, r["nginx_error"])
            continue
        if not any(_substance(r["nginx_error"]) == _substance(line) for line in lines):
            mismatches[s["name"]] = (lines, r["nginx_error"])
    assert not mismatches, "\n".join("%s:\n  nginx: %s\n  probe: %s" % (k, v[0], v[1]) for k, v in mismatches.items())


def test_nginx_returns_502_for_handshake_failures(proxy):
    scenarios, responses, _log = proxy
    for s in scenarios:
        status = responses[s["name"]][0]
        if s["expected_cause"] in ("connect_timeout", "handshake_timeout"):
            assert status == 504, (s["name"], status)
        elif s["expected_cause"] != "client_cert_required":
            assert status == 502, (s["name"], status)


def test_probe_agrees_with_nginx_1_22_default_protocols(lab):
    """nginx 1.22 offers TLSv1-TLSv1.2 upstream by default: a TLS1.3-only upstream fails."""
    res = run_module("tls_probe", {"targets": [probe_args(lab, "tls13_only", protocols=["TLSv1", "TLSv1.1", "TLSv1.2"])]})
    r = res["results"][0]
    assert r["cause"] == "protocol_mismatch", r
    assert re.search(r"alert protocol version|unsupported protocol", r["nginx_error"])

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real nginx reverse proxy in front of each lab upstream: the error line
nginx itself logs must be the one tls_probe predicts in ``nginx_error``."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.helpers import probe_args, run_module, scenarios as lab_scenarios


@pytest.fixture(scope="module")
def proxied(lab):
    """Send one request per reproducible scenario through the lab's nginx reverse proxy (configured
    like each scenario's probe) and return nginx's own error log."""
    names = [n for n, s in lab_scenarios(lab) if s.get("nginx_reproducible")]
    proxy = lab.info["proxy"]

    def fetch(name):
        try:
            with urllib.request.urlopen(proxy["url"] + name, timeout=15) as r:
                return name, r.status, r.read(4096)
        except urllib.error.HTTPError as e:
            return name, e.code, e.read(4096)

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = {name: (status, body) for name, status, body in pool.map(fetch, names)}
    time.sleep(0.5)  # nginx writes the log line as the request finishes
    with open(proxy["error_log"]) as fh:
        log = fh.read()
    return names, responses, log


def _substance(text):
    """The part that says what failed: OpenSSL's extra data after the reason
    (":No ciphers enabled for max supported SSL/TLS version") is not exposed by
    Python's ssl, and the prefix/suffix of the log line is context."""
    text = re.sub(r"^.*?\*\d+ ", "", text).split(", client:")[0]
    return re.sub(r"(SSL routines::[a-z0-9 ,/_.-]+):[A-Z][^)]*\)", r"\1)", text)


def _lines_for(log, name):
    return [line for line in log.splitlines() if 'request: "GET /%s HTTP' % name in line]


def test_nginx_logs_what_the_probe_predicts(lab, proxied):
    names, responses, log = proxied
    assert len(names) >= 25
    res = run_module("tls_probe", {"targets": [probe_args(lab, n) for n in names]})
    mismatches = {}
    for name, r in zip(names, res["results"]):
        lines = _lines_for(log, name)
        if not lines:
            mismatches[name] = ("no nginx error line (HTTP %s)" % responses[name][0], r["nginx_error"])
            continue
        if any(_substance(r["nginx_error"]) == _substance(line) for line in lines):
            continue
        # a race the lab documents (the banner can reach nginx before its ClientHello goes out)
        alternatives = (lab.scenarios[name].get("nginx_log") or {}).get("alternatives") or []
        if not any(_substance(alt) == _substance(line) for alt in alternatives for line in lines):
            mismatches[name] = (lines, r["nginx_error"])
    assert not mismatches, "\n".join("%s:\n  nginx: %s\n  probe: %s" % (k, v[0], v[1]) for k, v in mismatches.items())


def test_nginx_returns_502_for_handshake_failures(lab, proxied):
    names, responses, _log = proxied
    for name in names:
        status, cause = responses[name][0], lab.scenarios[name]["expected_cause"]
        if cause in ("connect_timeout", "handshake_timeout"):
            assert status == 504, (name, status)
        elif cause != "client_cert_required":
            assert status == 502, (name, status)


def test_probe_agrees_with_nginx_1_22_default_protocols(lab):
    """nginx 1.22 offers TLSv1-TLSv1.2 upstream by default: a TLS1.3-only upstream fails."""
    res = run_module("tls_probe", {"targets": [probe_args(lab, "tls13_only", protocols=["TLSv1", "TLSv1.1", "TLSv1.2"])]})
    r = res["results"][0]
    assert r["cause"] == "protocol_mismatch", r
    assert re.search(r"alert protocol version|unsupported protocol", r["nginx_error"])

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tls_policy role's read-only scan (module tls_policy_scan, engine _nginx/policy_scan.py), on real
files written here; what nginx itself makes of the commented-out result is checked too."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import policy_scan as scan_mod

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

DISTRO_LIKE = """\
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {d}/t; proxy_temp_path {d}/t; fastcgi_temp_path {d}/t; uwsgi_temp_path {d}/t; scgi_temp_path {d}/t;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE
    ssl_prefer_server_ciphers on;
    include {d}/conf.d/*.conf;
    server {{
        listen 127.0.0.1:18999;
        location / {{ return 200; }}
    }}
}}
"""
OWN = """\
ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;
"""


@pytest.fixture
def conf(tmp_path):
    d = str(tmp_path)
    os.makedirs(os.path.join(d, "conf.d"))
    os.makedirs(os.path.join(d, "t"))
    with open(os.path.join(d, "nginx.conf"), "w") as fh:
        fh.write(DISTRO_LIKE.format(d=d))
    with open(os.path.join(d, "conf.d", "tlsops_tls_policy.conf"), "w") as fh:
        fh.write(OWN)
    return d


def _args(d, **extra):
    args = {"conf": d + "/nginx.conf", "prefix": d, "own": [d + "/conf.d/tlsops_tls_policy.conf"],
            "own_include": d + "/conf.d/tlsops_tls_policy.conf",
            "http": ["ssl_protocols", "ssl_prefer_server_ciphers", "ssl_ciphers"]}
    args.update(extra)
    return args


def _nginx_t(d):
    return subprocess.run([NGINX, "-t", "-p", d, "-c", d + "/nginx.conf"], capture_output=True, text=True, check=False)


def test_distro_duplicates_are_found_with_file_and_line(conf):
    result = scan_mod.scan(_args(conf))
    assert result["ok"] and result["own_included"]
    found = sorted((os.path.basename(x["file"]), x["line"], x["directive"].split()[0]) for x in result["duplicates"])
    assert found == [("nginx.conf", 7, "ssl_protocols"), ("nginx.conf", 8, "ssl_prefer_server_ciphers")]
    assert result["files"] == {}  # nothing to write unless asked


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_the_duplicates_really_break_nginx_and_commenting_out_fixes_it(conf):
    before = _nginx_t(conf)
    assert before.returncode != 0 and "is duplicate" in before.stderr
    result = scan_mod.scan(_args(conf, comment_out=True, marker="tlsops test: "))
    new = result["files"][conf + "/nginx.conf"]["content"]
    assert "# tlsops test: ssl_protocols TLSv1 TLSv1.1" in new
    with open(conf + "/nginx.conf", "w") as fh:
        fh.write(new)
    assert _nginx_t(conf).returncode == 0
    # the snapshot holds what the role must restore on failure
    assert conf + "/nginx.conf" in result["snapshot"]


def test_missing_location_file_is_a_clear_error(conf):
    with pytest.raises(scan_mod.ScanError, match="location_file .* does not exist"):
        scan_mod.scan(_args(conf, locations=[{"name": "api", "file": conf + "/nope.conf", "location": "/",
                                              "keys": [], "include": "x"}]))


def test_include_is_inserted_into_the_named_location(conf):
    site = os.path.join(conf, "conf.d", "site.conf")
    with open(site, "w") as fh:
        fh.write(textwrap.dedent("""\
            server {
                listen 127.0.0.1:18998;
                location /api/ {
                    proxy_pass https://127.0.0.1:9443;
                    proxy_ssl_verify off;
                }
            }
            """))
    result = scan_mod.scan(_args(conf, locations=[{"name": "api", "file": site, "location": "/api/",
                                                   "keys": ["proxy_ssl_verify"],
                                                   "include": conf + "/snippets/tlsops_upstream_api.conf"}]))
    assert [(x["name"], x["line"]) for x in result["locations"]] == [("api", 3)]
    assert any(x["directive"].startswith("proxy_ssl_verify") for x in result["duplicates"])
    new = result["files"][site]["content"]
    assert "include %s/snippets/tlsops_upstream_api.conf;" % conf in new
    assert new.index("include") > new.index("location /api/ {")


KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCg0sKIFdEPwpAg"


def test_a_duplicate_holding_an_inline_key_is_reported_without_it(conf):
    """The refusal message shows each duplicate's text: an inline data: key stays out of it."""
    with open(conf + "/nginx.conf") as fh:
        text = fh.read()
    with open(conf + "/nginx.conf", "w") as fh:
        fh.write(text.replace("    ssl_prefer_server_ciphers on;\n", "    ssl_prefer_server_ciphers on;\n"
                              '    proxy_ssl_certificate_key "data:-----BEGIN' ' PRIVATE KEY-----\n%s\n'
                              '-----END PRIVATE KEY-----";\n' % KEY_BODY))
    result = scan_mod.scan(_args(conf, http=["ssl_protocols", "proxy_ssl_certificate_key"]))
    reported = [x["directive"] for x in result["duplicates"]]
    assert "proxy_ssl_certificate_key data:(not shown)" in reported
    assert not any("PRIVATE" in d or KEY_BODY in d for d in reported)


@pytest.mark.timeout(20)
def test_a_fifo_or_a_device_is_refused_at_once_not_read(conf):
    """A FIFO would block the scan forever and /dev/zero would fill the memory: both are refused."""
    fifo = os.path.join(conf, "fifo.conf")
    os.mkfifo(fifo)
    with pytest.raises(scan_mod.ScanError, match="^conf: .*fifo.conf is a FIFO"):
        scan_mod.scan(_args(conf, conf=fifo))
    with pytest.raises(scan_mod.ScanError, match="^own: /dev/zero is a character device; give the path of a file the role may write"):
        scan_mod.scan(_args(conf, own=["/dev/zero"]))
    with open(conf + "/nginx.conf", "a") as fh:
        fh.write("include %s;\n" % fifo)   # outside http: only read, never written
    with pytest.raises(scan_mod.ScanError, match=r"^.*nginx.conf:\d+ include: .*fifo.conf is a FIFO"):
        scan_mod.scan(_args(conf))


def test_a_file_over_the_cap_is_refused(conf, monkeypatch):
    monkeypatch.setattr(scan_mod, "MAX_FILE_BYTES", 100)
    with pytest.raises(scan_mod.ScanError, match="^conf: .*nginx.conf is larger than 100 bytes"):
        scan_mod.scan(_args(conf))

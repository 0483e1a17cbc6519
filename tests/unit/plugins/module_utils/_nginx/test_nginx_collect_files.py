# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host half of nginx_tls_info on hostile files: real FIFOs (os.mkfifo) and /dev/zero as an
include, a certificate, a CA file, a log; with the real nginx of this machine where nginx -T runs.

Before the safe reader, /dev/zero as an include or certificate was read to MemoryError (the size
cap trusted getsize(), which is 0 for a device) and a FIFO blocked open() for ever; each test caps
its memory, has a short timeout and releases a reader stuck on its FIFO (tests/hazards.py).
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import collect as nc
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import report
from tests import hazards

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
KINDS = {"fifo": "a FIFO (named pipe)", "/dev/zero": "a character device"}


def _hazard(tmp_path, kind, name):
    if kind == "/dev/zero":
        return "/dev/zero"
    return hazards.make_fifo(tmp_path / name)


def _release(path):
    return hazards.released(*([path] if path != "/dev/zero" else []))


def _config(tmp_path, body):
    d = str(tmp_path)
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as handle:
        handle.write(("pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {}\n" + body).replace("{d}", d))
    return path


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_include_that_is_a_fifo_or_dev_zero_is_refused_with_its_file_and_line(tmp_path, kind):
    include = _hazard(tmp_path, kind, "fifo.conf")
    conf = _config(tmp_path, "http {\n    include %s;\n}\n" % include)
    with _release(include), hazards.memory_cap():
        started = time.monotonic()
        files, errors = nc.read_tree(conf, str(tmp_path))
    assert time.monotonic() - started < 5
    assert [f["path"] for f in files] == [conf]
    assert errors == [{"path": include, "error": "it is %s" % KINDS[kind], "file": conf, "line": 5,
                       "message": "%s:5 include: %s is %s; give the path of an nginx configuration file"
                                  % (conf, include, KINDS[kind])}]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("directive", ["ssl_certificate", "proxy_ssl_trusted_certificate"])
def test_a_certificate_or_ca_file_that_is_a_fifo_or_dev_zero_is_an_error_at_its_directive(tmp_path, kind, directive):
    path = _hazard(tmp_path, kind, "cert.pem")
    files = [{"path": str(tmp_path / "nginx.conf"), "content": "http {\n  server {\n    %s %s;\n  }\n}\n"
              % (directive, path)}]
    with _release(path), hazards.memory_cap():
        summary, dummy_bundle_error = nc.read_certificates(nc.certificate_paths(files, str(tmp_path)))
    entry = summary[path]
    assert entry["error"] == "it is %s" % KINDS[kind] and entry["certificates"] == []
    assert (entry["directive"], entry["file"], entry["line"]) == (directive, files[0]["path"], 3)


@pytest.mark.parametrize("body, blocked", [
    ("include {x};", "include"),
    ("http { server { ssl_certificate {x}; } }", "ssl_certificate"),
    ("http { server { ssl_certificate_key {x}; } }", "ssl_certificate_key"),
    ("http { proxy_ssl_password_file {x}; }", "proxy_ssl_password_file"),
    ("http { server { access_log {x}; } }", "access_log"),
])
def test_blocking_files_names_the_directive_and_its_line_without_opening_anything(tmp_path, body, blocked):
    fifo = hazards.make_fifo(tmp_path / "x")
    files = [{"path": str(tmp_path / "nginx.conf"), "content": "events {}\n\n" + body.replace("{x}", fifo) + "\n"}]
    reasons = nc.blocking_files(files, str(tmp_path), str(tmp_path))
    assert reasons == ["%s:3 %s: %s is a FIFO (named pipe)" % (files[0]["path"], blocked, fifo)]


def test_blocking_files_leaves_ordinary_targets_alone(tmp_path):
    (tmp_path / "cert.pem").write_text("x")
    files = [{"path": str(tmp_path / "nginx.conf"), "content":
              "error_log /dev/stderr; error_log stderr; access_log /dev/null; access_log off; error_log syslog:x;\n"
              "include %s/*.conf; ssl_certificate cert.pem; ssl_certificate_key data:$k; ssl_certificate $c;\n"
              % tmp_path}]
    assert nc.blocking_files(files, str(tmp_path), str(tmp_path)) == []


@pytest.mark.skipif(not NGINX, reason="needs the nginx binary (make deps)")
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("where", ["include", "ssl_certificate", "proxy_ssl_trusted_certificate"])
def test_nginx_dash_t_is_not_run_on_a_fifo_or_device_and_collect_ends(tmp_path, kind, where):
    hazard = _hazard(tmp_path, kind, "hazard")
    cert = tmp_path / "cert.pem"
    key = hazards.private_key()
    cert.write_text(hazards.self_signed(key))
    (tmp_path / "key.pem").write_text(hazards.key_pem(key))
    server = ("server { listen 127.0.0.1:1 ssl; server_name s; ssl_certificate %s; ssl_certificate_key {d}/key.pem;\n"
              "    location / { proxy_pass https://127.0.0.1:2; proxy_ssl_verify on;\n"
              "        proxy_ssl_trusted_certificate %s; } }\n")
    body = {"include": "http {\n    include %s;\n" % hazard + server % (cert, cert),
            "ssl_certificate": "http {\n    \n" + server % (hazard, cert),
            "proxy_ssl_trusted_certificate": "http {\n    \n" + server % (cert, hazard)}[where]
    conf = _config(tmp_path, body + "}\n")
    with _release(hazard), hazards.memory_cap():
        started = time.monotonic()
        raw = nc.collect(nginx_path=NGINX, config=conf, timeout=20)
    assert time.monotonic() - started < 15
    test = raw["config_test"]
    assert test["rc"] is None and test["ok"] is False and test.get("skipped") is True
    line = {"include": 5, "ssl_certificate": 6, "proxy_ssl_trusted_certificate": 8}[where]
    assert test["stderr"].startswith("nginx -T was not run: %s:%d %s: %s is %s" % (conf, line, where, hazard,
                                                                                   KINDS[kind]))
    assert raw["source"] == "files"
    result = report.analyse(raw)
    codes = {f["code"]: f for f in result["findings"]}
    assert codes["config_not_tested"]["message"].startswith("nginx could not test the configuration (nginx -T was "
                                                            "not run: %s:%d" % (conf, line))
    if where == "include":
        unreadable = codes["config_file_unreadable"]
        assert (unreadable["file"], unreadable["line"]) == (conf, 5)
        assert unreadable["message"] == "%s could not be read: it is %s" % (hazard, KINDS[kind])
    else:
        unreadable = codes["certificate_unreadable"]
        assert (unreadable["file"], unreadable["line"]) == (conf, line)
        assert unreadable["message"].startswith("%s (%s) could not be read here: it is %s"
                                                % (hazard, where, KINDS[kind]))


@pytest.mark.skipif(not NGINX, reason="needs the nginx binary (make deps)")
@pytest.mark.timeout(30)
def test_source_nginx_with_a_fifo_is_an_error_naming_source_and_the_place(tmp_path):
    fifo = hazards.make_fifo(tmp_path / "fifo.conf")
    conf = _config(tmp_path, "http {\n    include %s;\n}\n" % fifo)
    with hazards.released(fifo):
        with pytest.raises(nc.CollectError, match=r"^source: nginx -T was not run: %s:5 include: %s is a FIFO"
                                                  % (conf, fifo)):
            nc.collect(nginx_path=NGINX, config=conf, source="nginx", timeout=20)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory", "/proc/self/mem"])
def test_a_main_config_that_is_no_readable_file_is_an_error_naming_config(tmp_path, kind):
    config = {"fifo": str(tmp_path / "nginx.conf"), "directory": str(tmp_path)}.get(kind, kind)
    if kind == "fifo":
        hazards.make_fifo(config)
    what = {"fifo": "is a FIFO (named pipe)", "/dev/zero": "is a character device", "directory": "is a directory",
            "/proc/self/mem": "is unreadable (Input/output error)"}[kind]
    with hazards.released(*([config] if kind == "fifo" else [])), hazards.memory_cap():
        with pytest.raises(nc.CollectError) as info:
            nc.collect(config=config, source="files")
    assert str(info.value).startswith("config: %s %s; give the path of" % (config, what))


@pytest.mark.skipif(not NGINX, reason="needs the nginx binary (make deps)")
@pytest.mark.timeout(60)
def test_a_tree_past_the_total_cap_stops_there_and_nginx_dash_t_is_not_run(tmp_path, monkeypatch):
    """5000 files of 8 MiB each would be 40 GB in memory: the tree as a whole has a cap too.
    (The cap is lowered to 64 kB here so the test writes 100 kB of real files, not 64 MiB.)"""
    monkeypatch.setattr(nc, "MAX_TREE_BYTES", 64 * 1024)
    includes = []
    for index in range(10):
        part = tmp_path / ("part%d.conf" % index)
        part.write_text("# %s\n" % ("x" * 10000))
        includes.append("include %s;" % part)
    conf = _config(tmp_path, "http {\n%s\n}\n" % "\n".join(includes))
    raw = nc.collect(nginx_path=NGINX, config=conf, timeout=20)
    assert raw["source"] == "files"
    assert 5 <= len(raw["files"]) <= 7, [f["path"] for f in raw["files"]]
    assert sum(len(f["content"]) for f in raw["files"]) <= 64 * 1024
    test = raw["config_test"]
    assert test.get("skipped") is True and test["rc"] is None
    assert "past the 64 KiB the whole configuration may hold" in test["stderr"]
    full = [e for e in raw["read_errors"] if e.get("tree_full")]
    assert full and full[0]["file"] == conf

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real nginx: ``nginx -T -p DIR -c FILE`` on configurations written here, accepted and rejected."""

from __future__ import annotations

import os

import pytest
import trustme

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.collect import collect, find_nginx
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import report
from tests.nginx_files import HEAD, write_tree

NGINX = find_nginx()
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def write(tmp_path, files):
    return write_tree(tmp_path, files)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    root = trustme.CA()
    leaf = root.create_child_ca().issue_cert("app.test")
    (d / "leaf.pem").write_bytes(leaf.cert_chain_pems[0].bytes())
    (d / "full.pem").write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
    (d / "leaf.key").write_bytes(leaf.private_key_pem.bytes())
    (d / "ca.pem").write_bytes(root.cert_pem.bytes())
    return str(d)


def test_nginx_dash_t_is_read_with_includes(tmp_path, certs):
    d = write(tmp_path, {
        "nginx.conf": HEAD + """\
                include conf.d/*.conf;
            }
            """,
        "conf.d/upstreams.conf": """\
            upstream backend { server 127.0.0.1:9443; server localhost:9444; }
            """,
        "conf.d/site.conf": """\
            server {
                listen 127.0.0.1:18080;
                server_name plain.test;
                location / { return 200; }
            }
            server {
                listen 127.0.0.1:18443 ssl;
                server_name app.test;
                ssl_certificate %(c)s/leaf.pem;
                ssl_certificate_key %(c)s/leaf.key;
                proxy_ssl_server_name on;
                location /api/ { proxy_pass https://backend; proxy_ssl_name app.test; }
                location /oops/ { proxy_pass https://127.0.0.1:18080; }
                location /full/ {
                    proxy_pass https://localhost:9445;
                    proxy_ssl_verify on;
                    proxy_ssl_trusted_certificate %(c)s/ca.pem;
                    proxy_ssl_verify_depth 2;
                    proxy_ssl_protocols TLSv1.2 TLSv1.3;
                }
            }
            """ % {"c": certs},
    })
    raw = collect(config=d + "/nginx.conf", prefix=d)
    assert raw["source"] == "nginx -T" and raw["config_test"]["ok"] is True
    assert raw["config_test"]["command"] == [NGINX, "-T", "-p", d, "-c", d + "/nginx.conf"]
    assert [os.path.relpath(f["path"], d) for f in raw["files"]] == [
        "nginx.conf", "conf.d/site.conf", "conf.d/upstreams.conf"]
    res = report.analyse(raw)
    assert res["nginx"]["version"] and res["nginx"]["openssl_built"].startswith(("OpenSSL", "LibreSSL", "BoringSSL"))
    assert res["summary"]["config_valid"] is True
    version = tuple(int(x) for x in res["nginx"]["version"].split(".")[:3])
    api = [u for u in res["upstreams"] if u["name"] == "backend"][0]
    assert [(s["host"], s["port"]) for s in api["servers"]] == [("127.0.0.1", 9443), ("localhost", 9444)]
    assert api["effective"]["server_name_on"] is True and api["effective"]["ssl_name_resolved"] == "app.test"
    if version < (1, 23, 4):
        assert api["effective"]["protocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2"]
    oops = [u for u in res["upstreams"] if u["name"] == "127.0.0.1:18080"][0]
    plain = [f for f in oops["findings"] if f["code"] == "https_to_plain_port"]
    assert plain and plain[0]["file"] == d + "/conf.d/site.conf" and plain[0]["line"] == 13
    full = [u for u in res["upstreams"] if u["name"] == "localhost:9445"][0]
    assert [f["code"] for f in full["findings"]] == []
    server = [s for s in res["servers"] if s["ssl"]][0]
    assert [f["code"] for f in server["findings"] if f["code"] == "certificate_not_full_chain"] == \
        ["certificate_not_full_chain"]


def test_a_config_nginx_rejects_is_reported_with_nginx_message(tmp_path, certs):
    d = write(tmp_path, {
        "nginx.conf": HEAD + """\
                ssl_prefer_server_ciphers on;
                include conf.d/*.conf;
            }
            """,
        "conf.d/ssl-options.conf": """\
            ssl_protocols TLSv1.2 TLSv1.3;
            ssl_prefer_server_ciphers off;
            """,
    })
    raw = collect(config=d + "/nginx.conf", prefix=d)
    test = raw["config_test"]
    assert test["ok"] is False and test["rc"] == 1
    emerg = '[emerg] "ssl_prefer_server_ciphers" directive is duplicate in %s/conf.d/ssl-options.conf:2' % d
    assert test["messages"] == [emerg]
    assert raw["source"] == "files" and len(raw["files"]) == 2        # read from the files instead
    res = report.analyse(raw)
    rejected = [f for f in res["findings"] if f["code"] == "config_rejected"]
    assert len(rejected) == 1 and rejected[0]["message"] == "nginx rejects this configuration: " + emerg
    assert rejected[0]["file"] == d + "/conf.d/ssl-options.conf" and rejected[0]["line"] == 2
    dup = [f for f in res["findings"] if f["code"] == "duplicate_directive"]
    assert len(dup) == 1 and (dup[0]["file"], dup[0]["line"]) == (rejected[0]["file"], rejected[0]["line"])
    assert res["summary"]["config_valid"] is False


def test_nginx_agrees_that_verify_needs_a_trusted_certificate(tmp_path):
    d = write(tmp_path, {"nginx.conf": HEAD + """\
            server {
                listen 127.0.0.1:18081;
                location / { proxy_pass https://127.0.0.1:9443; proxy_ssl_verify on; }
            }
        }
        """})
    raw = collect(config=d + "/nginx.conf", prefix=d)
    assert raw["config_test"]["ok"] is False
    res = report.analyse(raw)
    rejected = [f for f in res["findings"] if f["code"] == "config_rejected"][0]
    ours = [f for f in res["findings"] if f["code"] == "verify_without_trusted_certificate"][0]
    assert "no proxy_ssl_trusted_certificate for proxy_ssl_verify" in rejected["message"]
    assert "no proxy_ssl_trusted_certificate for proxy_ssl_verify" in ours["message"]
    assert ours["file"] == d + "/nginx.conf" and ours["line"] == 10


def test_a_config_without_findings(tmp_path, certs):
    d = write(tmp_path, {"nginx.conf": HEAD + """\
            server {
                listen 127.0.0.1:18444 ssl;
                server_name app.test;
                ssl_protocols TLSv1.2 TLSv1.3;
                ssl_certificate %(c)s/full.pem;
                ssl_certificate_key %(c)s/leaf.key;
                location / {
                    proxy_pass https://localhost:9443;
                    proxy_ssl_server_name on;
                    proxy_ssl_verify on;
                    proxy_ssl_trusted_certificate %(c)s/ca.pem;
                    proxy_ssl_verify_depth 3;
                    proxy_ssl_protocols TLSv1.2 TLSv1.3;
                }
            }
        }
        """ % {"c": certs}})
    res = report.analyse(collect(config=d + "/nginx.conf", prefix=d),
                         policy={"protocols": ["TLSv1.2", "TLSv1.3"]})
    assert res["summary"]["config_valid"] is True
    assert res["findings"] == []
    assert res["probe_targets"] == [{
        "name": "localhost:9443", "host": "localhost", "port": 9443, "server_name": "localhost", "sni": True,
        "protocols": ["TLSv1.2", "TLSv1.3"], "ciphers": "DEFAULT", "verify": True, "verify_depth": 3,
        "ca_file": certs + "/ca.pem", "alpn": [],
        "origin": {"upstream": "localhost:9443", "kind": "http", "proxy_pass": "https://localhost:9443",
                   "locations": [{"file": d + "/nginx.conf", "line": 15, "location": "/", "server_names": ["app.test"],
                                  "listen": ["127.0.0.1:18444 ssl"], "proxy_pass": "https://localhost:9443"}],
                   "locations_omitted": 0}}]


STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


@pytest.mark.skipif(not os.path.exists(STREAM_MODULE), reason="libnginx-mod-stream is not installed (make deps)")
def test_stream_proxy_ssl_from_a_real_nginx_dash_t(tmp_path, certs):
    """stream{} has its own proxy_ssl_* (TLS only with `proxy_ssl on`), read from what nginx itself sees."""
    d = write(tmp_path, {"nginx.conf": "load_module %s;\n" % STREAM_MODULE + HEAD + """\
            }
            stream {
                proxy_ssl_protocols TLSv1.3;
                upstream db { server 127.0.0.1:5432; }
                server {
                    listen 127.0.0.1:16432;
                    proxy_pass db;
                    proxy_ssl on;
                    proxy_ssl_server_name on;
                    proxy_ssl_name db.internal;
                    proxy_ssl_verify on;
                    proxy_ssl_trusted_certificate %(c)s/ca.pem;
                }
                server { listen 127.0.0.1:16433; proxy_pass 127.0.0.1:7000; }
            }
            """ % {"c": certs}})
    raw = collect(config=d + "/nginx.conf", prefix=d)
    assert raw["source"] == "nginx -T" and raw["config_test"]["ok"] is True, raw["config_test"]
    res = report.analyse(raw)
    entry = [u for u in res["upstreams"] if u["name"] == "db"][0]
    assert entry["kind"] == "stream" and entry["scheme"] == "tls"
    eff = entry["effective"]
    assert eff["protocols"] == ["TLSv1.3"] and eff["server_name_on"] and eff["ssl_name_resolved"] == "db.internal"
    assert eff["verify"] and eff["trusted_certificate"] == certs + "/ca.pem"
    target = entry["probe_targets"][0]
    assert (target["host"], target["port"], target["server_name"], target["sni"]) == ("127.0.0.1", 5432, "db.internal", True)
    assert not [u for u in res["upstreams"] if u["proxy_pass"] == "127.0.0.1:7000"]  # TCP passthrough, no TLS


def _tree(nodes):
    return [(n.name, n.args, n.file, n.line, None if n.block is None else _tree(n.block)) for n in nodes]


def test_a_dump_nginx_accepted_parses_the_same_without_the_second_lexing(tmp_path, certs, monkeypatch):
    # nginx's reader refused nothing in a successful nginx -T, so structure_errors has nothing to add: the
    # parse skips it then, and must come out the same.  Quotes, escapes, comments and braces in strings.
    d = write(tmp_path, {
        "nginx.conf": HEAD + """\
                map $http_x $odd { default "a;b}c{"; '~^x\\'y' 1; }  # "not; a {comment"
                log_format quoted '$remote_addr "$request" \\'x\\' {}';
                include conf.d/*.conf;
            }
            """,
        "conf.d/site.conf": """\
            upstream backend { server 127.0.0.1:9443; }
            server {
                listen 127.0.0.1:18443 ssl;
                server_name "app.test";
                ssl_certificate %(c)s/leaf.pem;
                ssl_certificate_key %(c)s/leaf.key;
                location /api/ {
                    proxy_pass https://backend;   # } ; {
                    proxy_set_header X-Odd "{;}";
                }
            }
            """ % {"c": certs},
    })
    raw = collect(config=d + "/nginx.conf", prefix=d)
    assert raw["source"] == "nginx -T" and raw["config_test"]["ok"] is True, raw["config_test"]
    lexed = []
    real_structure_errors = report.nparse.structure_errors
    monkeypatch.setattr(report.nparse, "structure_errors", lambda *a: lexed.append(a) or real_structure_errors(*a))
    checked = report.nparse.parse(raw["files"], main=raw["config_file"], conf_prefix=raw["conf_prefix"])
    assert len(lexed) == 2
    trusted = report.nparse.parse(raw["files"], main=raw["config_file"], conf_prefix=raw["conf_prefix"],
                                  nginx_accepted=True)
    assert len(lexed) == 2 and trusted.errors == checked.errors == []
    assert _tree(trusted.root.block) == _tree(checked.root.block) and "X-Odd" in str(_tree(checked.root.block))
    calls = []
    real_parse = report.nparse.parse
    monkeypatch.setattr(report.nparse, "parse", lambda *a, **k: calls.append(k["nginx_accepted"]) or real_parse(*a, **k))
    report.analyse(raw)
    report.analyse(dict(raw, source="files"))
    report.analyse(dict(raw, config_test=dict(raw["config_test"], ok=False, rc=1)))
    assert calls == [True, False, False]

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info's probe targets say where nginx uses them (``origin``) and have names unique in one result.

Configurations written here and read the way the module reads them: with the real ``nginx -T`` when nginx
is installed (then nginx must accept them), from the files otherwise.  Every origin's file:line is checked
against the file itself.
"""

from __future__ import annotations

import os

import pytest
import trustme

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.collect import collect, find_nginx
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ORIGIN_MAX_BYTES, build_targets, origin_size
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import report
from tests.nginx_files import HEAD, write_tree

NGINX = find_nginx()
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


def analyse(tmp_path, files, **kwargs):
    """Write ``files`` ({relative path: text}; ``{d}`` is the directory) and analyse them like nginx_tls_info."""
    d = write_tree(tmp_path, files)
    raw = collect(config=os.path.join(d, "nginx.conf"), prefix=d, source="auto" if NGINX else "files")
    if NGINX:
        assert raw["source"] == "nginx -T" and raw["config_test"]["ok"] is True, raw["config_test"]
    result = report.analyse(raw, **kwargs)
    check_origins(result)
    return result


def check_origins(result):
    """Every target: a unique name, an origin whose every file:line holds its *_pass, the same dict in
    upstreams[].probe_targets, and tls_probe accepts the whole list unchanged."""
    names = [t["name"] for t in result["probe_targets"]]
    assert len(set(names)) == len(names), names
    for target in result["probe_targets"]:
        origin = target["origin"]
        assert set(origin) == {"upstream", "proxy_pass", "kind", "locations", "locations_omitted"}
        assert origin["locations"] and origin_size(origin) <= ORIGIN_MAX_BYTES
        for loc in origin["locations"]:
            with open(loc["file"]) as handle:
                text = handle.read().splitlines()[loc["line"] - 1]
            assert "_pass %s;" % loc["proxy_pass"] in text, (target["name"], loc, text)
    in_entries = [t for u in result["upstreams"] for t in u["probe_targets"]]
    assert {t["name"] for t in in_entries} == set(names)
    by_name = {t["name"]: t for t in result["probe_targets"]}
    assert all(t == by_name[t["name"]] for t in in_entries)
    specs = build_targets(result["probe_targets"], {})
    assert [s["label"] for s in specs] == names


def target(result, name):
    found = [t for t in result["probe_targets"] if t["name"] == name]
    assert len(found) == 1, (name, [t["name"] for t in result["probe_targets"]])
    return found[0]


def where(target_):
    return [(os.path.basename(loc["file"]), loc["line"], loc["location"]) for loc in target_["origin"]["locations"]]


SITES = {
    "nginx.conf": HEAD + """\
            include sites/*.conf;
        }
        """,
    "sites/api.conf": """\
        server {
            listen 127.0.0.1:18080;
            server_name api.example.com;
            location /v1 {
                proxy_ssl_server_name on;
                proxy_ssl_name api.internal;
                proxy_pass https://127.0.0.1:9443;
            }
            location /v2 {
                proxy_ssl_name api.internal;
                proxy_pass https://127.0.0.1:9443;
            }
            location /v3 {
                proxy_ssl_server_name on;
                proxy_ssl_name api.internal;
                proxy_pass https://127.0.0.1:9443/v3/;
            }
            location /old {
                proxy_ssl_server_name on;
                proxy_ssl_name api.internal;
                proxy_ssl_protocols TLSv1.2;
                proxy_pass https://127.0.0.1:9443;
            }
            location /other {
                proxy_pass https://127.0.0.2:9443;
            }
        }
        """,
    "sites/www.conf": """\
        server {
            listen 127.0.0.1:18081;
            server_name www.example.com;
            proxy_ssl_server_name on;
            proxy_ssl_name api.internal;
            location / {
                proxy_pass https://127.0.0.1:9443;
            }
        }
        """,
}


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    return analyse(tmp_path_factory.mktemp("sites"), SITES)


def test_locations_with_other_settings_toward_one_upstream_are_told_apart(sites):
    v1 = target(sites, "127.0.0.1:9443 @ api.example.com /v1 (sites/api.conf:7)")
    v2 = target(sites, "127.0.0.1:9443 @ api.example.com /v2 (sites/api.conf:11)")
    old = target(sites, "127.0.0.1:9443 @ api.example.com /old (sites/api.conf:22)")
    assert (v1["sni"], v2["sni"], old["sni"]) == (True, False, True)           # proxy_ssl_server_name
    assert v1["protocols"] != old["protocols"] == ["TLSv1.2"]                   # proxy_ssl_protocols
    assert where(v2) == [("api.conf", 11, "/v2")] and where(old) == [("api.conf", 22, "/old")]
    for one in (v1, v2, old):
        assert {k: one["origin"][k] for k in ("upstream", "kind", "locations_omitted")} == {
            "upstream": "127.0.0.1:9443", "kind": "http", "locations_omitted": 0}


def test_the_same_settings_from_several_locations_stay_one_target(sites):
    v1 = target(sites, "127.0.0.1:9443 @ api.example.com /v1 (sites/api.conf:7)")
    # /v3 (another URI) and www.example.com's / (settings from the server level) probe exactly like /v1
    assert where(v1) == [("api.conf", 7, "/v1"), ("api.conf", 16, "/v3"), ("www.conf", 7, "/")]
    assert [loc["proxy_pass"] for loc in v1["origin"]["locations"]] == [
        "https://127.0.0.1:9443", "https://127.0.0.1:9443/v3/", "https://127.0.0.1:9443"]
    www = v1["origin"]["locations"][2]
    assert www["server_names"] == ["www.example.com"] and www["listen"] == ["127.0.0.1:18081"]
    assert len([t for t in sites["probe_targets"] if t["port"] == 9443 and t["host"] == "127.0.0.1"]) == 3
    # upstreams[] still lists each pass value apart, and both point at the one target
    assert sorted(len(u["locations"]) for u in sites["upstreams"] if v1 in u["probe_targets"]) == [1, 2]


def test_a_target_alone_on_its_address_keeps_the_plain_name(sites):
    other = target(sites, "127.0.0.2:9443")
    assert where(other) == [("api.conf", 25, "/other")]
    assert other["origin"]["proxy_pass"] == "https://127.0.0.2:9443"


def test_upstream_and_stream_blocks(tmp_path):
    load = "load_module %s;\n" % STREAM_MODULE if NGINX else ""
    if NGINX and not os.path.exists(STREAM_MODULE):
        pytest.skip("libnginx-mod-stream is not installed (make deps)")
    res = analyse(tmp_path, {"nginx.conf": load + HEAD + """\
                upstream backend { server 127.0.0.1:9443; server 127.0.0.1:9444; }
                server {
                    listen 127.0.0.1:18082;
                    server_name app.example.com;
                    location /new { proxy_pass https://backend; }
                    location /legacy { proxy_ssl_protocols TLSv1 TLSv1.1; proxy_pass https://backend/legacy/; }
                }
            }
            stream {
                upstream db { server 127.0.0.1:5432; }
                server { listen 127.0.0.1:16432; proxy_pass db; proxy_ssl on; proxy_ssl_protocols TLSv1.3; }
                server { listen 127.0.0.1:16433; proxy_pass db; proxy_ssl on; proxy_ssl_protocols TLSv1.2 TLSv1.3; }
                server { listen 127.0.0.1:16434; proxy_pass db; proxy_ssl on; proxy_ssl_protocols TLSv1.3; }
            }
            """})
    first = 1 if load else 0    # the load_module line moves everything down by one
    for port in (9443, 9444):
        new = target(res, "backend (127.0.0.1:%d) @ app.example.com /new (nginx.conf:%d)" % (port, 12 + first))
        legacy = target(res, "backend (127.0.0.1:%d) @ app.example.com /legacy (nginx.conf:%d)" % (port, 13 + first))
        assert new["origin"]["upstream"] == legacy["origin"]["upstream"] == "backend"
        assert (new["origin"]["proxy_pass"], legacy["origin"]["proxy_pass"]) == (
            "https://backend", "https://backend/legacy/")
        assert legacy["protocols"] == ["TLSv1", "TLSv1.1"] != new["protocols"]
    tls13 = target(res, "db (127.0.0.1:5432) @ listen 127.0.0.1:16432 (nginx.conf:%d)" % (18 + first))
    tls12 = target(res, "db (127.0.0.1:5432) @ listen 127.0.0.1:16433 (nginx.conf:%d)" % (19 + first))
    assert tls13["origin"]["kind"] == "stream" and tls13["protocols"] == ["TLSv1.3"]
    assert where(tls13) == [("nginx.conf", 18 + first, None), ("nginx.conf", 20 + first, None)]
    assert [loc["listen"] for loc in tls13["origin"]["locations"]] == [["127.0.0.1:16432"], ["127.0.0.1:16434"]]
    assert where(tls12) == [("nginx.conf", 19 + first, None)]


def test_one_snippet_included_in_several_servers(tmp_path):
    res = analyse(tmp_path, {
        "nginx.conf": HEAD + """\
                server { listen 127.0.0.1:18083; server_name a.test; proxy_ssl_server_name on; include snippets/up.inc; }
                server { listen 127.0.0.1:18084; server_name a.test; include snippets/up.inc; }
                server { listen 127.0.0.1:18085; proxy_ssl_protocols TLSv1.3; include snippets/up.inc; }
                server { listen 127.0.0.1:18086; proxy_ssl_server_name on; include snippets/up.inc; }
            }
            """,
        "snippets/up.inc": "location /u { proxy_ssl_name up.internal; proxy_pass https://127.0.0.1:9443; }\n"})
    # the same file:line in servers of one name: only a number tells them apart; no name: the listen socket
    sni = target(res, "127.0.0.1:9443 @ a.test /u (snippets/up.inc:1)")
    assert [loc["listen"] for loc in sni["origin"]["locations"]] == [["127.0.0.1:18083"], ["127.0.0.1:18086"]]
    assert target(res, "127.0.0.1:9443 @ a.test /u (snippets/up.inc:1) #2")["sni"] is False
    assert target(res, "127.0.0.1:9443 @ listen 127.0.0.1:18085 /u (snippets/up.inc:1)")["protocols"] == ["TLSv1.3"]
    assert len(res["probe_targets"]) == 3


def test_a_target_behind_many_locations_keeps_an_origin_tls_probe_accepts(tmp_path):
    names = " ".join("host-%02d.%s.example.com" % (i, "x" * 40) for i in range(30))
    locations = "\n".join("        location /p%03d { proxy_pass https://127.0.0.1:9443; }" % i for i in range(300))
    res = analyse(tmp_path, {"nginx.conf": HEAD + "    server {\n        listen 127.0.0.1:18087;\n"
                                                  "        server_name %s;\n%s\n    }\n}\n" % (names, locations)})
    one = target(res, "127.0.0.1:9443")
    origin = one["origin"]
    kept = len(origin["locations"])
    assert 0 < kept < 300 and kept + origin["locations_omitted"] == 300
    assert [loc["location"] for loc in origin["locations"]] == ["/p%03d" % i for i in range(kept)]
    assert len(origin["locations"][0]["server_names"]) == 16          # the first 16 names of each location
    assert ORIGIN_MAX_BYTES - origin_size(origin) < 2000                 # filled, not cut far too early


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_bytes(trustme.CA().cert_pem.bytes())
    return str(path)


def test_chains_may_be_keyed_by_a_told_apart_name(tmp_path, ca_file):
    files = {"nginx.conf": HEAD + """\
                proxy_ssl_verify on;
                proxy_ssl_trusted_certificate %s;
                proxy_ssl_name api.internal;
                server {
                    listen 127.0.0.1:18088;
                    server_name api.example.com;
                    location /a { proxy_ssl_server_name on; proxy_pass https://127.0.0.1:9443; }
                    location /b { proxy_pass https://127.0.0.1:9443; }
                }
            }
            """ % ca_file}
    res = analyse(tmp_path, files)
    name_a = target(res, "127.0.0.1:9443 @ api.example.com /a (nginx.conf:14)")["name"]
    res = analyse(tmp_path, files, chains={name_a: 2})
    depth = {u["locations"][0]["location"]: [f for f in u["findings"] if f["code"] == "verify_depth_too_small"][0]
             for u in res["upstreams"]}
    assert depth["/a"]["severity"] == "error" and "holds 2" in depth["/a"]["message"]
    assert depth["/b"]["severity"] == "info" and "needs probe" in depth["/b"]["message"]

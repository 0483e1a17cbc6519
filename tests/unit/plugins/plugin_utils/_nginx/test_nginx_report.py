# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info's engine on configurations written here: effective settings and every finding,
each with a case that has it and one that does not."""

from __future__ import annotations

import os
import textwrap

import pytest
import trustme

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.collect import collect
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import build_targets
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import parse as nparse, report

MAIN = """\
events {}
http {
    include {d}/conf.d/*.conf;
}
"""


def analyse(tmp_path, files, version="1.22.1", main="nginx.conf", **kw):
    """Write ``files`` ({relative path: text, ``{d}`` = the directory}) and analyse them as the module would."""
    d = str(tmp_path)
    for rel, text in files.items():
        path = os.path.join(d, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(textwrap.dedent(text).replace("{d}", d))
    raw = collect(config=os.path.join(d, main), source="files")
    return report.analyse(raw, nginx_version=version, **kw)


def site(body, main=MAIN):
    return {"nginx.conf": main, "conf.d/site.conf": body}


def upstream(result, name=None, location=None):
    found = [u for u in result["upstreams"]
             if (name is None or u["name"] == name)
             and (location is None or any(loc["location"] == location for loc in u["locations"]))]
    assert len(found) == 1, [(u["name"], [loc["location"] for loc in u["locations"]]) for u in result["upstreams"]]
    return found[0]


def codes(item):
    return [f["code"] for f in item["findings"]]


def the(item, code):
    found = [f for f in item["findings"] if f["code"] == code]
    assert len(found) == 1, item["findings"]
    return found[0]


# --------------------------------------------------------------------------- structure

BIG = {
    "nginx.conf": """\
        user www-data;
        events { worker_connections 64; }
        http {
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            proxy_ssl_verify_depth 3;
            map $host $backend {
                default        https://backend;
                ~^api\\.       https://api.internal;
            }
            upstream backend {
                server 10.0.0.7:8443 weight=5;
                server 10.0.0.8:8443 backup;
                server 10.0.0.9:8443 down;
            }
            include {d}/sites/*.conf;
        }
        stream {
            proxy_ssl_protocols TLSv1.3;
            upstream db { server 10.0.1.5:5432; }
            server {
                listen 6432;
                proxy_pass db;
                proxy_ssl on;
                proxy_ssl_server_name on;
                proxy_ssl_name db.internal;
                proxy_ssl_verify on;
                proxy_ssl_trusted_certificate /etc/ssl/db-ca.pem;
            }
            server {
                listen 7000;
                proxy_pass 10.0.1.6:7000;
            }
        }
        """,
    "sites/app.conf": """\
        server {
            listen 443 ssl http2;
            server_name app.example.com www.app.example.com;
            ssl_certificate /etc/ssl/app.pem;
            ssl_certificate_key /etc/ssl/app.key;
            proxy_ssl_server_name on;
            proxy_ssl_conf_command Groups X25519:prime256v1;
            location / {
                proxy_pass https://backend;
                if ($http_x_debug) {
                    return 418;
                }
            }
            location /legacy/ {
                proxy_ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
                proxy_ssl_server_name off;
                proxy_ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
                proxy_pass https://legacy.example.net:9443/old/;
            }
            location /dyn/ {
                proxy_pass $backend;
            }
            location /nested/ {
                proxy_ssl_name "nested.internal";
                location /nested/deep/ {
                    proxy_pass https://backend/deep/;
                }
            }
            location /grpc/ {
                grpc_ssl_server_name on;
                grpc_pass grpcs://backend;
            }
            location /plain/ {
                proxy_pass http://10.0.0.20:8080;
            }
            location /uwsgi/ {
                uwsgi_pass suwsgi://10.0.0.30:3031;
            }
        }
        """,
}


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    return analyse(tmp_path_factory.mktemp("big"), BIG)


def test_includes_are_read_and_servers_listed(big, tmp_path_factory):
    assert big["source"] == "files"
    assert [os.path.basename(f) for f in big["files"]] == ["nginx.conf", "app.conf"]
    http = [s for s in big["servers"] if s["context"] == "http"]
    assert len(http) == 1
    app = http[0]
    assert app["server_names"] == ["app.example.com", "www.app.example.com"]
    assert app["ssl"] is True and app["listen"][0]["port"] == 443 and app["listen"][0]["http2"]
    assert app["ssl_certificates"] == ["/etc/ssl/app.pem"]
    assert app["ssl_protocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2"]   # nginx 1.22 default
    assert app["ssl_ciphers"] == "HIGH:!aNULL:!MD5" and app["ssl_ecdh_curve"] == "auto"
    assert app["sources"]["ssl_protocols"] is None
    assert [s["context"] for s in big["servers"]].count("stream") == 2


def test_upstream_block_server_level_and_http_level_settings(big):
    entry = upstream(big, "backend", "/")
    assert entry["proxy_pass"] == "https://backend" and entry["scheme"] == "https"
    assert entry["upstream_block"]["name"] == "backend"
    assert [(s["host"], s["port"], s["backup"], s["down"]) for s in entry["servers"]] == [
        ("10.0.0.7", 8443, False, False), ("10.0.0.8", 8443, True, False), ("10.0.0.9", 8443, False, True)]
    eff = entry["effective"]
    assert eff["protocols"] == ["TLSv1.2", "TLSv1.3"]          # http level
    assert eff["server_name_on"] is True                       # server level
    assert eff["groups"] == ["X25519", "prime256v1"]           # server-level conf command
    assert eff["verify_depth"] == 3 and eff["verify"] is False and eff["session_reuse"] is True
    assert eff["ciphers"] == "DEFAULT"
    assert eff["ssl_name"] == "backend" and eff["ssl_name_directive"] is None    # $proxy_host: the block's name
    assert entry["sources"]["protocols"]["line"] == 4 and entry["sources"]["ciphers"] is None
    loc = entry["locations"][0]
    assert loc["server_names"][0] == "app.example.com" and loc["listen"] == ["443 ssl http2"]
    assert loc["file"].endswith("sites/app.conf") and loc["line"] == 9
    # the down server gets no probe target; the SNI is the upstream block name, as nginx sends it
    assert [(t["host"], t["port"], t["server_name"], t["sni"]) for t in entry["probe_targets"]] == [
        ("10.0.0.7", 8443, "backend", True), ("10.0.0.8", 8443, "backend", True)]
    assert "ssl_name_is_upstream_block" in codes(entry)


def test_location_overrides_replace_and_conf_commands_are_not_merged(big):
    entry = upstream(big, "legacy.example.net:9443")
    eff = entry["effective"]
    assert eff["protocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2"] and eff["server_name_on"] is False
    # the location's own conf command replaces the server's Groups: no groups any more
    assert eff["ciphersuites"] == ["TLS_AES_128_GCM_SHA256"] and eff["groups"] is None
    assert entry["servers"] == [{"host": "legacy.example.net", "port": 9443, "port_explicit": True, "unix": None}]
    target = entry["probe_targets"][0]
    assert target["sni"] is False and target["server_name"] == "legacy.example.net"
    assert target["ciphersuites"] == ["TLS_AES_128_GCM_SHA256"] and "groups" not in target


def test_nested_location_inherits_from_its_parent(big):
    entry = upstream(big, "backend", "/nested/deep/")
    assert entry["effective"]["ssl_name"] == "nested.internal"
    assert entry["effective"]["ssl_name_resolved"] == "nested.internal"
    assert all(t["server_name"] == "nested.internal" for t in entry["probe_targets"])
    assert "ssl_name_is_upstream_block" not in codes(entry)


def test_variables_in_proxy_pass_are_reported_not_resolved(big):
    entry = upstream(big, location="/dyn/")
    assert entry["proxy_pass"] == "$backend" and entry["scheme"] is None and entry["tls"] is None
    assert entry["servers"] == [] and entry["probe_targets"] == []
    assert codes(entry) == ["pass_has_variables"]


def test_grpc_uses_grpc_ssl_directives_not_proxy_ssl(big):
    entry = upstream(big, location="/grpc/")
    assert entry["kind"] == "grpc" and entry["directive"] == "grpc_pass" and entry["scheme"] == "grpcs"
    eff = entry["effective"]
    assert eff["server_name_on"] is True
    assert eff["protocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2"]    # proxy_ssl_protocols does not apply
    assert eff["groups"] is None
    assert entry["probe_targets"][0]["alpn"] == ["h2"] and entry["probe_targets"][0]["http_request"] is False


def test_uwsgi_and_plain_passes(big):
    entry = upstream(big, location="/uwsgi/")
    assert entry["kind"] == "uwsgi" and entry["servers"][0]["port"] == 3031
    assert not [u for u in big["upstreams"] if u["proxy_pass"].startswith("http://")]


def test_stream_proxy_ssl(big):
    entry = upstream(big, "db")
    assert entry["kind"] == "stream" and entry["scheme"] == "tls" and entry["context"] == "stream"
    eff = entry["effective"]
    assert eff["protocols"] == ["TLSv1.3"] and eff["server_name_on"] and eff["ssl_name_resolved"] == "db.internal"
    assert eff["verify"] and eff["trusted_certificate"] == "/etc/ssl/db-ca.pem"
    target = entry["probe_targets"][0]
    assert (target["host"], target["port"], target["sni"], target["http_request"]) == ("10.0.1.5", 5432, True, False)
    # the stream server without proxy_ssl is TCP passthrough, not TLS
    assert not [u for u in big["upstreams"] if u["proxy_pass"] == "10.0.1.6:7000"]


def test_probe_targets_are_accepted_by_tls_probe_unchanged(big, tmp_path):
    targets = [dict(t) for t in big["probe_targets"]]
    for target in targets:   # the CA files of this config do not exist here
        target.pop("ca_file", None)
    specs = build_targets(targets, {})
    assert len(specs) == len(targets) == len(big["probe_targets"])


def test_map_and_if_do_not_crash_and_summary(big):
    assert big["summary"]["upstreams"] == len(big["upstreams"])
    assert big["summary"]["findings"] == len(big["findings"])
    assert all(f.get("upstream") or f.get("server") or f["code"] == "nginx_version_unknown" for f in big["findings"])


# --------------------------------------------------------------------------- versions

@pytest.mark.parametrize("version, protocols", [
    ("1.22.1", ["TLSv1", "TLSv1.1", "TLSv1.2"]),
    ("1.23.3", ["TLSv1", "TLSv1.1", "TLSv1.2"]),
    ("1.23.4", ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
    ("1.27.2", ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
    ("1.27.3", ["TLSv1.2", "TLSv1.3"]),
])
def test_default_protocols_follow_the_version(tmp_path, version, protocols):
    res = analyse(tmp_path, site("server { location / { proxy_pass https://10.0.0.7; } }"), version=version)
    entry = upstream(res)
    assert entry["effective"]["protocols"] == protocols
    assert ("legacy_protocols" in codes(entry)) == ("TLSv1" in protocols)
    assert res["nginx"]["version"] == version and not res["nginx"]["version_assumed"]


def test_unknown_version_assumes_the_newest_and_says_so(tmp_path):
    d = str(tmp_path)
    with open(os.path.join(d, "nginx.conf"), "w") as handle:
        handle.write("events {}\nhttp { server { location / { proxy_pass https://10.0.0.7; } } }\n")
    raw = collect(config=os.path.join(d, "nginx.conf"), source="files")
    raw["nginx"] = {"path": None, "version_output": None}
    res = report.analyse(raw)
    assert upstream(res)["effective"]["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert res["nginx"]["version_assumed"] is True
    assert [f["code"] for f in res["findings"] if "upstream" not in f] == ["nginx_version_unknown"]
    assert "TLSv1.2 TLSv1.3" in res["findings"][0]["message"]
    assert "legacy_protocols" not in codes(upstream(res))


# --------------------------------------------------------------------------- findings, with and without

def test_https_to_plain_port(tmp_path):
    res = analyse(tmp_path, site("""\
        upstream noport { server 10.0.0.7; }
        server {
            listen 127.0.0.1:8080;
            listen 127.0.0.1:8443 ssl;
            ssl_certificate /etc/ssl/x.pem;
            location /a { proxy_pass https://10.0.0.7:80; }
            location /b { proxy_pass https://noport; }
            location /c { proxy_pass https://127.0.0.1:8080; }
            location /d { proxy_pass https://localhost:8080; }
            location /ok1 { proxy_pass https://10.0.0.7:443; }
            location /ok2 { proxy_pass https://127.0.0.1:8443; }
            location /ok3 { proxy_pass https://10.9.9.9:8080; }
        }
        """))
    a = the(upstream(res, location="/a"), "https_to_plain_port")
    assert a["severity"] == "error" and a["cause"] == "plain_http" and "plain-HTTP port" in a["message"]
    assert a["line"] == 6
    b = the(upstream(res, location="/b"), "https_to_plain_port")
    assert "has no port, so nginx uses 80" in b["message"] and b["line"] == 1   # the upstream server line
    c = the(upstream(res, location="/c"), "https_to_plain_port")
    assert "serves without ssl" in c["message"] and "127.0.0.1:8080" in c["message"]
    assert "https_to_plain_port" in codes(upstream(res, location="/d"))
    for loc in ("/ok1", "/ok2", "/ok3"):
        assert "https_to_plain_port" not in codes(upstream(res, location=loc)), loc


def test_a_wildcard_listen_counts_for_local_addresses_only(tmp_path):
    res = analyse(tmp_path, site("""\
        server {
            listen 8080;
            location /local { proxy_pass https://127.0.0.1:8080; }
            location /remote { proxy_pass https://10.1.1.1:8080; }
        }
        """), local_addresses=["10.1.1.1"])
    assert "https_to_plain_port" in codes(upstream(res, location="/local"))
    assert "https_to_plain_port" in codes(upstream(res, location="/remote"))
    res = analyse(tmp_path, site("""\
        server {
            listen 8080;
            location /remote { proxy_pass https://10.1.1.1:8080; }
        }
        """))
    assert "https_to_plain_port" not in codes(upstream(res))


def test_sni_off_for_hostname(tmp_path):
    res = analyse(tmp_path, site("""\
        upstream named { server api1.example.com:443; }
        upstream ips { server 10.0.0.1:443; }
        server {
            location /name { proxy_pass https://api.example.com; }
            location /explicit { proxy_pass https://10.0.0.7; proxy_ssl_name api.example.com; }
            location /block { proxy_pass https://named; }
            location /on { proxy_pass https://api.example.com; proxy_ssl_server_name on; }
            location /ip { proxy_pass https://10.0.0.7; }
            location /ips { proxy_pass https://ips; }
        }
        """))
    f = the(upstream(res, location="/name"), "sni_off_for_hostname")
    assert f["cause"] == "sni_required" and "proxy_ssl_server_name on;" in f["fix"]
    assert "proxy_ssl_name api.example.com;" in f["fix"]
    assert "proxy_ssl_name api.example.com;" in the(upstream(res, location="/explicit"), "sni_off_for_hostname")["fix"]
    assert "proxy_ssl_name api1.example.com;" in the(upstream(res, location="/block"), "sni_off_for_hostname")["fix"]
    for loc in ("/on", "/ip", "/ips"):
        assert "sni_off_for_hostname" not in codes(upstream(res, location=loc)), loc
    on = upstream(res, location="/on")["probe_targets"][0]
    assert on["sni"] is True and on["server_name"] == "api.example.com"
    ip = upstream(res, location="/ip")["probe_targets"][0]
    assert ip["sni"] is False and "server_name" not in ip       # never SNI for an IP literal


def test_ssl_name_is_upstream_block(tmp_path):
    res = analyse(tmp_path, site("""\
        upstream backend { server app1.internal:443; }
        upstream app2.internal { server app2.internal:443; server 10.0.0.2:443; }
        server {
            proxy_ssl_server_name on;
            location /bad { proxy_pass https://backend; }
            location /named { proxy_pass https://app2.internal; }
            location /fixed { proxy_pass https://backend; proxy_ssl_name app1.internal; }
            location /nosni { proxy_pass https://backend; proxy_ssl_server_name off; }
        }
        """))
    f = the(upstream(res, location="/bad"), "ssl_name_is_upstream_block")
    assert '"backend"' in f["message"] and "app1.internal:443" in f["message"]
    assert f["fix"].startswith("proxy_ssl_name app1.internal;") and f["line"] == 1
    assert upstream(res, location="/bad")["probe_targets"][0]["server_name"] == "backend"
    assert "ssl_name_is_upstream_block" not in codes(upstream(res, location="/fixed"))
    assert "ssl_name_is_upstream_block" not in codes(upstream(res, location="/named"))
    assert "ssl_name_is_upstream_block" not in codes(upstream(res, location="/nosni"))


def test_verify_off_and_verify_without_trusted_certificate(tmp_path):
    res = analyse(tmp_path, site("""\
        server {
            location /default { proxy_pass https://10.0.0.7; }
            location /notrust { proxy_pass https://10.0.0.8; proxy_ssl_verify on; }
            location /good {
                proxy_pass https://10.0.0.9;
                proxy_ssl_verify on;
                proxy_ssl_trusted_certificate /etc/ssl/ca.pem;
                proxy_ssl_verify_depth 4;
                proxy_ssl_protocols TLSv1.2 TLSv1.3;
            }
        }
        """))
    off = the(upstream(res, location="/default"), "verify_off")
    assert "(nginx's default)" in off["message"] and off["severity"] == "warning"
    notrust = upstream(res, location="/notrust")
    f = the(notrust, "verify_without_trusted_certificate")
    assert f["severity"] == "error" and "no proxy_ssl_trusted_certificate for proxy_ssl_verify" in f["message"]
    assert "verify_off" not in codes(notrust)
    good = upstream(res, location="/good")
    assert codes(good) == []
    target = good["probe_targets"][0]
    assert target["verify"] is True and target["ca_file"] == "/etc/ssl/ca.pem" and target["verify_depth"] == 4


def test_verify_depth_too_small(tmp_path):
    body = """\
        server {
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate /etc/ssl/ca.pem;
            location /one { proxy_pass https://10.0.0.7; }
            location /two { proxy_pass https://10.0.0.8; proxy_ssl_verify_depth 2; }
        }
        """
    res = analyse(tmp_path, site(body), chains={"10.0.0.7:443": 2, "10.0.0.8:443": 2})
    f = the(upstream(res, location="/one"), "verify_depth_too_small")
    assert f["severity"] == "error" and f["cause"] == "verify_depth_exceeded"
    assert "holds 2" in f["message"] and f["fix"] == "proxy_ssl_verify_depth 2;"
    assert "verify_depth_too_small" not in codes(upstream(res, location="/two"))
    # chains as tls_probe reports them: leaf, two intermediates (and no root)
    chain = [{"self_issued": False}, {"self_issued": False}, {"self_issued": False}]
    res = analyse(tmp_path, site(body), chains={"10.0.0.7:443": chain, "10.0.0.8:443": {"chain": chain}})
    assert "verify_depth_too_small" in codes(upstream(res, location="/one"))
    # unknown chain (an empty chain from a probe that got no certificate is unknown too): "needs probe"
    res = analyse(tmp_path, site(body), chains={"10.0.0.7:443": [], "10.0.0.8:443": {"chain": None}})
    f = the(upstream(res, location="/one"), "verify_depth_too_small")
    assert f["severity"] == "info" and "needs probe" in f["message"]


def test_legacy_protocols(tmp_path):
    res = analyse(tmp_path, site("""\
        server {
            location /default { proxy_pass https://10.0.0.7; }
            location /set { proxy_pass https://10.0.0.8; proxy_ssl_protocols TLSv1.1 TLSv1.2; }
            location /modern { proxy_pass https://10.0.0.9; proxy_ssl_protocols TLSv1.2 TLSv1.3; }
        }
        """))
    f = the(upstream(res, location="/default"), "legacy_protocols")
    assert "TLSv1 TLSv1.1" in f["message"] and "nginx 1.22.1's default" in f["message"]
    assert f["fix"] == "proxy_ssl_protocols TLSv1.2 TLSv1.3;"
    assert "TLSv1.1" in the(upstream(res, location="/set"), "legacy_protocols")["message"]
    assert "legacy_protocols" not in codes(upstream(res, location="/modern"))


def test_conf_command_min_protocol_narrows_the_protocols(tmp_path):
    res = analyse(tmp_path, site("""\
        server { location / { proxy_pass https://10.0.0.7; proxy_ssl_conf_command MinProtocol TLSv1.2; } }
        """))
    assert upstream(res)["effective"]["protocols"] == ["TLSv1.2"]
    assert "legacy_protocols" not in codes(upstream(res))


def test_policy_differences(tmp_path):
    body = """\
        server {
            listen 443 ssl;
            ssl_certificate /etc/ssl/none.pem;
            ssl_protocols TLSv1.2 TLSv1.3;
            ssl_ecdh_curve X25519:prime256v1;
            location /a { proxy_pass https://10.0.0.7; }
            location /b {
                proxy_pass https://10.0.0.8;
                proxy_ssl_protocols TLSv1.3 TLSv1.2;
                proxy_ssl_ciphers ECDHE+AESGCM;
                proxy_ssl_conf_command Groups x25519:P-256;
            }
        }
        """
    policy = {"protocols": ["TLSv1.2", "TLSv1.3"], "ciphers": "ECDHE+AESGCM", "groups": ["X25519", "prime256v1"]}
    res = analyse(tmp_path, site(body), policy=policy)
    a = upstream(res, location="/a")
    assert {"protocols_differ_from_policy", "ciphers_differ_from_policy", "groups_differ_from_policy"} <= set(codes(a))
    f = the(a, "protocols_differ_from_policy")
    assert "TLSv1 TLSv1.1 TLSv1.2" in f["message"] and f["fix"] == "proxy_ssl_protocols TLSv1.2 TLSv1.3;"
    assert the(a, "groups_differ_from_policy")["fix"] == "proxy_ssl_conf_command Groups X25519:prime256v1;"
    b = upstream(res, location="/b")
    assert not [c for c in codes(b) if c.endswith("_differ_from_policy")]   # P-256 is prime256v1
    server = [s for s in res["servers"] if s["ssl"]][0]
    assert [c for c in codes(server) if c.endswith("_differ_from_policy")] == ["ciphers_differ_from_policy"]
    res = analyse(tmp_path, site(body))
    assert not [f for f in res["findings"] if f["code"].endswith("_differ_from_policy")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    root = trustme.CA()
    inter = root.create_child_ca()
    leaf = inter.issue_cert("www.example.test")
    direct = root.issue_cert("direct.example.test")
    files = {
        "leaf.pem": leaf.cert_chain_pems[0].bytes(),
        "full.pem": b"".join(p.bytes() for p in leaf.cert_chain_pems),
        "direct.pem": direct.cert_chain_pems[0].bytes(),
        "root.pem": root.cert_pem.bytes(),
        "inter.pem": inter.cert_pem.bytes(),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    return str(d)


def test_certificate_not_full_chain(tmp_path, pki):
    res = analyse(tmp_path, site("""\
        ssl_client_certificate %(p)s/root.pem;
        server { listen 443 ssl; server_name leaf.test; ssl_certificate %(p)s/leaf.pem; }
        server { listen 443 ssl; server_name full.test; ssl_certificate %(p)s/full.pem; }
        server { listen 443 ssl; server_name direct.test; ssl_certificate %(p)s/direct.pem; }
        server { listen 443 ssl; server_name rsa-ec.test; ssl_certificate %(p)s/full.pem;
                 ssl_certificate %(p)s/leaf.pem; }
        server { listen 8080; server_name plain.test; ssl_certificate %(p)s/leaf.pem; }
        server { listen 443 ssl; server_name missing.test; ssl_certificate %(p)s/nonexistent.pem; }
        """ % {"p": pki}))
    by_name = {s["server_names"][0]: s for s in res["servers"]}
    f = the(by_name["leaf.test"], "certificate_not_full_chain")
    assert f["severity"] == "error" and f["cause"] == "cert_chain_incomplete" and "leaf.pem" in f["message"]
    assert "holds only the leaf" in f["message"] and f["line"] == 2
    assert "certificate_not_full_chain" in codes(by_name["rsa-ec.test"])
    for name in ("full.test", "direct.test", "plain.test"):   # direct: issued by a root the config names
        assert "certificate_not_full_chain" not in codes(by_name[name]), name
    assert codes(by_name["missing.test"]).count("certificate_unreadable") == 1


def test_issuer_known_only_as_an_intermediate_is_still_not_full(tmp_path, pki):
    res = analyse(tmp_path, site("""\
        proxy_ssl_trusted_certificate %(p)s/inter.pem;
        server { listen 443 ssl; server_name leaf.test; ssl_certificate %(p)s/leaf.pem; }
        """ % {"p": pki}))
    f = the(res["servers"][0], "certificate_not_full_chain")
    assert "as an intermediate" in f["message"]


def test_duplicate_directive(tmp_path):
    files = {
        "nginx.conf": """\
            events {}
            http {
                ssl_prefer_server_ciphers on;
                include {d}/conf.d/*.conf;
                server {
                    listen 443 ssl;
                    ssl_prefer_server_ciphers off;
                    ssl_certificate /etc/ssl/a.pem;
                    ssl_certificate /etc/ssl/b.pem;
                    add_header X-A 1;
                    add_header X-B 2;
                }
            }
            """,
        "conf.d/ssl.conf": "ssl_prefer_server_ciphers on;\nssl_protocols TLSv1.2 TLSv1.3;\n",
    }
    res = analyse(tmp_path, files)
    dups = [f for f in res["findings"] if f["code"] == "duplicate_directive"]
    assert len(dups) == 1
    assert dups[0]["file"].endswith("conf.d/ssl.conf") and dups[0]["line"] == 1
    assert "nginx.conf:3" in dups[0]["message"] and "directive is duplicate" in dups[0]["message"]
    files["conf.d/ssl.conf"] = "ssl_protocols TLSv1.2 TLSv1.3;\n"
    res = analyse(tmp_path, files)
    assert not [f for f in res["findings"] if f["code"] == "duplicate_directive"]


def test_syntax_errors_read_from_files_fail_naming_the_file_and_line(tmp_path):
    with pytest.raises(nparse.ParseError) as failure:
        analyse(tmp_path, site("server { location / { proxy_pass https://10.0.0.7; }\n"))
    assert 'unexpected end of file, expecting "}" in %s/conf.d/site.conf:1' % tmp_path in str(failure.value)


def test_missing_include_read_from_files_fails_naming_the_include(tmp_path):
    with pytest.raises(nparse.ParseError) as failure:
        analyse(tmp_path, {"nginx.conf": "events {}\nhttp { include {d}/missing.conf; }\n"})
    assert 'open() "%s/missing.conf" failed: no such file (include in %s/nginx.conf:2)' % (tmp_path, tmp_path) \
        in str(failure.value)


def test_same_snippet_included_in_two_servers(tmp_path):
    res = analyse(tmp_path, {
        "nginx.conf": """\
            events {}
            http {
                server { listen 8081; proxy_ssl_server_name on; include {d}/snippets/up.inc; }
                server { listen 8082; include {d}/snippets/up.inc; }
            }
            """,
        "snippets/up.inc": "location /u { proxy_pass https://api.example.com; }\n"})
    entries = [u for u in res["upstreams"] if u["name"] == "api.example.com:443"]
    assert sorted(e["effective"]["server_name_on"] for e in entries) == [False, True]
    assert all(e["locations"][0]["file"].endswith("up.inc") for e in entries)


def test_locations_with_the_same_settings_share_one_entry(tmp_path):
    res = analyse(tmp_path, site("""\
        server {
            location /a { proxy_pass https://10.0.0.7; }
            location /b { proxy_pass https://10.0.0.7; }
        }
        """))
    entry = upstream(res)
    assert [loc["location"] for loc in entry["locations"]] == ["/a", "/b"]


@pytest.mark.parametrize("kwargs, needle", [
    ({"policy": {"protocol": ["TLSv1.2"]}}, "policy: unknown key(s) protocol"),
    ({"policy": {"protocols": ["TLSv1.4"]}}, "policy.protocols: unknown protocol(s) TLSv1.4"),
    ({"policy": {"protocols": []}}, "policy.protocols"),
    ({"policy": {"ciphers": 3}}, "policy.ciphers"),
    ({"policy": "modern"}, "policy: expected a dict"),
    ({"chains": {"a:443": -1}}, "chains[a:443]"),
    ({"chains": {"a:443": "many"}}, "chains[a:443]"),
    ({"chains": ["a"]}, "chains: expected a dict"),
    ({"nginx_version": "latest"}, "nginx_version"),
])
def test_bad_options_name_the_parameter(tmp_path, kwargs, needle):
    d = str(tmp_path)
    with open(os.path.join(d, "nginx.conf"), "w") as handle:
        handle.write("events {}\n")
    raw = collect(config=os.path.join(d, "nginx.conf"), source="files")
    with pytest.raises(report.OptionError) as err:
        report.analyse(raw, **kwargs)
    assert needle in str(err.value)


def test_relative_paths_in_probe_targets_are_read_from_the_config_directory(tmp_path):
    res = analyse(tmp_path, site("""\
        server {
            listen localhost:8080;
            location /a {
                proxy_pass https://10.0.0.7;
                proxy_ssl_verify on;
                proxy_ssl_trusted_certificate tls/ca.pem;
                proxy_ssl_certificate tls/client.pem;
                proxy_ssl_certificate_key tls/client.key;
            }
            location /b { proxy_pass https://localhost:8080; }
        }
        """))
    target = upstream(res, location="/a")["probe_targets"][0]
    d = str(tmp_path)
    assert (target["ca_file"], target["client_cert"], target["client_key"]) == (
        d + "/tls/ca.pem", d + "/tls/client.pem", d + "/tls/client.key")
    assert upstream(res, location="/a")["effective"]["trusted_certificate"] == "tls/ca.pem"   # as written
    assert "https_to_plain_port" in codes(upstream(res, location="/b"))

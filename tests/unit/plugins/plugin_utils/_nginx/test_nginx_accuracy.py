# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_tls_info on the edge cases of real configurations (issue #10): the name nginx sends, configurations
nginx would reject, ``proxy_pass http://`` to a TLS port, conf commands and the connect timeout in the probe
targets.

Configurations are written here and read the way the module reads them: with the real ``nginx -T`` when
nginx is installed (nginx must then accept them), from the files when the case is about reading files.
"""

from __future__ import annotations

import os
import textwrap

import pytest
import trustme

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.collect import collect, find_nginx
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import report
from tests.nginx_files import HEAD, write_tree

NGINX = find_nginx()


def write(tmp_path, files):
    """Write ``files`` ({relative path: text}; ``{d}`` is the directory); the main file's path."""
    d = write_tree(tmp_path, files)
    return os.path.join(d, "nginx.conf")


def analyse(tmp_path, files, source="auto", **kwargs):
    """Analyse like nginx_tls_info: ``nginx -T`` when nginx is here (it must accept the configuration)."""
    main = write(tmp_path, files)
    source = source if NGINX else "files"
    raw = collect(config=main, prefix=str(tmp_path), source=source)
    if source != "files":
        assert raw["source"] == "nginx -T" and raw["config_test"]["ok"] is True, raw["config_test"]
    return report.analyse(raw, **kwargs)


def http(body):
    """A main file whose http{} holds ``body`` (indented like HEAD's directives)."""
    return {"nginx.conf": HEAD + textwrap.indent(textwrap.dedent(body), "    ") + "}\n"}


def upstream(result, location):
    found = [u for u in result["upstreams"] if any(loc["location"] == location for loc in u["locations"])]
    assert len(found) == 1, [(u["name"], [loc["location"] for loc in u["locations"]]) for u in result["upstreams"]]
    return found[0]


def codes(result):
    return [f["code"] for f in result["findings"]]


# --------------------------------------------------------------------------- ssl_name

SSL_NAMES = """\
upstream backend.internal { server 127.0.0.1:9443; }
proxy_ssl_server_name on;
server {
    listen 127.0.0.1:8080;
    location /block { proxy_pass https://backend.internal; }
    location /port { proxy_pass https://localhost:9443/; }
    location /v6 { proxy_pass https://[::1]:9443; }
    location /quoted { proxy_ssl_name "api.example"; proxy_pass https://127.0.0.1:9443; }
    location /quoted-port { proxy_ssl_name 'api.example:8443'; proxy_pass https://127.0.0.1:9443; }
    location /proxy-host { proxy_ssl_name $proxy_host; proxy_pass https://localhost:9443; }
    location /request { proxy_ssl_name $host; proxy_pass https://127.0.0.1:9443; }
}
"""


@pytest.mark.parametrize("location, name, directive, server_name, sni", [
    ("/block", "backend.internal", None, "backend.internal", True),
    ("/port", "localhost", None, "localhost", True),
    ("/v6", "[::1]", None, None, False),
    ("/quoted", "api.example", "api.example", "api.example", True),
    ("/quoted-port", "api.example", "api.example:8443", "api.example", True),
    ("/proxy-host", "localhost", "$proxy_host", "localhost", True),
])
def test_ssl_name_is_the_name_nginx_sends(tmp_path, location, name, directive, server_name, sni):
    entry = upstream(analyse(tmp_path, http(SSL_NAMES)), location)
    eff = entry["effective"]
    assert (eff["ssl_name"], eff["ssl_name_directive"]) == (name, directive)
    assert eff["ssl_name_resolved"] == name          # the old key, kept for the report engine
    assert (entry["sources"]["ssl_name"] is None) == (directive is None)
    for target in entry["probe_targets"]:
        assert (target.get("server_name"), target["sni"]) == (server_name, sni)


def test_ssl_name_from_a_request_variable_is_not_guessed(tmp_path):
    result = analyse(tmp_path, http(SSL_NAMES))
    entry = upstream(result, "/request")
    assert (entry["effective"]["ssl_name"], entry["effective"]["ssl_name_directive"]) == (None, "$host")
    (found,) = [f for f in entry["findings"] if f["code"] == "ssl_name_has_variables"]
    assert "proxy_ssl_name $host depends on the request" in found["message"]
    assert "server_name" not in entry["probe_targets"][0]        # an IP literal: nothing to send


# --------------------------------------------------------------------------- configurations nginx rejects

SITE_HEAD = HEAD + "    include sites/*.conf;\n}\n"
# name -> (the text of sites/bad.conf, the line crossplane names there)
REJECTED = {
    "no semicolon before }": ("server {\n    listen 127.0.0.1:8080;\n    location / {\n"
                              "        proxy_pass https://127.0.0.1:9443;\n"
                              "        proxy_ssl_conf_command Options UnsafeLegacyServerConnect }\n}\n", 5),
    "no semicolon before {": ("server {\n    listen 127.0.0.1:8080;\n    proxy_ssl_name api.example\n"
                              "    location / { proxy_pass https://127.0.0.1:9443; }\n}\n", 3),
    "no semicolon before the next directive": ("server {\n    listen 127.0.0.1:8080;\n    proxy_ssl_name api.example\n"
                                               "    proxy_ssl_server_name on;\n}\n", 3),
    "no semicolon at the end": ("server { listen 127.0.0.1:8080; }\nproxy_ssl_verify off\n", 2),
    "a brace missing": ("server {\n    listen 127.0.0.1:8080;\n    location / {\n"
                        "        proxy_pass https://127.0.0.1:9443;\n}\n", 5),
    "a brace too many": ("server {\n    listen 127.0.0.1:8080;\n}\n}\n", 4),
    "an unknown include": ("server {\n    listen 127.0.0.1:8080;\n    include {d}/snippets/absent.conf;\n}\n", 3),
}


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed: what nginx rejects is learnt from nginx")
@pytest.mark.parametrize("case", sorted(REJECTED))
def test_a_configuration_nginx_rejects_is_a_clean_failure_when_read_from_files(tmp_path, case):
    text, line = REJECTED[case]
    main = write(tmp_path, {"nginx.conf": SITE_HEAD, "sites/bad.conf": text})
    bad = os.path.join(str(tmp_path), "sites", "bad.conf")
    # nginx itself rejects it, at that file
    raw = collect(config=main, prefix=str(tmp_path), source="auto")
    assert raw["config_test"]["ok"] is False and raw["config_test"]["rc"] == 1
    (emerg,) = [m for m in raw["config_test"]["messages"] if m.startswith("[emerg]")]
    assert " in %s:" % bad in emerg
    # ... and so is it read from the files: no partial result, the file and line named
    raw = collect(config=main, prefix=str(tmp_path), source="files")
    with pytest.raises(report.nparse.ParseError) as failure:
        report.analyse(raw)
    message = str(failure.value)
    assert message.startswith("the nginx configuration cannot be parsed, and nginx would reject it: ")
    assert "%s:%d" % (bad, line) in message, (message, emerg)
    assert failure.value.errors[0]["file"] == bad and failure.value.errors[0]["line"] == line


@pytest.mark.skipif(NGINX is None, reason="needs nginx -T")
def test_where_nginx_ran_its_rejection_is_reported_as_before(tmp_path):
    text, line = REJECTED["no semicolon before }"]
    main = write(tmp_path, {"nginx.conf": SITE_HEAD, "sites/bad.conf": text})
    result = report.analyse(collect(config=main, prefix=str(tmp_path), source="auto"))
    bad = os.path.join(str(tmp_path), "sites", "bad.conf")
    (rejected,) = [f for f in result["findings"] if f["code"] == "config_rejected"]
    assert rejected["message"] == 'nginx rejects this configuration: [emerg] unexpected "}" in %s:5' % bad
    (syntax,) = [f for f in result["findings"] if f["code"] == "config_syntax_error"]
    assert (syntax["file"], syntax["line"]) == (bad, 5) and 'unexpected "}"' in syntax["message"]
    assert result["summary"]["config_valid"] is False


def test_crossplane_accepts_what_nginx_accepts(tmp_path):
    """Valid syntax that a stricter reader could trip on: lua-like quoted braces, maps, comments, if."""
    result = analyse(tmp_path, http("""\
        map $host $tier { default "a}b"; ~^x "{"; }   # braces in quotes are text
        types { text/plain txt; }
        server {
            listen 127.0.0.1:8080;
            if ($tier = "a}b") { return 404; }
            location / {
                # a comment with ; and { and }
                proxy_pass https://127.0.0.1:9443;
                proxy_ssl_conf_command Options UnsafeLegacyServerConnect;
            }
        }
        """))
    assert "config_syntax_error" not in codes(result)
    commands = upstream(result, "/")["effective"]["conf_commands"]
    assert commands == [{"name": "Options", "value": "UnsafeLegacyServerConnect"}]


# --------------------------------------------------------------------------- proxy_pass http:// to a TLS port

@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("cert")
    leaf = trustme.CA().issue_cert("proxy.test")
    (d / "cert.pem").write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
    (d / "key.pem").write_bytes(leaf.private_key_pem.bytes())
    return str(d)


PLAINTEXT = """\
upstream mixed { server 127.0.0.1:8443; server 127.0.0.1:8080; }
server {
    listen 127.0.0.1:18443 ssl;
    ssl_certificate {c}/cert.pem;
    ssl_certificate_key {c}/key.pem;
}
server {
    listen 127.0.0.1:18080;
    location /own { proxy_pass http://127.0.0.1:18443; }
    location /usual { proxy_pass http://10.0.0.7:443/; }
    location /block { proxy_pass http://mixed; }
    location /own-plain { proxy_pass http://127.0.0.1:18080; }
    location /other-port { proxy_pass http://10.0.0.7:8080; }
    location /tls { proxy_pass https://10.0.0.7:443; }
    location /fast { proxy_connect_timeout 500ms; proxy_pass http://localhost:443; }
}
"""


@pytest.fixture(scope="module")
def plaintext(tmp_path_factory, cert):
    return analyse(tmp_path_factory.mktemp("plaintext"), http(PLAINTEXT.replace("{c}", cert)))


def test_proxy_pass_http_to_a_tls_port_is_flagged(plaintext):
    found = {f["proxy_pass"] if "proxy_pass" in f else f["message"].split(" ")[1]: f
             for f in plaintext["findings"] if f["code"] == "http_to_tls_port"}
    assert sorted(found) == ["http://10.0.0.7:443/", "http://127.0.0.1:18443", "http://localhost:443", "http://mixed"]
    main = plaintext["config_file"]
    own = found["http://127.0.0.1:18443"]
    assert (own["severity"], own["file"], own["line"]) == ("error", main, 16)
    assert "which this nginx serves with ssl (listen 127.0.0.1:18443 ssl in the server at %s:9)" % main in own["message"]
    assert "Write https:// in proxy_pass" in own["fix"]
    usual = found["http://10.0.0.7:443/"]
    assert (usual["severity"], usual["line"], usual["upstream"]) == ("warning", 17, "10.0.0.7:443")
    block = found["http://mixed"]       # at the upstream's server line, for the 8443 server only
    assert (block["line"], block["upstream"]) == (8, "mixed") and "127.0.0.1:8443" in block["message"]


def test_a_plaintext_pass_to_a_tls_port_gets_a_target_that_confirms_it(plaintext):
    checks = [t for t in plaintext["probe_targets"] if t["origin"].get("expect") == "plaintext"]
    assert sorted((t["host"], t["port"]) for t in checks) == [
        ("10.0.0.7", 443), ("127.0.0.1", 8443), ("127.0.0.1", 18443), ("localhost", 443)]
    for target in checks:
        assert target["verify"] is False and target["http_request"] is False
        assert target["origin"]["locations"][0]["proxy_pass"] == target["origin"]["proxy_pass"]
        assert target["name"].endswith("(plaintext in proxy_pass)")
    (named,) = [t for t in checks if t["host"] == "localhost"]
    assert (named["server_name"], named["sni"], named["timeout"]) == ("localhost", True, 0.5)
    # nothing else is a plaintext check, and TLS targets carry no expectation
    assert all("expect" not in t["origin"] for t in plaintext["probe_targets"] if t not in checks)
    assert not [u for u in plaintext["upstreams"] if u["proxy_pass"].startswith("http://")]


# --------------------------------------------------------------------------- conf commands and timeouts

CONF_COMMANDS = """\
proxy_ssl_conf_command Options UnsafeLegacyServerConnect;
proxy_connect_timeout 3s;
server {
    listen 127.0.0.1:18080;
    location /inherited { proxy_pass https://10.0.0.7:443; }
    location /own {
        proxy_ssl_conf_command Groups X25519:prime256v1;
        proxy_ssl_conf_command options -SessionTicket;
        proxy_ssl_conf_command Options UnsafeLegacyServerConnect;
        proxy_ssl_conf_command RecordPadding 512;
        proxy_connect_timeout 1m;
        proxy_pass https://10.0.0.8:443;
    }
    location /fast { proxy_connect_timeout 250ms; proxy_pass https://10.0.0.9:443; }
    location /grpc { grpc_connect_timeout 2s; grpc_pass grpcs://10.0.0.10:443; }
}
"""


def test_probe_targets_carry_the_effective_conf_commands(tmp_path):
    result = analyse(tmp_path, http(CONF_COMMANDS))
    (inherited,) = upstream(result, "/inherited")["probe_targets"]
    assert inherited["conf_commands"] == {"Options": "UnsafeLegacyServerConnect"}
    own = upstream(result, "/own")
    (target,) = own["probe_targets"]
    # the location's commands replace the http level's; two Options add up; RecordPadding is not probed
    assert target["conf_commands"] == {"Groups": "X25519:prime256v1",
                                       "Options": "-SessionTicket,UnsafeLegacyServerConnect"}
    assert target["groups"] == ["X25519", "prime256v1"]
    (note,) = own["notes"]
    assert note == "proxy_ssl_conf_command RecordPadding not reproduced by tls_probe: left out of the probe targets"
    (finding,) = [f for f in own["findings"] if f["code"] == "conf_command_not_probed"]
    assert finding["line"] == 14 and "proxy_ssl_conf_command RecordPadding 512" in finding["message"]


@pytest.mark.parametrize("location, timeout, effective", [
    ("/inherited", 3.0, 3.0),      # server level, shorter than tls_probe's 5 s
    ("/own", None, 60.0),          # 1m: tls_probe's default is shorter
    ("/fast", 0.25, 0.25),
    ("/grpc", 2.0, 2.0),           # grpc_connect_timeout, not proxy_connect_timeout
])
def test_the_probe_timeout_is_nginx_connect_timeout_when_shorter(tmp_path, location, timeout, effective):
    entry = upstream(analyse(tmp_path, http(CONF_COMMANDS)), location)
    assert entry["effective"]["connect_timeout"] == effective
    (target,) = entry["probe_targets"]
    assert target.get("timeout") == timeout


@pytest.mark.parametrize("text, seconds", [
    ("500ms", 0.5), ("3s", 3.0), ("1m", 60.0), ("1m30s", 90.0), ("2", 2.0), ("1h 1s", 3601.0),
    ("", None), ("fast", None), ("1s1s", None), ("-1s", None),
])
def test_nginx_time_syntax(text, seconds):
    assert report.eff.parse_time(text) == seconds

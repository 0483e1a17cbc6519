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

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx_collect import collect, find_nginx
from ansible_collections.tlsops.handshake.plugins.plugin_utils import _nginx_report as report

NGINX = find_nginx()
HEAD = """\
pid {d}/nginx.pid;
error_log {d}/error.log;
events {}
http {
    access_log off;
    client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
"""


def write(tmp_path, files):
    """Write ``files`` ({relative path: text}; ``{d}`` is the directory); the main file's path."""
    d = str(tmp_path)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    for rel, text in files.items():
        path = os.path.join(d, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(textwrap.dedent(text).replace("{d}", d))
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
    assert upstream(result, "/")["effective"]["conf_commands"] == [{"name": "Options",
                                                                     "value": "UnsafeLegacyServerConnect"}]

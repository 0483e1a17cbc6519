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

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host half of nginx_tls_info: nginx -T splitting, include discovery, nginx -V, bad parameters."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import collect as nc
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.tokens import statements


def test_split_dump_gives_back_each_file_exactly():
    files = [("/etc/nginx/nginx.conf", "events {}\nhttp {\n    include conf.d/*.conf;\n}\n"),
             ("/etc/nginx/conf.d/a.conf", "server { listen 80; }  # configuration file /etc/passwd:"),
             ("/etc/nginx/conf.d/b.conf", "")]
    dump = "".join("# configuration file %s:\n%s\n" % (path, text) for path, text in files)
    assert [(f["path"], f["content"]) for f in nc.split_dump(dump)] == files


def test_split_dump_ignores_text_before_the_first_header_and_relative_headers():
    dump = "noise\n# configuration file /a.conf:\nx;\n# configuration file rel.conf:\ny;\n\n"
    assert nc.split_dump(dump) == [{"path": "/a.conf", "content": "x;\n# configuration file rel.conf:\ny;\n"}]


def test_statements_handle_quotes_comments_variables_and_blocks():
    text = r'''
        # include /etc/commented.conf;
        http {
            include "conf.d/*.conf"; include 'b c.conf';
            ssl_certificate /etc/ssl/a\ b.pem;   # trailing comment; not a directive
            location ~ ^/(?<x>.+)${uri} { return 200 "a;b{c}"; }
            ssl_certificate $ssl_server_name.pem;
        }
    '''
    got = list(statements(text))
    assert ("include", ["conf.d/*.conf"]) in got and ("include", ["b c.conf"]) in got
    assert ("ssl_certificate", [r"/etc/ssl/a\ b.pem"]) in got
    assert ("return", ["200", "a;b{c}"]) in got
    assert not [s for s in got if "commented" in " ".join(s[1])]
    assert ("location", ["~", "^/(?<x>.+)${uri}"]) in got


def test_parse_version_output():
    text = ("nginx version: nginx/1.25.3 (Ubuntu)\nbuilt by gcc 13.2.0\n"
            "built with OpenSSL 3.0.10 1 Aug 2023 (running with OpenSSL 3.0.13 30 Jan 2024)\n"
            "TLS SNI support enabled\n"
            "configure arguments: --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --with-http_ssl_module\n")
    info = nc.parse_version_output(text)
    assert info["product"] == "nginx" and info["version"] == "1.25.3"
    assert info["openssl_built"] == "OpenSSL 3.0.10 1 Aug 2023"
    assert info["openssl_running"] == "OpenSSL 3.0.13 30 Jan 2024"
    assert info["conf_path"] == "/etc/nginx/nginx.conf" and info["prefix"] == "/usr/share/nginx"
    same = nc.parse_version_output("nginx version: openresty/1.21.4.1\nbuilt with OpenSSL 1.1.1w  11 Sep 2023\n")
    assert same["product"] == "openresty" and same["openssl_running"] == same["openssl_built"] == "OpenSSL 1.1.1w 11 Sep 2023"


def test_nginx_messages_keep_nginx_own_words():
    stderr = ('2026/12/01 21:32:52 [emerg] 3242#3242: "ssl_prefer_server_ciphers" directive is duplicate in '
              '/tmp/nx/nginx.conf:8\nnginx: configuration file /tmp/nx/nginx.conf test failed\n')
    assert nc.nginx_messages(stderr) == [
        '[emerg] "ssl_prefer_server_ciphers" directive is duplicate in /tmp/nx/nginx.conf:8']


def test_read_tree_follows_includes_like_nginx(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "nginx.conf").write_text("events {}\nhttp { include conf.d/*.conf; include extra.inc; }\n")
    (tmp_path / "conf.d" / "b.conf").write_text("server { include snippets/s.inc; }\n")
    (tmp_path / "conf.d" / "a.conf").write_text("# a\n")
    (tmp_path / "conf.d" / ".hidden.conf").write_text("# never read by nginx\n")
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "s.inc").write_text("location / { }\n")
    files, errors = nc.read_tree(str(tmp_path / "nginx.conf"), str(tmp_path))
    names = [os.path.relpath(f["path"], str(tmp_path)) for f in files]
    assert names == ["nginx.conf", "conf.d/a.conf", "conf.d/b.conf", "snippets/s.inc"]
    assert [os.path.basename(e["path"]) for e in errors] == ["extra.inc"]


def test_certificates_are_summarised_and_keys_never_read(tmp_path):
    # a stand-in key file (not a real key; spelled in parts so no key marker sits in the repository)
    marker = "PRIVATE" + " KEY"
    (tmp_path / "key.pem").write_text("-----BEGIN %s-----\nAAAA\n-----END %s-----\n" % (marker, marker))
    (tmp_path / "empty.pem").write_text("nothing\n")
    files = [{"path": str(tmp_path / "nginx.conf"),
              "content": "ssl_certificate empty.pem; ssl_certificate_key key.pem; ssl_certificate $x.pem;"
                         " proxy_ssl_trusted_certificate /nonexistent/ca.pem;"}]
    paths = nc.certificate_paths(files, str(tmp_path))
    assert {path: named["kind"] for path, named in paths.items()} == {
        str(tmp_path / "empty.pem"): "certificate", "/nonexistent/ca.pem": "ca"}
    assert paths["/nonexistent/ca.pem"] == {"kind": "ca", "directive": "proxy_ssl_trusted_certificate",
                                            "file": str(tmp_path / "nginx.conf"), "line": 1}
    summary, bundle_error = nc.read_certificates(paths)
    assert summary[str(tmp_path / "empty.pem")]["error"] == "no PEM CERTIFICATE block in the file"
    assert summary["/nonexistent/ca.pem"]["error"] == "it is missing (no such file)" and bundle_error is None


def test_bad_parameters_are_named(tmp_path):
    script = tmp_path / "nginx"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(nc.CollectError, match="^nginx_path: "):
        nc.collect(nginx_path=str(script))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(nc.CollectError, match="^config: relative.conf is relative"):
        nc.collect(config="relative.conf")
    with pytest.raises(nc.CollectError, match="^config: .* does not exist"):
        nc.collect(config=str(tmp_path / "missing.conf"), source="files")
    with pytest.raises(nc.CollectError, match="^prefix: "):
        nc.collect(prefix=str(tmp_path / "nodir"))
    with pytest.raises(nc.CollectError, match="^source: "):
        nc.collect(source="guess")

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one host-side nginx reader (_nginx/tokens, _nginx/includes, _nginx/output) on tricky input:
escaped quotes, # inside quotes, an unterminated quote, include globs, relative includes, ${var},
each checked for its tokens and its FILE:LINE.  The same inputs go to the real nginx in
tests/integration/test_nginx_reader_parity.py."""

from __future__ import annotations

import os

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files as safe
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import includes, output, tokens as nt

# text -> [(value, quoted, line)] as nginx reads it
TRICKY = [
    ('a "x\\"y" \'p\\\'q\';', [("a", False, 1), ('x"y', True, 1), ("p'q", True, 1), (";", False, 1)]),
    ('a "x\\\\y" x\\\\y "t\\tn\\n" "k\\q";', [("a", False, 1), ("x\\y", True, 1), ("x\\y", False, 1),
                                              ("t\tn\n", True, 1), ("k\\q", True, 1), (";", False, 1)]),
    ('a "b # c" d#e; # f\ng;', [("a", False, 1), ("b # c", True, 1), ("d#e", False, 1), (";", False, 1),
                                ("g", False, 2), (";", False, 2)]),
    ("a ${b}c ${d e}; f${g;h", [("a", False, 1), ("${b}c", False, 1), ("${d", False, 1), ("e}", False, 1),
                                (";", False, 1), ("f${g", False, 1), (";", False, 1), ("h", False, 1)]),
    ("a}b {\n}\n", [("a}b", False, 1), ("{", False, 1), ("}", False, 2)]),
    ('a "multi\nline" b\\ c;\nd;', [("a", False, 1), ("multi\nline", True, 1), ("b\\ c", False, 2), (";", False, 2),
                                    ("d", False, 3), (";", False, 3)]),
    ('a "x"y;', [("a", False, 1), ("x", True, 1), ("y", False, 1), (";", False, 1)]),
    ("a 'b\n\nc", [("a", False, 1), ("b\n\nc", True, 1)]),
]


@pytest.mark.parametrize("text, expected", TRICKY)
def test_tokens_and_lines_are_those_nginx_reads(text, expected):
    got = [(t.value, t.quoted, t.line) for t in nt.scan(text)]
    assert got == expected
    for token in nt.scan(text):     # start/end give the token as written
        written = text[token.start:token.end]
        assert written.startswith(("'", '"')) == token.quoted


@pytest.mark.parametrize("text, line, problem", [
    ('a;\nb "c;\nd;\n', 2, "unterminated quoted string"),
    ("a;\nb 'c\\';\n", 2, "unterminated quoted string"),
    ('a "x"y;', 1, 'unexpected "y" right after a quoted string'),
    ("a;;", 1, 'unexpected ";"'),
    ("http {\n a;\n", 3, 'expecting "}" to close "http"'),
    ("a;\n}\n", 2, 'unexpected "}"'),
    ("a b", 1, 'unexpected end of file, expecting ";" or "}"'),
])
def test_strict_mode_refuses_what_nginx_refuses_naming_file_and_line(text, line, problem):
    with pytest.raises(nt.NginxSyntaxError) as caught:
        list(nt.parse(text, "/etc/nginx/x.conf", strict=True))
    assert caught.value.file == "/etc/nginx/x.conf" and caught.value.line == line
    assert str(caught.value).startswith("/etc/nginx/x.conf:%d: " % line) and problem in str(caught.value)
    list(nt.parse(text))    # lenient mode reads it all the same


def test_statements_carry_line_end_line_and_context():
    text = "http {\n  server {\n    location /api/ {\n      proxy_pass\n        http://a;\n    }\n  }\n}\n"
    got = [(s.name, s.line, s.end_line, s.context) for s in nt.parse(text, "f", strict=True)]
    assert got == [("http", 1, 1, ()), ("server", 2, 2, ("http",)), ("location", 3, 3, ("http", "server")),
                   ("proxy_pass", 4, 5, ("http", "server", "location /api/"))]


def _tree(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _read(path, origin):
    return safe.read_text(path, 1 << 20, where="%s:%d include" % origin if origin else "config")


def test_includes_globs_sorted_relative_to_the_main_files_directory_in_the_includes_context(tmp_path):
    _tree(tmp_path, {"etc/nginx.conf": "http {\n  include conf.d/*.conf;\n  include /ABS/x.inc;\n}\n",
                     "etc/conf.d/b.conf": "server { listen 2; }\n",
                     "etc/conf.d/a.conf": "# a\nlisten 1;\n",
                     "etc/conf.d/.hidden.conf": "hidden;\n",
                     "etc/abs/x.inc": 'set $v "${x}";\n'})
    conf = str(tmp_path / "etc" / "nginx.conf")
    text = (tmp_path / "etc" / "nginx.conf").read_text().replace("/ABS", str(tmp_path / "etc" / "abs"))
    (tmp_path / "etc" / "nginx.conf").write_text(text)
    got = [(os.path.relpath(s.file, str(tmp_path)), s.line, s.name, s.args, s.context)
           for s in includes.walk(conf, str(tmp_path / "etc"), _read, strict=True)]
    assert got == [
        ("etc/nginx.conf", 1, "http", [], ()),
        ("etc/nginx.conf", 2, "include", ["conf.d/*.conf"], ("http",)),
        ("etc/conf.d/a.conf", 2, "listen", ["1"], ("http",)),
        ("etc/conf.d/b.conf", 1, "server", [], ("http",)),
        ("etc/conf.d/b.conf", 1, "listen", ["2"], ("http", "server")),
        ("etc/nginx.conf", 3, "include", [str(tmp_path / "etc" / "abs" / "x.inc")], ("http",)),
        ("etc/abs/x.inc", 1, "set", ["$v", "${x}"], ("http",)),
    ]


def test_include_problems_name_the_including_file_and_line(tmp_path):
    _tree(tmp_path, {"nginx.conf": "events {}\ninclude none/*.conf;\n\ninclude missing.conf;\ninclude self.conf;\n",
                     "self.conf": "include self.conf;\n"})
    conf = str(tmp_path / "nginx.conf")
    errors = []
    list(includes.walk(conf, str(tmp_path), _read, on_error=lambda p, o, e: errors.append((p, o, str(e)))))
    (missing, origin, message), (loop_path, loop_origin, loop_message) = errors   # a glob without match is no error
    assert missing == str(tmp_path / "missing.conf") and origin == (conf, 4)
    assert message.startswith("%s:4 include: %s is missing" % (conf, missing))
    assert loop_origin == (str(tmp_path / "self.conf"), 1) and "includes itself" in loop_message
    with pytest.raises(safe.FileRefused, match=":4 include: .*missing.conf is missing"):
        list(includes.walk(conf, str(tmp_path), _read))


def test_a_syntax_error_in_an_included_file_names_that_file(tmp_path):
    _tree(tmp_path, {"nginx.conf": "http {\n  include sites/*;\n}\n", "sites/app": 'server {\n  return 200 "oops;\n}\n'})
    with pytest.raises(nt.NginxSyntaxError, match=r"^%s:2: unterminated quoted string" % (tmp_path / "sites" / "app")):
        list(includes.walk(str(tmp_path / "nginx.conf"), str(tmp_path), _read, strict=True))


def test_nginx_dash_v_gives_the_role_its_facts():
    debian = ("nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.9 30 May 2023 (running with OpenSSL 3.0.11 19 Sep 2023)\n"
              "TLS SNI support enabled\nconfigure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx "
              "--conf-path=/etc/nginx/nginx.conf --pid-path=/run/nginx.pid --with-http_ssl_module\n")
    info = output.parse_version_output(debian)
    assert (info["version"], info["openssl_version"], info["conf_file"], info["pid_file"]) == (
        "1.22.1", "3.0.11", "/etc/nginx/nginx.conf", "/run/nginx.pid")
    # from source: no --prefix (nginx's /usr/local/nginx), relative paths taken from the prefix as nginx does
    source = "nginx version: nginx/1.25.3\nbuilt with OpenSSL 1.1.1w  11 Sep 2023\nconfigure arguments: --conf-path=c/n.conf\n"
    info = output.parse_version_output(source)
    assert (info["openssl_version"], info["conf_file"], info["pid_file"]) == (
        "1.1.1", "/usr/local/nginx/c/n.conf", "/usr/local/nginx/logs/nginx.pid")
    assert output.parse_version_output("nginx version: nginx/1.25.3\nbuilt with LibreSSL 3.8.2\n")["openssl_version"] == "0"


def test_nginx_dash_t_failure_names_file_line_and_the_quoted_argument():
    stderr = ('2026/12/07 02:08:21 [emerg] 41#41: "ssl_protocols" directive is duplicate in /etc/nginx/a b.conf:8\n'
              "nginx: configuration file /etc/nginx/nginx.conf test failed\n")
    assert output.test_failure(stderr) == {
        "message": '2026/12/07 02:08:21 [emerg] 41#41: "ssl_protocols" directive is duplicate in /etc/nginx/a b.conf:8',
        "file": "/etc/nginx/a b.conf", "line": 8, "quoted": ""}
    key = "-----BEGIN" + " PRIVATE KEY-----\nMIIE\n-----END" + " PRIVATE KEY-----"
    stderr = ('nginx: [warn] something\n2026/12/07 [emerg] 7#7: SSL_CTX_use_PrivateKey("data:%s") failed '
              "(SSL: error:key values mismatch)\nnginx: configuration file /x test failed\n" % key)
    got = output.test_failure(stderr, redact=lambda text: text.replace("MIIE", "(hidden)"))
    assert got["file"] is None and got["line"] is None and "\n" not in got["message"]
    assert "MIIE" not in got["message"] and "(hidden)" in got["message"] and got["message"].endswith("mismatch)")
    assert got["quoted"].startswith("data:-----BEGIN")
    without = output.test_failure(" no emerg here \n")
    assert without == {"message": "no emerg here", "file": None, "line": None, "quoted": ""}

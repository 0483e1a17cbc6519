# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private keys never leave the host: redaction of nginx configuration text and log lines, with
keys generated when the test runs (tests/hazards.py; none is committed)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._logs.read import read_logs
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx import secrets
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.collect import collect
from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.tokens import located_statements
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import report
from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx.parse import ParseError
from tests import hazards

KEYS = {}


def key(kind="ec", encoding="pkcs8", password=None):
    name = (kind, encoding, password)
    if name not in KEYS:
        KEYS[name] = hazards.key_pem(hazards.private_key(kind), encoding, password)
    return KEYS[name]


def assert_no_key(text, *pems):
    assert hazards.PEM_MARKER not in text
    for pem in pems:
        for fragment in hazards.key_fragments(pem):
            assert fragment not in text


@pytest.mark.parametrize("directive", ["ssl_certificate_key", "proxy_ssl_certificate_key",
                                       "grpc_ssl_certificate_key", "uwsgi_ssl_certificate_key"])
@pytest.mark.parametrize("kind, encoding, password", [("ec", "pkcs8", None), ("rsa", "traditional", None),
                                                      ("ec", "traditional", None), ("ec", "pkcs8", b"pw")])
def test_an_inline_key_becomes_data_redacted_and_lines_stay(directive, kind, encoding, password):
    pem = key(kind, encoding, password)
    text = 'server {\n    %s "data:%s";\n    ssl_protocols TLSv1.2;\n}\n' % (directive, pem)
    out = secrets.redact(text)
    assert_no_key(out, pem)
    assert out.count("\n") == text.count("\n")
    got = [(d, a, line) for d, a, line, dummy in located_statements(out)]
    assert got == [("server", [], 1), (directive, ["data:<redacted private key>"], 2),
                   ("ssl_protocols", ["TLSv1.2"], 2 + pem.count("\n") + 1)]


def test_a_key_anywhere_else_is_redacted_too():
    pem, other = key("ec"), key("rsa", "traditional")
    text = ("map $host $k {\n    default \"%s\";\n}\n# ssl_certificate_key \"data:%s\";\n"
            "ssl_certificate \"data:-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n%s\";\n"
            % (pem, other.replace("\n", "\n# "), pem.replace("\n", "\\n")))
    out = secrets.redact(text)
    assert_no_key(out, pem, other)
    assert out.count("\n") == text.count("\n") and "-----BEGIN CERTIFICATE-----" in out


def test_a_key_cut_off_and_a_variable_are_handled():
    pem = key("ec")
    truncated = 'ssl_certificate_key "data:%s' % pem[:80]      # no END line, no closing quote
    assert_no_key(secrets.redact(truncated), pem)
    assert secrets.redact("ssl_certificate_key data:$key;\n") == "ssl_certificate_key data:$key;\n"
    assert secrets.redact("ssl_certificate_key /etc/ssl/k.pem;") == "ssl_certificate_key /etc/ssl/k.pem;"
    unquoted = "ssl_certificate_key data:MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg;\n"
    assert secrets.redact(unquoted) == 'ssl_certificate_key "data:<redacted private key>";\n'


def test_log_lines_lose_key_material():
    pem = key("ec")
    lines = ('2026/12/01 10:00:00 [emerg] 1#1: cannot load certificate key "data:%s": PEM_read_bio_PrivateKey() failed '
             "(SSL: error:1E08010C:DECODER routines::unsupported)" % pem).splitlines()
    assert_no_key("\n".join(secrets.redact_line(line) for line in lines), pem)


def test_handshake_log_info_samples_never_hold_a_key(tmp_path):
    pem = key("rsa")
    # nginx writes the value as it is, newlines and all: the body lines come out as lines of their own
    # base64 holds "SSL" by chance in some keys' lines: such a line passes the reader's cheap pre-filter
    body = [line[:30] + "SSL" + line[33:] for line in pem.splitlines()[1:3]]
    log = tmp_path / "error.log"
    log.write_text('2026/12/01 10:00:00 [emerg] 1#1: SSL_CTX_use_PrivateKey("data:%s") failed (SSL:)\n%s\n'
                   % (pem, "\n".join(body)))
    res = read_logs(paths=[str(log)], rotated=False, samples=50)
    assert res["unparsed"]["count"] >= 1
    assert_no_key(json.dumps(res), pem)


def test_collect_returns_no_key_from_files_or_certificates(tmp_path):
    pem, other = key("ec"), key("rsa")
    cert = tmp_path / "cert.pem"
    cert.write_text(hazards.self_signed(hazards.private_key()))
    (tmp_path / "secret.key").write_text(other)
    (tmp_path / "pass.txt").write_text("password-file-token\n")
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp {\n    include %s/secret.key;\n    server {\n        listen 443 ssl;\n"
                    "        ssl_certificate %s;\n        ssl_certificate_key \"data:%s\";\n"
                    "        ssl_password_file %s/pass.txt;\n        proxy_ssl_certificate_key \"data:%s\";\n"
                    "        proxy_ssl_certificate %s;\n        location / { proxy_pass https://10.0.0.7; }\n"
                    "    }\n}\n" % (tmp_path, cert, pem, tmp_path, pem, cert))
    raw = collect(config=str(conf), source="files")
    assert [os.path.basename(f["path"]) for f in raw["files"]] == ["nginx.conf", "secret.key"]
    text = json.dumps(raw)
    assert_no_key(text, pem, other)
    assert "password-file-token" not in text
    # a key file included as configuration: nginx would reject it, and the failure shows no key either
    with pytest.raises(ParseError) as failure:
        report.analyse(raw)
    assert "secret.key:1" in str(failure.value)
    assert_no_key(str(failure.value) + json.dumps(failure.value.errors), pem, other)
    conf.write_text(conf.read_text().replace("include %s/secret.key;" % tmp_path, "# no include here"))
    raw = collect(config=str(conf), source="files")
    result = report.analyse(raw)
    assert_no_key(json.dumps(result), pem, other)
    (server,) = result["servers"]
    assert server["ssl_certificate_keys"] == ["data:<redacted private key>"]
    (upstream,) = result["upstreams"]
    assert upstream["effective"]["certificate_key"] == "data:<redacted private key>"
    assert "client_key" not in upstream["probe_targets"][0]           # not a path: nothing to hand to tls_probe
    assert server["sources"]["ssl_certificate_keys"]["line"] == 7
    assert upstream["sources"]["certificate"]["line"] == 10 + 2 * pem.count("\n")

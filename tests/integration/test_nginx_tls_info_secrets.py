# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No private key leaves the host: nginx_tls_info on a real nginx configuration that holds keys
inline, run through ansible-playbook -vvv (connection local, the collection from build/collections),
with the whole output and every registered result searched for key material.

The keys are generated when the test runs (tests/hazards.py); none is committed.  The
configuration is one real nginx accepts (``nginx -T`` succeeds with the inline key, so the text
really went through nginx), one nginx rejects because of a broken inline key (nginx then repeats
the key in its own error message), and the same files read without nginx (source=files).
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests import hazards
from tests.integration.playbook_cases import assert_no_crash, run_cases

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
REDACTED = "data:<redacted private key>"
PASSWORD_TOKEN = "pass-file-token-never-returned"

pytestmark = pytest.mark.skipif(not NGINX, reason="needs the nginx binary (make deps)")


def _config(d, server_key, client_key, map_key):
    return ("pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {}\nhttp {\n    access_log off;\n"
            "    map $host $not_used { default \"%s\"; }\n"
            "    server {\n        listen 127.0.0.1:1 ssl;\n        server_name secret.lab.test;\n"
            "        ssl_certificate {d}/cert.pem;\n        ssl_certificate_key \"data:%s\";\n"
            "        ssl_password_file {d}/pass.txt;\n"
            "        location / {\n            proxy_pass https://127.0.0.1:2;\n"
            "            proxy_ssl_certificate {d}/cert.pem;\n            proxy_ssl_certificate_key \"data:%s\";\n"
            "        }\n    }\n}\n" % (map_key, server_key, client_key)).replace("{d}", d)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("nginx_secrets")
    server_key, other_key = hazards.private_key("rsa"), hazards.private_key("ec")
    server_pem, other_pem = hazards.key_pem(server_key), hazards.key_pem(other_key, "traditional")
    (d / "cert.pem").write_text(hazards.self_signed(server_key))
    (d / "pass.txt").write_text(PASSWORD_TOKEN + "\n")
    good = d / "good.conf"
    good.write_text(_config(str(d), server_pem, server_pem, other_pem))
    broken_pem = server_pem.replace("-----\n", "-----\nAAAAbroken\n", 1)      # nginx cannot load it
    broken = d / "broken.conf"
    broken.write_text(_config(str(d), broken_pem, server_pem, other_pem))
    cases = [("accepted by nginx -T", {"config": str(good)}),
             ("rejected by nginx -T", {"config": str(broken)}),
             ("read without nginx", {"config": str(good), "source": "files"})]
    ran = run_cases("nginx_tls_info", cases, d, verbosity=3)
    results, output = ran.results, ran.output
    return results, output, (server_pem, other_pem, broken_pem)


def _assert_no_key(text, pems):
    assert hazards.PEM_MARKER not in text
    for pem in pems:
        for fragment in hazards.key_fragments(pem):
            assert fragment not in text, fragment
    assert PASSWORD_TOKEN not in text


def test_no_key_in_the_whole_vvv_output_nor_in_any_result(run):
    results, output, pems = run
    assert "-vvv" in output or "ansible-playbook [core" in output       # it really ran verbose
    _assert_no_key(output, pems)
    _assert_no_key(json.dumps(results), pems)
    for name, result in results.items():
        assert_no_crash(name, result)
        assert not result.get("failed"), (name, result.get("msg"))


def test_the_key_went_through_nginx_and_is_shown_as_configured_inline(run):
    result = run[0]["accepted by nginx -T"]
    assert result["source"] == "nginx -T" and result["config_test"]["ok"] is True
    (server,) = result["servers"]
    assert server["ssl_certificate_keys"] == [REDACTED]
    server_pem, map_pem = run[2][0], run[2][1]
    # the inline keys before a directive keep their lines: file:line stays right after redaction
    assert server["sources"]["ssl_certificate_keys"]["line"] == 11 + map_pem.count("\n")
    (upstream,) = result["upstreams"]
    assert upstream["effective"]["certificate_key"] == REDACTED
    assert upstream["sources"]["certificate_key"]["line"] == 16 + map_pem.count("\n") + server_pem.count("\n")
    assert "client_key" not in upstream["probe_targets"][0]


def test_nginx_own_message_about_the_broken_key_is_redacted(run):
    result = run[0]["rejected by nginx -T"]
    assert result["config_test"]["ok"] is False and result["source"] == "files"
    (rejected,) = [f for f in result["findings"] if f["code"] == "config_rejected"]
    assert "cannot load certificate key \"data:<redacted private key>" in rejected["message"]
    assert "cannot load certificate key \"data:<redacted private key>" in result["config_test"]["stderr"]


def test_the_files_read_without_nginx_say_the_same(run):
    result = run[0]["read without nginx"]
    assert result["source"] == "files" and result["config_test"] is None
    assert result["servers"][0]["ssl_certificate_keys"] == [REDACTED]
    assert result["upstreams"][0]["effective"]["certificate_key"] == REDACTED

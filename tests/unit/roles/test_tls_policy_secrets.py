# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole tls_policy role, run with -vvv --diff on localhost against an nginx configuration in a
temporary directory whose server holds its key inline (ssl_certificate_key "data:..."): the role
edits that file (an include block) and snapshots it, so the key passes through the scan, the
writes and the restore. Nothing of the key may appear in the run's output, in any form the role
could print it (PEM text, the JSON-escaped file content, the base64 snapshot), and a failure of a
hidden task must still say what failed.

Real nginx (nginx -t through a wrapper that points it at the temporary prefix; nginx -V as
installed), a real ansible-playbook; nginx is never started or reloaded (tls_policy_reload: false)
and nothing outside the temporary directory is written. Skipped without nginx."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest
import trustme

from tests.molecule.key_needles import needles
from tests.unit.roles._playbook import NGINX, run_playbook

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")

NGINX_CONF = """\
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {d}/t; proxy_temp_path {d}/t; fastcgi_temp_path {d}/t; uwsgi_temp_path {d}/t; scgi_temp_path {d}/t;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    include {d}/conf.d/*.conf;
    include {d}/sites/*.conf;
}}
"""
SITE = """\
server {{
    listen 127.0.0.1:18996 ssl;
    server_name proxy.test;
    ssl_certificate {d}/proxy.pem;
    ssl_certificate_key "data:{key}";

    location /app/ {{
        proxy_pass https://127.0.0.1:9/;
    }}
}}
"""
WRAPPER = """\
#!/bin/sh
# nginx for the test: its own prefix and configuration; -V as installed, with the pid file moved here
if [ "$1" = "-V" ]; then
    {nginx} -V 2>&1 | sed 's#--pid-path=[^ ]*#--pid-path={d}/nginx.pid#' >&2
    exit 0
fi
exec {nginx} -p {d}/ -c {d}/nginx.conf "$@"
"""


def _leaks(output, key_pem):
    return [n for n in needles(key_pem) if n in output]


@pytest.fixture
def proxy(tmp_path):
    d = str(tmp_path / "nginx")
    for sub in ("conf.d", "sites", "t"):
        os.makedirs(os.path.join(d, sub))
    ca = trustme.CA()
    ca.cert_pem.write_to_path(os.path.join(d, "ca.pem"))
    server, other = ca.issue_cert("proxy.test"), ca.issue_cert("other.test")
    server.cert_chain_pems[0].write_to_path(os.path.join(d, "proxy.pem"))
    with open(os.path.join(d, "nginx.conf"), "w") as fh:
        fh.write(NGINX_CONF.format(d=d))
    wrapper = os.path.join(d, "nginx")
    with open(wrapper, "w") as fh:
        fh.write(WRAPPER.format(d=d, nginx=NGINX))
    os.chmod(wrapper, stat.S_IRWXU)
    return {"dir": d, "site": os.path.join(d, "sites", "site.conf"), "wrapper": wrapper,
            "key": server.private_key_pem.bytes().decode().strip(),
            "other_key": other.private_key_pem.bytes().decode().strip()}


def _write_site(proxy, key):
    text = SITE.format(d=proxy["dir"], key=key)
    with open(proxy["site"], "w") as fh:
        fh.write(text)
    return text


def _play(proxy):
    d = proxy["dir"]
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "ansible.builtin.include_role": {"name": "tlsops.handshake.tls_policy"},
        "vars": {
            "tls_policy_nginx_binary": proxy["wrapper"], "tls_policy_nginx_conf": d + "/nginx.conf",
            "tls_policy_conf_dir": d + "/conf.d", "tls_policy_snippets_dir": d + "/snippets",
            "tls_policy_comment_out_duplicates": True, "tls_policy_reload": False,
            "tls_policy_upstream_trusted_certificate": d + "/ca.pem",
            "tls_policy_upstreams": [{"name": "app", "host": "127.0.0.1", "port": 9, "server_name": "app.test",
                                      "location_file": proxy["site"], "location": "/app/"}],
        },
    }]}]


def test_a_successful_run_at_vvv_with_diff_never_shows_the_inline_key(proxy, tmp_path):
    _write_site(proxy, proxy["key"])
    run = run_playbook(str(tmp_path), _play(proxy), "-vvv", "--diff")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    with open(proxy["site"]) as fh:
        site = fh.read()
    assert _leaks(output, proxy["key"]) == []
    # the role really edited the file holding the key: the key went through the scan and the write
    assert "include %s/snippets/tlsops_upstream_app.conf;" % proxy["dir"] in site and proxy["key"] in site
    assert "tls_policy_scan.py" in output and "TASK [tlsops.handshake.tls_policy : Write the files" in output


def test_a_failed_nginx_t_quoting_the_key_says_what_failed_without_it(proxy, tmp_path):
    """nginx -t prints an inline key it cannot load (here: it does not match the certificate) in its
    [emerg] line. The hidden nginx -t still gives a readable failure, redacted, and the files come back."""
    before = _write_site(proxy, proxy["other_key"])
    run = run_playbook(str(tmp_path), _play(proxy), "-vvv")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert _leaks(output, proxy["other_key"]) == []
    assert "tls_policy: nginx -t rejected the staged configuration: " in output, output[-6000:]
    assert 'SSL_CTX_use_PrivateKey("data:(PEM block not shown)' in output
    assert "The previous files are restored and nginx was not reloaded" in output
    with open(proxy["site"]) as fh:
        assert fh.read() == before
    assert not os.path.exists(os.path.join(proxy["dir"], "conf.d", "tlsops_tls_policy.conf"))


def test_the_leak_check_finds_the_key_in_each_form_the_role_could_print_it(proxy):
    """The needles match the PEM text, its JSON-escaped form and any base64 of a file holding it."""
    key = proxy["key"]
    for prefix in ("", "x", "xy"):
        text = prefix + 'ssl_certificate_key "data:%s";\n' % key
        assert _leaks(base64.b64encode(text.encode()).decode(), key), prefix
        assert _leaks(json.dumps({"content": text}), key)
    assert _leaks("nothing here", key) == []

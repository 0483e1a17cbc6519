# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile values of every tls_policy variable that reaches nginx's configuration, through a real
ansible-playbook on localhost: the role's validation (tasks/check_vars.yml) must refuse each one,
naming the variable, its value escaped and what is allowed, before anything is rendered; values
that are odd but legal (paths with ';', '{', '#', spaces and quotes) are rendered quoted, and the
files hold exactly the directives the role means (read back with nginx's own syntax, and nginx -t
when nginx is installed).  Only check_vars.yml and resolve.yml run: nothing touches this machine's
nginx; every file goes to the test's temporary directory."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import trustme

from ansible_collections.tlsops.handshake.plugins.module_utils._nginx.policy_scan import read_directives, shown as directive_text
from tests.unit.roles._playbook import NGINX, run_cases

UP = {"name": "app", "host": "10.0.0.7", "port": 8443, "server_name": "app.internal.example"}
KEY = ("data:-----BEGIN" + " PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCg0sKIFdEPwpAg\n"
       "-----END PRIVATE KEY-----")
WEIRD_DIR = 'we;ird {dir} #1 "q"'

# case -> (variables, the start of the message that must name the variable and show its value escaped)
# "{T}" is the case's own directory.
HOSTILE = {
    "host_newline": ({"tls_policy_upstreams": [dict(UP, host="10.0.0.7\n    proxy_ssl_verify off;")]},
                     'tls_policy_upstreams[0].host = "10.0.0.7\\n    proxy_ssl_verify off;" is not allowed: a DNS name'),
    "host_dict": ({"tls_policy_upstreams": [dict(UP, host={"a": 1})]},
                  "tls_policy_upstreams[0].host is a dict, not a single value: a DNS name"),
    "server_name_crlf": ({"tls_policy_upstreams": [dict(UP, server_name="a\r\nX-Injected: yes")]},
                         'tls_policy_upstreams[0].server_name = "a\\r\\nX-Injected: yes" is not allowed'),
    "name_trailing_newline": ({"tls_policy_upstreams": [dict(UP, name="app\n")]},
                              'tls_policy_upstreams[0].name = "app\\n" is not allowed: letters, digits'),
    "port_newline": ({"tls_policy_upstreams": [dict(UP, port="8443\n}")]},
                     'tls_policy_upstreams[0].port = "8443\\n}" is not allowed: a port number'),
    "groups_semicolon": ({"tls_policy_groups": ["X25519;ssl_verify_client off"]},
                         'tls_policy_groups[0] = "X25519;ssl_verify_client off" is not allowed: one OpenSSL group'),
    "upstream_groups_newline": ({"tls_policy_upstream_groups": ["X25519", "P-256\nproxy_ssl_verify off"]},
                                'tls_policy_upstream_groups[1] = "P-256\\nproxy_ssl_verify off" is not allowed'),
    "entry_groups_brace": ({"tls_policy_upstreams": [dict(UP, groups=["X25519}"])]},
                           'tls_policy_upstreams[0].groups[0] = "X25519}" is not allowed'),
    "resolver_semicolon": ({"tls_policy_resolvers": ["127.0.0.53;add_header X-Injected yes"]},
                           'tls_policy_resolvers[0] = "127.0.0.53;add_header X-Injected yes" is not allowed'),
    "protocols_semicolon": ({"tls_policy_upstream_protocols": ["TLSv1.2;proxy_ssl_verify off"]},
                            'tls_policy_upstream_protocols[0] = "TLSv1.2;proxy_ssl_verify off" is not allowed: one of'),
    "entry_protocols_newline": ({"tls_policy_upstreams": [dict(UP, protocols=["TLSv1.3\nproxy_ssl_verify off"])]},
                                'tls_policy_upstreams[0].protocols[0] = "TLSv1.3\\nproxy_ssl_verify off"'),
    "ciphers_newline": ({"tls_policy_ciphers": "HIGH\nssl_verify_client off"},
                        'tls_policy_ciphers = "HIGH\\nssl_verify_client off" is not allowed: an OpenSSL cipher string'),
    "upstream_ciphers_hash": ({"tls_policy_upstream_ciphers": "HIGH#x"}, 'tls_policy_upstream_ciphers = "HIGH#x"'),
    "session_cache_newline": ({"tls_policy_session_cache": "shared:x:1m\nssl_verify_client off"},
                              'tls_policy_session_cache = "shared:x:1m\\nssl_verify_client off" is not allowed: off'),
    "session_timeout_semicolon": ({"tls_policy_session_timeout": "1d;ssl_verify_client off"},
                                  'tls_policy_session_timeout = "1d;ssl_verify_client off" is not allowed: an nginx time'),
    "hsts_max_age_quote": ({"tls_policy_hsts_max_age": '1" always;\nadd_header X-Injected yes'},
                           'tls_policy_hsts_max_age = "1\\" always;\\nadd_header X-Injected yes" is not allowed: a whole'),
    "verify_depth_semicolon": ({"tls_policy_upstreams": [dict(UP, verify_depth="3;proxy_ssl_verify off")]},
                               'tls_policy_upstreams[0].verify_depth = "3;proxy_ssl_verify off" is not allowed'),
    "trusted_certificate_newline": ({"tls_policy_upstream_trusted_certificate": "{T}/ca.pem\nproxy_ssl_verify off;"},
                                    "tls_policy_upstream_trusted_certificate = "),
    "inline_key": ({"tls_policy_upstreams": [dict(UP, certificate="{T}/client.pem", certificate_key=KEY)]},
                   "tls_policy_upstreams[0].certificate_key = (inline key or certificate material, "),
    "snippets_dir_injection": ({"tls_policy_snippets_dir": "{T}/snip;\ninclude /etc/passwd"},
                               'tls_policy_snippets_dir = "'),
    "conf_dir_newline": ({"tls_policy_conf_dir": "{T}/conf.d\nssl_verify_client off;"}, 'tls_policy_conf_dir = "'),
    "location_newline": ({"tls_policy_upstreams": [dict(UP, location_file="{T}/site.conf", location="/app/\n")]},
                         'tls_policy_upstreams[0].location = "/app/\\n" is not allowed: text on one line'),
    "profile_newline": ({"tls_policy_profile": "modern\nssl_verify_client off"},
                        'tls_policy_profile = "modern\\nssl_verify_client off" is not allowed: one of modern'),
    "nginx_binary_newline": ({"tls_policy_nginx_binary": "nginx\n-V"}, 'tls_policy_nginx_binary = "nginx\\n-V"'),
}

# Odd but legal: quoted where nginx's syntax needs it, written as given.
LEGAL = {
    "tls_policy_profile": "custom",
    "tls_policy_protocols": ["TLSv1.2", "TLSv1.3"],
    "tls_policy_ciphers": "HIGH:!aNULL:!MD5",
    "tls_policy_groups": ["X25519", "prime256v1"],
    "tls_policy_resolvers": ["127.0.0.53", "[::1]:5353", "valid=30s"],
    "tls_policy_session_timeout": "1h 30m",
    "tls_policy_hsts_max_age": "31536000",
    "tls_policy_upstream_trusted_certificate": "{T}/%s/ca.pem" % WEIRD_DIR,
    "tls_policy_upstreams": [dict(UP, trusted_certificate="{T}/%s/ca.pem" % WEIRD_DIR,
                                  certificate="{T}/%s/client.pem" % WEIRD_DIR,
                                  certificate_key="{T}/%s/client.key" % WEIRD_DIR,
                                  location="~ ^/api/(v1|v2)/")],
}
ROLE_DIRECTIVES = {"ssl_protocols", "ssl_ciphers", "ssl_ecdh_curve", "ssl_prefer_server_ciphers", "ssl_session_cache",
                   "ssl_session_timeout", "ssl_session_tickets", "ssl_stapling", "ssl_stapling_verify", "resolver",
                   "add_header", "proxy_ssl_server_name", "proxy_ssl_name", "proxy_ssl_protocols", "proxy_ssl_ciphers",
                   "proxy_ssl_conf_command", "proxy_ssl_verify", "proxy_ssl_trusted_certificate",
                   "proxy_ssl_verify_depth", "proxy_ssl_session_reuse", "proxy_ssl_certificate",
                   "proxy_ssl_certificate_key"}


def _fill(value, case_dir):
    return json.loads(json.dumps(value).replace("{T}", case_dir))


def _render_tasks(root):
    def tasks(case_id):
        guard = "item.path.startswith(%s)" % json.dumps(os.path.join(root, case_id) + "/")
        loop = "{{ __tls_policy_own_files }}"
        return [
            {"ansible.builtin.include_role": {"name": "tlsops.handshake.tls_policy", "tasks_from": "check_vars.yml"}},
            {"ansible.builtin.set_fact": {"__tls_policy_nginx_version": "1.22.1", "__tls_policy_openssl_version": "3.0.2"}},
            {"ansible.builtin.include_role": {"name": "tlsops.handshake.tls_policy", "tasks_from": "resolve.yml"}},
            {"ansible.builtin.file": {"path": "{{ item.path | dirname }}", "state": "directory", "mode": "0755"},
             "loop": loop, "when": guard},
            {"ansible.builtin.copy": {"dest": "{{ item.path }}", "content": "{{ item.content }}", "mode": "0644"},
             "loop": loop, "when": guard},
        ]
    return tasks


def _rendered(case_dir):
    out = []
    for top, _dirs, files in os.walk(case_dir):
        out.extend(os.path.join(top, f) for f in files if f.endswith(".conf") and f.startswith("tlsops_"))
    return sorted(out)


def _directives(path):
    return read_directives(path)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("tls_policy_values"))
    cases = {}
    for case_id, variables in list(((k, v[0]) for k, v in HOSTILE.items())) + [("legal", LEGAL)]:
        case_dir = os.path.join(root, case_id)
        os.makedirs(case_dir)
        cases[case_id] = {"tls_policy_conf_dir": os.path.join(case_dir, "conf.d"),
                          "tls_policy_snippets_dir": os.path.join(case_dir, "snippets")}
        cases[case_id].update(_fill(variables, case_dir))   # a case may set the directories itself
    ca = trustme.CA()
    weird = os.path.join(root, "legal", WEIRD_DIR)
    os.makedirs(weird)
    ca.cert_pem.write_to_path(os.path.join(weird, "ca.pem"))
    leaf = ca.issue_cert("proxy.test")
    leaf.cert_chain_pems[0].write_to_path(os.path.join(weird, "client.pem"))
    leaf.private_key_pem.write_to_path(os.path.join(weird, "client.key"))
    return root, run_cases(root, cases, _render_tasks(root))


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_value_is_refused_naming_it_before_anything_is_rendered(outcomes, case):
    root, results = outcomes
    message = results[case]
    rendered = _rendered(os.path.join(root, case))
    if message == "accepted":
        shown = dict((p, [directive_text(d) for d in _directives(p)]) for p in rendered)
        pytest.fail("accepted; rendered: %s" % shown)
    assert message.startswith("tls_policy: "), message
    assert HOSTILE[case][1] in message, message
    assert "nothing was written" in message
    assert "\n" not in message and "PRIVATE" not in message and "MIIE" not in message
    assert rendered == []


def test_legal_odd_values_are_rendered_quoted_as_the_directives_the_role_means(outcomes):
    root, results = outcomes
    assert results["legal"] == "accepted"
    case_dir = os.path.join(root, "legal")
    weird = os.path.join(case_dir, WEIRD_DIR)
    conf, snippet = os.path.join(case_dir, "conf.d", "tlsops_tls_policy.conf"), os.path.join(
        case_dir, "snippets", "tlsops_upstream_app.conf")
    assert _rendered(case_dir) == sorted([conf, snippet])
    for path in (conf, snippet):
        directives = _directives(path)
        names = [d.name for d in directives]
        assert set(names) <= ROLE_DIRECTIVES and len(names) == len(set(names)), names
    args = {d.name: d.args for d in _directives(conf)}
    assert args["ssl_session_timeout"] == ["1h 30m"]
    assert args["resolver"] == ["127.0.0.53", "[::1]:5353", "valid=30s"]
    assert args["ssl_ciphers"] == ["HIGH:!aNULL:!MD5"]
    assert args["proxy_ssl_trusted_certificate"] == [os.path.join(weird, "ca.pem")]   # nginx's reading: escapes undone
    args = {d.name: d.args for d in _directives(snippet)}
    for name, file in (("proxy_ssl_trusted_certificate", "ca.pem"), ("proxy_ssl_certificate", "client.pem"),
                       ("proxy_ssl_certificate_key", "client.key")):
        assert args[name] == [os.path.join(weird, file)]   # the path nginx opens, its escapes undone
    assert args["proxy_ssl_name"] == ["app.internal.example"]


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_nginx_loads_the_legal_odd_values_from_the_paths_given(outcomes):
    """nginx -t opens the CA, the client certificate and key at the quoted paths: nginx read them as given."""
    root, _results = outcomes
    case_dir = os.path.join(root, "legal")
    os.makedirs(os.path.join(case_dir, "t"), exist_ok=True)
    with open(os.path.join(case_dir, "nginx.conf"), "w") as fh:
        fh.write("pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n    access_log off;\n"
                 "    client_body_temp_path {d}/t; proxy_temp_path {d}/t; fastcgi_temp_path {d}/t; "
                 "uwsgi_temp_path {d}/t; scgi_temp_path {d}/t;\n    include {d}/conf.d/*.conf;\n"
                 "    server {{\n        listen 127.0.0.1:18997;\n        location /app/ {{\n"
                 "            include {d}/snippets/tlsops_upstream_app.conf;\n"
                 "            proxy_pass https://127.0.0.1:9/;\n        }}\n    }}\n}}\n".format(d=case_dir))
    proc = subprocess.run([NGINX, "-t", "-p", case_dir, "-c", os.path.join(case_dir, "nginx.conf")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    os.rename(os.path.join(case_dir, WEIRD_DIR), os.path.join(case_dir, "moved"))
    proc = subprocess.run([NGINX, "-t", "-p", case_dir, "-c", os.path.join(case_dir, "nginx.conf")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0 and WEIRD_DIR in proc.stderr, proc.stderr  # the files really came from there

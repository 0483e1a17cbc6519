# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tls_policy role's decisions (plugins/plugin_utils/_roles/tls_policy.py), from the role's own
defaults/main.yml: profiles x OpenSSL versions, the session-ticket default by nginx version, each
upstream's overrides, quoting, and the gate's probe targets (state lines read back, nginx's defaults by
version, the IP-literal rule of nginx_tls_info's probe targets)."""

from __future__ import annotations

import base64
import json
import os

import pytest
import yaml

from ansible_collections.tlsops.handshake.plugins.plugin_utils._nginx import effective as eff, targets as nginx_targets
from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles import tls_policy as tp

ROLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 5, "roles", "tls_policy")
TAG = "# tlsops.handshake.tls_policy settings: "
PQ = "X25519MLKEM768"


def _defaults(**overrides):
    with open(os.path.join(ROLE, "defaults", "main.yml")) as fh:
        variables = yaml.safe_load(fh)
    variables.update(tls_policy_conf_dir="/etc/nginx/conf.d", tls_policy_snippets_dir="/etc/nginx/snippets")
    variables.update(overrides)
    return variables


def _resolve(nginx="1.24.0", openssl="3.0.2", **overrides):
    return tp.resolve(_defaults(**overrides), nginx, openssl, "tlsops_tls_policy.conf", "tlsops_upstream_")


def _lines(entries):
    return {e["key"]: e["line"] for e in entries}


@pytest.mark.parametrize("openssl, pq", [("3.0.2", False), ("3.4.9", False), ("3.5.0", True), ("3.6.1", True),
                                         ("0", False), ("", False)])
@pytest.mark.parametrize("profile, protocols", [("modern", "TLSv1.3"), ("intermediate", "TLSv1.2 TLSv1.3")])
def test_profile_and_openssl_version_choose_protocols_ciphers_and_groups(profile, protocols, openssl, pq):
    out = _resolve(openssl=openssl, tls_policy_profile=profile, tls_policy_upstreams=[{"name": "a", "host": "a.test"}])
    server = _lines(out["server_lines"])
    assert server["ssl_protocols"] == "ssl_protocols %s;" % protocols
    groups = ([PQ] if pq else []) + ["X25519", "prime256v1", "secp384r1"]
    assert server["ssl_ecdh_curve"] == "ssl_ecdh_curve %s;" % ":".join(groups)
    assert ("ssl_ciphers" in server) == (profile == "intermediate")
    assert server["ssl_prefer_server_ciphers"] == "ssl_prefer_server_ciphers off;"
    # the upstream side drops the post-quantum group by the same rule, for the defaults and each entry
    assert _lines(out["upstream_lines"])["proxy_ssl_conf_command Groups"] == \
        "proxy_ssl_conf_command Groups %s;" % ":".join(groups)
    assert out["upstreams"][0]["groups"] == groups == out["upstream_settings"]["groups"]


def test_custom_profile_writes_only_what_is_given():
    server = _lines(_resolve(tls_policy_profile="custom", tls_policy_protocols=["TLSv1.2"])["server_lines"])
    assert server["ssl_protocols"] == "ssl_protocols TLSv1.2;"
    assert not {"ssl_ciphers", "ssl_ecdh_curve", "ssl_prefer_server_ciphers"} & set(server)


def test_overrides_replace_the_profile_and_unsupported_groups_still_go():
    server = _lines(_resolve(openssl="3.0.2", tls_policy_ciphers="HIGH:!aNULL", tls_policy_groups=["MLKEM768", "X448"],
                             tls_policy_prefer_server_ciphers=True)["server_lines"])
    assert server["ssl_ciphers"] == "ssl_ciphers HIGH:!aNULL;"
    assert server["ssl_ecdh_curve"] == "ssl_ecdh_curve X448;"
    assert server["ssl_prefer_server_ciphers"] == "ssl_prefer_server_ciphers on;"


@pytest.mark.parametrize("given, nginx, line", [
    (None, "1.22.1", "ssl_session_tickets off;"),     # no ticket key rotation before 1.23.2: off
    (None, "1.23.1", "ssl_session_tickets off;"),
    (None, "1.23.2", None),                           # nginx's default, not written
    (None, "1.28.0", None),
    (True, "1.22.1", "ssl_session_tickets on;"),
    (False, "1.28.0", "ssl_session_tickets off;"),
])
def test_session_tickets_default_follows_the_nginx_version(given, nginx, line):
    server = _lines(_resolve(nginx=nginx, tls_policy_session_tickets=given)["server_lines"])
    assert server.get("ssl_session_tickets") == line


def test_an_unreadable_nginx_version_is_an_error_naming_it():
    with pytest.raises(tp.PolicyError, match="nginx_version '0' is not a version"):
        _resolve(nginx="0")


def test_server_side_extras_and_switches():
    out = _resolve(tls_policy_resolvers=["127.0.0.53", "[::1]:53"], tls_policy_hsts_include_subdomains=True,
                   tls_policy_hsts_preload=True, tls_policy_hsts_max_age=5, tls_policy_session_timeout="1h 30m",
                   tls_policy_ocsp_stapling=False, tls_policy_session_cache="")
    server = _lines(out["server_lines"])
    assert server["resolver"] == "resolver 127.0.0.53 [::1]:53;"
    assert server["add_header Strict-Transport-Security"] == \
        'add_header Strict-Transport-Security "max-age=5; includeSubDomains; preload" always;'
    assert server["ssl_session_timeout"] == 'ssl_session_timeout "1h 30m";'
    assert not {"ssl_stapling", "ssl_stapling_verify", "ssl_session_cache"} & set(server)
    off = _resolve(tls_policy_manage_server=False, tls_policy_manage_upstreams=False)
    assert off["server_lines"] == [] and off["upstream_lines"] == []
    assert off["conf"] == "/etc/nginx/conf.d/tlsops_tls_policy.conf"


def test_each_upstream_overrides_the_defaults_and_null_keeps_them():
    out = _resolve(openssl="3.0.2", tls_policy_upstreams=[
        {"name": "over", "host": "b.test", "port": "8443", "protocols": ["TLSv1.3"], "groups": [PQ, "X25519"],
         "verify": False, "verify_depth": 5, "certificate": "/c.pem", "certificate_key": "/c.key",
         "session_reuse": False, "ciphers": None, "server_name": "api.test", "probe": None},
        {"name": "plain"},
        {"name": "quiet", "host": "q.test", "probe": False, "port": 0},
    ])
    over, plain, quiet = out["upstreams"]
    assert over["port"] == 8443 and over["probe"] is True and over["groups"] == ["X25519"]
    assert over["ciphers"] == out["upstream_defaults"]["ciphers"]            # null keeps the default
    assert over["snippet"] == "/etc/nginx/snippets/tlsops_upstream_over.conf"
    lines = _lines(over["lines"])
    assert lines["proxy_ssl_name"] == "proxy_ssl_name api.test;"
    assert lines["proxy_ssl_protocols"] == "proxy_ssl_protocols TLSv1.3;"
    assert lines["proxy_ssl_verify"] == "proxy_ssl_verify off;"
    assert lines["proxy_ssl_session_reuse"] == "proxy_ssl_session_reuse off;"
    assert lines["proxy_ssl_certificate_key"] == "proxy_ssl_certificate_key /c.key;"
    assert over["settings"] == {"sni": True, "server_name": "api.test", "protocols": ["TLSv1.3"],
                                "ciphers": over["ciphers"], "groups": ["X25519"], "verify": False, "ca_file": "",
                                "verify_depth": None, "client_cert": "/c.pem", "client_key": "/c.key"}
    assert plain["port"] == 443 and plain["host"] == "" and plain["probe"] is False   # no host: nothing to probe
    assert quiet["probe"] is False and quiet["port"] == 443
    assert "proxy_ssl_name" not in _lines(out["upstream_lines"])             # only a snippet names the server
    assert out["upstream_settings"]["ca_file"] == "/etc/ssl/certs/ca-certificates.crt"


@pytest.mark.parametrize("value, written", [
    ("/etc/ssl/ca.pem", "/etc/ssl/ca.pem"),
    ('/we;ird {d} #1 "q"/ca.pem', '"/we;ird {d} #1 \\"q\\"/ca.pem"'),
    ("/a b\\c", '"/a b\\\\c"'),
])
def test_paths_are_quoted_where_nginx_would_split_them(value, written):
    out = _resolve(tls_policy_upstream_trusted_certificate=value)
    assert _lines(out["upstream_lines"])["proxy_ssl_trusted_certificate"] == "proxy_ssl_trusted_certificate %s;" % written


# --------------------------------------------------------------------------- the gate's probe targets

def _snapshot(files):
    return {path: {"content": base64.b64encode(text.encode()).decode()} for path, text in files.items()}


def _pairs(upstreams, files=None, nginx="1.24.0", **overrides):
    resolved = _resolve(nginx=nginx, tls_policy_upstreams=upstreams, **overrides)
    return tp.probe_pairs(resolved, _snapshot(files or {}), TAG, nginx)


@pytest.mark.parametrize("nginx", ["1.22.1", "1.23.4", "1.27.2", "1.27.3", "1.28.0"])
def test_before_a_first_run_the_gate_probes_with_nginx_defaults_of_its_version(nginx):
    before = _pairs([{"name": "a", "host": "a.test", "port": 8443}], nginx=nginx)[0]["before"]
    assert before == {"name": "a", "host": "a.test", "port": 8443, "server_name": "a.test", "sni": False,
                      "protocols": eff.default_protocols(eff.parse_version(nginx)), "verify": False}


@pytest.mark.parametrize("host, server_name, sni_on, want_name, want_sni", [
    ("a.test", "", True, "a.test", True),                  # $proxy_host
    ("a.test", "api.test", True, "api.test", True),
    ("a.test", "", False, "a.test", False),
    ("10.0.0.7", "", True, None, False),                   # nginx sends no SNI to an IP literal
    ("::1", "", True, None, False),
    ("10.0.0.7", "10.0.0.8", True, "10.0.0.8", False),     # another address: checked, never sent
    ("10.0.0.7", "10.0.0.7", True, None, False),
    ("10.0.0.7", "api.test", True, "api.test", True),
])
def test_ip_literal_upstreams_get_no_sni_as_nginx_tls_info_targets_do(host, server_name, sni_on, want_name, want_sni):
    upstream = {"name": "u", "host": host, "port": 443, "server_name": server_name,
                "server_name_indication": sni_on}
    after = _pairs([upstream])[0]["after"]
    assert (after.get("server_name"), after["sni"]) == (want_name, want_sni)
    # the same rule as nginx_tls_info's probe targets for proxy_ssl_name / proxy_ssl_server_name
    entry = {"tls": True, "kind": "proxy", "name": host, "upstream_block": False,
             "servers": [{"host": host, "port": 443}],
             "effective": dict(eff.upstream_defaults("proxy", None), ssl_name=server_name or None, server_name_on=sni_on,
                               groups=None, sigalgs=None, ciphersuites=None, connect_timeout=60.0)}
    nginx_target = nginx_targets.probe_targets(entry)[0][0]
    assert (nginx_target.get("server_name"), nginx_target["sni"]) == (want_name, want_sni)


def test_before_comes_from_the_snippet_then_the_http_level_file():
    recorded = {"sni": True, "server_name": "old.test", "protocols": ["TLSv1.2"], "ciphers": "HIGH", "groups": ["X25519"],
                "verify": True, "ca_file": "/old/ca.pem", "verify_depth": 2, "client_cert": "/o.pem", "client_key": "/o.key"}
    conf_state = {"upstream": dict(recorded, server_name="", sni=False, verify=False)}
    files = {"/etc/nginx/conf.d/tlsops_tls_policy.conf": "# x\n%s%s\nssl_protocols TLSv1.2;\n" % (TAG, json.dumps(conf_state)),
             "/etc/nginx/snippets/tlsops_upstream_a.conf": "# y\r\n%s%s\r\n" % (TAG, json.dumps(recorded))}
    pairs = _pairs([{"name": "a", "host": "a.test"}, {"name": "b", "host": "b.test"}, {"name": "c", "probe": False}],
                   files)
    assert [p["after"]["name"] for p in pairs] == ["a", "b"]
    assert pairs[0]["before"] == {"name": "a", "host": "a.test", "port": 443, "server_name": "old.test", "sni": True,
                                  "protocols": ["TLSv1.2"], "verify": True, "ciphers": "HIGH", "groups": ["X25519"],
                                  "ca_file": "/old/ca.pem", "verify_depth": 2, "client_cert": "/o.pem",
                                  "client_key": "/o.key"}
    assert pairs[1]["before"] == {"name": "b", "host": "b.test", "port": 443, "server_name": "b.test", "sni": False,
                                  "protocols": ["TLSv1.2"], "verify": False, "ciphers": "HIGH", "groups": ["X25519"],
                                  "client_cert": "/o.pem", "client_key": "/o.key"}
    assert pairs[1]["after"]["verify"] is True and pairs[1]["after"]["verify_depth"] == 3


@pytest.mark.parametrize("line", ["{not json", "[1, 2]", '{"no_upstream": {}}'])
def test_a_state_line_that_is_not_the_roles_is_an_error_naming_the_file(line):
    files = {"/etc/nginx/conf.d/tlsops_tls_policy.conf": "%s%s\n" % (TAG, line)}
    with pytest.raises(tp.PolicyError, match="^/etc/nginx/conf.d/tlsops_tls_policy.conf: the line .* restore the file"):
        _pairs([{"name": "a", "host": "a.test"}], files)

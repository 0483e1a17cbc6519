# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tls_policy gate's rollback decision (plugin_utils/_roles/tls_policy.py ``regressions``): which
handshakes worked with the settings before this run and fail with the new policy."""

from __future__ import annotations

import os

import yaml

from ansible_collections.tlsops.handshake.plugins.filter.tls_policy_regressions import tls_policy_regressions
from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles.tls_policy import regressions

ROLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 5, "roles", "tls_policy")
PAIRS = [{"before": {"name": n, "host": h, "port": p}, "after": {"name": n, "host": h, "port": p}}
         for n, h, p in (("api", "api.internal", 443), ("legacy", "10.0.0.7", 8443), ("down", "down.internal", 443))]


def _result(ok, cause="ok", **extra):
    result = {"ok": ok, "cause": cause, "detail": "detail of " + cause}
    result.update(extra)
    return result


def test_only_a_handshake_that_worked_before_and_fails_now_is_a_regression():
    before = [_result(True), _result(True), _result(False, "connection_refused")]
    after = [_result(True), _result(False, "protocol_mismatch", nginx_error="SSL_do_handshake() failed",
                                    fix=["proxy_ssl_protocols TLSv1.2;"]),
             _result(False, "connection_refused")]   # failed before as well: not the policy's doing
    assert regressions(before, after, PAIRS) == [{
        "name": "legacy", "target": "10.0.0.7:8443", "cause": "protocol_mismatch",
        "detail": "detail of protocol_mismatch", "nginx_error": "SSL_do_handshake() failed",
        "fix": ["proxy_ssl_protocols TLSv1.2;"]}]


def test_missing_nginx_error_and_fix_become_empty():
    found = regressions([_result(True)], [_result(False, "unknown")], PAIRS)
    assert found[0]["nginx_error"] == "" and found[0]["fix"] == []


def test_no_after_probe_means_no_regression():
    assert regressions([_result(True)] * 3, None, PAIRS) == []
    assert tls_policy_regressions([_result(True)] * 3, PAIRS, after=None) == []
    assert regressions([], [_result(False)], PAIRS) == []


def test_the_role_takes_its_regressions_from_the_filter():
    with open(os.path.join(ROLE, "tasks", "probe_after.yml")) as fh:
        tasks = yaml.safe_load(fh)
    found = [t for t in tasks if t.get("name") == "Find handshakes that worked before and fail now"][0]
    expression = found["ansible.builtin.set_fact"]["__tls_policy_regressions"]
    assert "tls_policy_regressions(" in expression and "{%" not in expression

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_renewal's external account bindings through a real ansible-playbook on localhost: the role's
validation (tasks/check_vars.yml) refuses a key id or HMAC key that would add an option to certbot's
configuration file (the driver writes them there, files/tlsops_cert_renew.py), naming the variable and
never its value. Only check_vars.yml runs: nothing is written or installed."""

from __future__ import annotations

import pytest

from tests.unit.roles._playbook import run_cases

HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
BASE = {"cert_renewal_directory_url": "https://acme.example/dir",
        "cert_renewal_fallback_directory_url": "https://acme2.example/dir",
        "cert_renewal_certificates": [{"name": "site", "domains": ["site.example"], "fullchain": "/etc/nginx/tls/site.pem",
                                       "key": "/etc/nginx/tls/site.key"}]}
CASES = {
    "no binding": ({}, None),
    "both bindings": ({"cert_renewal_eab": {"kid": "kid-1", "hmac_key": HMAC},
                       "cert_renewal_fallback_eab": {"kid": "zerossl:Abc.9/x+y=", "hmac_key": HMAC}}, None),
    "kid with a newline": ({"cert_renewal_eab": {"kid": "kid-1\nmanual-auth-hook = /tmp/x", "hmac_key": HMAC}},
                           "cert_renewal_eab must be"),
    "hmac with a newline": ({"cert_renewal_fallback_eab": {"kid": "kid-1", "hmac_key": HMAC + "\npre-hook = id"}},
                            "cert_renewal_fallback_eab must be"),
    "hmac with a space": ({"cert_renewal_eab": {"kid": "kid-1", "hmac_key": "ab cd"}}, "cert_renewal_eab must be"),
    "hmac missing": ({"cert_renewal_eab": {"kid": "kid-1"}}, "cert_renewal_eab must be"),
    "an unknown key": ({"cert_renewal_eab": {"kid": "kid-1", "hmac_key": HMAC, "alg": "HS256"}},
                       "cert_renewal_eab must be"),
    "a number": ({"cert_renewal_fallback_eab": {"kid": 7, "hmac_key": HMAC}}, "cert_renewal_fallback_eab must be"),
    "both wrong": ({"cert_renewal_eab": {"kid": "a b", "hmac_key": HMAC}, "cert_renewal_fallback_eab": "text"},
                   "cert_renewal_eab and cert_renewal_fallback_eab must be"),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("cert_renewal_values"))
    cases = {case: dict(BASE, **variables) for case, (variables, _expected) in CASES.items()}
    return run_cases(workdir, cases, lambda _case: [{"ansible.builtin.include_role": {
        "name": "tlsops.handshake.cert_renewal", "tasks_from": "check_vars"}}])


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_binding_is_accepted_or_refused_by_name(results, case):
    expected = CASES[case][1]
    if expected is None:
        assert results[case] == "accepted"
    else:
        assert results[case].startswith("cert_renewal: " + expected), results[case]
        assert "as the CA gave them" in results[case]
        assert HMAC not in results[case] and "kid-1" not in results[case]

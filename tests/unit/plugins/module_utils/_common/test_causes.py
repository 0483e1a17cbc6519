# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import re

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes

# The contract of issue 2: exactly these codes (later issues may add, never remove).
PROMISED = """ok dns_failure connection_refused connect_timeout handshake_timeout connection_reset not_tls
plain_http sni_required sni_unknown_name protocol_mismatch cipher_mismatch group_mismatch
signature_algorithm_mismatch key_share_violation client_cert_required legacy_renegotiation dh_too_small
local_config cert_untrusted cert_chain_incomplete cert_expired cert_not_yet_valid hostname_mismatch
verify_depth_exceeded cert_too_weak unknown""".split()

PLUGINS = os.path.join(os.path.dirname(causes.__file__), os.pardir, os.pardir)


def test_every_promised_code_exists():
    assert set(PROMISED) <= set(causes.CAUSE_CODES)


@pytest.mark.parametrize("code", PROMISED)
def test_render_fills_every_placeholder(code):
    fields = dict(host="10.0.0.7", port=443, server_name="api.example", raw_error="boom", verify_code=20,
                  verify_message="unable to get local issuer certificate", suggested_protocols="TLSv1.2 TLSv1.3",
                  server_protocols="TLSv1.3", suggested_ciphers="ECDHE-RSA-AES128-GCM-SHA256",
                  suggested_groups="secp384r1", server_groups="secp384r1", sniff="'SSH-2.0'", issuer="CN=CA",
                  sans="a.example", not_after="2020-01-01", not_before="2030-01-01", intermediates=2,
                  suggested_depth=2)
    nginx_error, fix = causes.render(code, **fields)
    if code == "ok":
        assert nginx_error == "" and fix == []
        return
    assert nginx_error and fix
    for text in [nginx_error] + fix:
        assert not re.search(r"<(host|port|server_name|raw_error|verify_code)>", text), text
        assert "{" not in text, text


def test_missing_fields_become_visible_placeholders_not_errors():
    nginx_error, fix = causes.render("protocol_mismatch")
    assert "<suggested_protocols>" in fix[0]


def test_unknown_code_is_an_error():
    with pytest.raises(KeyError):
        causes.render("no_such_cause")


@pytest.mark.parametrize("text, code", [
    # OpenSSL 3.0 as nginx 1.22 logs it
    ("SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number)", "not_tls"),
    ("(SSL: error:0A000458:SSL routines::tlsv1 unrecognized name:SSL alert number 112)", "sni_required"),
    ("(SSL: error:0A00042E:SSL routines::tlsv1 alert protocol version:SSL alert number 70)", "protocol_mismatch"),
    ("(SSL: error:0A000102:SSL routines::unsupported protocol)", "protocol_mismatch"),
    ("(SSL: error:0A0000BF:SSL routines::no protocols available)", "local_config"),
    ("(SSL: error:0A000127:SSL routines::no suitable groups)", "local_config"),
    ("(SSL: error:0A00006C:SSL routines::bad key share)", "key_share_violation"),
    ("(SSL: error:0A000065:SSL routines::no suitable key share)", "group_mismatch"),
    ("(SSL: error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40)", "cipher_mismatch"),
    ("(SSL: error:0A00045C:SSL routines::tlsv13 alert certificate required:SSL alert number 116)",
     "client_cert_required"),
    ("(SSL: error:0A000418:SSL routines::tlsv1 alert unknown ca:SSL alert number 48)", "client_cert_required"),
    ("(SSL: error:0A000152:SSL routines::unsafe legacy renegotiation disabled)", "legacy_renegotiation"),
    ("(SSL: error:0A00018A:SSL routines::dh key too small)", "dh_too_small"),
    ("(SSL: error:0A000126:SSL routines::unexpected eof while reading)", "connection_reset"),
    ("peer closed connection in SSL handshake (104: Connection reset by peer)", "connection_reset"),
    # OpenSSL 1.1.1 spellings
    ("error:1408F10B:SSL routines:ssl3_get_record:wrong version number", "not_tls"),
    ("error:14094458:SSL routines:ssl3_read_bytes:tlsv1 unrecognized name", "sni_required"),
    ("error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure", "cipher_mismatch"),
    # OpenSSL 3.2+ spelling of alert 40
    ("error:0A000410:SSL routines::ssl/tls alert handshake failure:SSL alert number 40", "cipher_mismatch"),
    ("something nobody has seen", "unknown"),
])
def test_reason_texts_map_to_causes(text, code):
    assert causes.cause_for_reason(text) == code


def test_alert_40_is_known_to_be_ambiguous():
    cause, candidates = causes.reason_cause("sslv3 alert handshake failure")
    assert cause == "cipher_mismatch" and candidates == causes.HANDSHAKE_FAILURE_CANDIDATES
    assert len(candidates) > 1
    assert set(causes.HANDSHAKE_FAILURE_CANDIDATES) <= set(causes.CAUSE_CODES)


def test_verify_codes_map_into_the_vocabulary():
    assert set(causes.VERIFY_CODE_CAUSES.values()) <= set(causes.CAUSE_CODES)
    assert causes.VERIFY_CODE_CAUSES[10] == "cert_expired"
    assert causes.VERIFY_CODE_CAUSES[22] == "verify_depth_exceeded"


def _code_only(text):
    """Drop the DOCUMENTATION/EXAMPLES/RETURN blocks: samples there are documentation, not a copy."""
    return re.sub(r'(DOCUMENTATION|EXAMPLES|RETURN) = r"""(.|\n)*?"""', "", text)


def test_nginx_texts_live_only_in_the_vocabulary():
    """One vocabulary: no second copy of a cause's nginx text or fix anywhere in plugins/."""
    # A directive name alone is nginx's word, not ours (the tls_policy role writes
    # proxy_ssl_verify_depth): the needles are the vocabulary's own sentences.
    needles = ("while SSL handshaking to upstream", "upstream SSL certificate verify error",
               "proxy_ssl_server_name on;", "# the chain holds", "longer than proxy_ssl_verify_depth")
    for root, _dirs, files in os.walk(PLUGINS):
        for name in files:
            if not name.endswith(".py") or name == "causes.py":
                continue
            with open(os.path.join(root, name)) as fh:
                code = _code_only(fh.read())
            for needle in needles:
                assert needle not in code, (name, needle)


def test_readme_table_is_rendered_from_the_vocabulary():
    import importlib.util

    repo = os.path.abspath(os.path.join(PLUGINS, os.pardir))
    spec = importlib.util.spec_from_file_location("render_causes", os.path.join(repo, "hacking", "render_causes.py"))
    render_causes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_causes)
    with open(os.path.join(repo, "README.md")) as fh:
        readme = fh.read()
    assert render_causes.render(readme) == readme, "README causes table is stale: run python hacking/render_causes.py"
    for code in PROMISED:
        if code != "ok":
            assert "| `%s` |" % code in readme

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' value checker and redaction (plugins/plugin_utils/_roles/config_values.py): each kind with
values it must let through and values that would add a directive or break a file's syntax."""

from __future__ import annotations

import pytest

from ansible_collections.tlsops.handshake.plugins.plugin_utils._roles import config_values as cv

# kind -> (allowed values, refused values)
CASES = {
    "hostname_or_ip": (
        ["10.0.0.7", "::1", "fe80::1%eth0", "billing.internal.example", "tlsops-tp-default-upstream-17",
         "xn--bcher-kva.example", "a" * 63 + ".example"],
        ["10.0.0.7\nssl_verify off;", "a b", "a;b", "a{b", "a#b", "a..b", "-a.example", "a" * 64 + ".example",
         ".".join(["a" * 60] * 5), "b\u00fccher.example", "a\x00b", "[::1]", "example.com.", 123456, True, 1.5]),
    "upstream_name": (["billing", "a.b_c-1"], ["billing\n", "-x", "a b", "a/b", "a;b"]),
    "tls_protocol": (["TLSv1.2", "TLSv1.3"], ["TLSv1.2;", "SSLv3", "TLSv1.3\nssl_verify off"]),
    "openssl_ciphers": (
        ["ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", "HIGH:!aNULL:!MD5", "DEFAULT@SECLEVEL=2"],
        ["HIGH;ssl_verify off", "HIGH\nx", "HIGH MEDIUM", 'A"B', "A{B}", "A#B"]),
    "openssl_group": (["X25519", "prime256v1", "X25519MLKEM768", "P-256", "?X25519"],
                      ["X25519:P-256;", "X25519\nssl_stapling off", "a b", "a:b"]),
    "nginx_session_cache": (["shared:MozSSL:10m", "off", "none", "builtin", "builtin:1000"],
                            ["shared:x:1m;ssl_verify off", "shared:MozSSL:10m\n", "shared:a b:1m"]),
    "nginx_time": (["1d", "10m", "300", "1h 30m", "500ms"], ["1d;", "1d\nssl_x y", "1 d", "abc"]),
    "nginx_resolver": (["127.0.0.53", "[::1]:5353", "10.0.0.2:53", "valid=30s", "ipv6=off"],
                       ["1.1.1.1;ssl_x", "1.1.1.1 8.8.8.8", "a\nb"]),
    "nginx_bare_path": (["/etc/nginx/snippets", "/etc/nginx/conf.d"],
                        ["etc/nginx", "/etc/ngi nx", "/etc/nginx;", "/etc/nginx\n", "/etc/{x}", "/etc/#x", '/etc/"x']),
    "file_path": (["/etc/nginx/tls/ca.pem", "/etc/my dir/ca;{}.pem", "relative.pem"],
                  ["/etc/ca.pem\nssl_verify off;", "/etc/ca\r.pem", "/etc/ca\x00.pem",
                   "data:-----BEGIN" + " PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"]),
    "single_line": (["= /health", "~ ^/api/(v1|v2)/"], ["/a/\n", "/a/\r", "\t/a/"]),
    "chrony_word": (["right/UTC", "Europe/Berlin"], ["right/UTC\nallow all", "a b", "a#b"]),
    "chrony_words": (["xleave", "key 10", "maxdelay 0.01", "offset -0.001"],
                     ["xleave\nallow all", "key  10", " xleave", "xleave\r", "a#b", "a;b", "a\tb"]),
    "chrony_address": (["192.0.2.0/24", "2001:db8::/32", "all", "all 10/8", "ntp.example"],
                       ["all\nallow all", "10.0.0.0/8 # x", "a b c", "all  x"]),
    "int": ([3, "3", -1, "-1"], ["3\nallow all", 3.5, True, "x", "3 "]),
    "uint": ([0, 3, "63072000"], [-1, "1\"; add_header X y", True]),
    "port": ([1, "443", 65535], [0, 65536, "443\nallow all", True, 443.7]),
    "number": ([1.0, 3, "0.5", "1e-3"], ["nan", float("nan"), float("inf"), "1\nallow all", True, "1.0 x"]),
    "choice:auto,container,host": (["auto", "host"], ["auto\n[Service]", "Auto", 1]),
}


@pytest.mark.parametrize("kind,value", [(k, v) for k, (good, _bad) in CASES.items() for v in good])
def test_allowed_values_pass(kind, value):
    assert cv.value_errors({"v": value}, {"v": kind}) == []


@pytest.mark.parametrize("kind,value", [(k, v) for k, (_good, bad) in CASES.items() for v in bad])
def test_refused_values_name_the_variable_and_what_is_allowed(kind, value):
    errors = cv.value_errors({"my_var": value}, {"my_var": kind})
    assert len(errors) == 1, errors
    message = errors[0]
    assert message.startswith("my_var")
    allowed = cv.KINDS[kind][1] if kind in cv.KINDS else "one of auto, container, host"
    assert message.endswith(allowed)
    assert "\n" not in message and "\r" not in message and "\x00" not in message


def test_the_bad_value_is_shown_escaped_and_short():
    (message,) = cv.value_errors({"h": "10.0.0.7\nssl_verify off;"}, {"h": "hostname_or_ip"})
    assert message.startswith('h = "10.0.0.7\\nssl_verify off;" is not allowed: a DNS name')
    (message,) = cv.value_errors({"h": "a" * 10000}, {"h": "hostname_or_ip"})
    assert "... (10002 characters)" in message and len(message) < 400


def test_key_material_is_never_shown():
    key = "-----BEGIN" + " PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCg0sKIFdEPwpAg\n-----END PRIVATE KEY-----"
    for value in ("data:" + key, key):
        (message,) = cv.value_errors({"k": value}, {"k": "file_path" if value.startswith("data:") else "chrony_word"})
        assert "PRIVATE" not in message and "MIIE" not in message
        assert "not shown" in message


def test_lists_and_entries_are_checked_element_by_element_with_their_names():
    kinds = {"srv": {"host": "hostname_or_ip", "options": "chrony_words", "port": "port"}, "allow": "chrony_address"}
    values = {"srv": [{"host": "ntp1", "options": ["xleave", "iburst\nallow all"]}, {"host": "a b", "port": 123}],
              "allow": ["10/8", "all\ndeny all", ""]}
    errors = cv.value_errors(values, kinds)
    assert [e.split(" ", 1)[0] for e in errors] == ["srv[0].options[1]", "srv[1].host", "allow[1]", "allow[2]"]
    assert errors[-1] == "allow[2] is empty"


def test_wrong_shapes_are_refused_not_crashed():
    assert cv.value_errors({"h": {"a": 1}}, {"h": "hostname_or_ip"}) == [
        "h is a dict, not a single value: " + cv.KINDS["hostname_or_ip"][1]]
    assert cv.value_errors({"srv": "ntp1"}, {"srv": {"host": "hostname_or_ip"}})[0].startswith('srv = "ntp1" is not allowed')
    assert cv.value_errors({"srv": ["ntp1"]}, {"srv": {"host": "hostname_or_ip"}}) == [
        'srv[0] = "ntp1" is not allowed: a dict is expected']
    assert cv.value_errors({"x": None, "y": "", "z": []}, {"x": "port", "y": "file_path", "z": "tls_protocol"}) == []
    with pytest.raises(ValueError, match="unknown kind"):
        cv.value_errors({"x": 1}, {"x": "no_such_kind"})


BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCg0sKIFdEPwpAg"


def test_redaction_of_nginx_messages_quoting_an_inline_key():
    # nginx -t on a key it cannot load: the whole key in the message, cut at about 2 kB
    cut = ('2026/12/06 22:27:23 [emerg] 1#1: SSL_CTX_use_PrivateKey("data:-----BEGIN' ' PRIVATE KEY-----\n%s\n'
           'ySZrJLN3fSk+9l41wytNVMo9FQKBgQC3GOKA8Ig0OrWTtJoAvGo84Fvd)\nnginx: configuration file /x/nginx.conf test failed\n'
           % BODY)
    assert cv.redact_key_material(cut) == (
        '2026/12/06 22:27:23 [emerg] 1#1: SSL_CTX_use_PrivateKey("data:(PEM block not shown))\n'
        'nginx: configuration file /x/nginx.conf test failed\n')
    whole = ('nginx: [emerg] cannot load certificate key "data:-----BEGIN' ' PRIVATE KEY-----\n%s\n'
             '-----END PRIVATE KEY-----": PEM_read_bio_PrivateKey() failed in /etc/nginx/x.conf:12' % BODY)
    assert cv.redact_key_material(whole) == (
        'nginx: [emerg] cannot load certificate key "data:(PEM block not shown)": PEM_read_bio_PrivateKey() failed '
        'in /etc/nginx/x.conf:12')


def test_redaction_of_config_lines_and_other_shapes():
    assert cv.redact_key_material('    -----END PRIVATE KEY-----";') == '    (PEM boundary not shown)";'
    assert cv.redact_key_material("    " + BODY) == "    (base64 not shown)"
    assert cv.redact_key_material("ssl_certificate_key data:$key_var;") == "ssl_certificate_key data:(not shown);"
    encrypted = "-----BEGIN" " RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n%s\n" % BODY
    assert cv.redact_key_material(encrypted + "-----END RSA PRIVATE KEY-----\nafter") == "(PEM block not shown)\nafter"
    assert cv.redact_key_material("-----BEGIN" " RSA PRIVATE KEY-----\n" + BODY[:50]) == "(PEM block not shown)"
    assert cv.redact_key_material(12) == "12"


def test_redaction_keeps_what_is_not_key_material():
    text = ("ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256; in /etc/nginx/nginx.conf:7\nnext: line\n"
            "include /etc/nginx/sites/enabled/somewhere/else/entirely/here;\n")
    assert cv.redact_key_material(text) == text

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenSSL's whole reason list, decided on both sides of nginx, in every spelling nginx logs."""
from __future__ import annotations

import os
import re

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes, causes_reasons as reasons, openssl_errors as tables
from ansible_collections.tlsops.handshake.plugins.module_utils._logs import lines

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "logs")
ALL_NAMES = sorted(reasons.all_reason_names())
_LINE = {"upstream": "SSL_do_handshake() failed (SSL: %s) while SSL handshaking to upstream",
         "client": "SSL_do_handshake() failed (SSL: %s) while SSL handshaking"}
# a function only 1.1.1 has, and 1.0.2's SSL23_GET_SERVER_HELLO: numbers alone then say the series
F111 = min(set(tables.FUNCTIONS_1_1_1) - set(tables.FUNCTIONS_1_0_2))
F102 = 119
assert tables.FUNCTIONS_1_0_2[F102] == "SSL23_GET_SERVER_HELLO" and F102 not in tables.FUNCTIONS_1_1_1


def test_every_openssl_reason_is_decided():
    """A reason OpenSSL adds (regenerate _openssl_errors) fails here until _causes_reasons decides it."""
    undecided = [n for n in ALL_NAMES if n not in reasons.REASON_CAUSES]
    assert not undecided, "decide these in _causes_reasons (a cause per side, or '-'): %s" % undecided
    assert not set(reasons.REASON_CAUSES) - set(ALL_NAMES), "decided, but no OpenSSL release has them"
    for name, sides in reasons.REASON_CAUSES.items():
        assert set(sides) == set(reasons.SIDES)
        for side, decided in sides.items():
            assert set(decided) <= set(causes.CAUSE_CODES), (name, side, decided)
            assert "unknown" not in decided and len(set(decided)) == len(decided), (name, side)
    for name in reasons.NOT_IN_A_HANDSHAKE:
        assert reasons.REASON_CAUSES[name] == {"upstream": (), "client": ()}


def test_the_tables_are_openssls():
    # spot checks against OpenSSL's headers: 1.1.0 renumbered, 3.2 renamed the alerts
    rows = dict(((r[0], r[3]), r[1:3]) for r in tables.REASONS)
    assert rows[("DH_KEY_TOO_SMALL", "1.0.2")] == (372, "dh key too small")
    assert rows[("DH_KEY_TOO_SMALL", "1.1.1")] == (394, "dh key too small")
    assert rows[("SSLV3_ALERT_HANDSHAKE_FAILURE", "3.2")] == (1040, "ssl/tls alert handshake failure")
    assert rows[("UNEXPECTED_EOF_WHILE_READING", "3.0")] == (294, "unexpected eof while reading")
    assert tables.FUNCTIONS_1_1_1[148] == "ssl3_read_bytes"
    numbers = {}
    for name, number, _text, _first, last in tables.REASONS:
        if not last.startswith("1."):
            assert numbers.setdefault(number, name) == name, "two 3.x reasons share %d" % number


@pytest.mark.skipif(not os.path.exists("/usr/include/openssl/sslerr.h"), reason="OpenSSL headers not installed")
def test_tables_hold_every_reason_of_the_installed_openssl():
    with open("/usr/include/openssl/sslerr.h") as fh:
        defined = dict((m.group(1), int(m.group(2))) for m in re.finditer(r"#\s*define SSL_R_(\w+)\s+(\d+)", fh.read()))
    assert len(defined) > 300
    for name, number in defined.items():
        assert reasons.reason_number(name) == number, name


def _spellings(name):
    """Every way nginx can log ``name``: ``[(error string, text raw_reason must give)]``."""
    out = []
    for row_name, number, text, first, last in tables.REASONS:
        if row_name != name:
            continue
        if not last.startswith("1."):                          # 3.x: no function
            out.append(("error:0A%06X:SSL routines::%s" % (number, text), text))
            out.append(("error:0A%06X:lib(20)::reason(%d)" % (number, number), reasons.reason_text(name)))
        if first == "1.1.1" or (first == "1.0.2" and last != "1.0.2"):
            out.append(("error:14%03X%03X:SSL routines:%s:%s" % (148, number, "ssl3_read_bytes", text), text))
            out.append(("error:14%03X%03X:lib(20):func(%d):reason(%d)" % (F111, number, F111, number), text))
        if first == "1.0.2":
            out.append(("error:14%03X%03X:SSL routines:SSL23_GET_SERVER_HELLO:%s" % (F102, number, text), text))
            out.append(("error:14%03X%03X:lib(20):func(%d):reason(%d)" % (F102, number, F102, number), text))
    return out


@pytest.mark.parametrize("name", ALL_NAMES)
def test_each_reason_reads_alike_in_every_spelling_on_each_side(name):
    spellings = _spellings(name)
    assert spellings, name
    for side in reasons.SIDES:
        decided = reasons.REASON_CAUSES[name][side]
        for error, text in spellings:
            message = _LINE[side] % (error + (":SSL alert number %d" % (1040 - 1000) if "alert" in text else ""))
            assert causes.raw_reason(message) == text, message
            code, _fields, ambiguity, got_side, ssl = lines.classify(message)
            assert got_side == side and ssl, message
            if not decided:                                    # unknown on purpose: the event keeps the reason
                assert code == "unknown" and ambiguity is None, message
                continue
            assert code == decided[0], (message, code)
            if len(decided) > 1:
                assert ambiguity[0] == decided and ambiguity[1], message
            else:
                assert ambiguity is None, message


@pytest.mark.parametrize("message, reason", [
    ("SSL_do_handshake() failed (SSL: error:0A000414:SSL routines::sslv3 alert bad record mac:SSL alert number 20) "
     "while SSL handshaking to upstream", "sslv3 alert bad record mac"),
    ("SSL_do_handshake() failed (SSL: error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:"
     "SSL alert number 40) while SSL handshaking to upstream", "sslv3 alert handshake failure"),
    ("SSL_do_handshake() failed (SSL: error:14077410:SSL routines:SSL23_GET_SERVER_HELLO:sslv3 alert handshake "
     "failure) while SSL handshaking to upstream", "sslv3 alert handshake failure"),
    ("SSL_do_handshake() failed (SSL: error:140770FC:SSL routines:SSL23_GET_SERVER_HELLO:unknown protocol) "
     "while SSL handshaking to upstream", "unknown protocol"),
    ("SSL_do_handshake() failed (SSL: error:14094410:lib(20):func(148):reason(1040)) while SSL handshaking to upstream",
     "sslv3 alert handshake failure"),
    ("SSL_do_handshake() failed (SSL: error:0A000410:lib(20)::reason(1040)) while SSL handshaking",
     "sslv3 alert handshake failure"),
    # 1.1.0 renumbered: 102 is "bad dh value" from 1.1.1's functions, "bad authentication type" from 1.0.2's
    ("(SSL: error:14%03X066:lib(20):func(%d):reason(102))" % (F111, F111), "bad dh value"),
    ("(SSL: error:14077066:lib(20):func(119):reason(102))", "bad authentication type"),
    ("(SSL: error:14000066:lib(20):func(0):reason(102))", "bad dh value or bad authentication type"),
    ("(SSL: error:0A00009E:SSL routines::at least (D)TLS 1.2 needed in Suite B mode)",
     "at least (D)TLS 1.2 needed in Suite B mode"),
    ("(SSL: error:10000410:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE)",   # BoringSSL
     "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    ("(SSL: error:0A0003FF:SSL routines::something new in OpenSSL 4:extra data)", "something new in OpenSSL 4"),
    ("SSL_shutdown() failed (SSL: error:80000068:system library::Connection reset by peer "
     "error:0A000126:SSL routines::unexpected eof while reading)", "unexpected eof while reading"),
    ("SSL_CTX_use_PrivateKey(\"/k.pem\") failed (SSL: error:05800074:x509 certificate routines::key values mismatch)",
     "key values mismatch"),
    ("peer closed connection in SSL handshake while SSL handshaking to upstream", None),
    ("", None),
])
def test_raw_reason(message, reason):
    assert causes.raw_reason(message) == reason


def test_the_same_reason_means_different_things_on_each_side():
    unknown_ca = "error:0A000418:SSL routines::tlsv1 alert unknown ca:SSL alert number 48"
    assert lines.classify(_LINE["upstream"] % unknown_ca)[0] == "client_cert_required"   # refuses nginx's cert
    code, _f, ambiguity, _s, _ssl = lines.classify(_LINE["client"] % unknown_ca)       # distrusts nginx's chain
    assert code == "cert_untrusted" and "cert_chain_incomplete" in ambiguity[0] and "intermediate" in ambiguity[1]
    # OpenSSL 1.0.2's answer to a plain-HTTP upstream is "unknown protocol", not a version problem
    old = "error:140770FC:SSL routines:SSL23_GET_SERVER_HELLO:unknown protocol"
    assert lines.classify(_LINE["upstream"] % old)[0] == "not_tls"
    assert causes.cause_for_reason("wrong version number") == "not_tls"
    expected = ("cipher_mismatch", causes.HANDSHAKE_FAILURE_CANDIDATES)
    assert causes.reason_cause("sslv3 alert handshake failure") == expected


def _fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as fh:
        return [lines.parse(line) for line in fh if "[notice]" not in line]


# tests/integration/nginx_reasons.py: each bad client has its own source address
REAL_CLIENTS = {
    "127.0.0.2": "cipher_mismatch", "127.0.0.3": "protocol_mismatch", "127.0.0.4": "group_mismatch",
    "127.0.0.5": "signature_algorithm_mismatch", "127.0.0.6": "not_tls", "127.0.0.7": "protocol_violation",
    "127.0.0.8": "cert_untrusted", "127.0.0.9": "cert_untrusted", "127.0.0.10": "cert_expired",
    "127.0.0.11": "protocol_mismatch", "127.0.0.12": "alpn_mismatch", "127.0.0.13": "protocol_violation",
}
REAL_UPSTREAMS = {"/no_route": "network_unreachable", "/forbidden": "connect_forbidden",
                  "/net_unreachable": "network_unreachable"}


def test_real_nginx_lines_of_both_sides():
    """Lines nginx 1.22 + OpenSSL 3.0 wrote here (tests/integration/nginx_reasons.py, inside unshare -n)."""
    seen = {}
    for _time, _level, message, client, upstream in _fixture("reasons-nginx-1.22-openssl-3.0.log"):
        code, _fields, ambiguity, side, _ssl = lines.classify(message)
        if upstream:
            path = "/" + upstream.split("/", 3)[3]
            assert (side, code) == ("upstream", REAL_UPSTREAMS[path]), message
            seen[path] = code
        else:
            assert (side, code) == ("client", REAL_CLIENTS[client]), message
            seen[client] = code
            if client == "127.0.0.9":             # the client checked another name: alert 42 says no more
                assert "hostname_mismatch" in ambiguity[0]
    assert set(seen) == set(REAL_CLIENTS) | set(REAL_UPSTREAMS)


@pytest.mark.parametrize("message, code", [
    ("connect() failed (113: No route to host) while connecting to upstream", "network_unreachable"),
    ("connect() to [2001:db8::7]:443 failed (101: Network is unreachable) while connecting to upstream",
     "network_unreachable"),
    ("connect() to 10.0.0.7:443 failed (113: Host is unreachable) while connecting to upstream", "network_unreachable"),
    ("connect() to 10.0.0.7:443 failed (101: Network unreachable) while connecting to upstream", "network_unreachable"),
    ("connect() failed (112: Host is down) while connecting to upstream", "network_unreachable"),
    ("connect() failed (110: Connection timed out) while connecting to upstream", "connect_timeout"),
    ("connect() failed (110: Operation timed out) while connecting to upstream", "connect_timeout"),
    ("connect() to 10.0.0.7:8443 failed (13: Permission denied) while connecting to upstream", "connect_forbidden"),
    ("connect() to 10.0.0.7:443 failed (111: Connection refused) while connecting to upstream", "connection_refused"),
    # not a proxy connect: an OCSP responder nginx asks for its own stapling
    ("connect() to 10.9.9.9:80 failed (113: No route to host) while requesting certificate status", "unknown"),
])
def test_connect_errors_name_network_causes(message, code):
    got, _fields, _ambiguity, side, ssl = lines.classify(message)
    assert got == code and not ssl
    if code != "unknown":
        assert side == "upstream" and causes.CAUSES[code]["layer"] == "network"


@pytest.mark.parametrize("error, code", [
    ("[Errno 113] No route to host", "network_unreachable"), ("[Errno 101] Network is unreachable",
                                                              "network_unreachable"),
    ("[Errno 13] Permission denied", "connect_forbidden"), ("[Errno 99] Cannot assign requested address", None),
])
def test_probe_connect_errors(error, code):
    assert causes.cause_for_connect_error(error) == code


def test_new_network_causes_render():
    nginx_error, fix = causes.render("network_unreachable", host="10.0.0.7", port=443)
    assert nginx_error == "connect() to 10.0.0.7:443 failed (113: No route to host) while connecting to upstream"
    assert "ipv6=off" in fix[0]
    assert "httpd_can_network_connect" in causes.render("connect_forbidden", host="10.0.0.7", port=443)[1][0]

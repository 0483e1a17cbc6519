# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One nginx error-log line: parts, cause (through the shared vocabulary), side; ``since``."""
from __future__ import annotations

import datetime
import os
import re
import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes
from ansible_collections.tlsops.handshake.plugins.module_utils._logs import lines

PROXY_LINE = ('2026/12/01 21:32:49 [error] 3070#3070: *8 upstream SSL certificate verify error: '
              '(20:unable to get local issuer certificate) while SSL handshaking to upstream, client: 127.0.0.1, '
              'server: proxy.lab.test, request: "GET /deep_chain HTTP/1.1", upstream: "https://127.0.0.1:55017/", '
              'host: "127.0.0.1:35457"\n')
_HS = "SSL_do_handshake() failed (SSL: %s) while SSL handshaking to upstream"
_CLIENT_HS = "SSL_do_handshake() failed (SSL: %s) while SSL handshaking"


def test_parse_a_real_proxy_line():
    stamp, level, message, client, upstream = lines.parse(PROXY_LINE)
    assert (stamp, level, client, upstream) == ("2026/12/01 21:32:49", "error", "127.0.0.1",
                                                "https://127.0.0.1:55017/")
    assert message.startswith("upstream SSL certificate verify error: (20:") and message.endswith("to upstream")


def test_parse_a_line_without_context_and_one_that_is_not_nginx():
    line = ('2026/12/01 21:41:30 [emerg] 26299#26299: host not found in upstream "upstream.lab.invalid" '
            'in /tmp/dnscap/nginx.conf:9\n')
    assert lines.parse(line)[1:] == ("emerg", 'host not found in upstream "upstream.lab.invalid" in '
                                              '/tmp/dnscap/nginx.conf:9', None, None)
    assert lines.parse("openssl: SSL_do_handshake() failed somewhere\n") is None
    assert lines.parse("2026-12-01 21:41:30 [error] SSL\n") is None
    assert lines.parse("SSL_do_handshake() failed somewhere\n", header_only=True) is None


def test_causes_come_from_the_message_not_from_what_a_client_sent():
    line = ('2026/12/01 21:32:49 [error] 1#1: *1 open() "/x" failed (2: No such file or directory), client: 1.2.3.4, '
            'server: s, request: "GET /SSL_do_handshake()+failed+(wrong+version+number) HTTP/1.1", host: "h"\n')
    message = lines.parse(line)[2]
    assert lines.classify(message)[0] == "unknown" and not lines.classify(message)[4]


@pytest.mark.parametrize("url, expected", [
    ("https://127.0.0.1:55017/", ("https", "127.0.0.1:55017", "127.0.0.1", 55017)),
    ("https://10.0.0.7/api/x?y=1", ("https", "10.0.0.7:443", "10.0.0.7", 443)),
    ("https://[2001:db8::7]:8443/", ("https", "[2001:db8::7]:8443", "2001:db8::7", 8443)),
    ("grpcs://10.0.0.8:50051", ("grpcs", "10.0.0.8:50051", "10.0.0.8", 50051)),
    ("10.0.0.9:443", ("", "10.0.0.9:443", "10.0.0.9", 443)),                 # stream module
    ("http://unix:/run/app.sock:/x", ("http", "unix:/run/app.sock", "unix:/run/app.sock", None)),
])
def test_split_upstream(url, expected):
    assert lines.split_upstream(url) == expected


@pytest.mark.parametrize("message, cause, side", [
    # OpenSSL 3.0, as the lab's nginx 1.22 logs it (see fixtures/logs)
    (_HS % "error:0A00010B:SSL routines::wrong version number", "not_tls", "upstream"),
    (_HS % "error:0A000458:SSL routines::tlsv1 unrecognized name:SSL alert number 112", "sni_required", "upstream"),
    (_HS % "error:0A00042E:SSL routines::tlsv1 alert protocol version:SSL alert number 70", "protocol_mismatch",
     "upstream"),
    (_HS % "error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40", "cipher_mismatch",
     "upstream"),
    (_HS % "error:0A00006C:SSL routines::bad key share", "key_share_violation", "upstream"),
    (_HS % "error:0A00018A:SSL routines::dh key too small", "dh_too_small", "upstream"),
    (_HS % "error:0A000152:SSL routines::unsafe legacy renegotiation disabled", "legacy_renegotiation", "upstream"),
    (_HS % "error:0A0000C6:SSL routines::packet length too long", "not_tls", "upstream"),
    (_HS % ("error:0A0000B5:SSL routines::no ciphers available:No ciphers enabled for max supported SSL/TLS "
            "version"), "local_config", "upstream"),
    ("SSL_read() failed (SSL: error:0A00045C:SSL routines::tlsv13 alert certificate required:SSL alert number 116) "
     "while reading response header from upstream", "client_cert_required", "upstream"),
    # OpenSSL 1.1.1
    (_HS % "error:1408F10B:SSL routines:ssl3_get_record:wrong version number", "not_tls", "upstream"),
    (_HS % "error:14094458:SSL routines:ssl3_read_bytes:tlsv1 unrecognized name:SSL alert number 112",
     "sni_required", "upstream"),
    (_HS % "error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:SSL alert number 40",
     "cipher_mismatch", "upstream"),
    (_HS % "error:1425F102:SSL routines:ssl_choose_client_version:unsupported protocol", "protocol_mismatch",
     "upstream"),
    (_HS % "error:141A318A:SSL routines:tls_process_ske_dhe:dh key too small", "dh_too_small", "upstream"),
    (_HS % "error:141CF06C:SSL routines:tls_parse_stoc_key_share:bad key share", "key_share_violation", "upstream"),
    (_CLIENT_HS % "error:1417A0C1:SSL routines:tls_post_process_client_hello:no shared cipher", "cipher_mismatch",
     "client"),
    (_CLIENT_HS % "error:1408F09C:SSL routines:ssl3_get_record:http request", "not_tls", "client"),
    # OpenSSL 3.2+
    (_HS % "error:0A000410:SSL routines::ssl/tls alert handshake failure:SSL alert number 40", "cipher_mismatch",
     "upstream"),
    (_HS % "error:0A000412:SSL routines::ssl/tls alert bad certificate:SSL alert number 42", "client_cert_required",
     "upstream"),
    (_HS % "error:0A000139:SSL routines::record layer failure", "not_tls", "upstream"),
    # numeric codes only (error strings not loaded)
    (_HS % "error:14094410:lib(20):func(148):reason(1040)", "cipher_mismatch", "upstream"),
    (_HS % "error:0A00042E:lib(20)::reason(1070)", "protocol_mismatch", "upstream"),
    (_HS % "error:0A00010B:lib(20)::reason(267)", "not_tls", "upstream"),
    # nginx's own words
    ("upstream SSL certificate verify error: (10:certificate has expired) while SSL handshaking to upstream",
     "cert_expired", "upstream"),
    ('upstream SSL certificate does not match "mismatch.lab.test" while SSL handshaking to upstream',
     "hostname_mismatch", "upstream"),
    ("upstream timed out (110: Connection timed out) while SSL handshaking to upstream", "handshake_timeout",
     "upstream"),
    ("upstream timed out (110: Connection timed out) while connecting to upstream", "connect_timeout", "upstream"),
    ("connect() failed (111: Connection refused) while connecting to upstream", "connection_refused", "upstream"),
    ("peer closed connection in SSL handshake while SSL handshaking to upstream", "connection_reset", "upstream"),
    ("peer closed connection in SSL handshake (104: Connection reset by peer) while SSL handshaking to upstream",
     "connection_reset", "upstream"),
    ("upstream prematurely sent response while reading response header from upstream", "not_tls", "upstream"),
    ('host not found in upstream "upstream.lab.invalid" in /etc/nginx/conf.d/x.conf:9', "dns_failure", "upstream"),
    # the listening side
    (_CLIENT_HS % "error:0A000102:SSL routines::unsupported protocol", "protocol_mismatch", "client"),
    ("handshake rejected while SSL handshaking", "sni_required", "client"),
    ("client sent plain HTTP request to HTTPS port while reading client request headers", "not_tls", "client"),
    ("SSL_read() failed (SSL: error:0A000126:SSL routines::unexpected eof while reading) while waiting for request",
     "connection_reset", "client"),
    ("client SSL certificate verify error: (10:certificate has expired) while reading client request headers",
     "cert_expired", "client"),
    ("peer closed connection in SSL handshake while SSL handshaking", "connection_reset", "client"),
])
def test_every_spelling_names_its_cause_and_side(message, cause, side):
    code, _fields, _ambiguity, got_side, _ssl = lines.classify(message)
    assert (code, got_side) == (cause, side)
    assert code in causes.CAUSE_CODES


@pytest.mark.parametrize("code", sorted(causes.VERIFY_CODE_CAUSES))
def test_every_verify_code_maps_through_the_vocabulary(code):
    message = "upstream SSL certificate verify error: (%d:whatever) while SSL handshaking to upstream" % code
    cause, fields, _amb, _side, _ssl = lines.classify(message)
    assert cause == causes.VERIFY_CODE_CAUSES[code]
    assert fields == {"verify_code": code, "verify_message": "whatever"}


def test_fields_for_render_come_from_the_line():
    assert lines.classify('upstream SSL certificate does not match "a.example" while SSL handshaking to '
                          'upstream')[1] == {"server_name": "a.example"}
    assert lines.classify('host not found in upstream "b.example:8443" in /etc/nginx/x.conf:1')[1] == {
        "host": "b.example:8443"}


@pytest.mark.parametrize("message", [
    "upstream timed out (110: Connection timed out) while reading response header from upstream",
    "recv() failed (104: Connection reset by peer) while reading response header from upstream",
    "no live upstreams while connecting to upstream",
    "an upstream response is buffered to a temporary file /var/cache/nginx/1 while reading upstream",
])
def test_upstream_lines_without_tls_are_not_failures(message):
    code, _f, _a, _s, ssl = lines.classify(message)
    assert code == "unknown" and not ssl


@pytest.mark.parametrize("message", [
    _HS % "error:0A000119:SSL routines::decryption failed or bad record mac",
    "SSL_shutdown() failed (SSL: error:0A00007F:SSL routines::bad write retry)",
    "upstream SSL certificate verify error: (99:nobody knows) while SSL handshaking to upstream",
])
def test_ssl_lines_nothing_names_are_unknown(message):
    code, _f, _a, _s, ssl = lines.classify(message)
    assert code == "unknown" and ssl


@pytest.mark.parametrize("message", [
    _HS % "error:0A000098:SSL routines::excessive message size",
    _HS % "error:0A000199:SSL routines::too many warn alerts",
    _HS % "error:0A0000F4:SSL routines::unexpected message",
    _CLIENT_HS % "error:0A0000F4:SSL routines::unexpected message",
])
def test_peers_that_break_the_protocol_are_named(message):
    code, _f, _a, _s, ssl = lines.classify(message)
    assert code == "protocol_violation" and ssl


def test_ambiguous_lines_carry_their_candidates():
    alert40 = lines.classify(_HS % "error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40")
    assert alert40[2][0] == causes.HANDSHAKE_FAILURE_CANDIDATES and "tls_probe" in alert40[2][1]
    assert lines.classify(_HS % "error:14094410:lib(20):func(148):reason(1040)")[2][0] == \
        causes.HANDSHAKE_FAILURE_CANDIDATES
    verify20 = lines.classify("upstream SSL certificate verify error: (20:unable to get local issuer certificate) "
                              "while SSL handshaking to upstream")
    assert set(verify20[2][0]) == {"cert_untrusted", "cert_chain_incomplete", "verify_depth_exceeded"}
    assert "verify error 20" in verify20[2][1]
    assert "clock_skew" in lines.classify("upstream SSL certificate verify error: (10:certificate has expired) "
                                          "while SSL handshaking to upstream")[2][0]
    assert lines.classify(_HS % "error:0A00006C:SSL routines::bad key share")[2] is None
    # a client's alert 40 has its own candidates: what the client could not accept of nginx's offer
    client40 = lines.classify(_CLIENT_HS % "error:0A000410:SSL routines::sslv3 alert handshake failure")[2]
    assert "signature_algorithm_mismatch" in client40[0] and "client_cert_required" not in client40[0]
    assert "tls_probe" not in client40[1]
    for candidates, _note in [a[2] for a in (alert40, verify20)]:
        assert set(candidates) <= set(causes.CAUSE_CODES)


def test_reason_for_error_code():
    assert causes.reason_for_error_code("error:0A000410:lib(20)::reason(1040)") == "sslv3 alert handshake failure"
    assert causes.reason_for_error_code("error:14094458:lib(20):func(148):reason(1112)") == "tlsv1 unrecognized name"
    assert causes.reason_for_error_code("error:1408F10B:x:y:z") == "wrong version number"
    assert causes.reason_for_error_code("error:80000068:system library::Connection reset by peer") is None
    assert causes.reason_for_error_code("error:0A0000F4:SSL routines::unexpected message") == "unexpected message"
    assert causes.reason_for_error_code("error:0A000098:lib(20)::reason(152)") == "excessive message size"
    assert causes.reason_for_error_code("error:0A000101:SSL routines::unknown") == "unsupported compression algorithm"
    assert causes.reason_for_error_code("error:0A000FFF:SSL routines::unknown") is None     # no such reason
    assert causes.reason_for_error_code("no code here") is None


@pytest.mark.skipif(not os.path.exists("/usr/include/openssl/sslerr.h"), reason="OpenSSL headers not installed")
def test_reason_numbers_agree_with_openssl_headers():
    """Numeric codes map back to texts only if the table's numbers are OpenSSL's."""
    with open("/usr/include/openssl/sslerr.h") as fh:
        header = fh.read()
    defined = dict((m.group(1).lower().replace("_", " "), int(m.group(2)))
                   for m in re.finditer(r"#\s*define SSL_R_(\w+) (\d+)", header))
    for text, number in causes.OPENSSL_REASON_CODES.items():
        if text in defined:      # "record layer failure" is defined only from OpenSSL 3.2
            assert defined[text] == number, text


def test_sample_is_printable_and_bounded():
    assert lines.sample("a\x00b\x1bc\td\r\n") == u"a\ufffdb\ufffdc\td"
    long_line = lines.sample("x" * 5000)
    assert len(long_line) == lines.SAMPLE_MAX + 3 and long_line.endswith("...")


def test_iso():
    assert lines.iso("2026/12/01 21:24:13") == "2026-12-01T21:24:13"
    assert lines.iso(None) is None


# ----------------------------------------------------------------------------------- since
NOW = time.mktime((2026, 12, 1, 21, 0, 0, 0, 0, -1))     # local time, like the log


@pytest.mark.parametrize("value, stamp", [
    ("2h", "2026/12/01 19:00:00"), ("30m", "2026/12/01 20:30:00"), ("7d", "2026/11/24 21:00:00"),
    ("90s", "2026/12/01 20:58:30"), ("1h30m", "2026/12/01 19:30:00"), ("1w", "2026/11/24 21:00:00"),
    (" 2H ", "2026/12/01 19:00:00"),
    ("2026-12-01T20:15:00", "2026/12/01 20:15:00"), ("2026-12-01 20:15:00", "2026/12/01 20:15:00"),
    ("2026/12/01 20:15:00", "2026/12/01 20:15:00"), ("2026-12-01", "2026/12/01 00:00:00"),
])
def test_since_durations_and_local_times(value, stamp):
    assert lines.parse_since(value, now=NOW)[0] == stamp


def test_since_with_an_offset_is_converted_to_local_time():
    stamp, epoch = lines.parse_since("2026-12-01T20:00:00Z")
    utc = datetime.datetime(2026, 12, 1, 20, 0, 0, tzinfo=datetime.timezone.utc)
    assert epoch == utc.timestamp()
    assert stamp == time.strftime(lines.TIME_FORMAT, time.localtime(utc.timestamp()))
    assert lines.parse_since("2026-12-01T22:00:00+02:00")[1] == utc.timestamp()


@pytest.mark.parametrize("value", ["bogus", "2 hours", "10", "-2h", "2026-13-01", "h"])
def test_bad_since_names_the_parameter(value):
    with pytest.raises(lines.SinceError, match=r"^since: "):
        lines.parse_since(value, now=NOW)


@pytest.mark.parametrize("url, trimmed", [
    ("https://127.0.0.1:55017/x/y", "https://127.0.0.1:55017"), ("https://a.example", "https://a.example"),
    ("10.0.0.9:443", "10.0.0.9:443"), ("https://unix:/run/app.sock:/x", "https://unix:/run/app.sock"),
])
def test_trim_upstream(url, trimmed):
    assert lines.trim_upstream(url) == trimmed
    assert lines.split_upstream(trimmed)[1] == lines.split_upstream(url)[1]

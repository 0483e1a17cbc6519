# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""compare_url against hostile HTTP(S) servers on 127.0.0.1: every one gets a classified
result within the one deadline, nothing is followed or sent that the user did not ask for,
and user information never comes back."""

from __future__ import annotations

import time

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._clock import check as clock
from ansible_collections.tlsops.handshake.plugins.module_utils._clock.http_date import parse_url, redact
from tests.integration.hostile_http import HostileHttp, tls_server_context

DEADLINE = 1.5
SLACK = 0.6  # thread start-up and a loaded 2-core machine; far below any per-recv timeout stacking


def _timed(url, timeout=DEADLINE, validate_certs=True):
    started = time.monotonic()
    result = clock.http_date_offset(url, timeout, validate_certs)
    return result, time.monotonic() - started


@pytest.mark.parametrize("kind, codes", [
    ("slow_headers", {"timeout"}),  # one header line a second: a per-recv timeout never fires
    ("trickle", {"timeout"}),  # one byte every 0.2 s
    ("silent", {"timeout"}),
    ("many_headers", {"too_many_headers"}),  # http.client raised HTTPException (a traceback)
    ("long_header", {"header_too_long"}),
    ("endless_headers", {"too_many_headers"}),
    ("huge_head", {"headers_too_large"}),
    ("garbage_status", {"bad_status_line"}),
    ("no_newline", {"header_too_long"}),
    ("close", {"closed"}),
    ("reset", {"connection_reset", "closed"}),
])
def test_hostile_server_is_classified_within_the_deadline(kind, codes):
    with HostileHttp(kind) as server:
        result, elapsed = _timed(server.url)
    assert elapsed < DEADLINE + SLACK, (kind, elapsed, result)
    assert result["ok"] is False and result.get("error_code") in codes, result
    assert result["error"] and "Traceback" not in result["error"]


def test_endless_body_is_never_read():
    with HostileHttp("endless_body") as server:
        result, elapsed = _timed(server.url)
    assert result["ok"] is True and result["status"] == 200, result
    assert elapsed < 1.0 and abs(result["offset_ms"]) <= result["uncertainty_ms"] + 50


@pytest.mark.parametrize("kind", ["tls_hello_request_flood", "tls_stall"])
def test_hostile_tls_server_is_classified_within_the_deadline(kind, tmp_path):
    context, _ca = tls_server_context(str(tmp_path))
    with HostileHttp(kind, tls_context=context) as server:
        result, elapsed = _timed(server.url, validate_certs=False)
    assert elapsed < DEADLINE + SLACK, (kind, elapsed, result)
    assert result["ok"] is False and result.get("error_code") in ("timeout", "tls_error"), result


def test_https_certificate_checked_or_not(tmp_path):
    context, _ca = tls_server_context(str(tmp_path))
    with HostileHttp("good", tls_context=context) as server:
        unchecked, _elapsed = _timed(server.url, validate_certs=False)
        checked, _elapsed = _timed(server.url, validate_certs=True)
    assert unchecked["ok"] is True and unchecked["status"] == 200, unchecked
    assert checked["ok"] is False and checked.get("error_code") == "certificate_invalid", checked
    assert "compare_validate_certs" in checked["error"]


def test_redirect_is_not_followed_to_another_scheme():
    with HostileHttp("silent") as elsewhere:
        target = "ftp://127.0.0.1:%d/pub/" % elsewhere.port
        with HostileHttp("redirect", redirect_to=target) as server:
            result, elapsed = _timed(server.url)
        time.sleep(0.3)  # a connection that was going to come has come by now
        assert elsewhere.connections == 0, "the redirect to %s was followed" % target
    # the 302 carries the Date: that is the second opinion
    assert result["ok"] is True and result["status"] == 302, result
    assert elapsed < DEADLINE


def test_redirect_to_http_is_not_followed_either():
    with HostileHttp("good") as elsewhere:
        with HostileHttp("redirect", redirect_to=elsewhere.url) as server:
            result, _elapsed = _timed(server.url)
        assert elsewhere.connections == 0
    assert result["ok"] is True and result["status"] == 302


def test_userinfo_is_never_sent_nor_returned():
    with HostileHttp("unauthorized") as server:
        url = server.url.replace("http://", "http://alice:s3cr3t-pw@")
        result, _elapsed = _timed(url)
    assert result["ok"] is True and result["status"] == 401, result  # a 401 has a Date too
    request = b"".join(server.requests)
    assert request.startswith(b"HEAD / HTTP/1.1\r\n"), request
    assert b"s3cr3t-pw" not in request and b"alice" not in request and b"authorization" not in request.lower()
    assert "s3cr3t-pw" not in repr(result) and "alice" not in repr(result)
    assert result["url"] == server.url.replace("http://", "http://********@")


def test_userinfo_is_redacted_in_findings_and_sources():
    with HostileHttp("good") as server:
        url = server.url.replace("http://", "http://bob:hunter22@")
        result = clock.check({"servers": [], "compare_url": url, "proc_path": "/nonexistent",
                              "chrony_config": "/nonexistent", "timesyncd_config": "/nonexistent",
                              "ntp_config": "/nonexistent"})
    assert result["offset_source"] == "the Date header of http://********@127.0.0.1:%d/" % server.port
    assert "hunter22" not in repr(result) and "bob:" not in repr(result)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/\r\nX-Injected: yes",
    "http://127.0.0.1:{port}/a b",
    "http://127.0.0.1:{port}/\x00",
    "http://127.0.0.1:{port}/caf\u00e9",
    "http://user:pw\n@127.0.0.1:{port}/",
])
def test_url_with_control_characters_is_refused_before_any_connection(url):
    with HostileHttp("good") as server:
        with pytest.raises(clock.ClockConfigError) as caught:
            clock.validate({"compare_url": url.format(port=server.port)})
        result = clock.http_date_offset(url.format(port=server.port), DEADLINE)
        time.sleep(0.2)
        assert server.connections == 0
    assert str(caught.value).startswith("compare_url: character ")
    assert result["ok"] is False and result["error_code"] == "invalid_url"
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize("url, needle", [
    ("http://h:99999/", "compare_url: the port"),
    ("http://h:0/", "compare_url: port 0"),
    ("http://h:x/", "compare_url: the port"),
    ("http://[::1/", "compare_url:"),
    ("http://[zz::1]/", "compare_url:"),
    ("http://-bad-.example/", "compare_url: the host"),
    ("https://user:pw@/", "compare_url:"),
    ("http://" + "a" * 3000 + "/", "compare_url: 3008 characters"),
    ("gopher://user:pw@h/", "compare_url: 'gopher://********@h/' is not"),
])
def test_bad_urls_name_the_option_without_secrets(url, needle):
    with pytest.raises(clock.ClockConfigError) as caught:
        clock.validate({"compare_url": url})
    assert str(caught.value).startswith(needle), str(caught.value)
    assert ":pw@" not in str(caught.value)


def test_redact():
    assert redact("https://u:p@h:8443/x?y@z") == "https://********@h:8443/x?y@z"
    assert redact("http://token@h/") == "http://********@h/"
    assert redact("http://h/a@b") == "http://h/a@b"
    assert redact("http://a@b@h/") == "http://********@h/"
    assert redact(None) is None
    assert parse_url("http://[::1]:8080/p?q")["host_header"] == "[::1]:8080"
    assert parse_url("https://Example.COM/")["host_header"] == "example.com"


def test_warning_when_certificates_are_not_checked():
    assert clock.warnings(clock.validate({"compare_url": "https://u:p@h/", "compare_validate_certs": False})) == [
        "compare_validate_certs is false: the certificate of https://********@h/ is not checked, so anyone on the "
        "path to it can answer with any Date header and move the compare_url opinion (and offset_ms, when it is "
        "the only witness) wherever they like"]
    assert clock.warnings(clock.validate({"compare_url": "https://h/"})) == []
    assert clock.warnings(clock.validate({"compare_url": "http://h/", "compare_validate_certs": False})) == []

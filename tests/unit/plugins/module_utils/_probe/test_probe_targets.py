# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import ssl

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError, build_targets


def test_strings_and_dicts_with_defaults():
    specs = build_targets(["a.example", "b.example:8443", "[::1]:9443", "10.0.0.7",
                           {"host": "10.0.0.8", "server_name": "api.example", "protocols": ["TLSv1.3"]}],
                          {"timeout": 2})
    assert [(s["host"], s["port"]) for s in specs] == [("a.example", 443), ("b.example", 8443), ("::1", 9443),
                                                       ("10.0.0.7", 443), ("10.0.0.8", 443)]
    assert specs[0]["server_name"] == "a.example"
    assert specs[3]["server_name"] is None  # never SNI for an IP literal
    assert specs[4]["server_name"] == "api.example" and specs[4]["protocols"] == ["TLSv1.3"]
    assert specs[0]["protocols"] == ["TLSv1.2", "TLSv1.3"] and specs[0]["timeout"] == 2.0
    assert [s["label"] for s in specs][:2] == ["a.example:443", "b.example:8443"]


@pytest.mark.parametrize("targets, defaults, needle", [
    (["h:0"], {}, "targets[0].port: 0"),
    (["h:http"], {}, "targets[0].port"),
    ([{"host": "h", "port": 65536}], {}, "targets[0].port"),
    ([{"port": 443}], {}, "targets[0].host"),
    ([{"host": "h", "colour": "red"}], {}, "targets[0]: unknown key(s) colour"),
    (["h"], {"protocols": ["TLSv1.4"]}, "protocols: unknown protocol 'TLSv1.4'"),
    (["h", {"host": "h", "protocols": []}], {}, "targets[1].protocols"),
    (["h"], {"ca_file": "/nonexistent"}, "ca_file: /nonexistent is missing"),
    (["h"], {"client_cert": "/etc/hostname"}, "client_key is required"),
    (["h"], {"client_key": "/etc/hostname"}, "client_cert is required"),
    (["h"], {"groups": ["curve9999"]}, "groups:"),
    (["h"], {"sigalgs": ["rsa_md2"]}, "sigalgs:"),
    (["h"], {"ciphers": "NOPE"}, "ciphers: 'NOPE' matches no cipher"),
    (["h"], {"ciphersuites": ["TLS_FAKE"]}, "ciphersuites: unknown TLS 1.3 suite"),
    (["h"], {"timeout": 0}, "timeout"),
    (["h"], {"verify_depth": -1}, "verify_depth"),
    (["h"], {"enumerate": ["everything"]}, "enumerate: unknown item"),
    ([], {}, "targets:"),
    ([42], {}, "targets[0]: expected"),
])
def test_bad_input_names_the_parameter(targets, defaults, needle):
    with pytest.raises(ProbeConfigError) as err:
        build_targets(targets, defaults)
    assert needle in str(err.value)


def test_ca_file_without_certificates_is_refused(tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(ProbeConfigError, match="ca_file: .* holds no usable PEM certificate"):
        build_targets(["h"], {"ca_file": str(bogus)})


# ---- strict validation (issue #8): every type and range is checked before any connection,
# ---- nothing is coerced silently, and the message names targets[N].key.

@pytest.mark.parametrize("target, needle", [
    ({"host": "h", "port": 443.7}, "targets[0].port: 443.7 is not a port number"),
    ({"host": "h", "port": True}, "targets[0].port: True is not a port number"),
    ({"host": "h", "port": "443.7"}, "targets[0].port"),
    ({"host": "h", "port": [443]}, "targets[0].port"),
    ({"host": 123456}, "targets[0].host: expected a host name or IP address (a string), got int"),
    ({"host": {"name": "h"}}, "targets[0].host: expected a host name or IP address (a string), got dict"),
    ({"host": "h", "ca_file": ["/etc/ssl/a.pem"]}, "targets[0].ca_file: expected the path"),
    ({"host": "h", "ciphers": ["ECDHE+AESGCM"]}, "targets[0].ciphers: expected an OpenSSL cipher string"),
    ({"host": "h", "ciphers": 5}, "targets[0].ciphers: expected an OpenSSL cipher string"),
    ({"host": "h", "clock_offset_ms": float("nan")}, "targets[0].clock_offset_ms: nan is not a finite number"),
    ({"host": "h", "clock_offset_ms": float("inf")}, "targets[0].clock_offset_ms: inf is not a finite number"),
    ({"host": "h", "clock_offset_ms": "nan"}, "targets[0].clock_offset_ms: 'nan' is not a finite number"),
    ({"host": "h", "clock_offset_ms": True}, "targets[0].clock_offset_ms"),
    ({"host": "h", "timeout": float("nan")}, "targets[0].timeout"),
    ({"host": "h", "timeout": True}, "targets[0].timeout"),
    ({"host": "h", "timeout": 301}, "targets[0].timeout: 301 is out of range"),
    ({"host": "h", "verify_depth": 1.5}, "targets[0].verify_depth: 1.5 is not a whole number"),
    ({"host": "h", "verify_depth": True}, "targets[0].verify_depth"),
    ({"host": "h", "verify": "yes"}, "targets[0].verify: expected true or false"),
    ({"host": "h", "protocols": 12}, "targets[0].protocols"),
    ({"host": "h", "alpn": ["h2\r\n"]}, "targets[0].alpn"),
    ({"host": "h", "name": {"a": 1}}, "targets[0].name"),
    ({"host": "h", "client_key_passphrase": 1234}, "targets[0].client_key_passphrase: expected a string"),
    ({"host": "h", "server_name": "x" * 10000}, "targets[0].server_name: "),
    ({"host": "h", "server_name": "a" * 300 + ".example"}, "targets[0].server_name: "),
    ({"host": "h", "server_name": "a..b"}, "targets[0].server_name: 'a..b' has an empty label"),
    ({"host": "h", "server_name": ".a.b"}, "targets[0].server_name"),
    ({"host": "h", "server_name": "a\x00b"}, "targets[0].server_name: 'a\\x00b' contains a control character"),
    ({"host": "h", "server_name": "a\r\nX-Injected: yes"}, "targets[0].server_name: "),
    ({"host": "h", "server_name": "a b.example"}, "targets[0].server_name"),
    ({"host": "h", "server_name": 5}, "targets[0].server_name: expected a server name (a string), got int"),
    ({"host": "a\r\nb"}, "targets[0].host: "),
    ({"host": "a..b"}, "targets[0].host: "),
    ({"host": "x" * 64 + ".example"}, "targets[0].host: "),
    ("a..b:443", "targets[0].host: "),
    ("h:443.7", "targets[0].port"),
])
def test_wrong_types_and_bad_names_are_errors_naming_the_key(target, needle):
    with pytest.raises(ProbeConfigError) as err:
        build_targets([target], {})
    assert needle in str(err.value), str(err.value)
    assert len(str(err.value)) < 600  # a 10 kB name is not echoed in full


@pytest.mark.parametrize("defaults, needle", [
    ({"clock_offset_ms": float("nan")}, "clock_offset_ms: nan is not a finite number"),
    ({"timeout": float("inf")}, "timeout: inf is not a finite number"),
    ({"ciphers": ["DEFAULT"]}, "ciphers: expected an OpenSSL cipher string"),
])
def test_module_level_values_are_checked_the_same_way(defaults, needle):
    with pytest.raises(ProbeConfigError) as err:
        build_targets(["h"], defaults)
    assert needle in str(err.value)


@pytest.mark.parametrize("name", ["api.example", "api.example.", "xn--bcher-kva.example", "bücher.example",
                                  "_acme.internal", "a" * 63 + ".example", "10.0.0.7", "::1", "fe80::1%eth0"])
def test_valid_names_pass_unchanged(name):
    spec = build_targets([{"host": "10.0.0.1", "server_name": name}], {})[0]
    assert spec["server_name"] == name


def test_a_name_is_checked_once_and_a_bad_one_refused_each_time_naming_its_place():
    good = {"host": "10.0.0.1", "server_name": "api.fleet.example"}
    bad = {"host": "10.0.0.1", "server_name": "a..b"}
    assert [s["server_name"] for s in build_targets([good, good, dict(good, host="api.fleet.example")], {})] \
        == ["api.fleet.example"] * 3
    for place in range(3):
        with pytest.raises(ProbeConfigError, match=r"targets\[%d\]\.server_name: 'a\.\.b' has an empty label" % place):
            build_targets([good] * place + [bad], {})


def test_the_second_target_is_checked_before_the_first_is_probed():
    # build_targets checks every target: nothing is probed when one is wrong
    with pytest.raises(ProbeConfigError, match=r"targets\[1\]\.port"):
        build_targets(["127.0.0.1:1", {"host": "h", "port": 443.7}], {})


@pytest.mark.parametrize("option", ["ca_file", "client_cert"])
def test_a_fifo_is_refused_at_once_naming_the_option(tmp_path, option):
    import os
    import time

    fifo = tmp_path / "pipe.pem"
    os.mkfifo(str(fifo))
    defaults = {option: str(fifo)}
    if option == "client_cert":
        defaults["client_key"] = str(fifo)
    started = time.monotonic()
    with pytest.raises(ProbeConfigError, match="%s: %s is a FIFO" % (option, fifo)):
        build_targets(["h"], defaults)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("option", ["ca_file", "client_cert", "client_key"])
def test_dev_zero_is_refused_naming_the_option(option):
    defaults = {option: "/dev/zero"}
    if option != "ca_file":
        defaults.update(client_cert="/dev/zero", client_key="/dev/zero")
    with pytest.raises(ProbeConfigError, match="/dev/zero is a character device"):
        build_targets(["h"], defaults)


class _CountedContext(ssl.SSLContext):
    made = 0

    def __new__(cls, *args, **kwargs):
        _CountedContext.made += 1
        return super().__new__(cls, *args, **kwargs)


def test_each_distinct_cipher_string_is_checked_once_per_call(monkeypatch):
    # a fleet's targets share a few cipher strings; one SSLContext each, not one per target
    monkeypatch.setattr(ssl, "SSLContext", _CountedContext)
    _CountedContext.made = 0
    targets = [{"host": "h%d" % i, "ciphers": "ECDHE+AESGCM" if i % 2 else "DEFAULT"} for i in range(300)]
    specs = build_targets(targets, {"ciphers": "HIGH"})
    assert _CountedContext.made == 3    # HIGH (the module-level value), DEFAULT, ECDHE+AESGCM
    assert [s["ciphers"] for s in specs[:2]] == ["DEFAULT", "ECDHE+AESGCM"]


def test_a_bad_cipher_string_after_good_ones_is_still_named_where_it_is():
    targets = [{"host": "h", "ciphers": "DEFAULT"}] * 250 + [{"host": "h", "ciphers": "NOPE"}]
    with pytest.raises(ProbeConfigError, match=r"^targets\[250\]\.ciphers: 'NOPE' matches no cipher"):
        build_targets(targets, {})
    # the failed check is not remembered as a good one
    with pytest.raises(ProbeConfigError, match=r"^targets\[1\]\.ciphers: 'NOPE'"):
        build_targets([{"host": "h", "ciphers": "DEFAULT"}, {"host": "h", "ciphers": "NOPE"}], {})

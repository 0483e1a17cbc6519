# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._probe_targets import ProbeConfigError, build_targets


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
    (["h"], {"ca_file": "/nonexistent"}, "ca_file: cannot read /nonexistent"),
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

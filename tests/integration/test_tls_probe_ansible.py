# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_probe run by real ansible-playbook: bad input is a clean failure naming the parameter,
secrets never show, verify: false warns.  (That it ends when Ansible is killed: test_lifeline.py.)"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from tests.integration.helpers import run_module
from tests.integration.playbook_cases import assert_clean_failure, run_cases

SECRET = "pass-phrase-s3cret-61f2"


def _encrypted_client_pair(folder):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(folder, "client.pem"), os.path.join(folder, "client.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(SECRET.encode())))
    return cert_path, key_path


def _bad_inputs(folder):
    """(case id, module args, text the failure message must contain)."""
    fifo = os.path.join(folder, "ca.fifo")
    os.mkfifo(fifo)
    cert, key = _encrypted_client_pair(folder)
    t = "127.0.0.1:1"
    return [
        ("port_float", {"targets": [{"host": "127.0.0.1", "port": 443.7}]}, "targets[0].port"),
        ("port_bool", {"targets": [{"host": "127.0.0.1", "port": True}]}, "targets[0].port"),
        ("port_zero", {"targets": ["127.0.0.1:0"]}, "targets[0].port"),
        ("host_int", {"targets": [{"host": 123456}]}, "targets[0].host"),
        ("host_dict", {"targets": [{"host": {"name": "a"}}]}, "targets[0].host"),
        ("host_crlf", {"targets": [{"host": "a\r\nb"}]}, "targets[0].host"),
        ("ca_file_list", {"targets": [{"host": "127.0.0.1", "ca_file": ["/etc/ssl/a.pem"]}]}, "targets[0].ca_file"),
        ("ciphers_list", {"targets": [{"host": "127.0.0.1", "ciphers": ["DEFAULT"]}]}, "targets[0].ciphers"),
        ("ciphers_int", {"targets": [{"host": "127.0.0.1", "ciphers": 7}]}, "targets[0].ciphers"),
        ("clock_nan", {"targets": [t], "clock_offset_ms": "nan"}, "clock_offset_ms"),
        ("clock_inf_target", {"targets": [{"host": "127.0.0.1", "clock_offset_ms": "inf"}]},
         "targets[0].clock_offset_ms"),
        ("sni_crlf", {"targets": [{"host": "127.0.0.1", "server_name": "a\r\nX-Injected: yes"}]},
         "targets[0].server_name"),
        ("sni_10k", {"targets": [{"host": "127.0.0.1", "server_name": "a" * 10000}]}, "targets[0].server_name"),
        ("sni_label_300", {"targets": [{"host": "127.0.0.1", "server_name": "b" * 300 + ".example"}]},
         "targets[0].server_name"),
        ("sni_empty_label", {"targets": [{"host": "127.0.0.1", "server_name": "a..b"}]}, "targets[0].server_name"),
        ("sni_nul", {"targets": [{"host": "127.0.0.1", "server_name": "a\u0000b"}]}, "targets[0].server_name"),
        ("timeout_zero", {"targets": [t], "timeout": 0}, "timeout"),
        ("timeout_big", {"targets": [{"host": "127.0.0.1", "timeout": 301}]}, "targets[0].timeout"),
        ("timeout_text", {"targets": [t], "timeout": "soon"}, "timeout"),
        ("verify_text", {"targets": [{"host": "127.0.0.1", "verify": "maybe"}]}, "targets[0].verify"),
        ("depth_float", {"targets": [{"host": "127.0.0.1", "verify_depth": 1.5}]}, "targets[0].verify_depth"),
        ("concurrency_zero", {"targets": [t], "concurrency": 0}, "concurrency"),
        ("no_targets", {"targets": []}, "targets"),
        ("target_int", {"targets": [42]}, "targets[0]"),
        ("unknown_key", {"targets": [{"host": "127.0.0.1", "colour": "red"}]}, "targets[0]: unknown key"),
        ("ca_dev_zero", {"targets": [t], "ca_file": "/dev/zero"}, "ca_file: /dev/zero is a character device"),
        ("ca_fifo", {"targets": [t], "ca_file": fifo}, "ca_file: %s is a FIFO" % fifo),
        ("client_cert_dev_zero", {"targets": [t], "client_cert": "/dev/zero", "client_key": "/dev/zero"},
         "client_cert: /dev/zero is a character device"),
        ("key_encrypted", {"targets": [t], "client_cert": cert, "client_key": key},
         "client_key: %s is encrypted; give its passphrase in client_key_passphrase" % key),
        # the passphrases come from extra vars, as from a vault: ansible-core 2.19 quotes the playbook's
        # source lines around a failed task, so a literal there would be shown by Ansible itself
        ("key_wrong_passphrase", {"targets": [t], "client_cert": cert, "client_key": key,
                                  "client_key_passphrase": "{{ wrong_passphrase }}"},
         "client_key_passphrase: wrong passphrase"),
        ("key_wrong_passphrase_target", {"targets": [{"host": "127.0.0.1",
                                                      "client_key_passphrase": "{{ other_passphrase }}"}],
                                         "client_cert": cert, "client_key": key},
         "targets[0].client_key_passphrase: wrong passphrase"),
        ("enumerate_bogus", {"targets": [t], "enumerate": ["everything"]}, "enumerate"),
        ("protocols_bogus", {"targets": [{"host": "127.0.0.1", "protocols": ["SSLv3"]}]}, "targets[0].protocols"),
    ]


def test_bad_input_table_fails_cleanly_naming_the_parameter(tmp_path):
    cases = _bad_inputs(str(tmp_path))
    secrets = str(tmp_path / "secrets.json")
    with open(secrets, "w") as f:
        json.dump({"wrong_passphrase": SECRET[::-1], "other_passphrase": SECRET + "x"}, f)
    ran = run_cases("tls_probe", [(case, args) for case, args, _needle in cases], tmp_path, verbosity=3,
                    extra_args=["-e", "@" + secrets])
    for case, _args, needle in cases:
        assert_clean_failure(case, ran[case], needle)
    assert "Traceback" not in ran.output
    # the passphrase never shows, even with -vvv (module args are echoed there)
    assert SECRET not in ran.output and SECRET[::-1] not in ran.output
    assert SECRET not in json.dumps(ran.results) and SECRET[::-1] not in json.dumps(ran.results)


def test_verify_false_warns_what_it_hides(tmp_path):
    ran = run_cases("tls_probe", [
        ("module level", {"targets": ["127.0.0.1:1"], "verify": False, "diagnose": False}),
        ("one target", {"targets": ["127.0.0.1:1", {"host": "127.0.0.1", "port": 1, "verify": False,
                                                    "name": "unchecked"}], "diagnose": False}),
        ("verified", {"targets": ["127.0.0.1:1"], "diagnose": False}),
    ], tmp_path)
    assert ran.returncode == 0, ran.output[-3000:]

    def about_verify(case):
        return [w for w in ran[case].get("warnings", []) if "verify is false" in w]
    assert len(about_verify("module level")) == 1 and len(about_verify("one target")) == 1
    assert about_verify("verified") == []
    assert "1 of 1 target(s) (127.0.0.1:1)" in about_verify("module level")[0]
    assert "1 of 2 target(s) (unchecked)" in about_verify("one target")[0]
    for w in about_verify("module level") + about_verify("one target"):
        assert "expired" in w and "self-signed" in w and "reported ok" in w


def test_pack_results_is_ignored_with_a_warning_when_a_passphrase_is_given(tmp_path):
    """Ansible masks a no_log value wherever it occurs in a result's text, also inside a packed string, so
    tls_probe returns its results unpacked then, and says why."""
    cert, key = _encrypted_client_pair(str(tmp_path))
    secrets = str(tmp_path / "secrets.json")
    with open(secrets, "w") as f:
        json.dump({"passphrase": SECRET}, f)
    closed = {"targets": ["127.0.0.1:1"], "diagnose": False, "pack_results": True}
    ran = run_cases("tls_probe", [
        ("packed", closed),
        ("with passphrase", dict(closed, client_cert=cert, client_key=key, client_key_passphrase="{{ passphrase }}")),
        ("passphrase in a target", dict(closed, targets=[{"host": "127.0.0.1", "port": 1, "client_cert": cert,
                                                          "client_key": key,
                                                          "client_key_passphrase": "{{ passphrase }}"}])),
    ], tmp_path, extra_args=["-e", "@" + secrets])
    assert ran.returncode == 0, ran.output[-3000:]
    assert ran["packed"]["packed"].startswith("tlsops-packed-1:") and "results" not in ran["packed"]
    for case in ("with passphrase", "passphrase in a target"):
        assert "packed" not in ran[case] and ran[case]["results"][0]["cause"] == "connection_refused", case
        assert any("pack_results is ignored: a client key passphrase is given" in w
                   for w in ran[case].get("warnings", [])), case
    assert SECRET not in ran.output and SECRET not in json.dumps(ran.results)


def test_network_namespace_tells_where_loopback_services_are(tmp_path):
    """tls_probe says where it ran: the same value for two runs here, another one in a network namespace of its
    own (`unshare -n`: its 127.0.0.1 is not this one's), which diagnose_report uses to keep loopback upstreams
    of different machines apart."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a network namespace of its own")
    args = {"targets": ["127.0.0.1:1"], "diagnose": False}
    here = [run_module("tls_probe", args)["network_namespace"], run_module("tls_probe", args)["network_namespace"]]
    elsewhere = run_module("tls_probe", args, prefix=["unshare", "-n"])["network_namespace"]
    assert here[0] == here[1] and re.match(r"^[0-9a-f-]{36}/[0-9]+$", here[0]), here
    assert elsewhere != here[0] and elsewhere.split("/")[0] == here[0].split("/")[0]  # one kernel, two namespaces

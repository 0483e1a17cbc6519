# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""time_sync_info and cert_chain_info through real Ansible against hostile input: bad options,
hostile HTTP(S) servers on 127.0.0.1, FIFOs and /dev/zero where files belong, secrets in
the input (keys generated here), and a controller that dies mid-run.

Each table is one ansible-playbook (tests/integration/playbook_cases.py); the precise timing
of every hostile server is in tests/unit/plugins/module_utils/test_clock_http.py.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.integration.hostile_http import HostileHttp, tls_server_context
from tests.integration.playbook_cases import assert_clean_failure, run_cases

pytest.importorskip("cryptography")
# pylint: disable=wrong-import-position
from cryptography.hazmat.primitives import serialization

from tests.unit.plugins.module_utils._chain import test_chain_pki as pki

NOWHERE = "/nonexistent/tlsops"
# no daemon, no configuration: only what a case names is consulted
QUIET = {"servers": [], "samples": 1, "sample_interval": 0, "timeout": 2, "proc_path": NOWHERE,
         "chronyc_path": NOWHERE, "timedatectl_path": NOWHERE, "ntpq_path": NOWHERE,
         "chrony_config": NOWHERE, "timesyncd_config": NOWHERE, "ntp_config": NOWHERE}


def _quiet(**args):
    return dict(QUIET, **args)


# --------------------------------------------------------------------------
# time_sync_info: bad input


TIME_BAD_INPUT = {
    "timeout zero": ({"timeout": 0}, "timeout: 0.0 is out of range"),
    "timeout nan": ({"timeout": "nan"}, "timeout: nan is out of range"),
    "timeout inf": ({"timeout": "inf"}, "timeout: inf is out of range"),
    "timeout word": ({"timeout": "soon"}, "timeout"),
    "samples true": ({"samples": True}, "samples: True is not a number"),
    "samples fraction": ({"samples": 2.5}, "samples"),
    "samples huge": ({"samples": 10 ** 30}, "samples:"),
    "interval negative": ({"sample_interval": -1}, "sample_interval: -1"),
    "max offset nan": ({"max_offset_ms": "nan"}, "max_offset_ms: nan is out of range"),
    "server port fraction": ({"servers": [{"host": "127.0.0.1", "port": 123.5}]}, "servers[0].port: 123.5 is not"),
    "server port true": ({"servers": [{"host": "127.0.0.1", "port": True}]}, "servers[0].port: True is not"),
    "server host dict": ({"servers": [{"host": {"a": 1}}]}, "servers[0].host:"),
    "server newline": ({"servers": ["ntp.example\nserver evil"]}, "servers[0]:"),
    "server 300 chars": ({"servers": ["a" * 300]}, "servers[0]:"),
    "url crlf": ({"compare_url": "http://127.0.0.1/\r\nX-Injected: yes"}, "compare_url: character 18 is a control"),
    "url space": ({"compare_url": "http://127.0.0.1/a b"}, "compare_url: character 19 is a space"),
    "url non-ascii": ({"compare_url": "http://caf\u00e9.example/"}, "compare_url: character 11 is not ASCII"),
    "url ftp": ({"compare_url": "ftp://user:pw0rd-x@127.0.0.1/"}, "compare_url: 'ftp://********@127.0.0.1/' is not"),
    "url bad port": ({"compare_url": "http://user:pw0rd-x@127.0.0.1:99999/"}, "compare_url: the port in"),
    "url no host": ({"compare_url": "https://"}, "compare_url:"),
    "url bad ipv6": ({"compare_url": "http://[::1/"}, "compare_url:"),
    "validate certs word": ({"compare_validate_certs": "maybe"}, "compare_validate_certs"),
    "chrony_config nul": ({"chrony_config": "/etc/chrony\u0000.conf"}, "chrony_config: contains a NUL"),
    "proc_path nul": ({"proc_path": "/pr\u0000oc"}, "proc_path: contains a NUL"),
    "chronyc_path nul": ({"chronyc_path": "/usr/bin/chronyc\u0000"}, "chronyc_path: contains a NUL"),
}


def test_time_sync_info_bad_input_table():
    cases = run_cases("time_sync_info", {name: _quiet(**args) for name, (args, _n) in TIME_BAD_INPUT.items()})
    for name, (_args, needle) in TIME_BAD_INPUT.items():
        assert_clean_failure(name, cases[name], needle)
    assert "pw0rd-x" not in cases.output and "pw0rd-x" not in json.dumps(cases.results)


# --------------------------------------------------------------------------
# time_sync_info: hostile compare_url servers


HOSTILE_COMPARE = {
    # case: (behaviour, codes)
    "slow headers": ("slow_headers", {"timeout"}),
    "trickle": ("trickle", {"timeout"}),
    "many headers": ("many_headers", {"too_many_headers"}),
    "long header": ("long_header", {"header_too_long"}),
    "huge head": ("huge_head", {"headers_too_large"}),
    "garbage status": ("garbage_status", {"bad_status_line"}),
    "no newline": ("no_newline", {"header_too_long"}),
    "endless body": ("endless_body", {None}),
}


def test_time_sync_info_hostile_compare_servers(tmp_path):
    context, _ca = tls_server_context(str(tmp_path))
    servers = {name: HostileHttp(kind) for name, (kind, _c) in HOSTILE_COMPARE.items()}
    servers["tls flood"] = HostileHttp("tls_hello_request_flood", tls_context=context)
    servers["ftp target"] = HostileHttp("silent")
    servers["redirect to ftp"] = HostileHttp("redirect", redirect_to="ftp://127.0.0.1:%d/" % servers["ftp target"].port)
    servers["401 with userinfo"] = HostileHttp("unauthorized")
    for server in servers.values():
        server.__enter__()
    try:
        cases = {name: _quiet(compare_url=servers[name].url) for name in HOSTILE_COMPARE}
        cases["tls flood"] = _quiet(compare_url=servers["tls flood"].url, compare_validate_certs=False)
        cases["redirect to ftp"] = _quiet(compare_url=servers["redirect to ftp"].url)
        cases["401 with userinfo"] = _quiet(compare_url=servers["401 with userinfo"].url.replace(
            "http://", "http://carol:pw0rd-y@"))
        ran = run_cases("time_sync_info", cases)
    finally:
        for server in servers.values():
            server.stop()
    for name, (_kind, codes) in HOSTILE_COMPARE.items():
        result = ran[name]
        assert result.get("failed") is False, (name, result.get("msg"))
        compare = result["compare"]
        assert compare["error_code"] in codes, (name, compare)
        assert compare["elapsed_ms"] <= 2000 + 150, (name, compare)  # the one deadline: timeout 2 s
        if codes != {None}:
            assert [f["code"] for f in result["findings"]] == ["no_time_daemon", "compare_failed"], (name, result)
    flood = ran["tls flood"]
    assert flood["compare"]["error_code"] in ("timeout", "tls_error") and flood["compare"]["elapsed_ms"] <= 2150
    assert "[WARNING]: compare_validate_certs is false: the certificate of %s is not checked" % (
        servers["tls flood"].url) in ran.output
    redirect = ran["redirect to ftp"]
    assert redirect["compare"]["ok"] is True and redirect["compare"]["status"] == 302
    assert servers["ftp target"].connections == 0, "the redirect to ftp:// was followed"
    secret = ran["401 with userinfo"]
    assert secret["compare"]["ok"] is True and secret["compare"]["status"] == 401
    assert secret["compare"]["url"].startswith("http://********@127.0.0.1:")
    assert "pw0rd-y" not in ran.output and "pw0rd-y" not in json.dumps(ran.results)
    assert b"pw0rd-y" not in b"".join(servers["401 with userinfo"].requests)


# --------------------------------------------------------------------------
# time_sync_info: FIFOs where configuration files belong


def test_time_sync_info_fifo_configuration(tmp_path):
    fifo = str(tmp_path / "fifo.conf")
    os.mkfifo(fifo)
    chrony = tmp_path / "chrony.conf"
    chrony.write_text("server 127.0.0.1 port 1\ninclude %s\n" % fifo)
    proc = tmp_path / "proc"
    (proc / "7").mkdir(parents=True)
    os.mkfifo(str(proc / "7" / "comm"))
    os.mkfifo(str(proc / "7" / "cmdline"))
    args = dict(QUIET, servers=None, timeout=0.2)
    ran = run_cases("time_sync_info", {
        "include fifo": dict(args, chrony_config=str(chrony)),
        "config fifo": dict(args, ntp_config=fifo),
        "config dev zero": dict(args, timesyncd_config="/dev/zero"),
        "proc fifo": dict(args, servers=[], proc_path=str(proc)),
    }, timeout=120)
    include = ran["include fifo"]
    assert include.get("failed") is False, include.get("msg")
    assert [s["server"] for s in include["servers"]] == ["127.0.0.1:1"]
    assert "%s (named by %s:2 (include)) could not be read: it is a FIFO (named pipe)" % (fifo, chrony) in [
        f["message"] for f in include["findings"]]
    assert "[WARNING]: a time daemon configuration file was not read: %s:2 (include): %s is a FIFO" % (
        chrony, fifo) in ran.output
    assert "%s (named by ntp_config) could not be read: it is a FIFO (named pipe)" % fifo in [
        f["message"] for f in ran["config fifo"]["findings"]]
    assert "/dev/zero (named by timesyncd_config) could not be read: it is a character device" in [
        f["message"] for f in ran["config dev zero"]["findings"]]
    assert ran["proc fifo"].get("failed") is False and ran["proc fifo"]["daemon"]["name"] == "none"


# --------------------------------------------------------------------------
# cert_chain_info: bad input


@pytest.fixture(scope="module")
def chain_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("chain-inputs")
    ca = pki.Hierarchy("hardening", slot=60)
    fifo = str(directory / "fifo.pem")
    os.mkfifo(fifo)
    return {"ca": ca, "dir": directory, "fifo": fifo,
            "served": pki.write(directory, "served.pem", ca.leaf, ca.int1),
            "root": pki.write(directory, "root.pem", ca.root)}


def test_cert_chain_info_bad_input_table(chain_files):
    served, root, fifo = chain_files["served"], chain_files["root"], chain_files["fifo"]
    table = {
        "path fifo": ({"path": fifo}, "path: %s is a FIFO (named pipe)" % fifo),
        "path dev zero": ({"path": "/dev/zero"}, "path: /dev/zero is a character device"),
        "path directory": ({"path": str(chain_files["dir"])}, "path: %s is a directory" % chain_files["dir"]),
        "ca_file fifo": ({"path": served, "ca_file": fifo}, "ca_file: %s is a FIFO" % fifo),
        "ca_file dev zero": ({"path": served, "ca_file": "/dev/zero"}, "ca_file: /dev/zero is a character device"),
        "intermediates fifo": ({"path": served, "ca_file": root, "intermediates": fifo}, "intermediates: %s is a FIFO"
                               % fifo),
        "key_path fifo": ({"path": served, "ca_file": root, "key_path": fifo}, "key_path: %s is a FIFO" % fifo),
        "key_path dev zero": ({"path": served, "ca_file": root, "key_path": "/dev/zero"},
                              "key_path: /dev/zero is a character device"),
        "valid_at overflow": ({"path": served, "valid_at": "+99999999999999999999d"}, "valid_at: '+999"),
        "valid_at words": ({"path": served, "valid_at": "next tuesday"}, "valid_at: 'next tuesday' is neither"),
        "names crlf": ({"path": served, "names": ["www.hardening.example\r\nX-Injected: yes"]},
                       "names[0]: 'www.hardening.example\\r\\nX-Injected: yes' holds a space or a control character"),
        "names too long": ({"path": served, "names": ["a" * 300]}, "names[0]: 300 characters"),
        "names label": ({"path": served, "names": ["a..b"]}, "names[0]: 'a..b' has an empty label"),
        "port true": ({"host": "127.0.0.1", "port": True}, "port: True is not a whole number"),
        "port zero": ({"host": "127.0.0.1", "port": 0}, "port: 0 is not a valid port"),
        "timeout nan": ({"host": "127.0.0.1", "timeout": "nan"}, "timeout: nan is out of range"),
        "warn_days true": ({"path": served, "warn_days": True}, "warn_days: True is not a whole number"),
        "warn_days negative": ({"path": served, "warn_days": -1}, "warn_days: -1 is negative"),
        "security_level 9": ({"path": served, "security_level": 9}, "security_level"),
        "verify_depth negative": ({"path": served, "verify_depth": -1}, "verify_depth: must be 0 or more"),
        "content without certificate": ({"content": "hello"}, "content: holds no certificate"),
        # (content is no_log: Ansible would mask a one-letter content everywhere in the message)
        "two sources": ({"path": served, "content": "not a certificate"}, "mutually exclusive"),
        "none": ({}, "one of the following is required"),
    }
    started = time.monotonic()
    ran = run_cases("cert_chain_info", {name: args for name, (args, _n) in table.items()}, timeout=300)
    for name, (_args, needle) in table.items():
        assert_clean_failure(name, ran[name], needle)
    assert time.monotonic() - started < 120  # no FIFO was waited on


# --------------------------------------------------------------------------
# Secrets: -vvv output and registered results never hold key material or URL credentials


def _key_pem(private_key, passphrase=None):
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     encryption).decode("ascii")


def _body_pieces(pem_text):
    body = "".join(line for line in pem_text.splitlines() if not line.startswith("-----"))
    return [body[i:i + 20] for i in range(0, len(body) - 20, 20)]


def test_secrets_never_reach_the_output(chain_files, tmp_path):
    ca = chain_files["ca"]
    key_text = _key_pem(ca.leaf.key)
    encrypted = _key_pem(ca.leaf.key, passphrase="pass-phrase-zq")
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(ca.leaf.pem + ca.int1.pem + key_text)
    encrypted_key = tmp_path / "leaf.key"
    encrypted_key.write_text(encrypted)
    root = chain_files["root"]
    chain_cases = {
        "content with key": {"content": ca.leaf.pem + ca.int1.pem + key_text, "ca_file": root},
        "content key first": {"content": key_text + ca.leaf.pem, "ca_file": root},
        "content key only": {"content": key_text},
        "path with key": {"path": str(bundle), "ca_file": root},
        "encrypted key_path": {"path": str(bundle), "ca_file": root, "key_path": str(encrypted_key),
                               "key_passphrase": "pass-phrase-zq"},
        "wrong passphrase": {"path": str(bundle), "ca_file": root, "key_path": str(encrypted_key),
                             "key_passphrase": "not-the-pass-phrase-zq"},
    }
    with HostileHttp("good") as web, HostileHttp("silent") as silent:
        clock_cases = {
            "compare with credentials": _quiet(compare_url=web.url.replace("http://", "http://dave:pw0rd-z@")),
            "token only": _quiet(compare_url=web.url.replace("http://", "http://tok3n-abcdef@")),
            "bad url with credentials": _quiet(compare_url="http://dave:pw0rd-z@127.0.0.1/\r\n"),
            "timeout with credentials": _quiet(timeout=0.5, compare_url=silent.url.replace(
                "http://", "http://dave:pw0rd-z@")),
        }
        clock = run_cases("time_sync_info", clock_cases, verbosity=3)
    chain = run_cases("cert_chain_info", chain_cases, verbosity=3)

    for label, text in (("cert_chain_info", chain.output + json.dumps(chain.results)),
                        ("time_sync_info", clock.output + json.dumps(clock.results))):
        assert "PRIVATE KEY" not in text, label
        leaked = [piece for piece in _body_pieces(key_text) + _body_pieces(encrypted) if piece in text]
        assert not leaked, (label, leaked[:2])
        for secret in ("pass-phrase-zq", "pw0rd-z", "tok3n-abcdef", "dave:"):
            assert secret not in text, (label, secret)
    assert chain["content with key"].get("failed") is False and chain["content with key"]["complete"] is True
    assert chain["encrypted key_path"]["key_matches"] is True
    assert chain["content key only"]["msg"].endswith("the private key in it is ignored (give the key file as key_path)")
    assert chain["wrong passphrase"]["msg"].startswith("key_passphrase: wrong passphrase")
    assert clock["compare with credentials"]["compare"]["ok"] is True
    assert clock["bad url with credentials"].get("failed") is True
    assert clock["timeout with credentials"]["compare"]["error_code"] == "timeout"
    assert "invocation" in clock.output and "module_args" in chain.output  # -vvv shows the arguments
    assert '"compare_url": "%s"' % web.url.replace("http://", "http://********@") in clock.output

# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab really serves every fault it claims: checked with real peers only
(``openssl s_client`` and Python's ssl module, both on this host's libssl)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common import causes as _causes, causes_reasons as _reasons
from ansible_collections.tlsops.handshake.plugins.module_utils._tls import names as _tls_names
from tests.lab import SCENARIO_NAMES, Lab, LabError, lab_processes, listening_ports

pytestmark = pytest.mark.skipif(not shutil.which("openssl") or not os.path.exists("/usr/sbin/nginx"),
                                reason="needs openssl and nginx")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module", name="lab")
def lab_fixture(tmp_path_factory):
    with Lab(str(tmp_path_factory.mktemp("lab"))) as running:
        yield running


# ------------------------------------------------------------------------------- helpers

def s_client(lab, name, *args, sni=True, server_name=None, data=b"", timeout=5):
    """Run ``openssl s_client`` against a scenario; return (returncode, stdout+stderr)."""
    sc = lab.scenarios[name]
    cmd = ["timeout", str(timeout), "openssl", "s_client", "-connect", "127.0.0.1:%d" % sc["port"],
           "-CAfile", lab.info["ca_file"], "-verify_return_error"]
    if sni:
        cmd += ["-servername", server_name or sc["probe"].get("server_name", sc["server_name"])]
    else:
        cmd += ["-noservername"]
    proc = subprocess.run(cmd + list(args), input=data, capture_output=True, timeout=timeout + 5, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")


def py_tls(lab, name, *, request=None, client_cert=False, versions=None, ciphers=None,
           server_name=None, cafile=None, timeout=3):
    """Handshake with Python's ssl (and send ``request``); return (version, cipher, reply)."""
    sc = lab.scenarios[name]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile or lab.info["ca_file"])
    if versions:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version, ctx.maximum_version = versions
    if ciphers:
        ctx.set_ciphers(ciphers)
    if client_cert:
        ctx.load_cert_chain(lab.info["client_cert"], lab.info["client_key"])
    with socket.create_connection(("127.0.0.1", sc["port"]), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name or sc["server_name"]) as tls:
            reply = b""
            if request is not None:
                tls.sendall(request)
                while len(reply) < 65536:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            return tls.version(), tls.cipher()[0], reply.decode(errors="replace")


def get(host):
    return ("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host).encode()


def verify_code(out):
    m = re.search(r"Verify return code: (\d+)", out)
    return int(m.group(1)) if m else None


def openssl_error(out):
    """The first 'error:XXXXXXXX:...' line of s_client's output."""
    m = re.search(r"error:[0-9A-F]{8}:[^\n]*", out)
    return m.group(0) if m else ""


def served_certs(out):
    return len(re.findall(r"^ \d+ s:", out, re.M))


# ------------------------------------------------------------------------------- lab.json

def test_lab_json_and_files(lab):
    with open(os.path.join(lab.dir, "lab.json")) as f:
        info = json.load(f)
    assert info == lab.info and info["state"] == "running"
    assert set(info["scenarios"]) == set(SCENARIO_NAMES)
    for key in ("ca_file", "client_cert", "client_key"):
        assert os.path.isfile(info[key])
    assert info["ca_file"] == os.path.join(lab.dir, "pki", "lab-root.pem")
    pki = os.path.join(lab.dir, "pki")
    keys = [n for n in os.listdir(pki) if n.endswith(".key")]
    assert keys and all(stat.S_IMODE(os.stat(os.path.join(pki, n)).st_mode) == 0o600 for n in keys)
    ports = []
    for name, sc in info["scenarios"].items():
        assert sc["expected_cause"] in _causes.CAUSES, name
        assert sc["backend"] in ("nginx", "s_server", "python", "none")
        assert sc["server_name"].endswith(".lab.test") or name == "dns_failure"
        if name == "dns_failure":
            assert sc["host"] == "upstream.lab.invalid" and sc["isolated_dns"] is True
        else:
            assert sc["host"] == "127.0.0.1"
        if name not in ("local_config", "dns_failure", "legacy_reneg_allowed"):   # shared ports, or none
            ports.append(sc["port"])
    assert len(ports) == len(set(ports))
    assert info["scenarios"]["local_config"]["port"] == info["scenarios"]["healthy"]["port"]
    assert info["scenarios"]["legacy_reneg_allowed"]["port"] == info["scenarios"]["legacy_reneg"]["port"]
    assert info["start_seconds"] < 5


def test_listens_on_loopback_only(lab):
    ours = {sc["port"] for sc in lab.scenarios.values() if sc["backend"] not in ("none",)}
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    for row in rows:
        addr, port = row[1].split(":")
        if row[3] == "0A" and int(port, 16) in ours:
            assert addr == "0100007F", "port %d listens on %s" % (int(port, 16), addr)
    with open("/proc/net/tcp6") as f:
        v6 = {int(line.split()[1].split(":")[1], 16) for line in f.readlines()[1:] if line.split()[3] == "0A"}
    assert not ours & v6


# ------------------------------------------------------------------------------- healthy

def test_healthy(lab):
    rc, out = s_client(lab, "healthy", "-alpn", "h2,http/1.1")
    assert rc == 0 and verify_code(out) == 0, out
    assert "ALPN protocol: h2" in out and served_certs(out) == 2
    version, _cipher, reply = py_tls(lab, "healthy", request=get("healthy.lab.test"))
    assert version == "TLSv1.3" and reply.startswith("HTTP/1.1 200")
    assert py_tls(lab, "healthy", versions=(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2))[0] == "TLSv1.2"


def test_healthy_tls12(lab):
    rc, out = s_client(lab, "healthy_tls12")
    assert rc == 0 and verify_code(out) == 0 and "Protocol  : TLSv1.2" in out and served_certs(out) == 2
    assert s_client(lab, "healthy_tls12", "-tls1_3")[0] != 0


@pytest.mark.parametrize("name", ["enumerate", "enumerate_wide"])
def test_enumerate_accepts_what_known_says(lab, name):
    known = lab.scenarios[name]["known"]
    flag = {"TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"}
    for proto in ("TLSv1.2", "TLSv1.3"):
        rc, out = s_client(lab, name, flag[proto])
        assert (rc == 0) == (proto in known["protocols"]), (proto, out)
    for cipher in known["ciphers"]["TLSv1.2"]:
        rc, out = s_client(lab, name, "-tls1_2", "-cipher", cipher)
        assert rc == 0 and "Cipher is %s" % cipher in out, out
    for suite in known["ciphers"]["TLSv1.3"]:
        rc, out = s_client(lab, name, "-tls1_3", "-ciphersuites", suite)
        assert rc == 0 and "Cipher is %s" % suite in out, out
    groups = subprocess.run(["openssl", "list", "-tls-groups"], capture_output=True, text=True, check=False).stdout
    all_groups = [g.strip() for g in re.split(r"[:\n]", groups) if g.strip()]
    known_codes = {_tls_names.group_code(g) for g in known["groups"]}
    for group in set(all_groups) | set(known["groups"]):
        for proto, version in (("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")):
            rc, out = s_client(lab, name, proto, "-groups", group)
            # a TLS 1.2-only curve (brainpool) cannot even be offered in a TLS 1.3-only hello
            usable = _tls_names.group_code(group) in known_codes and version in _tls_names.group_versions(group)
            assert (rc == 0) == usable, (group, proto, out)


def test_enumerate_tls13_suites_exactly(lab):
    known = lab.scenarios["enumerate"]["known"]["ciphers"]["TLSv1.3"]
    for suite in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                  "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"):
        rc, out = s_client(lab, "enumerate", "-tls1_3", "-ciphersuites", suite)
        assert (rc == 0) == (suite in known), (suite, out)


def test_enumerate_tls12_ciphers_exactly(lab):
    """Sweep every TLS1.2 cipher this OpenSSL knows (Python ssl, in-process: fast)."""
    known = lab.scenarios["enumerate"]["known"]["ciphers"]["TLSv1.2"]
    names = subprocess.run(["openssl", "ciphers", "-tls1_2", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                           capture_output=True, text=True, check=True).stdout.strip().split(":")
    accepted = []
    for name in names:
        if name.startswith("TLS_"):
            continue
        try:
            py_tls(lab, "enumerate", versions=(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
                   ciphers=name + ":@SECLEVEL=0")
        except (ssl.SSLError, OSError):
            continue
        accepted.append(name)
    assert sorted(accepted) == sorted(known)


# ------------------------------------------------------------------------------- faults
# name -> (s_client arguments, regex its output must match)

ERRORS = {
    "plain_http": ([], r"wrong version number"),
    "sni_required": ([], r"tlsv1 unrecognized name.*SSL alert number 112"),
    "sni_unknown_name": ([], r"tlsv1 unrecognized name.*SSL alert number 112"),
    "tls13_only": (["-tls1_2"], r"tlsv1 alert protocol version.*SSL alert number 70"),
    "tls12_only": (["-tls1_3"], r"tlsv1 alert protocol version.*SSL alert number 70"),
    "cipher_disjoint": (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
                        r"sslv3 alert handshake failure.*SSL alert number 40"),
    "group_disjoint": (["-groups", "x25519"], r"sslv3 alert handshake failure.*SSL alert number 40"),
    "brainpool_tls12": ([], r"sslv3 alert handshake failure.*SSL alert number 40"),
    "brainpool_only": ([], r"sslv3 alert handshake failure.*SSL alert number 40"),
    "ffdhe_only": (["-groups", "x25519"], r"sslv3 alert handshake failure.*SSL alert number 40"),
    "sigalg_mismatch": (["-sigalgs", "rsa_pss_rsae_sha256:rsa_pkcs1_sha256"],
                        r"sslv3 alert handshake failure.*SSL alert number 40"),
    "mtls12": ([], r"sslv3 alert handshake failure.*SSL alert number 40"),
    "dh1024": ([], r"0A00018A.*dh key too small"),
    "banner": ([], r"0A00010B.*wrong version number"),
    "garbage": ([], r"0A00010B.*wrong version number"),
    "close_mid_handshake": ([], r"0A000126.*unexpected eof while reading"),
    "giant_record": ([], r"0A0000C6.*packet length too long"),
    "huge_message": ([], r"0A000098.*excessive message size"),
    "key_share_relay": ([], r"0A00006C.*bad key share"),
    "legacy_reneg": ([], r"0A000152.*unsafe legacy renegotiation disabled"),
    "internal_error": ([], r"0A000438.*tlsv1 alert internal error"),
}


# the reason text names the family; the probe refines it (sniffing the reply, SNI sent or not)
REFINED_BY_PROBE = {"plain_http": "not_tls", "sni_unknown_name": "sni_required"}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_handshake_error(lab, name):
    args, pattern = ERRORS[name]
    sni = lab.scenarios[name]["probe"].get("sni", True)
    rc, out = s_client(lab, name, *args, sni=sni)
    assert rc != 0 and re.search(pattern, out), out
    expected = lab.scenarios[name]["expected_cause"]
    cause = _causes.cause_for_reason(openssl_error(out))
    if "SSLV3_ALERT_HANDSHAKE_FAILURE" in _reasons.reason_names(out):   # alert 40: the probe must dig further
        assert expected in _causes.HANDSHAKE_FAILURE_CANDIDATES
    else:
        assert cause == REFINED_BY_PROBE.get(name, expected), (cause, openssl_error(out))


@pytest.mark.parametrize("name,args,ok", [
    ("sni_required", ["-servername", "sni.lab.test"], True),
    ("sni_unknown_name", ["-servername", "known.lab.test"], True),
    ("tls13_only", ["-tls1_3"], True),
    ("tls12_only", ["-tls1_2"], True),
    ("cipher_disjoint", ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"], True),
    ("group_disjoint", ["-groups", "secp384r1"], True),
    ("brainpool_tls12", ["-groups", "x25519:brainpoolP256r1"], True),
    ("brainpool_tls12", ["-groups", "brainpoolP256r1"], False),     # TLS 1.3 on: no group for it, local error
    ("brainpool_only", ["-tls1_2", "-groups", "brainpoolP256r1"], True),
    ("brainpool_only", ["-groups", "x25519:brainpoolP256r1"], False),  # the upstream picks TLS 1.3: alert 40
    ("ffdhe_only", ["-groups", "ffdhe2048"], True),
    ("sigalg_mismatch", [], True),
])
def test_fault_is_only_the_named_difference(lab, name, args, ok):
    """Each negotiation fault is one setting: change it and the handshake succeeds."""
    rc, out = s_client(lab, name, *args)
    assert (rc == 0 and verify_code(out) == 0) == ok, out


def test_legacy_reneg_is_a_whole_server_without_rfc5746(lab):
    """Refused by default (ERRORS), but it finishes the handshake and answers GET / for a client that
    allows legacy servers: s_client -legacy_server_connect, and Python's ssl with SSL_OP_LEGACY_SERVER_CONNECT."""
    request = b"GET / HTTP/1.1\r\nHost: legacy-reneg.lab.test\r\n\r\n"
    rc, out = s_client(lab, "legacy_reneg", "-legacy_server_connect", "-ign_eof", data=request)
    assert rc == 0 and verify_code(out) == 0 and "Secure Renegotiation IS NOT supported" in out, out
    assert "HTTP/1.1 200 OK" in out and "legacy_reneg ok" in out, out
    sc = lab.scenarios["legacy_reneg_allowed"]
    assert sc["port"] == lab.scenarios["legacy_reneg"]["port"] and sc["expected_cause"] == "ok"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(lab.info["ca_file"])
    ctx.options |= 0x4  # SSL_OP_LEGACY_SERVER_CONNECT (ssl.OP_LEGACY_SERVER_CONNECT from Python 3.12)
    with socket.create_connection(("127.0.0.1", sc["port"]), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=sc["server_name"]) as tls:
            tls.sendall(request)
            assert tls.version() == "TLSv1.2" and tls.recv(4096).startswith(b"HTTP/1.1 200 OK")


def test_sigalg_upstream_is_ecdsa(lab):
    assert "Peer signature type: ECDSA" in s_client(lab, "sigalg_mismatch")[1]


def test_dh1024_group_is_1024_bits(lab):
    rc, out = s_client(lab, "dh1024", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
    assert rc == 0 and "Server Temp Key: DH, 1024 bits" in out, out


@pytest.mark.parametrize("name,code", [
    ("self_signed", 18), ("unknown_root", 20), ("missing_intermediate", 20), ("expired", 10),
    ("not_yet_valid", 9), ("rsa1024", 66),
])
def test_certificate_verify_errors(lab, name, code):
    rc, out = s_client(lab, name)
    assert rc != 0 and verify_code(out) == code and "certificate verify failed" in out, out
    assert _causes.VERIFY_CODE_CAUSES.get(code) in (lab.scenarios[name]["expected_cause"], "cert_chain_incomplete")


def test_unknown_root_is_trusted_by_its_own_root(lab):
    rc, out = s_client(lab, "unknown_root", "-CAfile", lab.info["other_root_file"])
    assert rc == 0 and verify_code(out) == 0 and served_certs(out) == 2, out


def test_missing_intermediate_serves_the_leaf_alone(lab, tmp_path):
    rc, out = s_client(lab, "missing_intermediate")
    assert served_certs(out) == 1
    bundle = tmp_path / "root+int.pem"   # the client supplying the intermediate itself
    with open(lab.info["ca_file"], "rb") as root, open(os.path.join(lab.dir, "pki", "lab-int.pem"), "rb") as i:
        bundle.write_bytes(root.read() + i.read())
    rc, out = s_client(lab, "missing_intermediate", "-CAfile", str(bundle))
    assert rc == 0 and verify_code(out) == 0, out


def test_hostname_mismatch(lab):
    rc, out = s_client(lab, "hostname_mismatch", "-verify_hostname", "mismatch.lab.test")
    assert rc != 0 and verify_code(out) == 62, out
    assert "CN = other.lab.test" in out
    rc, out = s_client(lab, "hostname_mismatch", "-verify_hostname", "other.lab.test")
    assert rc == 0 and verify_code(out) == 0


def test_deep_chain(lab):
    rc, out = s_client(lab, "deep_chain", "-verify_depth", "1")
    assert rc != 0 and verify_code(out) == 22 and served_certs(out) == 3, out
    rc, out = s_client(lab, "deep_chain", "-verify_depth", "2")
    assert rc == 0 and verify_code(out) == 0


def test_local_config_fails_before_sending(lab):
    probe = lab.scenarios["local_config"]["probe"]
    rc, out = s_client(lab, "local_config", "-tls1", "-cipher", probe["ciphers"])
    assert rc != 0 and "0A0000B5" in out and "no ciphers available" in out, out
    with pytest.raises(ssl.SSLError, match="no ciphers available"):
        py_tls(lab, "local_config", versions=(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1),
               ciphers=probe["ciphers"])
    assert _causes.cause_for_reason("no ciphers available") == "local_config"


def test_mtls13_alert_116_on_first_read(lab):
    with pytest.raises(ssl.SSLError, match="TLSV13_ALERT_CERTIFICATE_REQUIRED|certificate required"):
        py_tls(lab, "mtls13", request=get("mtls13.lab.test"))
    rc, out = s_client(lab, "mtls13", "-ign_eof")
    assert rc != 0 and "New, TLSv1.3" in out and re.search(r"0A00045C.*tlsv13 alert certificate required", out), out
    assert py_tls(lab, "mtls13", request=get("mtls13.lab.test"), client_cert=True)[2].startswith("HTTP/1.0 200")


def test_mtls12_requests_a_certificate(lab):
    rc, out = s_client(lab, "mtls12")
    assert "Acceptable client certificate CA names" in out and "CN = tlsops lab root" in out, out
    rc, out = s_client(lab, "mtls12", "-cert", lab.info["client_cert"], "-key", lab.info["client_key"])
    assert rc == 0 and verify_code(out) == 0, out


def test_mtls_nginx_answers_400(lab):
    version, _cipher, reply = py_tls(lab, "mtls_nginx", request=get("mtls-nginx.lab.test"))
    assert version == "TLSv1.3" and reply.startswith("HTTP/1.1 400") and "No required SSL certificate was sent" in reply
    assert _causes.cause_for_reason(reply) == "client_cert_required"
    reply = py_tls(lab, "mtls_nginx", request=get("mtls-nginx.lab.test"), client_cert=True)[2]
    assert reply.startswith("HTTP/1.1 200"), reply


def test_plain_http_speaks_http(lab):
    with socket.create_connection(("127.0.0.1", lab.scenarios["plain_http"]["port"]), timeout=3) as s:
        s.sendall(get("plain-http.lab.test"))
        assert s.recv(100).startswith(b"HTTP/1.1 200")


def test_banner_is_ssh(lab):
    with socket.create_connection(("127.0.0.1", lab.scenarios["banner"]["port"]), timeout=3) as s:
        assert s.recv(100) == b"SSH-2.0-OpenSSH_9.2p1\r\n"


@pytest.mark.parametrize("name", ["silent", "stall_mid_hello"])
def test_handshake_timeout(lab, name):
    """TCP connects at once, the TLS handshake never finishes."""
    port = lab.scenarios[name]["port"]
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError)):
        with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
            connected = time.monotonic() - t0
            ctx = ssl.create_default_context(cafile=lab.info["ca_file"])
            ctx.wrap_socket(raw, server_hostname=lab.scenarios[name]["server_name"])
    assert connected < 0.5 and time.monotonic() - t0 >= 0.9
    rc, out = s_client(lab, name, timeout=2)
    assert rc == 124, out  # s_client hangs too, killed by timeout (its stdout is lost unflushed)


def test_reset_mid_handshake(lab):
    with pytest.raises(ConnectionResetError):
        py_tls(lab, "reset_mid_handshake")
    rc, out = s_client(lab, "reset_mid_handshake")
    assert rc != 0 and "errno=104" in out, out
    assert _causes.cause_for_reason("[Errno 104] Connection reset by peer") == "connection_reset"


def test_close_mid_handshake_python(lab):
    with pytest.raises(ssl.SSLError, match="EOF|eof"):
        py_tls(lab, "close_mid_handshake")


def test_key_share_relay_rewrites(lab):
    s_client(lab, "key_share_relay")
    with open(os.path.join(lab.info["logs"], "faults.log")) as f:
        assert "key_share group 0x001d -> 0x0017" in f.read()


def test_closed_port(lab):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", lab.scenarios["closed_port"]["port"]), timeout=2)


def test_filtered_connect_times_out(lab):
    port = lab.scenarios["filtered"]["port"]
    assert port in listening_ports()   # a real listener: the SYN is dropped, not refused
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError)):
        socket.create_connection(("127.0.0.1", port), timeout=1.5)
    assert time.monotonic() - t0 >= 1.4
    rc, out = s_client(lab, "filtered", timeout=2)
    assert rc == 124, out


def test_dns_failure_only_in_isolated_namespace(lab, tmp_path):
    sc = lab.scenarios["dns_failure"]
    assert sc["isolated_dns"] and sc["backend"] == "none"
    code = ("import socket, sys\n"
            "try:\n    socket.getaddrinfo(%r, %d)\n"
            "except socket.gaierror as e:\n    print('gaierror', e.errno)\n    sys.exit(0)\n"
            "sys.exit(1)\n" % (sc["host"], sc["port"]))
    flags = ["-n"] if os.geteuid() == 0 else ["-r", "-n"]
    probe = subprocess.run(["unshare"] + flags + ["true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("unshare -n not permitted here: %s" % probe.stderr.decode().strip())
    proc = subprocess.run(["unshare"] + flags + [sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=20, check=False)
    assert proc.returncode == 0 and "gaierror" in proc.stdout, proc.stdout + proc.stderr
    # and what nginx says about such a proxy_pass (at start/reload, not per request)
    conf = tmp_path / "nginx.conf"
    conf.write_text("error_log stderr; pid %s/nginx.pid; events {}\nhttp { access_log off; server {\n"
                    "listen 127.0.0.1:1; location / { proxy_pass https://%s; } } }\n" % (tmp_path, sc["host"]))
    proc = subprocess.run(["unshare"] + flags + ["/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-c", str(conf)],
                          capture_output=True, text=True, timeout=20, check=False)
    want = sc["nginx_log"]
    assert proc.returncode != 0 and re.search(r"\[%s\] \d+#\d+: %s" % (want["level"], re.escape(want["text"])),
                                              proc.stderr), proc.stderr


def test_nginx_proxy_logs_what_each_scenario_claims(lab):
    """A real nginx 1.22 reverse proxy, configured like each probe, logs ``nginx_log`` exactly
    for the scenarios marked nginx_reproducible, and nothing for the others."""
    proxy = lab.info["proxy"]
    names = [n for n, sc in lab.scenarios.items() if "proxy_path" in sc]

    def fetch(name):
        try:
            with urllib.request.urlopen(proxy["url"] + name, timeout=15) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:   # the 3 timeouts run together
        status = dict(zip(names, pool.map(fetch, names)))
    with open(proxy["error_log"]) as f:
        lines = [line for line in f.read().splitlines()
                 if re.search(r"\[(error|crit|alert|emerg)\]", line)]
    for name in names:
        sc = lab.scenarios[name]
        mine = [line for line in lines if 'request: "GET /%s HTTP' % name in line]
        if sc["nginx_reproducible"]:
            want = sc["nginx_log"]
            texts = [want["text"]] + want.get("alternatives", [])
            assert mine and all("[%s]" % want["level"] in line and any(t in line for t in texts)
                                for line in mine), (name, mine)
            assert status[name] == (504 if "timed out" in want["text"] else 502), (name, status[name])
        else:
            assert not mine and status[name] == (400 if name == "mtls_nginx" else 200), (name, mine)


def test_every_scenario_is_checked():
    checked = set(ERRORS) | {
        "healthy", "healthy_tls12", "enumerate", "enumerate_wide", "self_signed", "unknown_root", "missing_intermediate",
        "expired", "not_yet_valid", "rsa1024", "hostname_mismatch", "deep_chain", "local_config",
        "mtls13", "mtls_nginx", "silent", "stall_mid_hello", "reset_mid_handshake", "closed_port",
        "filtered", "dns_failure", "legacy_reneg_allowed"}
    assert set(SCENARIO_NAMES) <= checked


# ------------------------------------------------------------------------------- lifecycle

def _ports(some_lab):
    return {sc["port"] for sc in some_lab.scenarios.values() if sc["backend"] != "none"}


def test_second_lab_side_by_side_with_base_port_then_clean_stop(lab, tmp_path):
    """A second lab next to the first, on fixed ports; its raw-TLS fault peers work too."""
    used = listening_ports()
    base = next(b for b in range(21000, 60000, 100) if not set(range(b, b + 60)) & used)
    other = Lab(str(tmp_path / "second"), base_port=base).start()
    try:
        assert not _ports(other) & _ports(lab)
        assert min(_ports(other)) == base
        rc, out = s_client(other, "expired")
        assert rc != 0 and verify_code(out) == 10
        for name in ("legacy_reneg", "key_share_relay"):
            rc, out = s_client(other, name)
            assert re.search(ERRORS[name][1], out), out
        assert verify_code(s_client(lab, "healthy")[1]) == 0
    finally:
        other.stop()
    assert not lab_processes(other.dir, set(other.info["pids"].values()) | set())
    assert not _ports(other) & listening_ports()
    other.stop()                              # idempotent
    assert _ports(lab) - {lab.scenarios["closed_port"]["port"]} <= listening_ports()


def test_failed_start_cleans_up_and_shows_the_log(lab, tmp_path):
    """A port taken behind the lab's back: nginx cannot bind, start() raises with its log."""
    broken = Lab(str(tmp_path / "broken"))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    real_ports = broken._ports
    broken._ports = lambda: [taken.getsockname()[1]] + real_ports()[1:]   # healthy's port is taken
    try:
        with pytest.raises(LabError, match="(?s)component nginx failed.*Address already in use"):
            broken.start()
        assert not lab_processes(broken.dir)
    finally:
        taken.close()
        broken.stop()
    assert verify_code(s_client(lab, "healthy")[1]) == 0     # the running lab is untouched


def test_base_port_in_use_is_refused_at_once(lab, tmp_path):
    with pytest.raises(LabError, match="ports already in use"):
        Lab(str(tmp_path / "busy"), base_port=lab.scenarios["healthy"]["port"]).start()


def test_cli_start_status_stop(tmp_path):
    """The CLI as ``make demo`` runs it, without PYTHONPATH: the fault peers find the codec themselves."""
    d = str(tmp_path / "cli")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "tests.lab"] + list(args) + ["--dir", d], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60, check=False)

    started = run("start")
    assert started.returncode == 0, started.stderr
    assert len(started.stdout.strip().splitlines()) == len(SCENARIO_NAMES) + 2   # header + rows + footer
    status = run("status")
    assert status.returncode == 0 and "DOWN" not in status.stdout, status.stdout
    loaded = Lab.load(d)
    rc, out = s_client(loaded, "legacy_reneg")
    assert rc != 0 and re.search(ERRORS["legacy_reneg"][1], out), out
    pids = set(loaded.info["pids"].values())
    assert lab_processes(d, pids)
    stopped = run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not lab_processes(d, pids)
    assert not _ports(loaded) & listening_ports()
    assert run("status").returncode == 1
    assert run("stop").returncode == 0      # idempotent

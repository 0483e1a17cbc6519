# -*- coding: utf-8 -*-
# Copyright (c) tlsops.handshake contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for the raw TLS codec (``_tls_wire``) and the lab's server half
(``tests/lab/tls_server.py``), against real peers only.

Peers: Python ``ssl`` servers in threads, ``openssl s_server`` processes and
small raw-socket servers that misbehave on purpose.  Keys are generated per
session in a temporary directory and never written to the repository.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import re
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.tlsops.handshake.plugins.module_utils._tls import names, wire as tw
from tests.lab import tls_server as srv

REPO_ROOT = Path(__file__).resolve().parents[5]
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
needs_openssl = pytest.mark.skipif(not os.path.exists(OPENSSL), reason="openssl binary not available")


# ---------------------------------------------------------------------------
# PKI: root -> intermediate -> RSA leaf, generated once per session
# ---------------------------------------------------------------------------

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject_key, subject, issuer_key, issuer, ca, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(subject_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert(root_key, "Lab Root", root_key, "Lab Root", True)
    inter = _cert(inter_key, "Lab Intermediate", root_key, "Lab Root", True)
    leaf = _cert(leaf_key, "localhost", inter_key, "Lab Intermediate", False, san=["localhost"])
    pem = serialization.Encoding.PEM
    (d / "leaf.key").write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    (d / "leaf.crt").write_bytes(leaf.public_bytes(pem))
    (d / "inter.crt").write_bytes(inter.public_bytes(pem))
    (d / "chain.crt").write_bytes(leaf.public_bytes(pem) + inter.public_bytes(pem))
    der = serialization.Encoding.DER
    return {
        "dir": d, "key": str(d / "leaf.key"), "leaf": str(d / "leaf.crt"), "inter": str(d / "inter.crt"),
        "chain": str(d / "chain.crt"), "leaf_der": leaf.public_bytes(der), "inter_der": inter.public_bytes(der),
    }


# ---------------------------------------------------------------------------
# Peers
# ---------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def raw_server(handler):
    """Accept loop in a thread calling handler(conn, stop_event) per connection; yields the port."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    lsock.settimeout(0.05)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                conn, _addr = lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                conn.settimeout(3)
                handler(conn, stop)
            except Exception:  # a peer hanging up is expected
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield lsock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        lsock.close()
        assert not thread.is_alive()


@contextlib.contextmanager
def ssl_server(ctx):
    """A Python ssl server (handshakes until the client hangs up)."""
    def handler(conn, _stop):
        conn.settimeout(2)
        with ctx.wrap_socket(conn, server_side=True):
            pass

    with raw_server(handler) as port:
        yield port


def server_ctx(pki, minimum=None, maximum=None, ciphers=None, curve=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["chain"], pki["key"])
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    if ciphers:
        ctx.set_ciphers(ciphers)
    if curve:
        ctx.set_ecdh_curve(curve)
    return ctx


@contextlib.contextmanager
def openssl_server(pki, *args):
    """``openssl s_server -www`` on a free port, killed on exit; yields the port."""
    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = _free_port()
        log = open(os.path.join(str(pki["dir"]), "s_server-%d.log" % port), "w+b")
        cmd = [OPENSSL, "s_server", "-accept", "127.0.0.1:%d" % port, "-www", "-key", pki["key"],
               "-cert", pki["leaf"], "-cert_chain", pki["inter"]] + list(args)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            output = _wait_for_accept(proc, log)
            if output is None:
                break
        except BaseException:
            _stop_process(proc)
            log.close()
            raise
        _stop_process(proc)
        log.close()
    else:
        raise RuntimeError("s_server did not start: %r" % output)
    try:
        yield port
    finally:
        _stop_process(proc)
        log.close()


def _wait_for_accept(proc, log):
    """None once s_server prints ACCEPT; its output if it exits or stalls first."""
    deadline = time.monotonic() + 5
    while True:
        log.seek(0)
        output = log.read()
        if b"ACCEPT" in output:
            return None
        if proc.poll() is not None or time.monotonic() > deadline:
            return output
        time.sleep(0.01)


def _stop_process(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(3)


def python_client(port, **ctx_changes):
    """Run a real Python ssl client handshake; return the SSLError text or None on success."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for key, value in ctx_changes.items():
        setattr(ctx, key, value)
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        try:
            with ctx.wrap_socket(sock, server_hostname="localhost"):
                return None
        except (ssl.SSLError, OSError) as exc:
            return str(exc)


# ---------------------------------------------------------------------------
# The names the probe reads through this module
# ---------------------------------------------------------------------------

def test_reexports_cover_what_the_probe_uses():
    probe_files = sorted((REPO_ROOT / "plugins" / "module_utils" / "_probe").glob("*.py"))
    used = {m for path in probe_files for m in re.findall(r"\bwire\.(\w+)", path.read_text())}
    assert used and used <= set(tw.__all__), sorted(used - set(tw.__all__))
    for name in tw.__all__:
        assert hasattr(tw, name), name
        if hasattr(names, name):
            assert getattr(tw, name) is getattr(names, name), name


# ---------------------------------------------------------------------------
# ClientHello building (round trip through the lab parser)
# ---------------------------------------------------------------------------

def test_client_hello_round_trip():
    record = tw.build_client_hello(
        server_name="upstream.example", versions=("TLSv1.2", "TLSv1.3"), ciphers=[0x1301, 0xC02F],
        groups=["x25519", "secp256r1", "x448"], key_share_groups=["x25519", "secp256r1", "x448"],
        sigalgs=["rsa_pss_rsae_sha256", "ecdsa_secp256r1_sha256"], alpn=["h2", "http/1.1"])
    assert record[:3] == b"\x16\x03\x01"
    ch = srv.parse_client_hello(record)
    assert ch.legacy_version == 0x0303 and ch.versions == ["TLSv1.3", "TLSv1.2"]
    assert ch.ciphers == [0x1301, 0xC02F]
    assert ch.groups == [29, 23, 30] and ch.key_share_groups == [29, 23, 30]
    assert [len(ch.key_shares[g]) for g in (29, 23, 30)] == [32, 65, 56]
    # The P-256 share is a real curve point (servers reject invalid ones).
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ch.key_shares[23])
    assert ch.sigalgs == [0x0804, 0x0403]
    assert ch.server_name == "upstream.example" and ch.alpn == ["h2", "http/1.1"]
    assert ch.has_renegotiation_info and not ch.has_scsv
    assert ch.psk_modes == [1]
    for code in (tw.EXT_EC_POINT_FORMATS, tw.EXT_EXTENDED_MASTER_SECRET, tw.EXT_SESSION_TICKET):
        assert code in ch.extensions


def test_client_hello_variants():
    # No SNI for IP literals, whatever the caller passes.
    for ip in ("127.0.0.1", "::1", "[2001:db8::1]"):
        assert srv.parse_client_hello(tw.build_client_hello(server_name=ip)).server_name is None
    # TLS 1.2 only: legacy_version carries the version, no 1.3 extensions.
    ch = srv.parse_client_hello(tw.build_client_hello(versions=("TLSv1.2",), renegotiation_info="scsv"))
    assert ch.legacy_version == 0x0303 and tw.EXT_SUPPORTED_VERSIONS not in ch.extensions
    assert tw.EXT_KEY_SHARE not in ch.extensions and not set(ch.ciphers) & set(tw.tls13_cipher_suites())
    assert ch.has_scsv and not ch.has_renegotiation_info
    ch = srv.parse_client_hello(tw.build_client_hello(versions=("TLSv1", "TLSv1.1")))
    assert ch.legacy_version == 0x0302 and ch.versions == ["TLSv1.1", "TLSv1"]
    # TLS 1.3 only: only 1.3 suites by default; defaults follow OpenSSL 3.0.
    ch = srv.parse_client_hello(tw.build_client_hello(versions=("TLSv1.3",), renegotiation_info=False))
    assert set(ch.ciphers) <= set(tw.tls13_cipher_suites()) and ch.versions == ["TLSv1.3"]
    assert ch.groups[:2] == [29, 23] and ch.key_share_groups == [29] and not ch.has_renegotiation_info
    # Empty key_share on request; post-quantum shares have their real sizes.
    ch = srv.parse_client_hello(tw.build_client_hello(key_share_groups=()))
    assert ch.key_share_groups == [] and tw.EXT_KEY_SHARE in ch.extensions
    ch = srv.parse_client_hello(tw.build_client_hello(groups=["X25519MLKEM768", "x25519"]))
    assert len(ch.key_shares[0x11EC]) == 1216
    # Padding to an exact size, including past one record (the hello then spans records).
    assert len(tw.build_client_hello(pad_to=1500)) == 1500
    big = tw.build_client_hello(pad_to=20000, extra_extensions=[(0xFAFA, b"x")])
    assert len(big) == 20000 and len(tw.iter_records(big)[0]) == 2
    assert 0xFAFA in srv.parse_client_hello(big).extensions
    with pytest.raises(ValueError):
        tw.build_client_hello(groups=["nope"])


def test_iter_records_and_alert():
    alert = srv.build_alert("handshake_failure")
    assert alert == b"\x15\x03\x03\x00\x02\x02\x28"
    records, rest = tw.iter_records(alert + alert + alert[:3])
    assert [r.fragment for r in records] == [b"\x02\x28", b"\x02\x28"] and rest == alert[:3]
    fl = tw.parse_server_flight(alert)
    assert fl.kind == "alert" and fl.alert == (2, 40, "handshake_failure")


# ---------------------------------------------------------------------------
# Real servers: Python ssl
# ---------------------------------------------------------------------------

def test_tls12_server_hello_certificate_chain_and_ske(pki):
    ctx = server_ctx(pki, maximum=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-RSA-AES256-GCM-SHA384", curve="secp384r1")
    with ssl_server(ctx) as port:
        fl = tw.hello("127.0.0.1", port, server_name="localhost", timeout=3)
    assert fl.kind == "server_hello", fl
    assert fl.version == "TLSv1.2" and fl.cipher == 0xC030 and fl.cipher_name == "ECDHE-RSA-AES256-GCM-SHA384"
    assert fl.complete and fl.renegotiation_info and fl.extended_master_secret
    assert fl.certificates == [pki["leaf_der"], pki["inter_der"]]
    assert fl.server_key_exchange["kind"] == "ecdhe" and fl.group == 24 and fl.group_name == "secp384r1"
    assert fl.server_key_exchange["sigalg"] in tw.SIGALGS.values()
    # OpenSSL sets the RFC 8446 downgrade sentinel only when it could have done 1.3 itself:
    # a server capped at 1.2 does not, a 1.3-capable one answering a 1.2-only client does.
    assert fl.downgrade is None
    assert fl.connect_ms is not None and fl.bytes_read > 1000 and fl.first_bytes[:1] == b"\x16"
    with ssl_server(server_ctx(pki)) as port:
        fl = tw.hello("127.0.0.1", port, timeout=3, versions=("TLSv1.2",))
    assert fl.kind == "server_hello" and fl.version == "TLSv1.2" and fl.downgrade == "TLSv1.2", fl


@pytest.mark.parametrize("curve,code", [("prime256v1", 23), ("secp384r1", 24), ("secp521r1", 25)])
def test_tls13_single_group_hrr_then_share(pki, curve, code):
    ctx = server_ctx(pki, minimum=ssl.TLSVersion.TLSv1_3, curve=curve)
    with ssl_server(ctx) as port:
        hrr = tw.hello("127.0.0.1", port, timeout=3)  # default: x25519 share only
        direct = tw.hello("127.0.0.1", port, timeout=3, key_share_groups=[code])
        proto = tw.hello("127.0.0.1", port, timeout=3, versions=("TLSv1.2",))
    assert hrr.kind == "hello_retry_request" and hrr.group == code and hrr.version == "TLSv1.3", hrr
    # Our pure-Python point is accepted by OpenSSL: a real ServerHello comes back.
    assert direct.kind == "server_hello" and direct.group == code and direct.version == "TLSv1.3", direct
    assert direct.cipher in tw.tls13_cipher_suites() and direct.complete and not direct.certificates
    assert proto.kind == "alert" and proto.alert.description == 70 and proto.alert_name == "protocol_version"


# ---------------------------------------------------------------------------
# Real servers: openssl s_server
# ---------------------------------------------------------------------------

@needs_openssl
def test_openssl_tls13_groups_and_ciphersuites(pki):
    with openssl_server(pki, "-tls1_3", "-groups", "x448", "-ciphersuites", "TLS_AES_256_GCM_SHA384") as port:
        hrr = tw.hello("127.0.0.1", port, timeout=3)
        sh = tw.hello("127.0.0.1", port, timeout=3, key_share_groups=["x448"])
        no_group = tw.hello("127.0.0.1", port, timeout=3, groups=["x25519", "secp256r1"])
        no_suite = tw.hello("127.0.0.1", port, timeout=3, key_share_groups=["x448"], ciphers=[0x1301])
    assert hrr.kind == "hello_retry_request" and hrr.group_name == "x448" and hrr.cipher == 0x1302, hrr
    assert sh.kind == "server_hello" and sh.version == "TLSv1.3" and sh.group == 30 and sh.cipher == 0x1302, sh
    assert no_group.kind == "alert" and no_group.alert.description == 40, no_group
    assert no_suite.kind == "alert" and no_suite.alert_name == "handshake_failure", no_suite


@needs_openssl
def test_openssl_accepts_our_ffdhe_share(pki):
    # The 2^e share (no RFC 7919 prime embedded) passes OpenSSL's public-value checks.
    with openssl_server(pki, "-tls1_3", "-groups", "ffdhe2048") as port:
        fl = tw.hello("127.0.0.1", port, timeout=3, groups=["ffdhe2048"])
    assert fl.kind == "server_hello" and fl.group_name == "ffdhe2048", fl


@needs_openssl
def test_openssl_tls12_cipher_mismatch_chain_and_dhe(pki):
    with openssl_server(pki, "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256") as port:
        ok = tw.hello("127.0.0.1", port, timeout=3, server_name="localhost")
        rsa_kx = tw.hello("127.0.0.1", port, timeout=3, ciphers=tw.cipher_codes("AES128-GCM-SHA256"))
        disjoint = tw.hello("127.0.0.1", port, timeout=3, ciphers=tw.cipher_codes("ECDHE-RSA-AES256-GCM-SHA384"))
        proto = tw.hello("127.0.0.1", port, timeout=3, versions=("TLSv1.3",))
    assert ok.kind == "server_hello" and ok.version == "TLSv1.2" and ok.complete, ok
    assert ok.cipher_name == "DHE-RSA-AES128-GCM-SHA256"
    assert ok.server_key_exchange["kind"] == "dhe" and ok.dh_bits >= 2048
    assert ok.certificates == [pki["leaf_der"], pki["inter_der"]]
    assert rsa_kx.cipher == 0x009C and rsa_kx.server_key_exchange is None and rsa_kx.complete
    assert disjoint.kind == "alert" and disjoint.alert == (2, 40, "handshake_failure"), disjoint
    assert proto.kind == "alert" and proto.alert_name == "protocol_version", proto


# ---------------------------------------------------------------------------
# Hostile and broken peers
# ---------------------------------------------------------------------------

def _read_some(conn):
    conn.settimeout(1)
    try:
        conn.recv(65536)
    except OSError:
        pass


def _wait_for_close(conn, stop, limit=3.0):
    conn.settimeout(0.05)
    end = time.monotonic() + limit
    while not stop.is_set() and time.monotonic() < end:
        try:
            if not conn.recv(65536):
                return
        except socket.timeout:
            continue
        except OSError:
            return


def test_not_tls_ssh_banner_and_http():
    def ssh(conn, stop):
        conn.sendall(b"SSH-2.0-x\r\n")
        _wait_for_close(conn, stop)

    def http(conn, stop):
        _read_some(conn)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    with raw_server(ssh) as port:
        fl = tw.hello("127.0.0.1", port, timeout=2)
    assert fl.kind == "not_tls" and fl.first_bytes.startswith(b"SSH-2.0-x") and fl.not_tls_hint == "ssh", fl
    with raw_server(http) as port:
        fl = tw.hello("127.0.0.1", port, timeout=2)
    assert fl.kind == "not_tls" and fl.first_bytes.startswith(b"HTTP/1.1 400") and fl.not_tls_hint == "http", fl


def test_silent_server_times_out_on_time():
    def silent(conn, stop):
        stop.wait(5)

    with raw_server(silent) as port:
        t0 = time.monotonic()
        fl = tw.hello("127.0.0.1", port, timeout=1.0)
        took = time.monotonic() - t0
    assert fl.kind == "timeout" and took < 1.5 and fl.bytes_read == 0, (fl, took)


def test_refused_closed_and_reset():
    fl = tw.hello("127.0.0.1", _free_port(), timeout=2)
    assert fl.kind == "refused", fl

    def close(conn, stop):
        _read_some(conn)

    def reset(conn, stop):
        _read_some(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with raw_server(close) as port:
        assert tw.hello("127.0.0.1", port, timeout=2).kind == "closed"
    with raw_server(reset) as port:
        assert tw.hello("127.0.0.1", port, timeout=2).kind == "reset"


def test_malformed_giant_record_and_byte_cap():
    def giant(conn, stop):
        _read_some(conn)
        conn.sendall(b"\x16\x03\x03\xff\xff" + b"\x00" * 100)
        _wait_for_close(conn, stop)

    def flood(conn, stop):
        # Endless warning alerts: each is legal on its own, so only the byte cap ends it.
        _read_some(conn)
        chunk = srv.build_alert("unrecognized_name", level=1) * 2000
        while not stop.is_set():
            conn.sendall(chunk)

    with raw_server(giant) as port:
        fl = tw.hello("127.0.0.1", port, timeout=2)
    assert fl.kind == "malformed" and "exceeds" in fl.error, fl
    with raw_server(flood) as port:
        fl = tw.hello("127.0.0.1", port, timeout=3, max_bytes=65536)
    assert fl.kind == "malformed" and fl.bytes_read <= 65536 and fl.elapsed_ms < 2000, fl
    # A handshake message claiming 16 MiB is refused before buffering it.
    fl = tw.parse_server_flight(b"\x16\x03\x03\x00\x04\x02\xff\xff\xff")
    assert fl.kind == "malformed" and "limit" in fl.error


def _tls12_flight(pki, fragment):
    """ServerHello + Certificate + ServerHelloDone from our own builders, cut into records of ``fragment`` bytes."""
    ch = srv.parse_client_hello(tw.build_client_hello())
    sh = tw.iter_records(srv.build_server_hello(ch, cipher=0xC02F))[0][0].fragment
    messages = sh + srv.build_certificate([pki["leaf_der"], pki["inter_der"]]) + srv.build_server_hello_done()
    return tw.build_records(tw.CT_HANDSHAKE, messages, max_fragment=fragment)


@pytest.mark.parametrize("fragment", [7, 300, 16384])
def test_handshake_messages_spanning_and_sharing_records(pki, fragment):
    flight = _tls12_flight(pki, fragment)

    def serve(conn, stop):
        _read_some(conn)
        for i in range(0, len(flight), 500):  # also split across TCP segments
            conn.sendall(flight[i:i + 500])
        _wait_for_close(conn, stop)

    with raw_server(serve) as port:
        fl = tw.hello("127.0.0.1", port, timeout=2)
    assert fl.kind == "server_hello" and fl.complete and fl.cipher == 0xC02F, fl
    assert fl.certificates == [pki["leaf_der"], pki["inter_der"]] and fl.handshake_types == [2, 11, 14]


def test_garbage_never_raises(pki):
    rng = random.Random(1234)
    valid = _tls12_flight(pki, 200)
    samples = [b"", b"\x16", b"\x16\x03", b"\x80\x2e\x04", b"\x15\x03\x03\x00\x01\x02"]
    samples += [rng.randbytes(rng.randint(1, 300)) for _i in range(300)]
    samples += [b"\x16\x03\x03" + rng.randbytes(rng.randint(2, 300)) for _i in range(300)]
    for _i in range(400):  # mutations of a valid flight reach the deeper parsers
        data = bytearray(valid)
        for _j in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.getrandbits(8)
        samples.append(bytes(data[:rng.randint(1, len(data))]))
    kinds = set()
    for data in samples:
        fl = tw.parse_server_flight(data)
        assert fl.kind in ("server_hello", "hello_retry_request", "alert", "not_tls", "closed", "malformed")
        assert "internal" not in (fl.error or ""), (data, fl.error)
        fl.as_dict()
        kinds.add(fl.kind)
        try:
            srv.parse_client_hello(data)
        except ValueError:
            pass
        assert srv.rewrite_server_hello_key_share(data, 24) is not None
    assert {"not_tls", "malformed", "closed", "server_hello"} <= kinds

    garbage = os.urandom(3000)

    def noise(conn, stop):
        _read_some(conn)
        conn.sendall(b"\x16\x03\x03\x00\x10" + garbage)

    with raw_server(noise) as port:
        fl = tw.hello("127.0.0.1", port, timeout=2)
    # a handshake record of random bytes, then noise: whichever header breaks first names it,
    # a bad handshake message (malformed) or a record that is not TLS (not_tls); never a hang or a raise
    assert fl.kind in ("malformed", "not_tls"), fl
    assert fl.error, fl


# ---------------------------------------------------------------------------
# Lab helpers against real clients
# ---------------------------------------------------------------------------

def _one_server_hello(**kwargs):
    seen = {}

    def serve(conn, stop):
        ch, _raw = srv.read_client_hello(conn, timeout=2)
        seen["ch"] = ch
        conn.sendall(srv.build_server_hello(ch, **kwargs))
        conn.shutdown(socket.SHUT_WR)  # nothing follows: the client must not wait for more
        _wait_for_close(conn, stop)

    return serve, seen


def test_server_hello_without_renegotiation_info_breaks_python_client():
    changes = {}
    if hasattr(ssl, "OP_LEGACY_SERVER_CONNECT"):  # be sure we test OpenSSL 3's strict default
        changes["options"] = ssl.create_default_context().options & ~ssl.OP_LEGACY_SERVER_CONNECT
    serve, seen = _one_server_hello(include_renegotiation_info=False)
    with raw_server(serve) as port:
        error = python_client(port, **changes)
    assert error and "unsafe legacy renegotiation disabled" in error.lower(), error
    assert seen["ch"].has_renegotiation_info or seen["ch"].has_scsv
    # Control: the same hello *with* renegotiation_info gets past that check.
    serve, _seen = _one_server_hello(include_renegotiation_info=True)
    with raw_server(serve) as port:
        error = python_client(port, **changes)
    assert error and "renegotiation" not in error.lower(), error


@contextlib.contextmanager
def key_share_relay(upstream_port, new_group):
    """TCP relay that rewrites the key_share group of the upstream's ServerHello."""
    def serve(client, stop):
        upstream = socket.create_connection(("127.0.0.1", upstream_port), timeout=2)
        try:
            srv.relay_rewriting_first_record(
                client, upstream, lambda record: srv.rewrite_server_hello_key_share(record, new_group),
                lambda: not stop.is_set())
        finally:
            upstream.close()

    with raw_server(serve) as port:
        yield port


@needs_openssl
def test_relay_rewriting_key_share_gives_bad_key_share(pki):
    with openssl_server(pki, "-tls1_3", "-groups", "x25519:secp384r1") as upstream:
        assert python_client(upstream) is None  # the upstream itself is fine
        with key_share_relay(upstream, "secp384r1") as relay:
            error = python_client(relay)
            fl = tw.hello("127.0.0.1", relay, timeout=3)
    assert error and "bad key share" in error.lower(), error
    assert fl.kind == "server_hello" and fl.group_name == "secp384r1"


def test_rewrite_leaves_other_input_alone(pki):
    ch = srv.parse_client_hello(tw.build_client_hello())
    sh13 = srv.build_server_hello(ch, version="TLSv1.3")
    out = srv.rewrite_server_hello_key_share(sh13 + b"\x14\x03\x03\x00\x01\x01", "x448")
    assert len(out) == len(sh13) + 6 and out[len(sh13):] == b"\x14\x03\x03\x00\x01\x01"
    fl = tw.parse_server_flight(out)
    assert fl.kind == "server_hello" and fl.group == 30 and fl.version == "TLSv1.3"
    hrr = srv.build_hello_retry_request(ch, "secp256r1")
    fl = tw.parse_server_flight(hrr)
    assert fl.kind == "hello_retry_request" and fl.group == 23
    assert tw.parse_server_flight(srv.rewrite_server_hello_key_share(hrr, 24)).group == 24
    for data in (b"", srv.build_alert(40), sh13[:20], srv.build_server_hello(ch)):
        assert srv.rewrite_server_hello_key_share(data, 24) == data

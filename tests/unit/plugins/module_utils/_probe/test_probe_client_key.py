# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""client_key_passphrase: an encrypted client key is loaded with its passphrase, and OpenSSL never
prompts for one on a terminal (under Ansible that prompt is a hang)."""

from __future__ import annotations

import datetime
import json
import os
import pty
import select
import ssl
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.tlsops.handshake.plugins.module_utils._common import safe_files
from ansible_collections.tlsops.handshake.plugins.module_utils._probe import handshake
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError, build_targets

PASSPHRASE = "correct horse"


@pytest.fixture(scope="module")
def client_pair(tmp_path_factory):
    """A self-signed client certificate and its key, encrypted with PASSPHRASE (PKCS#8, AES)."""
    folder = tmp_path_factory.mktemp("client")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe client")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path, plain_path = folder / "client.pem", folder / "client.key", folder / "plain.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.BestAvailableEncryption(PASSPHRASE.encode())))
    plain_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    os.chmod(str(key_path), 0o600)
    os.chmod(str(plain_path), 0o600)
    return str(cert_path), str(key_path), str(plain_path)


def test_encrypted_key_with_its_passphrase_loads(client_pair):
    cert, key, _plain = client_pair
    spec = build_targets(["h"], {"client_cert": cert, "client_key": key, "client_key_passphrase": PASSPHRASE})[0]
    assert spec["client_key_passphrase"] == PASSPHRASE


def test_per_target_passphrase_overrides_the_module_level_one(client_pair):
    cert, key, _plain = client_pair
    build_targets([{"host": "h", "client_key_passphrase": PASSPHRASE}],
                  {"client_cert": cert, "client_key": key, "client_key_passphrase": "wrong"})


def test_encrypted_key_without_passphrase_names_both_options(client_pair):
    cert, key, _plain = client_pair
    with pytest.raises(ProbeConfigError) as err:
        build_targets(["h"], {"client_cert": cert, "client_key": key})
    assert str(err.value) == ("client_key: %s is encrypted; give its passphrase in client_key_passphrase" % key)


def test_wrong_passphrase_names_the_passphrase_option(client_pair):
    cert, key, _plain = client_pair
    with pytest.raises(ProbeConfigError) as err:
        build_targets([{"host": "h", "client_key_passphrase": "nope"}], {"client_cert": cert, "client_key": key})
    assert str(err.value) == "targets[0].client_key_passphrase: wrong passphrase for client_key %s" % key
    assert "nope" not in str(err.value)


def test_plain_key_still_loads_and_a_mismatched_pair_is_named(client_pair, tmp_path):
    cert, _key, plain = client_pair
    build_targets(["h"], {"client_cert": cert, "client_key": plain})
    other = tmp_path / "other.key"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(ProbeConfigError, match="client_cert/client_key: cannot load the pair"):
        build_targets(["h"], {"client_cert": cert, "client_key": str(other)})


_CHILD = """
import json, sys
sys.path[:0] = %r
from ansible_collections.tlsops.handshake.plugins.module_utils._probe.targets import ProbeConfigError, build_targets
try:
    build_targets(["h"], {"client_cert": %r, "client_key": %r})
    print(json.dumps({"result": "loaded"}))
except Exception as exc:
    print(json.dumps({"result": type(exc).__name__, "msg": str(exc)}))
"""


def test_openssl_never_prompts_on_a_terminal(client_pair):
    """In a process whose controlling terminal is a pty (as under `ansible -c local` from a shell),
    OpenSSL's default is to prompt "Enter PEM pass phrase:" and wait for ever."""
    cert, key, _plain = client_pair
    code = _CHILD % (list(sys.path), cert, key)
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.execv(sys.executable, [sys.executable, "-c", code])
    output = b""
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline and b"}" not in output and b"pass phrase" not in output:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(master)
    assert b"pass phrase" not in output.lower(), output
    line = output.decode("utf-8", "replace").strip().splitlines()[-1]
    assert json.loads(line) == {"result": "ProbeConfigError", "msg": "client_key: %s is encrypted; give its "
                                                                     "passphrase in client_key_passphrase" % key}


def _swapped_for_a_fifo(path):
    """Put a FIFO where ``path`` was (the file moved aside, as an attacker with write access could)."""
    os.rename(path, path + ".moved")
    os.mkfifo(path)


def _back(path):
    os.unlink(path)
    os.rename(path + ".moved", path)


def test_a_pinned_name_keeps_naming_the_checked_file_after_a_swap(client_pair):
    """The client pair is checked, then loaded by OpenSSL, which opens it by name: the name it gets is the
    checked file's descriptor, so a FIFO swapped in meanwhile is never opened (it would block OpenSSL)."""
    cert, _key, plain = client_pair
    with safe_files.pinned(cert, "client_cert") as cert_name, safe_files.pinned(plain, "client_key") as key_name:
        assert cert_name.startswith("/proc/self/fd/")
        _swapped_for_a_fifo(cert)
        try:
            started = time.monotonic()
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert_name, key_name)
            assert time.monotonic() - started < 5
        finally:
            _back(cert)


def test_a_fifo_in_place_of_the_client_certificate_is_refused_not_opened(client_pair):
    """load_client_pair (every SSL context of a probe) refuses a FIFO at once; OpenSSL given its name would
    block on it until a writer came."""
    cert, _key, plain = client_pair
    _swapped_for_a_fifo(cert)
    try:
        started = time.monotonic()
        with pytest.raises(safe_files.FileRefused, match="client_cert.*FIFO"):
            handshake.load_client_pair(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), cert, plain, None)
        assert time.monotonic() - started < 5
    finally:
        _back(cert)


def test_a_pair_shared_by_many_targets_is_loaded_once_and_a_wrong_passphrase_later_is_still_named(
        client_pair, monkeypatch):
    cert, key, _plain = client_pair
    loads = []
    real_load = handshake.load_client_pair
    monkeypatch.setattr(handshake, "load_client_pair", lambda *args: loads.append(args[1:]) or real_load(*args))
    defaults = {"client_cert": cert, "client_key": key, "client_key_passphrase": PASSPHRASE}
    build_targets(["h%d" % i for i in range(200)], defaults)
    assert loads == [(cert, key, PASSPHRASE)]
    targets = ["h%d" % i for i in range(100)] + [{"host": "h", "client_key_passphrase": "nope"}]
    with pytest.raises(ProbeConfigError) as err:
        build_targets(targets, defaults)
    assert str(err.value) == "targets[100].client_key_passphrase: wrong passphrase for client_key %s" % key

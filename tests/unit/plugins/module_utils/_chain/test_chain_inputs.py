# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_chain_info's inputs: every file through _safe_files (real FIFOs, /dev/zero, a sparse
2 GiB file), options checked instead of coerced, and no result or message that could carry
private-key material (keys generated here, never committed)."""

from __future__ import annotations

import base64
import json
import os
import re

import pytest

# pylint: disable=wrong-import-position
from cryptography.hazmat.primitives import serialization

from ansible_collections.tlsops.handshake.plugins.module_utils._chain import inspection as _chain
from tests.unit.plugins.module_utils._chain import test_chain_pki as pki
from tests.unit.plugins.module_utils.bounded import within

FILE_OPTIONS = ("path", "ca_file", "intermediates", "key_path")


@pytest.fixture(scope="module")
def ca():
    return pki.Hierarchy("inputs", slot=40)


def _files(tmp_path, ca):
    return {"path": pki.write(tmp_path, "served.pem", ca.leaf, ca.int1),
            "ca_file": pki.write(tmp_path, "root.pem", ca.root)}


def _fifo(tmp_path, name="fifo.pem"):
    path = str(tmp_path / name)
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("option", FILE_OPTIONS)
def test_fifo_is_an_error_naming_the_option(tmp_path, ca, option):
    params = _files(tmp_path, ca)
    params[option] = _fifo(tmp_path)
    with pytest.raises(_chain.ChainInputError) as caught:
        within(5, _chain.inspect_chain, params, use_openssl=False)
    assert str(caught.value).startswith("%s: %s is a FIFO (named pipe); give the path of " % (option, params[option]))


@pytest.mark.parametrize("option", FILE_OPTIONS)
def test_dev_zero_is_an_error_naming_the_option(tmp_path, ca, option):
    params = _files(tmp_path, ca)
    params[option] = "/dev/zero"
    with pytest.raises(_chain.ChainInputError) as caught:
        within(5, _chain.inspect_chain, params, use_openssl=False)
    assert str(caught.value).startswith("%s: /dev/zero is a character device; give the path of " % option)


def test_huge_sparse_file_is_refused_by_what_is_read(tmp_path, ca):
    big = tmp_path / "big.pem"
    with open(str(big), "wb") as handle:
        handle.truncate(2 << 30)
    with pytest.raises(_chain.ChainInputError) as caught:
        within(20, _chain.inspect_chain, dict(_files(tmp_path, ca), path=str(big)), use_openssl=False)
    assert str(caught.value) == "path: %s is larger than 16 MiB; give the path of a PEM certificate file" % big


def test_fifo_in_a_directory_of_intermediates_is_skipped(tmp_path, ca):
    directory = tmp_path / "intermediates"
    directory.mkdir()
    _fifo(directory, "00-fifo.pem")
    os.symlink("/dev/zero", str(directory / "01-zero.pem"))
    pki.write(directory, "02-int.pem", ca.int1)
    result = within(5, _chain.inspect_chain, {"path": pki.write(tmp_path, "leaf.pem", ca.leaf),
                                              "ca_file": pki.write(tmp_path, "root.pem", ca.root),
                                              "intermediates": str(directory)}, use_openssl=False)
    assert result["complete"] is False and result["complete_chain"] == ca.leaf.pem + ca.int1.pem


# --------------------------------------------------------------------------
# Options: checked, never coerced, never a traceback


@pytest.mark.parametrize("params, message", [
    ({"valid_at": "+99999999999999999999d"}, "valid_at: '+99999999999999999999d' is beyond the years 1-9999"),
    ({"valid_at": "-9999999d"}, "valid_at: '-9999999d' is beyond"),
    ({"valid_at": "9999-12-31T23:59:59-05:00"}, "valid_at: '9999-12-31T23:59:59-05:00' is beyond"),
    ({"names": ["www.inputs.example\r\nX-Injected: yes"]},
     "names[0]: 'www.inputs.example\\r\\nX-Injected: yes' holds a space or a control character"),
    ({"names": ["ok.example", "a\x00b"]}, "names[1]: 'a\\x00b' holds a space"),
    ({"names": ["x" * 300]}, "names[0]: 300 characters; a DNS name has at most 253"),
    ({"names": ["%s.example" % ("l" * 64)]}, "names[0]: '%s.example' has an empty label or one longer than 63"
                                             % ("l" * 64)),
    ({"names": ["a..b"]}, "names[0]: 'a..b' has an empty label"),
    ({"names": "\u2603" * 70}, "names[0]: "),
    ({"names": [{"host": "x"}]}, "names: give host names as a list of non-empty strings"),
    ({"warn_days": True}, "warn_days: True is not a whole number"),
    ({"security_level": True}, "security_level: True is not a whole number"),
    ({"verify_depth": 1.5}, "verify_depth: 1.5 is not a whole number"),
    ({"path": ["a.pem"]}, "path: must be a string, not list"),
    ({"ca_file": "/etc/ssl/a\x00b"}, "ca_file: contains a NUL character"),
    ({"host": "127.0.0.1", "port": True}, "port: True is not a whole number"),
    ({"host": "127.0.0.1", "timeout": float("nan")}, "timeout: nan is out of range"),
    ({"host": "127.0.0.1", "timeout": float("inf")}, "timeout: inf is out of range"),
])
def test_bad_option_names_itself(tmp_path, ca, params, message):
    base = {} if "host" in params or "path" in params else {"content": ca.leaf.pem}
    with pytest.raises(_chain.ChainInputError) as caught:
        _chain.inspect_chain(dict(base, **params), use_openssl=False)
    assert str(caught.value).startswith(message), str(caught.value)


def test_idna_name_is_checked_as_its_a_label(tmp_path):
    idn = pki.issue("xn--bcher-kva.example", sans=["xn--bcher-kva.example"], private_key=pki.key("p256", 41))
    result = _chain.inspect_chain({"content": pki.pem(idn), "names": ["b\u00fccher.example"]}, use_openssl=False)
    assert result["names"] == [{"name": "xn--bcher-kva.example", "covered": True, "matched": "xn--bcher-kva.example"}]


def test_security_level_0_warns():
    assert _chain.warnings({"security_level": 2}) == []
    [warning] = _chain.warnings({"security_level": 0})
    assert warning.startswith("security_level is 0: verified accepts keys and signature algorithms of any strength")


# --------------------------------------------------------------------------
# Private keys never come back


def _key_pem(private_key, label_as=None):
    text = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode("ascii")
    if label_as:
        text = text.replace("PRIVATE KEY", label_as)
    return text


def _key_pieces(private_key):
    """Every 24-character run of the key's base64 body and of its DER in hex: what a leak would show."""
    der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    body = base64.b64encode(der).decode("ascii")
    return [body[i:i + 24] for i in range(0, len(body) - 24, 24)] + [der[i:i + 12].hex() for i in range(0, len(der), 12)]


def _assert_no_key(text, private_key):
    assert "PRIVATE KEY" not in text
    leaked = [piece for piece in _key_pieces(private_key) if piece in text]
    assert not leaked, leaked[:3]
    assert not re.search(r"(\\x[0-9a-f]{2}){8}", text), "raw bytes quoted in %r" % text[:200]


def _outcome(params):
    try:
        return json.dumps(_chain.inspect_chain(params, use_openssl=False), default=str)
    except _chain.ChainInputError as exc:
        return "error: %s" % exc


@pytest.mark.parametrize("layout", ["key_after", "key_before", "key_only", "key_labelled_as_certificate",
                                    "der_key_as_path"])
@pytest.mark.parametrize("via", ["content", "path"])
def test_no_result_or_error_carries_the_private_key(tmp_path, ca, layout, via):
    private_key = ca.leaf.key
    key_text = _key_pem(private_key)
    if layout == "der_key_as_path":
        if via == "content":
            pytest.skip("content is text")
        data = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
    else:
        data = {"key_after": ca.leaf.pem + ca.int1.pem + key_text,
                "key_before": key_text + ca.leaf.pem,
                "key_only": key_text,
                "key_labelled_as_certificate": _key_pem(private_key, label_as="CERTIFICATE") + ca.leaf.pem}[layout]
    if via == "content":
        params = {"content": data}
    else:
        target = tmp_path / "bundle"
        target.write_bytes(data if isinstance(data, bytes) else data.encode("ascii"))
        params = {"path": str(target)}
    text = _outcome(dict(params, ca_file=pki.write(tmp_path, "root.pem", ca.root)))
    _assert_no_key(text, private_key)
    if layout in ("key_after", "key_before"):
        assert not text.startswith("error:"), text  # the certificates are read, the key ignored
    if layout == "key_only":
        assert text.endswith("; the private key in it is ignored (give the key file as key_path)"), text


def test_key_path_errors_never_quote_the_key(tmp_path, ca):
    bad = tmp_path / "bad.key"
    bad.write_text(_key_pem(ca.leaf.key).replace("\n", "\n!", 3))
    text = _outcome({"content": ca.leaf.pem, "key_path": str(bad)})
    assert text.startswith("error: key_path: %s holds no private key" % bad)
    _assert_no_key(text, ca.leaf.key)

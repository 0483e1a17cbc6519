# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the cert_chain_info engine (_chain, _chain_source, _chain_verify).

Every certificate is generated here with cryptography (test_chain_pki); the
openssl CLI is the oracle for verify codes, and the built-in replay of
OpenSSL's verification must agree with it on every case.
"""

from __future__ import annotations

import datetime
import shutil

import pytest

cryptography = pytest.importorskip("cryptography")

# pylint: disable=wrong-import-position
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.tlsops.handshake.plugins.module_utils._chain import cert as links, inspection as _chain, source, verify
from ansible_collections.tlsops.handshake.plugins.module_utils._common.findings import FINDINGS

try:
    import test_chain_pki as pki
except ImportError:  # run from another root
    from tests.unit.plugins.module_utils._chain import test_chain_pki as pki

HAS_OPENSSL = shutil.which("openssl") is not None
needs_openssl = pytest.mark.skipif(not HAS_OPENSSL, reason="needs the openssl CLI")


@pytest.fixture(scope="module")
def ca():
    return pki.Hierarchy("test")


def codes(result):
    return [f["code"] for f in result["findings"]]


def inspect(tmp_path, served, ca_certs, **params):
    """inspect_chain on ``served`` (Issued objects, in order) with ``ca_certs`` as trust anchors."""
    params.setdefault("path", pki.write(tmp_path, "served.pem", *served))
    if ca_certs is not None:
        params.setdefault("ca_file", pki.write(tmp_path, "anchors.pem", *ca_certs))
    return _chain.inspect_chain(params)


def replay_agrees(result, tmp_path, served, ca_certs, **params):
    """The same inspection without the openssl binary gives the same codes (the replay is faithful)."""
    params.setdefault("path", pki.write(tmp_path, "served.pem", *served))
    params.setdefault("ca_file", pki.write(tmp_path, "anchors.pem", *ca_certs))
    alone = _chain.inspect_chain(params, use_openssl=False)["verified"]
    seen = result["verified"]
    assert alone["source"] == "replay"
    assert [(e["code"], e["depth"]) for e in alone["errors"]] == [(e["code"], e["depth"]) for e in seen["errors"]]
    assert seen["note"] is None, seen["note"]
    return alone


# --------------------------------------------------------------------------
# Healthy chains


def test_healthy_chain(tmp_path, ca):
    result = inspect(tmp_path, [ca.leaf, ca.int1], [ca.root], names=["www.test.example", "test.example"])
    assert result["verified"]["ok"] is True and result["verified"]["code"] == 0
    assert result["verified"]["path"] == [ca.leaf.subject, ca.int1.subject, ca.root.subject]
    assert result["complete"] is True and result["order_ok"] is True and result["missing_issuer"] is None
    assert result["complete_chain"] is None
    assert [n["covered"] for n in result["names"]] == [True, True]
    assert result["findings"] == []
    leaf = result["chain"][0]
    assert leaf["subject"] == "CN=www.test.example,O=tlsops test"
    assert leaf["issuer"] == ca.int1.subject
    assert leaf["key_type"] == "RSA" and leaf["key_bits"] == 2048 and leaf["is_ca"] is False
    assert leaf["signature_algorithm"] == "sha256WithRSAEncryption"
    assert leaf["aia_ca_issuers"] == ["http://ca.test.example/intermediate.der"]
    assert leaf["sans"] == ["www.test.example", "test.example"] and leaf["self_signed"] is False
    assert int(leaf["serial"], 16) == ca.leaf.cert.serial_number
    assert 88 <= leaf["days_left"] <= 90 and result["expires_in_days"] == leaf["days_left"]
    assert result["expiring"] is False and result["leaf_position"] == 0
    if HAS_OPENSSL:
        assert result["verified"]["source"] == "openssl"
        assert result["verified"]["webpki"] == {"ok": True, "error": None}


def test_content_input_and_valid_at_is_reported(ca):
    result = _chain.inspect_chain({"content": ca.leaf.pem + ca.int1.pem, "ca_file": None,
                                   "valid_at": "2030-01-01T00:00:00Z"})
    assert result["source"] == {"type": "content"}
    assert result["valid_at"] == "2030-01-01T00:00:00Z"
    assert result["chain"][0]["expired"] is True


@pytest.mark.parametrize("leaf_curve,int_curve", [("p256", "p384"), ("p384", "p256")])
def test_ecdsa_chain(tmp_path, leaf_curve, int_curve):
    root = pki.issue("ec root", private_key=pki.key("p384"), ca=True, days=(-30, 3650))
    inter = pki.issue("ec intermediate", root, private_key=pki.key(int_curve), ca=True)
    leaf = pki.issue("ec.test.example", inter, private_key=pki.key(leaf_curve))
    result = inspect(tmp_path, [leaf, inter], [root], names=["ec.test.example"])
    assert result["verified"]["ok"] is True, result["verified"]
    bits = {"p256": 256, "p384": 384}
    expected = [("EC", bits[leaf_curve]), ("EC", bits[int_curve])]
    assert [(c["key_type"], c["key_bits"]) for c in result["chain"]] == expected
    assert result["chain"][0]["curve"] == {"p256": "prime256v1", "p384": "secp384r1"}[leaf_curve]
    assert result["chain"][0]["signature_algorithm"].startswith("ecdsa-with-SHA")
    assert result["findings"] == []
    replay_agrees(result, tmp_path, [leaf, inter], [root])


def _deep(depth):
    """root -> int1 -> ... -> int<depth-1> -> leaf: the leaf is at depth 0, the root at ``depth``."""
    chain = [pki.issue("deep root", private_key=pki.key("rsa2048", 10), ca=True, days=(-30, 3650))]
    for level in range(1, depth):
        chain.append(pki.issue("deep intermediate %d" % level, chain[-1], private_key=pki.key("rsa2048", 10 + level),
                               ca=True))
    chain.append(pki.issue("deep.test.example", chain[-1], private_key=pki.key("rsa2048", 20)))
    return chain[0], list(reversed(chain[1:]))  # root, served (leaf first)


def test_chain_of_depth_4(tmp_path):
    root, served = _deep(4)
    result = inspect(tmp_path, served, [root])
    assert len(served) == 4
    assert result["verified"]["ok"] is True
    assert result["verified"]["path"] == [c.subject for c in served] + [root.subject]
    assert result["complete"] and result["order_ok"] and result["findings"] == []
    replay_agrees(result, tmp_path, served, [root])


def test_depth_beyond_verify_depth_logs_20_like_nginx(tmp_path):
    root, served = _deep(4)
    result = inspect(tmp_path, served, [root], verify_depth=1)
    verified = result["verified"]
    assert [(e["code"], e["depth"]) for e in verified["errors"]] == [(22, 2), (20, 2)]
    assert verified["code"] == 20  # nginx 1.22 logs 20, openssl verify stops at 22
    if HAS_OPENSSL:
        assert verified["source"] == "openssl+replay"
        assert pki.openssl_verify(result["trust_store"]["file"], pki.write(tmp_path, "l.pem", served[0]),
                                  pki.write(tmp_path, "u.pem", *served[1:]), extra=["-verify_depth", "1"]) == 22
    finding = next(f for f in result["findings"] if f["code"] == "chain_too_deep")
    assert "3 intermediate" in finding["message"] and "at least 3" in finding["fix"]
    assert finding["cause"] == "verify_depth_exceeded"
    replay_agrees(result, tmp_path, served, [root], verify_depth=1)


# --------------------------------------------------------------------------
# Incomplete, misordered, duplicated chains


def test_missing_intermediate_reads_like_nginx(tmp_path, ca):
    result = inspect(tmp_path, [ca.leaf], [ca.root])
    verified = result["verified"]
    assert verified["ok"] is False
    assert [(e["code"], e["depth"]) for e in verified["errors"]] == [(20, 0), (21, 0)]
    assert (verified["code"], verified["message"]) == (21, "unable to verify the first certificate")
    assert result["complete"] is False
    assert result["missing_issuer"] == {"subject": ca.leaf.subject, "name": ca.int1.subject,
                                        "aia_ca_issuers": ["http://ca.test.example/intermediate.der"],
                                        "authority_key_id": result["chain"][0]["authority_key_id"],
                                        "found_in": None}
    assert codes(result) == ["chain_incomplete"]
    finding = result["findings"][0]
    assert "http://ca.test.example/intermediate.der" in finding["message"]
    assert finding["cause"] == "cert_chain_incomplete" and finding["severity"] == "error"
    assert result["complete_chain"] is None
    if HAS_OPENSSL:
        assert verified["source"] == "openssl+replay"
        assert pki.openssl_verify(result["trust_store"]["file"], pki.write(tmp_path, "leaf.pem", ca.leaf)) == 20
    replay_agrees(result, tmp_path, [ca.leaf], [ca.root])


@pytest.mark.parametrize("as_directory", [False, True])
def test_missing_intermediate_completed_from_intermediates(tmp_path, ca, as_directory):
    if as_directory:
        folder = tmp_path / "intermediates"
        folder.mkdir()
        pki.write(folder, "int.pem", ca.int1)
        pki.write(folder, "unrelated.pem", pki.issue("unrelated ca", private_key=pki.key("rsa2048", 30), ca=True))
        (folder / "README").write_text("not a certificate\n")
        intermediates = str(folder)
    else:
        intermediates = pki.write(tmp_path, "int.pem", ca.int1)
    result = inspect(tmp_path, [ca.leaf], [ca.root], intermediates=intermediates)
    assert result["complete"] is False and result["missing_issuer"]["found_in"] == intermediates
    assert result["verified"]["code"] == 21  # what is served still fails
    assert result["complete_chain"] == ca.leaf.pem + ca.int1.pem
    assert result["complete_chain_verified"]["ok"] is True
    finding = result["findings"][0]
    assert finding["code"] == "chain_incomplete" and intermediates in finding["message"]
    assert "complete_chain" in finding["fix"]
    if HAS_OPENSSL:
        fixed = tmp_path / "fixed.pem"
        fixed.write_text(result["complete_chain"])
        assert pki.openssl_verify(result["trust_store"]["file"], str(fixed), str(fixed)) == 0


def test_deep_chain_missing_a_middle_intermediate(tmp_path):
    root, served = _deep(4)
    result = inspect(tmp_path, [served[0], served[1], served[3]], [root],
                     intermediates=pki.write(tmp_path, "pool.pem", served[2]))
    assert result["order_ok"] is False and result["complete"] is False
    assert result["missing_issuer"]["subject"] == served[1].subject
    assert result["verified"]["code"] == 20
    assert result["complete_chain_verified"]["ok"] is True
    assert set(codes(result)) == {"chain_misordered", "chain_incomplete"}


def test_reversed_intermediates(tmp_path):
    root, served = _deep(4)
    reordered = [served[0], served[2], served[1]]  # leaf, int1, int2: int2 issues the leaf
    result = inspect(tmp_path, reordered + [served[3]], [root])
    assert result["order_ok"] is False and result["complete"] is True
    assert result["verified"]["ok"] is True  # OpenSSL does not mind, some clients do
    finding = next(f for f in result["findings"] if f["code"] == "chain_misordered")
    assert "position 1 (%s) does not issue position 0" % served[2].subject in finding["message"]
    assert finding["severity"] == "warning"


def test_fully_reversed_file(tmp_path, ca):
    result = inspect(tmp_path, [ca.root, ca.int1, ca.leaf], [ca.root], names=["www.test.example"])
    assert result["leaf_position"] == 2 and result["order_ok"] is False
    assert result["verified"]["ok"] is True and result["names"][0]["covered"] is True
    assert "the leaf %s is at position 2, not first" % ca.leaf.subject in result["findings"][0]["message"]
    assert set(codes(result)) == {"chain_misordered", "root_included"}


def test_root_included(tmp_path, ca):
    result = inspect(tmp_path, [ca.leaf, ca.int1, ca.root], [ca.root])
    assert result["verified"]["ok"] is True and result["order_ok"] is True
    assert codes(result) == ["root_included"]
    assert result["findings"][0]["severity"] == "info" and result["chain"][2]["self_signed"] is True


def test_duplicate_certificate(tmp_path, ca):
    result = inspect(tmp_path, [ca.leaf, ca.int1, ca.int1], [ca.root])
    assert len(result["chain"]) == 3 and result["order_ok"] is True
    finding = next(f for f in result["findings"] if f["code"] == "duplicate_certificate")
    assert "appears 2 times" in finding["message"] and finding["subject"] == ca.int1.subject
    assert result["verified"]["ok"] is True


# --------------------------------------------------------------------------
# Trust


def test_self_signed_leaf(tmp_path):
    leaf = pki.issue("self.test.example", private_key=pki.key("rsa2048", 40))
    anchors = pki.Hierarchy("other", slot=50)
    result = inspect(tmp_path, [leaf], [anchors.root])
    assert (result["verified"]["code"], result["verified"]["message"]) == (18, "self-signed certificate")
    finding = next(f for f in result["findings"] if f["code"] == "self_signed_leaf")
    assert finding["severity"] == "error" and finding["cause"] == "cert_untrusted"
    assert result["chain"][0]["self_signed"] is True
    replay_agrees(result, tmp_path, [leaf], [anchors.root])
    pinned = inspect(tmp_path, [leaf], [leaf])
    assert pinned["verified"]["ok"] is True
    assert [(f["code"], f["severity"]) for f in pinned["findings"]] == [("self_signed_leaf", "info")]


def test_untrusted_root_served(tmp_path, ca):
    other = pki.Hierarchy("other", slot=50)
    result = inspect(tmp_path, [ca.leaf, ca.int1, ca.root], [other.root])
    assert (result["verified"]["code"], result["verified"]["depth"]) == (19, 2)
    finding = next(f for f in result["findings"] if f["code"] == "untrusted_root")
    assert ca.root.subject in finding["message"] and result["complete"] is True
    replay_agrees(result, tmp_path, [ca.leaf, ca.int1, ca.root], [other.root])


def test_untrusted_root_not_served(tmp_path, ca):
    other = pki.Hierarchy("other", slot=50)
    result = inspect(tmp_path, [ca.leaf, ca.int1], [other.root])
    assert (result["verified"]["code"], result["verified"]["depth"]) == (20, 1)
    assert codes(result) == ["untrusted_root"]
    assert "the chain ends at %s" % ca.root.subject in result["findings"][0]["message"]
    assert result["missing_issuer"]["name"] == ca.root.subject and result["complete"] is False
    replay_agrees(result, tmp_path, [ca.leaf, ca.int1], [other.root])


def test_served_cross_sign_of_a_trusted_root_is_not_needed(tmp_path, ca):
    """The root also issued as an intermediate by an older root (same subject and key), served and expired:
    trusted first, the path ends at the root in the store, so neither its expiry nor its issuer matter."""
    old_root = pki.issue("old root", private_key=pki.key("rsa2048", 60), ca=True, days=(-3650, 3650))
    cross = pki.issue("test root", old_root, private_key=ca.root.key, ca=True, days=(-400, -2))
    served = [ca.leaf, ca.int1, cross]
    result = inspect(tmp_path, served, [ca.root])
    assert result["verified"]["ok"] is True
    assert result["findings"] == []
    assert [step["origin"] for step in result["chosen_path"]] == ["served", "served", "store"]
    assert result["path_ends_at_trusted"] is True and result["chosen_path"][-1]["subject"] == ca.root.subject
    assert [(e["position"], e["same_key_as"]) for e in result["served_extra"]] == [(2, ca.root.subject)]
    assert result["expires_in_days"] >= 0 and result["expiring"] is False
    replay_agrees(result, tmp_path, served, [ca.root])
    # a store with only the old root needs the cross-sign, and then its expiry is what nginx logs
    old = inspect(tmp_path, served, [old_root])
    assert (old["verified"]["code"], old["verified"]["depth"]) == (10, 2)
    assert codes(old) == ["intermediate_expired"] and old["served_extra"] == []
    assert old["chosen_path"][-1]["subject"] == old_root.subject
    replay_agrees(old, tmp_path, served, [old_root])


def test_intermediate_as_only_anchor_is_error_2(tmp_path, ca):
    result = inspect(tmp_path, [ca.leaf], [ca.int1])
    assert (result["verified"]["code"], result["verified"]["depth"]) == (2, 1)
    replay_agrees(result, tmp_path, [ca.leaf], [ca.int1])


def test_system_store_by_default(tmp_path, ca):
    result = _chain.inspect_chain({"path": pki.write(tmp_path, "served.pem", ca.leaf, ca.int1)})
    assert result["trust_store"]["file"] and result["verified"]["code"] == 20
    assert codes(result) == ["untrusted_root"]


# --------------------------------------------------------------------------
# Time


def test_expired_leaf(tmp_path, ca):
    leaf = pki.issue("old.test.example", ca.int1, days=(-60, -1))
    result = inspect(tmp_path, [leaf, ca.int1], [ca.root])
    assert (result["verified"]["code"], result["verified"]["message"]) == (10, "certificate has expired")
    finding = next(f for f in result["findings"] if f["code"] == "expired")
    assert "1 day ago" in finding["message"] and finding["cause"] == "cert_expired"
    assert result["expires_in_days"] < 0 and result["expiring"] is True
    replay_agrees(result, tmp_path, [leaf, ca.int1], [ca.root])


def test_expired_leaf_served_alone_logs_10(tmp_path, ca):
    leaf = pki.issue("old.test.example", ca.int1, days=(-60, -1))
    result = inspect(tmp_path, [leaf], [ca.root])
    assert [e["code"] for e in result["verified"]["errors"]] == [20, 21, 10]
    assert set(codes(result)) == {"chain_incomplete", "expired"}


def test_not_yet_valid(tmp_path, ca):
    leaf = pki.issue("future.test.example", ca.int1, days=(30, 120))
    result = inspect(tmp_path, [leaf, ca.int1], [ca.root])
    assert result["verified"]["code"] == 9
    assert codes(result) == ["not_yet_valid"]
    assert result["findings"][0]["cause"] == "cert_not_yet_valid"
    replay_agrees(result, tmp_path, [leaf, ca.int1], [ca.root])


def test_expired_intermediate(tmp_path, ca):
    old_int = pki.issue("test intermediate", ca.root, private_key=ca.int1.key, ca=True, days=(-400, -2))
    result = inspect(tmp_path, [ca.leaf, old_int], [ca.root])
    assert (result["verified"]["code"], result["verified"]["depth"]) == (10, 1)
    finding = next(f for f in result["findings"] if f["code"] == "intermediate_expired")
    assert old_int.subject in finding["message"] and finding["cause"] == "cert_expired"
    replay_agrees(result, tmp_path, [ca.leaf, old_int], [ca.root])


def test_expired_intermediate_replaced_from_intermediates_prefers_the_valid_one(tmp_path, ca):
    old_int = pki.issue("test intermediate", ca.root, private_key=ca.int1.key, ca=True, days=(-400, -2))
    result = inspect(tmp_path, [ca.leaf], [ca.root], intermediates=pki.write(tmp_path, "pool.pem", old_int, ca.int1))
    assert result["complete_chain"] == ca.leaf.pem + ca.int1.pem


def test_expiring_soon_and_warn_days(tmp_path, ca):
    leaf = pki.issue("soon.test.example", ca.int1, days=(-80, 10))
    result = inspect(tmp_path, [leaf, ca.int1], [ca.root])
    finding = next(f for f in result["findings"] if f["code"] == "expiring_soon")
    assert "expires in 9 days" in finding["message"] and "30 days" in finding["fix"]
    assert result["expiring"] is True and result["verified"]["ok"] is True
    quiet = inspect(tmp_path, [leaf, ca.int1], [ca.root], warn_days=5)
    assert quiet["expiring"] is False and quiet["findings"] == []


@pytest.mark.parametrize("valid_at,code,finding", [
    ("+100d", 10, "expired"), ("+85d", 0, "expiring_soon"), ("-3d", 9, "not_yet_valid"),
])
def test_valid_at_moves_every_check(tmp_path, ca, valid_at, code, finding):
    result = inspect(tmp_path, [ca.leaf, ca.int1], [ca.root], valid_at=valid_at)
    assert result["verified"]["code"] == code
    assert finding in codes(result)
    replay_agrees(result, tmp_path, [ca.leaf, ca.int1], [ca.root], valid_at=valid_at)


def test_parse_valid_at():
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert source.parse_valid_at(None, now) == now
    assert source.parse_valid_at("+14d", now) == now + datetime.timedelta(days=14)
    assert source.parse_valid_at("-2h", now) == now - datetime.timedelta(hours=2)
    assert source.parse_valid_at("+30m", now) == now + datetime.timedelta(minutes=30)
    assert source.parse_valid_at("+1w", now) == now + datetime.timedelta(weeks=1)
    assert source.parse_valid_at("2026-05-01T12:00:00Z") == datetime.datetime(2026, 5, 1, 12,
                                                                              tzinfo=datetime.timezone.utc)
    assert source.parse_valid_at("2026-05-01T14:00:00+02:00").hour == 12
    assert source.parse_valid_at("2026-05-01").tzinfo is not None


# --------------------------------------------------------------------------
# Names and keys


def test_hostname_mismatch(tmp_path, ca):
    result = inspect(tmp_path, [ca.leaf, ca.int1], [ca.root], names=["www.test.example", "api.test.example"])
    assert result["names"] == [{"name": "www.test.example", "covered": True, "matched": "www.test.example"},
                               {"name": "api.test.example", "covered": False, "matched": None}]
    finding = result["findings"][0]
    assert finding["code"] == "hostname_mismatch" and finding["name"] == "api.test.example"
    assert "www.test.example, test.example" in finding["message"]


def test_leaf_with_1200_sans(tmp_path, ca):
    sans = ["host%04d.big.test.example" % i for i in range(1200)] + ["*.wild.test.example"]
    leaf = pki.issue("host0000.big.test.example", ca.int1, sans=sans)
    result = inspect(tmp_path, [leaf, ca.int1], [ca.root],
                     names=["host1199.big.test.example", "a.wild.test.example", "a.b.wild.test.example"])
    assert len(result["chain"][0]["sans"]) == 1201 and result["verified"]["ok"] is True
    assert [n["covered"] for n in result["names"]] == [True, True, False]
    assert result["names"][1]["matched"] == "*.wild.test.example"
    message = result["findings"][0]["message"]
    assert "and 1191 more (1201 names)" in message and len(message) < 600


def test_ip_name(tmp_path, ca):
    result = inspect(tmp_path, [ca.leaf, ca.int1], [ca.root], names=["10.0.0.7"])
    assert result["names"][0]["covered"] is False


def test_key_matches_and_mismatch(tmp_path, ca):
    good = pki.write_key(tmp_path, "good.key", ca.leaf.key)
    result = inspect(tmp_path, [ca.leaf, ca.int1], [ca.root], key_path=good)
    assert result["key_matches"] is True and result["findings"] == []
    bad = pki.write_key(tmp_path, "bad.key", pki.key("p256"))
    result = inspect(tmp_path, [ca.leaf, ca.int1], [ca.root], key_path=bad)
    assert result["key_matches"] is False
    finding = result["findings"][0]
    assert finding["code"] == "key_mismatch" and bad in finding["message"] and "key values mismatch" in finding["fix"]


def test_encrypted_key(tmp_path, ca):
    locked = pki.write_key(tmp_path, "locked.key", ca.leaf.key, passphrase="s3cret")
    result = inspect(tmp_path, [ca.leaf, ca.int1], [ca.root], key_path=locked, key_passphrase="s3cret")
    assert result["key_matches"] is True
    with pytest.raises(_chain.ChainInputError, match="^key_path: .* is encrypted; give its passphrase"):
        inspect(tmp_path, [ca.leaf, ca.int1], [ca.root], key_path=locked)
    with pytest.raises(_chain.ChainInputError, match="^key_passphrase: wrong passphrase"):
        inspect(tmp_path, [ca.leaf, ca.int1], [ca.root], key_path=locked, key_passphrase="wrong")


# --------------------------------------------------------------------------
# Algorithms


def test_rsa_1024_leaf(tmp_path, ca):
    leaf = pki.issue("weak.test.example", ca.int1, private_key=pki.key("rsa1024"))
    result = inspect(tmp_path, [leaf, ca.int1], [ca.root])
    assert (result["verified"]["code"], result["verified"]["message"]) == (66, "EE certificate key too weak")
    finding = next(f for f in result["findings"] if f["code"] == "weak_key")
    assert "RSA key of 1024 bits" in finding["message"] and finding["cause"] == "cert_too_weak"
    replay_agrees(result, tmp_path, [leaf, ca.int1], [ca.root])
    lenient = inspect(tmp_path, [leaf, ca.int1], [ca.root], security_level=1)
    assert lenient["verified"]["ok"] is True and "weak_key" in codes(lenient)


def test_rsa_1024_intermediate(tmp_path, ca):
    weak_int = pki.issue("weak intermediate", ca.root, private_key=pki.key("rsa1024"), ca=True)
    leaf = pki.issue("leaf.weak.test.example", weak_int)
    result = inspect(tmp_path, [leaf, weak_int], [ca.root])
    assert (result["verified"]["code"], result["verified"]["depth"]) == (67, 1)
    replay_agrees(result, tmp_path, [leaf, weak_int], [ca.root])


@pytest.mark.parametrize("algorithm,name", [("sha1", "sha1WithRSAEncryption"), ("md5", "md5WithRSAEncryption")])
def test_weak_signature(tmp_path, ca, algorithm, name):
    leaf = pki.resign(pki.issue("sha1.test.example", ca.int1), ca.int1, algorithm)
    result = inspect(tmp_path, [leaf, ca.int1], [ca.root])
    assert (result["verified"]["code"], result["verified"]["depth"]) == (68, 0)
    assert result["chain"][0]["signature_algorithm"] == name
    finding = next(f for f in result["findings"] if f["code"] == "weak_signature")
    assert name in finding["message"] and finding["cause"] == "cert_too_weak"
    replay_agrees(result, tmp_path, [leaf, ca.int1], [ca.root])
    zero = inspect(tmp_path, [leaf, ca.int1], [ca.root], security_level=0)
    assert zero["verified"]["ok"] is True  # the signature itself is right


def test_sha1_self_signed_root_is_fine(tmp_path):
    root = pki.issue("sha1 root", private_key=pki.key("rsa2048", 60), ca=True, days=(-30, 3650))
    root = pki.resign(root, root, "sha1")
    leaf = pki.issue("under.sha1.test.example", root)
    result = inspect(tmp_path, [leaf], [root])
    assert result["verified"]["ok"] is True and "weak_signature" not in codes(result)


def test_client_only_certificate_is_a_verify_error(tmp_path, ca):
    leaf = pki.issue("client.test.example", ca.int1, eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    result = inspect(tmp_path, [leaf, ca.int1], [ca.root])
    assert (result["verified"]["code"], result["verified"]["message"]) == (26, "unsuitable certificate purpose")
    finding = result["findings"][0]
    assert finding["code"] == "verify_error" and "error 26 at depth 0" in finding["message"]
    replay_agrees(result, tmp_path, [leaf, ca.int1], [ca.root])


def test_leaf_signed_by_a_non_ca_is_error_79(tmp_path, ca):
    fake_ca = pki.issue("not a ca", ca.int1, private_key=pki.key("rsa2048", 70), sans=[])
    leaf = pki.issue("leaf.fake.test.example", fake_ca)
    result = inspect(tmp_path, [leaf, fake_ca, ca.int1], [ca.root])
    assert [(e["code"], e["depth"]) for e in result["verified"]["errors"]] == [(79, 1), (26, 1)]
    replay_agrees(result, tmp_path, [leaf, fake_ca, ca.int1], [ca.root])


def test_bad_signature_is_error_7(tmp_path, ca):
    forged = pki.issue("forged.test.example", pki.Issued(ca.int1.cert, pki.key("rsa2048", 80)), aki_key=ca.int1.key)
    result = inspect(tmp_path, [forged, ca.int1], [ca.root])
    assert (result["verified"]["code"], result["verified"]["message"]) == (7, "certificate signature failure")
    assert codes(result) == ["verify_error"]
    replay_agrees(result, tmp_path, [forged, ca.int1], [ca.root])


def test_signature_checks_of_single_links(ca):
    def cert(issued):
        return links.Cert(issued.cert.public_bytes(pki.serialization.Encoding.DER), None, "test")
    forged = pki.issue("forged.test.example", pki.Issued(ca.int1.cert, pki.key("rsa2048", 80)), aki_key=ca.int1.key)
    sha1 = pki.resign(pki.issue("sha1.test.example", ca.int1), ca.int1, "sha1")  # cryptography's own check refuses
    assert links.signature_ok(cert(ca.leaf), cert(ca.int1)) is True
    assert links.signature_ok(cert(forged), cert(ca.int1)) is False
    assert links.likely_issued(cert(forged), cert(ca.int1)) is True  # names and key id agree: only 7 tells
    assert links.signature_ok(cert(sha1), cert(ca.int1)) is True
    assert links.signature_ok(cert(sha1), cert(ca.root)) is False
    assert cert(ca.root).self_signed() is True and cert(ca.int1).self_signed() is False


# --------------------------------------------------------------------------
# Findings vocabulary


def test_every_certificate_finding_is_exercised_here():
    """The certificate section of _findings (up to verify_error) is the list this file tests."""
    exercised = {"chain_incomplete", "chain_misordered", "root_included", "duplicate_certificate", "expired",
                 "not_yet_valid", "expiring_soon", "hostname_mismatch", "key_mismatch", "weak_signature",
                 "weak_key", "self_signed_leaf", "untrusted_root", "intermediate_expired", "chain_too_deep",
                 "verify_error"}
    ordered = list(FINDINGS)
    assert set(ordered[:ordered.index("verify_error") + 1]) == exercised


# --------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("params,message", [
    ({}, "^path, content or host: give one"),
    ({"path": "/a", "content": "x"}, "^path, content: give only one"),
    ({"path": "/nonexistent/chain.pem"}, "^path: /nonexistent/chain.pem is missing \\(no such file\\)"),
    ({"content": "hello"}, "^content: holds no certificate"),
    ({"content": "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"}, "^content: "),
    ({"host": "127.0.0.1", "port": 0}, "^port: 0 is not a valid port"),
    ({"host": "127.0.0.1", "port": 70000}, "^port: 70000 is not a valid port"),
    ({"content": "x", "valid_at": "tomorrow"}, "^valid_at: 'tomorrow' is neither"),
    ({"content": "x", "key_passphrase": "p"}, "^key_passphrase: only makes sense with key_path"),
    ({"content": "x", "security_level": 9}, "^security_level: "),
    ({"content": "x", "warn_days": -1}, "^warn_days: "),
    ({"content": "x", "verify_depth": -1}, "^verify_depth: "),
])
def test_bad_input_names_the_parameter(params, message):
    with pytest.raises(_chain.ChainInputError, match=message):
        _chain.inspect_chain(params)


def test_bad_files_name_the_parameter(tmp_path, ca):
    served = pki.write(tmp_path, "served.pem", ca.leaf)
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificate here\n")
    with pytest.raises(_chain.ChainInputError, match="^path: .* holds no certificate"):
        _chain.inspect_chain({"path": str(empty)})
    with pytest.raises(_chain.ChainInputError, match="^path: .* is a directory; give the path of a PEM certificate file"):
        _chain.inspect_chain({"path": str(tmp_path)})
    with pytest.raises(_chain.ChainInputError, match="^ca_file: .* holds no certificate"):
        _chain.inspect_chain({"path": served, "ca_file": str(empty)})
    with pytest.raises(_chain.ChainInputError, match="^intermediates: .* is missing"):
        _chain.inspect_chain({"path": served, "intermediates": str(tmp_path / "missing")})
    with pytest.raises(_chain.ChainInputError, match="^key_path: .* holds no private key"):
        _chain.inspect_chain({"path": served, "key_path": served})
    unreadable = tmp_path / "unreadable.pem"
    unreadable.write_text(ca.leaf.pem)
    unreadable.chmod(0)
    try:
        with open(str(unreadable)):
            pytest.skip("running as root: every file is readable")
    except PermissionError:
        with pytest.raises(_chain.ChainInputError, match="^path: .* is not readable by this user"):
            _chain.inspect_chain({"path": str(unreadable)})


def test_unreachable_endpoint_names_host():
    with pytest.raises(_chain.ChainInputError, match="^host: no TLS handshake with 127.0.0.1:1 "):
        _chain.inspect_chain({"host": "127.0.0.1", "port": 1, "timeout": 1})


# --------------------------------------------------------------------------
# The replay alone


def test_openssl_missing_falls_back_to_the_replay(tmp_path, ca, monkeypatch):
    monkeypatch.setattr(verify, "openssl_binary", lambda: None)
    result = inspect(tmp_path, [ca.leaf], [ca.root])
    assert result["verified"]["source"] == "replay" and result["verified"]["code"] == 21
    assert "no openssl binary" in result["verified"]["note"]


def test_openssl_failure_falls_back_to_the_replay(tmp_path, ca, monkeypatch):
    monkeypatch.setattr(verify, "openssl_binary", lambda: "/bin/false")
    result = inspect(tmp_path, [ca.leaf, ca.int1], [ca.root])
    assert result["verified"]["source"] == "replay" and result["verified"]["ok"] is True
    assert "exited 1" in result["verified"]["note"]

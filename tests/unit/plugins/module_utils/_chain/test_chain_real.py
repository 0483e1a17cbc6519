# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_chain_info on real public chains where a root is also served as a cross-signed intermediate.

The certificates are Let's Encrypt's (fixtures/chains/README.md gives each file's source):
ISRG Root X1 exists as a self-signed root and as an intermediate cross-signed by
DST Root CA X3, with the same subject and key.  OpenSSL >= 1.1.0 builds the path
trusted-first, so a store holding ISRG Root X1 ends the path there and the served
cross-sign is not used; a store holding only DST Root CA X3 takes the path through
the cross-sign.  The openssl CLI (``verify -show_chain``) is the oracle for the path.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess

import pytest

pytest.importorskip("cryptography")

# pylint: disable=wrong-import-position
from ansible_collections.tlsops.handshake.plugins.module_utils._chain import inspection as _chain, source

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "chains")
HAS_OPENSSL = shutil.which("openssl") is not None

LEAF_2021 = "valid-isrgrootx1.letsencrypt.org-2021.pem"
LEAF_2023 = "tracker.mywaifu.best-2023.pem"
R3 = "lets-encrypt-r3.pem"
X1_CROSS = "isrg-root-x1-by-dst-root-ca-x3.pem"
X1 = "isrg-root-x1.pem"
DST = "dst-root-ca-x3.pem"
USERTRUST = "usertrust-rsa-root.pem"
JULY_2021 = "2021-07-15T12:00:00Z"  # the 2021 leaf, R3, the cross-sign and DST Root CA X3 are all valid
MAY_2023 = "2023-05-10T12:00:00Z"  # the 2023 leaf is valid; DST Root CA X3 expired on 2021-09-30

X1_SUBJECT = "CN=ISRG Root X1,O=Internet Security Research Group,C=US"
DST_SUBJECT = "CN=DST Root CA X3,O=Digital Signature Trust Co."
R3_SUBJECT = "CN=R3,O=Let's Encrypt,C=US"
LEAF_2021_SUBJECT = "CN=valid-isrgrootx1.letsencrypt.org"


def _pem(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def _bundle(tmp_path, label, names):
    path = tmp_path / label
    path.write_text("".join(_pem(n) for n in names))
    return str(path)


def inspect(tmp_path, served, anchors, valid_at=JULY_2021, **params):
    params.update(path=_bundle(tmp_path, "served.pem", served), valid_at=valid_at)
    if anchors is not None:
        params["ca_file"] = _bundle(tmp_path, "anchors.pem", anchors)
    return _chain.inspect_chain(params)


def codes(result):
    return [f["code"] for f in result["findings"]]


def path_of(result):
    return [(step["subject"], step["origin"]) for step in result["chosen_path"]]


def openssl_path(tmp_path, served, anchors, valid_at):
    """``[(CN, trusted)]`` of the chain ``openssl verify -show_chain`` builds, and its exit status."""
    at = int(source.parse_valid_at(valid_at).timestamp())
    cmd = ["openssl", "verify", "-show_chain", "-purpose", "sslserver", "-attime", str(at), "-no-CApath",
           "-no-CAstore", "-CAfile", _bundle(tmp_path, "oracle-anchors.pem", anchors)]
    if served[1:]:
        cmd += ["-untrusted", _bundle(tmp_path, "oracle-untrusted.pem", served[1:])]
    proc = subprocess.run(cmd + [os.path.join(FIXTURES, served[0])], capture_output=True, text=True, timeout=60,
                          check=False)
    steps = re.findall(r"^depth=\d+: .*?CN = ([^,\n]+?)( \(untrusted\))?$", proc.stdout, re.M)
    return [(cn, not untrusted) for cn, untrusted in steps], proc.returncode


def agrees_with_openssl(result, tmp_path, served, anchors, valid_at=JULY_2021):
    if not HAS_OPENSSL:
        return
    expected, status = openssl_path(tmp_path, served, anchors, valid_at)
    assert status == 0, "the oracle must accept the chain to print it"
    mine = [(step["subject"].split(",")[0][3:], step["origin"] == "store") for step in result["chosen_path"]]
    assert mine == expected


# --------------------------------------------------------------------------
# The Let's Encrypt chain served with the cross-sign: leaf + R3 + ISRG Root X1 (by DST Root CA X3)


def test_store_with_isrg_root_x1_ends_the_path_there(tmp_path):
    served = [LEAF_2021, R3, X1_CROSS]
    result = inspect(tmp_path, served, [X1], names=["valid-isrgrootx1.letsencrypt.org"])
    assert result["verified"]["ok"] is True, result["verified"]
    assert "untrusted_root" not in codes(result)
    assert result["findings"] == []
    assert path_of(result) == [(LEAF_2021_SUBJECT, "served"), (R3_SUBJECT, "served"), (X1_SUBJECT, "store")]
    assert [step["position"] for step in result["chosen_path"]] == [0, 1, None]
    assert result["path_ends_at_trusted"] is True
    assert result["complete"] is True and result["missing_issuer"] is None and result["order_ok"] is True
    extra = result["served_extra"]
    assert len(extra) == 1
    assert extra[0]["position"] == 2 and extra[0]["subject"] == X1_SUBJECT and extra[0]["issuer"] == DST_SUBJECT
    assert extra[0]["same_key_as"] == X1_SUBJECT
    assert "cross-signed" in extra[0]["note"] and "trust store" in extra[0]["note"]
    assert result["verified"]["path"] == [LEAF_2021_SUBJECT, R3_SUBJECT, X1_SUBJECT]
    if HAS_OPENSSL:  # openssl verify builds the path with its defaults, as nginx does: nothing turns them off
        assert result["verified"]["source"] == "openssl"
        assert not {"-trusted_first", "-no_alt_chains", "-partial_chain"} & set(result["verified"]["command"])
    agrees_with_openssl(result, tmp_path, served, [X1])


def test_store_with_only_dst_root_ca_x3_goes_through_the_cross_sign(tmp_path):
    served = [LEAF_2021, R3, X1_CROSS]
    result = inspect(tmp_path, served, [DST])
    assert result["verified"]["ok"] is True, result["verified"]
    assert path_of(result) == [(LEAF_2021_SUBJECT, "served"), (R3_SUBJECT, "served"), (X1_SUBJECT, "served"),
                               (DST_SUBJECT, "store")]
    assert result["chosen_path"][2]["issuer"] == DST_SUBJECT
    assert result["path_ends_at_trusted"] is True and result["served_extra"] == []
    assert result["findings"] == [] and result["complete"] is True
    agrees_with_openssl(result, tmp_path, served, [DST])


def test_store_with_both_roots_still_ends_at_isrg_root_x1(tmp_path):
    """Trusted first: R3's issuer is looked up in the store before the served cross-sign is followed."""
    served = [LEAF_2021, R3, X1_CROSS]
    result = inspect(tmp_path, served, [DST, X1])
    assert path_of(result)[-1] == (X1_SUBJECT, "store") and len(result["chosen_path"]) == 3
    assert [e["subject"] for e in result["served_extra"]] == [X1_SUBJECT]
    assert result["findings"] == []
    agrees_with_openssl(result, tmp_path, served, [DST, X1])


def test_after_dst_expired_the_cross_sign_path_fails_but_the_x1_path_does_not(tmp_path):
    """The real 2023 chain, judged when DST Root CA X3 had expired (what old clients met in October 2021)."""
    served = [LEAF_2023, R3, X1_CROSS]
    old = inspect(tmp_path, served, [DST], valid_at=MAY_2023)
    assert (old["verified"]["code"], old["verified"]["depth"]) == (10, 3)
    assert [s for s, dummy in path_of(old)][-1] == DST_SUBJECT and old["path_ends_at_trusted"] is True
    assert "untrusted_root" not in codes(old)
    assert next(f for f in old["findings"] if f["code"] == "expired")["subject"] == DST_SUBJECT
    current = inspect(tmp_path, served, [X1], valid_at=MAY_2023)
    assert current["verified"]["ok"] is True and current["findings"] == []
    assert [e["position"] for e in current["served_extra"]] == [2]
    agrees_with_openssl(current, tmp_path, served, [X1], valid_at=MAY_2023)


def test_expired_cross_sign_still_served_is_not_a_finding(tmp_path):
    """After 2024-09-30 the cross-sign had expired; a server still sending it fails no client that trusts X1."""
    result = inspect(tmp_path, [LEAF_2023, R3, X1_CROSS], [X1], valid_at="2024-10-15T12:00:00Z")
    assert result["chain"][2]["expired"] is True
    assert codes(result) == ["expired"] and result["findings"][0]["subject"] == "CN=tracker.mywaifu.best"
    assert [e["position"] for e in result["served_extra"]] == [2]


# --------------------------------------------------------------------------
# Paths that differ from the served order


def test_long_chain_with_dst_root_served_ends_at_isrg_root_x1(tmp_path):
    """leaf + R3 + cross-sign + DST Root CA X3: the served order leads to DST, the trusted-first path does not."""
    served = [LEAF_2021, R3, X1_CROSS, DST]
    result = inspect(tmp_path, served, [X1])
    assert result["verified"]["ok"] is True
    assert "untrusted_root" not in codes(result)
    assert codes(result) == ["root_included"]  # DST is still sent for nothing: info only
    assert path_of(result) == [(LEAF_2021_SUBJECT, "served"), (R3_SUBJECT, "served"), (X1_SUBJECT, "store")]
    assert [(e["position"], e["subject"]) for e in result["served_extra"]] == [(2, X1_SUBJECT), (3, DST_SUBJECT)]
    assert result["served_extra"][1]["same_key_as"] is None
    agrees_with_openssl(result, tmp_path, served, [X1])


def test_misordered_chain_with_the_cross_sign_first(tmp_path):
    served = [LEAF_2021, X1_CROSS, R3]
    result = inspect(tmp_path, served, [X1])
    assert result["verified"]["ok"] is True and result["order_ok"] is False
    assert path_of(result) == [(LEAF_2021_SUBJECT, "served"), (R3_SUBJECT, "served"), (X1_SUBJECT, "store")]
    assert [step["position"] for step in result["chosen_path"]] == [0, 2, None]
    assert [e["position"] for e in result["served_extra"]] == [1]
    assert codes(result) == ["chain_misordered"]
    agrees_with_openssl(result, tmp_path, served, [X1])


def _system_store_has(name):
    wanted = ssl.PEM_cert_to_DER_cert(_pem(name))
    return wanted in source.read_trust_store(None)[0]


@pytest.mark.skipif(not _system_store_has(X1), reason="the system store has no ISRG Root X1")
def test_system_store_with_isrg_root_x1(tmp_path):
    """No ca_file: the system store (Debian's has ISRG Root X1, not DST Root CA X3) ends the path at X1."""
    result = inspect(tmp_path, [LEAF_2021, R3, X1_CROSS, DST], None)
    assert "untrusted_root" not in codes(result) and result["verified"]["ok"] is True
    assert result["chosen_path"][-1]["subject"] == X1_SUBJECT and result["path_ends_at_trusted"] is True


# --------------------------------------------------------------------------
# A root that is really not trusted is still reported


def test_truly_untrusted_root_is_still_reported(tmp_path):
    served = [LEAF_2021, R3, X1_CROSS]
    result = inspect(tmp_path, served, [USERTRUST])
    assert (result["verified"]["code"], result["verified"]["depth"]) == (20, 2)
    assert codes(result) == ["untrusted_root"]
    assert DST_SUBJECT in result["findings"][0]["message"]
    assert result["path_ends_at_trusted"] is False and result["served_extra"] == []
    assert [origin for dummy, origin in path_of(result)] == ["served", "served", "served"]


def test_truly_untrusted_served_root_is_still_reported(tmp_path):
    result = inspect(tmp_path, [LEAF_2021, R3, X1_CROSS, DST], [USERTRUST])
    assert (result["verified"]["code"], result["verified"]["depth"]) == (19, 3)
    finding = next(f for f in result["findings"] if f["code"] == "untrusted_root")
    assert DST_SUBJECT in finding["message"]
    assert result["path_ends_at_trusted"] is False and result["chosen_path"][-1]["subject"] == DST_SUBJECT

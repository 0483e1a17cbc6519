# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_chain_info's typed result: the TypedDicts of _chain/result_types.py name exactly the keys
of the module's RETURN, and a real inspect_chain result has exactly the declared keys."""
from __future__ import annotations

import pytest
import yaml

pytest.importorskip("cryptography")

# pylint: disable=wrong-import-position
from ansible_collections.tlsops.handshake.plugins.module_utils._chain import inspection, result_types as types
from ansible_collections.tlsops.handshake.plugins.modules import cert_chain_info

try:
    import test_chain_pki as pki
except ImportError:  # run from another root
    from tests.unit.plugins.module_utils._chain import test_chain_pki as pki


def _keys(typed):
    return set(typed.__annotations__)


def test_the_result_types_declare_every_documented_key():
    ret = yaml.safe_load(cert_chain_info.RETURN)
    # `results` (with paths) is a list of ChainResult, each with its path (inspection.inspect_chains)
    assert ret.pop("results")["returned"] == "with O(paths)"
    assert _keys(types.ChainResult) == set(ret)
    assert _keys(types.PathEntry) == set(ret["chosen_path"]["contains"])
    assert _keys(types.ServedExtra) == set(ret["served_extra"]["contains"])
    assert _keys(types.MissingIssuer) == set(ret["missing_issuer"]["contains"])
    assert _keys(types.ChainVerification) == set(ret["verified"]["contains"])
    # the chain entries carry more fields than RETURN lists (all of _CHAIN_FIELDS); every listed one is declared
    assert set(ret["chain"]["contains"]) <= _keys(types.ChainEntry)
    assert _keys(types.ChainEntry) == {"position", "self_signed"} | set(inspection._CHAIN_FIELDS)


def test_a_real_result_has_exactly_the_declared_keys(tmp_path):
    ca = pki.Hierarchy("types")
    intermediates = pki.write(tmp_path, "int.pem", ca.int1)
    unrelated = pki.issue("unrelated ca", private_key=pki.key("rsa2048", 30), ca=True)  # served, not on the path
    result = inspection.inspect_chain({"path": pki.write(tmp_path, "served.pem", ca.leaf, unrelated),
                                       "ca_file": pki.write(tmp_path, "anchors.pem", ca.root),
                                       "intermediates": intermediates, "names": ["nowhere.invalid"]})
    assert set(result) == _keys(types.ChainResult)
    assert set(result["source"]) <= _keys(types.ChainSource)
    assert set(result["trust_store"]) == _keys(types.TrustStore)
    assert result["chain"] and all(set(e) == _keys(types.ChainEntry) for e in result["chain"])
    assert result["chosen_path"] and all(set(e) == _keys(types.PathEntry) for e in result["chosen_path"])
    assert result["served_extra"] and all(set(e) == _keys(types.ServedExtra) for e in result["served_extra"])
    assert set(result["missing_issuer"]) == _keys(types.MissingIssuer)
    assert set(result["verified"]) == _keys(types.ChainVerification)
    assert set(result["complete_chain_verified"]) == _keys(types.ChainVerification)
    assert result["names"] and all(set(n) == _keys(types.NameCoverage) for n in result["names"])
